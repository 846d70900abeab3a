"""Versioned warehouse migrations on a real Postgres: fresh, upgraded, concurrent, pre-migration."""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from importlib import resources
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from insiders import artifacts, cli, local_postgres, run_folder, warehouse
from insiders.options import FEATURE_DESCRIPTIONS

#: What ``ensure_schema`` ran before migrations existed: 0001 is that DDL, frozen (its hash
#: below), so a warehouse made by it is exactly a warehouse at version 1.
PRE_MIGRATION_DDL = warehouse.migrations()[0].sql
#: sha256 of 0001 without its comments: an applied migration must never change.
FROZEN_0001 = "2b85b6a52151190127ac850aefec13129204d5f77839dc74da069f87c5ccb056"
VIEWS = ("insiders_by_month", "current_insiders")
LATEST = [m.version for m in warehouse.migrations()]


def _statements(text: str) -> str:
    """SQL without its comment lines."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("--")).strip()


def _relations(conn) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'insiders'"
    )}


def _catalog(conn) -> dict[str, list]:
    """The schema's columns, constraints, indexes, view definitions and the reader's privileges."""
    queries = {
        "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
                   "FROM information_schema.columns WHERE table_schema = 'insiders'",
        "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                       "FROM pg_constraint WHERE connamespace = 'insiders'::regnamespace",
        "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'insiders'",
        "views": "SELECT viewname, definition FROM pg_views WHERE schemaname = 'insiders'",
        "grants": "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                  "WHERE table_schema = 'insiders' AND grantee = 'insiders_reader'",
    }
    return {name: sorted(conn.execute(query).fetchall()) for name, query in queries.items()}


def _counts(conn) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM insiders.{t}").fetchone()[0] for t in warehouse.TABLES}


def _versions(conn) -> list[tuple[int, str]]:
    return conn.execute("SELECT version, name FROM insiders.schema_migrations ORDER BY version").fetchall()


def _second_database(postgres, dsn: str) -> str:
    """Another fresh database next to the test's own."""
    name = dsn.rsplit("/", 1)[1].split("?")[0][:50] + "_b"
    with psycopg.connect(postgres.uri(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    return local_postgres.ensure_database(postgres, name)


def _with_report(run_dir: str, tmp_path: Path, questions: list[int]) -> str:
    """A copy of a run folder with a report stage's answers (these question numbers) and forecasts."""
    out = tmp_path / "with-report"
    shutil.copytree(run_dir, out)
    answers = pd.DataFrame({"question": questions, "metric": "share", "value": 0.5, "text": "an answer"})
    forecasts = pd.DataFrame({"month": ["2012-01-01", "2012-02-01"], "model": "seasonal",
                              "expected_revenue": [1.0, 2.0], "naive_revenue": [1.5, 1.5]})
    artifacts.save_frame(answers, run_folder.path(str(out), "answers"), index=False)
    artifacts.save_frame(forecasts, run_folder.path(str(out), "forecasts"), index=False)
    run_folder.record_facts(str(out), {"report": {"title": "test"}})
    run_folder.seal(str(out), "report")  # as if the report stage had written them
    return str(out)


def test_the_migrations_ship_with_the_package_numbered_in_order():
    files = sorted(f.name for f in resources.files("insiders.migrations").iterdir()
                   if f.name.endswith(".sql"))
    assert [f"{m.version:04d}_{m.name}.sql" for m in warehouse.migrations()] == files
    assert len(LATEST) >= 2 and list(range(1, len(files) + 1)) == LATEST
    first = warehouse.migrations()[0]
    # 0001 is the pre-migration schema as it was (frozen), the nine-question limit included
    assert first.name == "initial" and "CHECK (question BETWEEN 1 AND 9)" in first.sql
    assert hashlib.sha256(_statements(first.sql).encode()).hexdigest() == FROZEN_0001


def test_a_fresh_database_migrates_to_the_latest_version_once(warehouse_dsn):
    with warehouse.connect(warehouse_dsn) as conn:
        assert warehouse.applied_versions(conn) == set()
        assert warehouse.migrate(conn) == LATEST
        assert set(warehouse.TABLES) | set(VIEWS) <= _relations(conn)
        assert [v for v, _ in _versions(conn)] == LATEST
        assert warehouse.migrate(conn) == []
        assert warehouse.ensure_schema(conn) == []
        assert [v for v, _ in _versions(conn)] == LATEST


def test_the_latest_schema_has_a_column_for_every_feature(warehouse_dsn):
    """A new feature (options.FEATURE_DESCRIPTIONS) needs a migration adding its columns."""
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.migrate(conn)
        columns = {(t, c) for t, c in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'insiders'"
        )}
    for name in FEATURE_DESCRIPTIONS:
        assert ("customer_segments", name) in columns and ("current_insiders", name) in columns
        assert ("segment_profiles", f"mean_{name}") in columns


def test_a_pre_migration_warehouse_is_recognised_as_version_1_and_upgraded(warehouse_dsn, postgres):
    with warehouse.connect(warehouse_dsn) as conn:
        conn.execute(PRE_MIGRATION_DDL)  # what ensure_schema made before migrations: no version table
        conn.commit()
        assert warehouse.applied_versions(conn) == set()
        assert warehouse.migrate(conn) == LATEST[1:]  # 0001 recorded, not run again
        assert [v for v, _ in _versions(conn)] == LATEST
        upgraded = _catalog(conn)
        readable = conn.execute(
            "SELECT bool_and(has_table_privilege('insiders_reader', 'insiders.' || t, 'SELECT')) "
            "FROM unnest(%s::text[]) t", ([*warehouse.TABLES, *VIEWS],)
        ).fetchone()[0]
    with warehouse.connect(_second_database(postgres, warehouse_dsn)) as conn:
        warehouse.migrate(conn)
        fresh = _catalog(conn)
    assert upgraded == fresh  # an upgraded warehouse is the same as a new one, grants included
    assert readable


def test_upgrade_keeps_every_row_and_takes_question_10(warehouse_dsn, run_dirs, tmp_path, monkeypatch):
    nine = _with_report(run_dirs["2011-11"], tmp_path / "nov", list(range(1, 10)))
    ten = _with_report(run_dirs["2011-12"], tmp_path / "dec", list(range(1, 11)))
    with warehouse.connect(warehouse_dsn) as conn:
        # the warehouse at version 1 (the schema before migrations), loaded as loads did then
        with monkeypatch.context() as m:
            m.setattr(warehouse, "ensure_schema", lambda c, **kw: warehouse.migrate(c, target=1, **kw))
            m.setattr(warehouse, "TIER_COLUMNS", ())  # what version 1 held (0003 added them)
            m.setattr(warehouse, "PROFILE_TIER_COLUMNS", ())
            m.setattr(warehouse, "QUALITY_TABLE", None)  # 0004 added these and the load lock
            m.setattr(warehouse, "RUN_QUALITY_COLUMNS", ())
            m.setattr(warehouse, "RUN_MODEL_COLUMNS", {})  # 0005 added these
            m.setattr(warehouse, "SCORE_MODEL_COLUMNS", ())
            m.setattr(warehouse, "SEGMENT_KEY_COLUMNS", ())  # 0006 added these
            m.setattr(warehouse, "RUN_SHOP_COLUMNS", ())
            m.setattr(warehouse, "PROFILE_FLAG", "is_insider")  # 0007 renamed it
            m.setattr(warehouse, "RUN_RANKING_COLUMNS", {})  # 0008 added these
            m.setattr(warehouse, "_LOAD_LOCK", "SELECT pg_advisory_xact_lock(hashtext('insiders.load'))")
            m.setattr(warehouse, "FEATURE_DESCRIPTIONS",  # frequency_study came with 0003
                      {k: v for k, v in warehouse.FEATURE_DESCRIPTIONS.items() if k != "frequency_study"})
            warehouse.load_run(conn, nine, run_month="2011-11-15")
            warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
            with pytest.raises(psycopg.errors.CheckViolation):
                warehouse.load_run(conn, ten, run_month="2011-12-15")
            old_tables = tuple(t for t in warehouse.TABLES if t != "quality_counts")  # 0004's
            m.setattr(warehouse, "TABLES", old_tables)
            before, counts = warehouse.snapshot(conn), _counts(conn)
        assert all(counts.values()), counts  # every table holds rows
        assert warehouse.migrate(conn) == LATEST[1:]
        after = warehouse.snapshot(conn)
        assert {t: n for t, n in _counts(conn).items() if t in old_tables} == counts
        renamed = {"mostly_insiders": "is_insider"}  # by 0007, values kept
        for table in old_tables:  # every old value kept; added columns empty for old rows
            after[table] = after[table].rename(columns=renamed)
            pd.testing.assert_frame_equal(before[table], after[table][before[table].columns],
                                          check_dtype=False)
            added = after[table].columns.difference(before[table].columns)
            assert after[table][added].isna().all().all(), table
        assert {"expected_revenue", "status", "reason"} <= set(after["customer_segments"].columns)
        # a new load works, and question 10 is stored
        result = warehouse.load_run(conn, ten, run_month="2011-12-15")
        assert result.rows["answers"] == 10
        assert conn.execute(
            "SELECT count(*) FROM insiders.answers WHERE question = 10 AND run_month = '2011-12-01'"
        ).fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM insiders.insiders_by_month").fetchone()[0] == 2
        with pytest.raises(psycopg.errors.CheckViolation):  # still no question 0
            conn.execute("INSERT INTO insiders.answers VALUES ('2011-12-01', 0, 'share', 1, '')")


def test_concurrent_migrations_apply_each_version_once(warehouse_dsn):
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with warehouse.connect(warehouse_dsn) as conn:
                results[i] = warehouse.migrate(conn)
        except BaseException as exc:
            errors.append(exc)

    with warehouse.connect(warehouse_dsn) as holder:
        # hold the schema lock until both callers have found work to do and wait for it
        holder.execute("SELECT pg_advisory_xact_lock(hashtext('insiders.schema'))")
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        with warehouse.connect(warehouse_dsn, autocommit=True) as watcher:
            while watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()[0] < 2:
                assert time.monotonic() < deadline and not errors, errors
                time.sleep(0.05)
        holder.rollback()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(results[0] + results[1]) == LATEST
    with warehouse.connect(warehouse_dsn) as conn:
        assert [v for v, _ in _versions(conn)] == LATEST


def test_an_up_to_date_load_runs_no_ddl(warehouse_dsn, run_dirs):
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.migrate(conn)
        conn.execute("""
            CREATE TABLE public.ddl_log (tag text);
            CREATE FUNCTION public.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS
                $$ BEGIN INSERT INTO public.ddl_log VALUES (tg_tag); END $$;
            CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION public.log_ddl();
        """)
        conn.commit()
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        warehouse.create_reader(conn, "metabase_migrations", "not-a-real-secret")
        assert conn.execute("SELECT tag FROM public.ddl_log").fetchall() == []
        conn.execute(PRE_MIGRATION_DDL)  # what every load ran before: the log sees it
        assert "CREATE VIEW" in {r[0] for r in conn.execute("SELECT tag FROM public.ddl_log")}
        conn.rollback()


def test_warehouse_init_says_what_it_applied(warehouse_dsn, capsys):
    assert cli.main(["warehouse", "init", "--dsn", warehouse_dsn]) == 0
    out = capsys.readouterr().out
    assert "applied migrations: 0001_initial, 0002_" in out and f"version {LATEST[-1]}" in out
    assert cli.main(["warehouse", "init", "--dsn", warehouse_dsn]) == 0
    assert capsys.readouterr().out.strip() == f"warehouse schema is up to date (version {LATEST[-1]})"


def test_a_migration_that_fails_leaves_no_trace(warehouse_dsn, monkeypatch):
    shipped = warehouse.migrations()
    broken = warehouse.Migration(len(LATEST) + 1, "broken",
                                 "CREATE TABLE insiders.extra (x int); SELECT 1/0;")
    monkeypatch.setattr(warehouse, "migrations", lambda: (*shipped, broken))
    with warehouse.connect(warehouse_dsn) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            warehouse.migrate(conn)
        conn.rollback()
        assert [v for v, _ in _versions(conn)] == LATEST  # the earlier ones stay applied
        assert "extra" not in _relations(conn)

