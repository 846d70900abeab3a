"""Faults a load must survive: a Postgres backend killed mid-load, two loads of one month at
once, readers holding locks, another session holding the load's lock, a mixed run folder."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import pandas as pd
import psycopg
import psycopg.sql
import pytest

from insiders import local_postgres, pipeline, run_folder, warehouse
from insiders.errors import RunFolderError
from tests.conftest import REAL_DATA
from tests.warehouse.conftest import CONFIG


def _same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for table in warehouse.TABLES:
        pd.testing.assert_frame_equal(a[table], b[table], check_dtype=False)


def _wait_for_lock_waiter(admin: psycopg.Connection, timeout: float = 60) -> int:
    """The PID of the backend waiting for a lock (the load), once it waits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").fetchone()
        if row:
            return row[0]
        time.sleep(0.05)
    raise AssertionError("the load never waited for the lock")


def _load_in_thread(dsn: str, run_dir: str, errors: list[BaseException]) -> threading.Thread:
    """A started thread loading ``run_dir`` as December; its exception goes to ``errors``."""
    def load() -> None:
        try:
            with warehouse.connect(dsn) as conn:
                warehouse.load_run(conn, run_dir, run_month="2011-12-15")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=load)
    thread.start()
    return thread


def _connect_when_back(dsn: str, timeout: float = 60) -> psycopg.Connection:
    """Connect once the server has recovered from a crash."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return psycopg.connect(dsn)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_backend_killed_mid_load_leaves_the_old_month_and_a_rerun_is_exact(
        warehouse_dsn, run_dirs, postgres):
    """SIGKILL of the loading backend makes the postmaster reset every session and recover
    from its WAL, as a crash does: the month is all-old, then a rerun gives the clean load."""
    reference_dsn = local_postgres.ensure_database(postgres, "t_kill_reference")
    with warehouse.connect(reference_dsn) as conn:  # the clean load of November as December
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        warehouse.load_run(conn, run_dirs["2011-11"], run_month="2011-12-15")
        clean = warehouse.snapshot(conn)
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        before = warehouse.snapshot(conn)
    errors: list[BaseException] = []
    admin = psycopg.connect(warehouse_dsn)
    admin.execute("BEGIN; LOCK TABLE insiders.membership_history IN ACCESS EXCLUSIVE MODE")
    loader = _load_in_thread(warehouse_dsn, run_dirs["2011-11"], errors)
    pid = _wait_for_lock_waiter(psycopg.connect(warehouse_dsn, autocommit=True))
    os.kill(pid, signal.SIGKILL)  # mid-load: the month deleted and most rows copied, uncommitted
    loader.join(60)
    assert errors and isinstance(errors[0], psycopg.OperationalError)
    with pytest.raises(psycopg.OperationalError):  # every session is reset by the crash
        deadline = time.monotonic() + 30  # (once the postmaster has reaped the killed backend)
        while time.monotonic() < deadline:
            admin.execute("SELECT 1")
            time.sleep(0.1)
    with _connect_when_back(warehouse_dsn) as conn:
        _same(warehouse.snapshot(conn), before)  # all-old
        warehouse.load_run(conn, run_dirs["2011-11"], run_month="2011-12-15")
        _same(warehouse.snapshot(conn), clean)  # the rerun is exact


def test_two_loads_of_one_month_at_once_leave_one_copy(warehouse_dsn, run_dirs):
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        once = warehouse.snapshot(conn)
    errors: list[BaseException] = []
    threads = [_load_in_thread(warehouse_dsn, run_dirs["2011-12"], errors) for _ in range(2)]
    for t in threads:
        t.join(120)
    assert not errors
    with warehouse.connect(warehouse_dsn) as conn:
        _same(warehouse.snapshot(conn), once)


def test_readers_holding_locks_do_not_stop_a_load(warehouse_dsn, run_dirs):
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.load_run(conn, run_dirs["2011-11"], run_month="2011-11-15")
        warehouse.create_reader(conn, "dashboard", "not-a-real-secret")
    reader = psycopg.connect(warehouse_dsn.replace("postgres@", "dashboard@"))
    # every lock the read-only role can take: the old advisory load lock, an open transaction
    # that read the views (what a dashboard left idle does), an explicit ACCESS SHARE lock
    reader.execute("SELECT pg_advisory_lock(hashtext('insiders.load'))")
    reader.execute("SELECT count(*) FROM insiders.current_insiders").fetchone()
    reader.execute("SELECT count(*) FROM insiders.insiders_by_month").fetchone()
    reader.execute("LOCK TABLE insiders.runs, insiders.customer_segments IN ACCESS SHARE MODE")
    for table in ("insiders.load_lock", "insiders.runs"):  # and it cannot take the load's lock
        with pytest.raises(psycopg.errors.InsufficientPrivilege), reader.transaction():
            reader.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    started = time.monotonic()
    with warehouse.connect(warehouse_dsn) as conn:
        result = warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15",
                                    lock_timeout_s=10)
    assert result.rows["customer_segments"] > 0
    assert time.monotonic() - started < 10
    assert reader.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS  # still held
    reader.close()


def test_a_load_waits_for_another_sessions_lock_no_longer_than_its_timeout(warehouse_dsn, run_dirs):
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        before = warehouse.snapshot(conn)
    holder = psycopg.connect(warehouse_dsn)  # an admin session stuck holding the lock
    holder.execute("BEGIN; LOCK TABLE insiders.load_lock IN EXCLUSIVE MODE")
    started = time.monotonic()
    with warehouse.connect(warehouse_dsn) as conn:
        with pytest.raises(warehouse.WarehouseBusy, match=r"more than 2 s for a lock.*Retry later"):
            warehouse.load_run(conn, run_dirs["2011-11"], run_month="2011-12-15", lock_timeout_s=2)
        assert time.monotonic() - started < 30
        holder.close()
        _same(warehouse.snapshot(conn), before)


def test_a_mixed_run_folder_is_refused_and_the_warehouse_keeps_its_month(warehouse_dsn, run_dirs,
                                                                         tmp_path):
    """A rerun that failed after ingest (here: a stale reference date in features), then only
    the load cleared: the folder holds new lines and old segments."""
    mixed = tmp_path / "mixed"
    shutil.copytree(run_dirs["2011-12"], mixed)
    with pytest.raises(Exception, match="days before the reference date"):
        pipeline.run_all(str(REAL_DATA), str(mixed), CONFIG,
                         stages=pipeline.stages_through("features"), reference_date="2012-09-01")
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.load_run(conn, run_dirs["2011-12"], run_month="2011-12-15")
        before = warehouse.snapshot(conn)
        with pytest.raises(RunFolderError, match=r"features\.parquet is from the earlier attempt"):
            warehouse.load_run(conn, str(mixed), run_month="2011-12-15")
        _same(warehouse.snapshot(conn), before)
    assert run_folder.check_one_attempt(run_dirs["2011-12"], ("features", "segments"))


def test_a_database_name_is_never_sql(postgres):
    """``local_postgres --database 'x" OWNER "reader'`` made the reader own a database."""
    name = 'x" OWNER "insiders_reader'
    uri = local_postgres.ensure_database(postgres, name)
    with psycopg.connect(postgres.uri(), autocommit=True) as conn:
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                             (name,)).fetchone()
        with psycopg.connect(uri) as db:  # the URI reaches that very database
            assert db.execute("SELECT current_database()").fetchone()[0] == name
        conn.execute(psycopg.sql.SQL("DROP DATABASE {}").format(psycopg.sql.Identifier(name)))
    assert owner == ("postgres",)
