"""The demo's run (scripts/demo_run.py): a run in which no task ran is a failure, and a run
reads in Airflow as what it was (named after its month, started at the wall clock)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.airflow_env import ROOT, airflow_env, migrate


def _demo_run():
    spec = importlib.util.spec_from_file_location("demo_run", ROOT / "scripts" / "demo_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_verdict_fails_a_run_in_which_no_task_ran():
    verdict = _demo_run().verdict
    assert "no task ran" in verdict("success", {})
    assert "no task ran" in verdict("success", {"ingest": None, "load": None})
    assert "failed tasks ingest" in verdict("failed", {"ingest": "failed",
                                                       "load": "upstream_failed"}).replace(",", "")
    assert "never ran: load" in verdict("success", {"ingest": "success", "load": None})
    assert verdict("success", {"ingest": "success", "resync_metabase": "skipped"}) is None


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-demo-run")
    env = airflow_env(home, AIRFLOW_VAR_INSIDERS_ARTIFACTS=(home / "runs").as_uri())
    migrate(env)
    return env


def test_a_run_dated_before_the_dags_start_date_fails_the_demo(airflow_home):
    """Airflow marks such a run successful without creating one task instance."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo_run.py"),
                           "2010-11-15T06:00:00+00:00"], env=airflow_home, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "demo: no task ran (run state 'success', 0 task instances)" in done.stderr
    assert "manual__2010-11-15T06:00:00+00:00" in done.stderr  # the id names the month


def test_a_failed_run_is_named_after_its_month_starts_now_and_keeps_its_task_log(airflow_home):
    """A run that fails in `ingest` (a bad file): the demo fails naming the task, the run's id
    names its month, its start is today (not its logical date in 2011) and the task's log file,
    where the UI reads it, holds the package's progress."""
    import json
    import sqlite3
    from datetime import datetime, timedelta, timezone
    from pathlib import Path

    from tests.e2e.conftest import BAD_CSV

    home = Path(airflow_home["AIRFLOW_HOME"])
    bad = home / "bad.csv"
    bad.write_text(BAD_CSV)
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo_run.py"),
                           "2011-12-15T06:00:00+00:00", json.dumps({"source": str(bad)})],
                          env=airflow_home, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "demo: the DAG run failed: failed tasks" in done.stderr and "ingest" in done.stderr
    run_id = "manual__2011-12-15T06:00:00+00:00"
    with sqlite3.connect(home / "airflow.db") as db:  # the metadata database the UI reads
        (start,), = db.execute("SELECT start_date FROM dag_run WHERE run_id = ?", (run_id,))
    started = datetime.fromisoformat(start).replace(tzinfo=timezone.utc)
    assert datetime.now(timezone.utc) - started < timedelta(hours=1), start
    log = home / "logs" / "dag_id=insiders_monthly" / f"run_id={run_id}" / "task_id=ingest" / \
        "attempt=1.log"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(e["event"].startswith("» ingest") and e["level"] == "info" for e in lines), lines
