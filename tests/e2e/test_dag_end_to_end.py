"""The DAG end to end on real components: data in an S3 API, a Postgres warehouse, Airflow.

These run in file order: a first run, its rerun, a bad input, then a run triggered over
Airflow's REST API by a user clicking "Trigger".
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pandas as pd
import pytest

from insiders import artifacts, pipeline, warehouse
from insiders.config import RunConfig
from tests.airflow_env import dag_test
from tests.conftest import REAL_DATA
from tests.e2e.conftest import BUCKET, api, standalone

#: The run triggered over REST takes every default (4 spaces, 5 models: what a user clicking
#: "Trigger" runs); the first run, its rerun and the failing runs two spaces and two models.
DEFAULTS: dict = {}
CONF = {"spaces": ["features", "umap"], "models": ["kmeans", "ward"]}
DECEMBER = "2011-12-15T06:00:00+00:00"


def snapshot(dsn: str) -> dict[str, pd.DataFrame]:
    with warehouse.connect(dsn) as conn:
        return warehouse.snapshot(conn)


@pytest.fixture(scope="module")
def first_run(airflow, e2e_warehouse):
    state, output = dag_test(airflow, DECEMBER, CONF)
    assert state == "success", output[-5000:]
    return snapshot(e2e_warehouse)


def test_dag_run_fills_the_warehouse_with_the_packages_own_figures(first_run, s3_endpoint, tmp_path):
    runs = first_run["runs"]
    assert runs["run_month"].astype(str).tolist() == ["2011-12-01"]
    assert str(runs.loc[0, "reference_date"]) == "2011-12-14"
    assert runs.loc[0, "source"] == f"s3://{BUCKET}/raw/online_retail.parquet"
    # the package alone, on the same data and settings, gives the same answer
    run_dir = str(tmp_path)
    facts = pipeline.run_all(str(REAL_DATA), run_dir, RunConfig.from_params(CONF),
                             reference_date="2011-12-14",
                             stages=pipeline.stages_through("tier"))["tier"]
    assert runs.loc[0, "insiders"] == facts["insiders"]["customers"]
    assert runs.loc[0, "chosen_candidate"] == facts["chosen"]["candidate"]
    expected = artifacts.load_frame(pipeline.path(run_dir, "segments")).sort_index()
    got = first_run["customer_segments"].set_index("customer_id").sort_index()
    assert got.index.tolist() == expected.index.tolist()
    assert (got["segment_id"] == expected["segment_id"]).all()
    assert (got["is_insider"] == expected["is_insider"]).all()
    scores = artifacts.load_frame(pipeline.path(run_dir, "scores"))
    assert len(first_run["model_scores"]) == len(scores)
    assert set(first_run["model_scores"]["model"]) == set(scores["model"]) == {"kmeans", "ward"}
    assert {c.split("/")[0] for c in scores["candidate"]} == {"features", "umap"}
    # intermediate files went to the bucket, under the run month's prefix
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="testing",
                      aws_secret_access_key="testing", region_name="us-east-1")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="runs/2011-12/")["Contents"]}
    assert {"runs/2011-12/features.parquet", "runs/2011-12/insiders.csv",
            "runs/2011-12/spaces.joblib"} <= keys


def test_second_run_of_the_same_month_gives_identical_tables(first_run, airflow, e2e_warehouse):
    state, output = dag_test(airflow, DECEMBER, CONF)
    assert state == "success", output[-5000:]
    again = snapshot(e2e_warehouse)
    for table, frame in first_run.items():
        pd.testing.assert_frame_equal(frame, again[table], check_dtype=False, obj=table)


def test_bad_input_fails_with_the_clear_error_and_leaves_the_warehouse(first_run, airflow,
                                                                       e2e_warehouse):
    before = snapshot(e2e_warehouse)
    conf = {**CONF, "source": f"s3://{BUCKET}/raw/bad.csv"}
    state, output = dag_test(airflow, "2012-01-15T06:00:00+00:00", conf)
    assert state == "failed"
    assert f"s3://{BUCKET}/raw/bad.csv: not a number (row 3 (line 4 of the file), " \
           "column 'Quantity', value 'six')" in output
    after = snapshot(e2e_warehouse)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], check_dtype=False, obj=table)


def test_a_stale_reference_date_fails_its_task_at_once_and_leaves_the_warehouse(
        first_run, airflow, e2e_warehouse):
    """Bad input found after ingest (here: a run date years after the data) fails the task
    without retry, with the message that says what to change."""
    before = snapshot(e2e_warehouse)
    state, output = dag_test(airflow, "2026-12-15T06:00:00+00:00", CONF)
    assert state == "failed"
    assert "days before the reference date 2026-12-14 (at most 45 allowed)" in output
    assert "up_for_retry" not in output.lower()
    after = snapshot(e2e_warehouse)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], check_dtype=False, obj=table)


def test_run_triggered_over_the_rest_api_succeeds(first_run, airflow, e2e_warehouse, tmp_path):
    """As a user clicking "Trigger": the API server and scheduler run, the run is asked for
    over REST with a token from /auth/token, then polled until it succeeds."""
    log = tmp_path / "standalone.log"
    workers_before = loky_workers()
    with standalone(airflow, log) as (base, token, env):
        run = api(base, "POST", "/api/v2/dags/insiders_monthly/dagRuns", token,
                  {"logical_date": "2011-11-15T06:00:00Z", "conf": DEFAULTS})
        run_id = run["dag_run_id"]
        deadline = time.monotonic() + 1200
        while True:
            state = api(base, "GET", f"/api/v2/dags/insiders_monthly/dagRuns/{run_id}", token)[
                "state"]
            if state in ("success", "failed"):
                break
            assert time.monotonic() < deadline, f"run still {state}"
            time.sleep(5)
        assert state == "success", log.read_text()[-5000:]
    tables = snapshot(e2e_warehouse)
    assert tables["runs"]["run_month"].astype(str).tolist() == ["2011-11-01", "2011-12-01"]
    # the defaults: every space and every model of the grid, through Airflow
    scores = tables["model_scores"][tables["model_scores"]["run_month"].astype(str) == "2011-11-01"]
    assert set(scores["model"]) == {"kmeans", "gmm", "ward", "dbscan", "hdbscan"}
    assert set(scores["space"]) == {"features", "umap", "tsne", "tree"}
    # the task supervisor logs stderr at ERROR: progress must arrive as INFO records
    entries = [json.loads(line) for path in Path(env["AIRFLOW_HOME"], "logs").rglob("*.log")
               if f"run_id={run_id}" in str(path) for line in path.read_text().splitlines()
               if line.startswith("{")]
    progress = [e for e in entries if "» " in str(e.get("event", ""))]
    assert len(progress) >= 8, len(entries)  # every stage says when it starts
    wrong = [e for e in progress if e.get("level") != "info"]
    assert not wrong, wrong[:3]
    assert not [e for e in entries if e.get("level") == "error"]
    # each task stopped the workers its stage started: none outlives its task's process
    orphans = {pid: ppid for pid, ppid in loky_workers().items()
               if pid not in workers_before and not _runs_python(ppid)}
    assert not orphans, orphans  # reparented to init (or a subreaper): their task is gone


def loky_workers() -> dict[int, int]:
    """The machine's joblib (loky) worker processes and resource trackers: pid -> parent pid."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if "loky" in cmdline:
            found[int(proc.name)] = ppid
    return found


def _runs_python(pid: int) -> bool:
    """Whether a process is a live Python run or Airflow task keeping its workers (Airflow
    renames its processes "airflow ..."), not init or a subreaper that adopted them."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return pid != 1 and (b"python" in cmdline or b"airflow" in cmdline)
