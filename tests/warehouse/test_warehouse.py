"""The warehouse on a real Postgres: atomic month loads, reruns, history, the reader role."""

from __future__ import annotations

import shutil

import pandas as pd
import psycopg
import pytest

from insiders import artifacts, pipeline, run_folder, warehouse


def test_load_fills_every_table_with_the_runs_figures(warehouse_dsn, run_dirs):
    run_dir = run_dirs["2011-12"]
    with warehouse.connect(warehouse_dsn) as conn:
        result = warehouse.load_run(conn, run_dir, run_month="2011-12-15", run_id="manual__1")
        run = conn.execute("SELECT * FROM insiders.runs").fetchall()
        cols = [d.name for d in conn.execute("SELECT * FROM insiders.runs LIMIT 0").description]
        keyed = conn.execute("SELECT count(*) FROM insiders.customer_segments "
                             "WHERE customer_key = customer_id::text").fetchone()[0]
    row = dict(zip(cols, run[0], strict=True))
    assert keyed == row["customers"]  # the UCI file's keys are its ids
    selection = artifacts.load_json(pipeline.path(run_dir, "selection"))
    features = artifacts.load_frame(pipeline.path(run_dir, "features"))
    scores = artifacts.load_frame(pipeline.path(run_dir, "scores"))
    assert len(run) == 1 and str(row["run_month"]) == "2011-12-01"
    assert str(row["reference_date"]) == "2011-12-14"
    assert row["customers"] == len(features) == result.rows["customer_segments"]
    assert row["insiders"] == selection["insiders"]["customers"]
    assert row["chosen_candidate"] == "umap/ward/k=8"
    facts = artifacts.load_json(pipeline.path(run_dir, "facts"))
    set_aside = sum(n["lines"] for n in facts["set_aside"].values())
    assert row["lines_read"] + set_aside == 541_909  # the file's lines: read or set aside
    assert row["value_model"] == selection["membership"]["value_model_used"] == "blend"
    assert row["value_model_reason"] is None  # a year of data: the model asked for
    ranking = selection["membership"]["ranking"]  # value_model=auto: the ranking and why
    assert row["ranked_by"] == ranking["ranked_by"] and row["ranking_reason"] == ranking["reason"]
    assert result.rows["model_scores"] == len(scores)
    assert set(scores["model"]) == {"kmeans", "ward", "dbscan", "hdbscan"}
    assert result.rows["membership_history"] == row["insiders"]  # first month: all entered


def test_rerun_of_a_month_replaces_it_never_duplicates(warehouse_dsn, run_dirs):
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        first = warehouse.snapshot(conn)
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        second = warehouse.snapshot(conn)
    for table in warehouse.TABLES:
        pd.testing.assert_frame_equal(first[table], second[table], check_dtype=False)
    assert len(second["runs"]) == 1


def test_a_failed_load_leaves_the_warehouse_as_it_was(warehouse_dsn, run_dirs, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(run_dirs["2011-12"], broken)
    segments = pd.read_parquet(broken / "segments.parquet")
    # a customer twice: the insert fails half way, after the month's old rows were deleted
    pd.concat([segments, segments.iloc[:1]]).to_parquet(broken / "segments.parquet")
    run_folder.seal(str(broken), "tier")  # as if the tier stage had written it
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        before = warehouse.snapshot(conn)
        with pytest.raises(psycopg.errors.UniqueViolation):
            warehouse.load_run(conn, str(broken), run_month="2011-12-15")
        after = warehouse.snapshot(conn)
    for table in warehouse.TABLES:
        pd.testing.assert_frame_equal(before[table], after[table], check_dtype=False)


def test_membership_history_knows_who_entered_and_left(warehouse_dsn, run_dirs):
    nov = artifacts.load_frame(pipeline.path(run_dirs["2011-11"], "segments"))
    dec = artifacts.load_frame(pipeline.path(run_dirs["2011-12"], "segments"))
    was, now = set(nov.index[nov["is_insider"]]), set(dec.index[dec["is_insider"]])
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.load_run(conn, run_dirs["2011-11"], run_month="2011-11-15")
        result = warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        rows = conn.execute(
            "SELECT customer_id, change FROM insiders.membership_history "
            "WHERE run_month = '2011-12-01'"
        ).fetchall()
        view = conn.execute(
            "SELECT entered, left_group FROM insiders.insiders_by_month "
            "WHERE run_month = '2011-12-01'"
        ).fetchone()
        assert warehouse.previous_run_dir(conn, "2011-12-15") == run_dirs["2011-11"]
    entered = {c for c, change in rows if change == "entered"}
    left = {c for c, change in rows if change == "left"}
    assert entered == now - was and left == was - now
    assert view == (len(now - was), len(was - now))
    assert result.previous_month == "2011-11-01"


def test_loading_an_earlier_month_later_recomputes_the_next_months_history(warehouse_dsn, run_dirs):
    def history(conn):
        return sorted(conn.execute(
            "SELECT run_month, customer_id, change, previous_month FROM insiders.membership_history"
        ).fetchall())

    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.load_run(conn, run_dirs["2011-11"], run_month="2011-11-15")
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        in_order = history(conn)
    with warehouse.connect(warehouse_dsn) as conn:
        conn.execute("DELETE FROM insiders.runs")
        conn.commit()
        # December first (all its Insiders "entered"), then November: December is redone
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        warehouse.load_run(conn, run_dirs["2011-11"], run_month="2011-11-15")
        assert history(conn) == in_order
        # a rerun of November leaves December's history as it was, and says December's tier
        # was decided on the November it replaces
        rerun = warehouse.load_run(conn, run_dirs["2011-11"], run_month="2011-11-15")
        assert history(conn) == in_order
        assert rerun.later_months == ("2011-12-01",)
        assert "clear those runs in Airflow one after the other, oldest first" in rerun.rebuild_advice
        assert rerun.to_dict()["later_months"] == ["2011-12-01"]
        in_turn = warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        assert in_turn.later_months == () and in_turn.rebuild_advice is None
    assert any(change == "left" for _, _, change, _ in in_order)


def test_reader_can_read_and_cannot_write(warehouse_dsn, run_dirs, postgres):
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        warehouse.create_reader(conn, "metabase_test", "not-a-real-secret")
        warehouse.create_reader(conn, "metabase_test", "rotated")  # idempotent: updates
    reader_dsn = warehouse_dsn.replace("postgres@", "metabase_test@")
    with psycopg.connect(reader_dsn) as conn:
        n = conn.execute("SELECT count(*) FROM insiders.current_insiders").fetchone()[0]
        assert n > 0
        # the read paths run no DDL, so the read-only login can use them
        assert "Run month 2011-12" in warehouse.summary(conn)
        assert warehouse.previous_run_dir(conn, "2012-01-15") == run_dirs["2011-12"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM insiders.runs")


def test_schema_is_idempotent(warehouse_dsn):
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.ensure_schema(conn)
        warehouse.ensure_schema(conn)
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'insiders'"
        )}
    assert set(warehouse.TABLES) <= tables
    assert {"insiders_by_month", "current_insiders"} <= tables


def test_summary_says_what_the_month_holds(warehouse_dsn, run_dirs):
    with warehouse.connect(warehouse_dsn) as conn:
        assert warehouse.summary(conn).startswith("the warehouse holds no run yet")
        assert warehouse.previous_run_dir(conn, "2011-12-15") is None  # and creates nothing
        assert conn.execute("SELECT to_regnamespace('insiders')").fetchone()[0] is None
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        text = warehouse.summary(conn)
    selection = artifacts.load_json(pipeline.path(run_dirs["2011-12"], "selection"))
    profiles = artifacts.load_frame(pipeline.path(run_dirs["2011-12"], "profiles"))
    assert "Run month 2011-12 (as of 2011-12-14)" in text
    assert f"Chosen by policy: {selection['chosen']['candidate']}" in text
    assert f"Insiders: {selection['insiders']['customers']:,} of" in text
    assert "the warehouse's first month: no month before it" in text  # not "all entered"
    assert "entered" not in text
    rows = [line for line in text.splitlines() if line.startswith("  ") and line.endswith(" d")]
    assert len(rows) == len(profiles)
    for name in profiles["segment_name"]:
        assert any(name in row for row in rows), name
    # the customers column lines up, however long the names
    ends = {row.index(f"{n:,}") + len(f"{n:,}") for row, n in
            zip(rows, profiles.sort_values("mean_gross_revenue", ascending=False)["n_customers"],
                strict=True)}
    assert len(ends) == 1, text
