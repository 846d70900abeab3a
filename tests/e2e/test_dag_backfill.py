"""A shop's first months backfilled through Airflow (scheduler, API server, a backfill with one
run at a time): the months run oldest first, one after the other, and leave a chain of run
months in the warehouse. Three months keep it short: the bundled data's first three run months
(2010-12 to 2011-02), where the value model steps down (past revenue, then BG/NBD alone).

Airflow's metadata lives in Postgres here, as in production: Airflow refuses to create a
backfill on SQLite while its scheduler writes (HTTP 503, "database is locked")."""

from __future__ import annotations

import itertools
import time

import pandas as pd
import pytest

from insiders import local_postgres, warehouse
from tests.airflow_env import airflow_env, aws_connection, migrate
from tests.e2e.conftest import BUCKET, api, standalone

CONF = {"spaces": ["features", "umap"], "models": ["kmeans", "ward"]}
MONTHS = ["2010-12-01", "2011-01-01", "2011-02-01"]


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory, s3_endpoint, postgres):
    """Its own warehouse and Airflow (metadata in Postgres); the three months, waited for."""
    dsn = local_postgres.ensure_database(postgres, "e2e_backfill")
    metadata = local_postgres.ensure_database(postgres, "airflow_backfill")
    home = tmp_path_factory.mktemp("airflow-backfill")
    env = airflow_env(
        home,
        AIRFLOW_CONN_AWS_DEFAULT=aws_connection(s3_endpoint),
        AIRFLOW_CONN_INSIDERS_WAREHOUSE=dsn,
        AIRFLOW_VAR_INSIDERS_SOURCE=f"s3://{BUCKET}/raw/online_retail.parquet",
        AIRFLOW_VAR_INSIDERS_ARTIFACTS=f"s3://{BUCKET}/backfill-runs",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=metadata.replace("postgresql://",
                                                             "postgresql+psycopg://", 1),
    )
    migrate(env)
    log = home / "standalone.log"
    with standalone(env, log) as (base, token, _):
        backfill = api(base, "POST", "/api/v2/backfills", token, {
            "dag_id": "insiders_monthly", "from_date": "2010-12-15T00:00:00Z",
            "to_date": "2011-02-15T12:00:00Z", "run_backwards": False, "max_active_runs": 1,
            "reprocess_behavior": "none", "dag_run_conf": CONF})
        deadline = time.monotonic() + 1800
        while True:
            runs = api(base, "GET", "/api/v2/dags/insiders_monthly/dagRuns?run_type=backfill",
                       token)["dag_runs"]
            states = [r["state"] for r in runs]
            if len(runs) == len(MONTHS) and all(s in ("success", "failed") for s in states):
                break
            assert time.monotonic() < deadline, f"backfill still running: {states}"
            assert "failed" not in states, log.read_text()[-5000:]
            time.sleep(5)
    with warehouse.connect(dsn) as conn:
        tables = warehouse.snapshot(conn)
    return backfill, runs, tables


def test_the_backfill_runs_the_months_oldest_first_one_at_a_time(backfilled):
    backfill, runs, _ = backfilled
    assert backfill["max_active_runs"] == 1
    assert all(r["state"] == "success" for r in runs), [(r["logical_date"], r["state"]) for r in runs]
    runs = sorted(runs, key=lambda r: r["start_date"])
    assert [r["logical_date"][:10] for r in runs] == ["2010-12-15", "2011-01-15", "2011-02-15"]
    for before, after in itertools.pairwise(runs):  # never side by side
        assert pd.Timestamp(before["end_date"]) <= pd.Timestamp(after["start_date"])


def test_the_warehouse_holds_a_chain_of_months_with_the_model_each_used(backfilled):
    _, _, tables = backfilled
    runs = tables["runs"].sort_values("run_month")
    assert runs["run_month"].astype(str).tolist() == MONTHS
    # a young shop: too little history, then too short for the trees, each said
    assert runs["value_model"].tolist() == ["past_revenue", "bgnbd", "bgnbd"]
    assert runs["value_model_reason"].notna().all()
    history = tables["membership_history"]
    segments = tables["customer_segments"]
    for before, after in itertools.pairwise(MONTHS):
        month = history[history["run_month"].astype(str) == after]
        assert set(month["previous_month"].astype(str)) == {before}  # chained to the month before
        was = set(segments.loc[(segments["run_month"].astype(str) == before)
                               & segments["is_insider"], "customer_id"])
        now = set(segments.loc[(segments["run_month"].astype(str) == after)
                               & segments["is_insider"], "customer_id"])
        assert set(month.loc[month["change"] == "entered", "customer_id"]) == now - was
        assert set(month.loc[month["change"] == "left", "customer_id"]) == was - now
        # and the run's own statuses agree with the warehouse's history
        rows = segments[segments["run_month"].astype(str) == after].set_index("customer_id")
        assert set(rows.index[rows["status"] == "new"]) == now - was
        assert set(rows.index[rows["status"] == "left"]) == was - now
