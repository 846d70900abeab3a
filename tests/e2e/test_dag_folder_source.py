"""The DAG end to end on a source that is a folder of monthly files in S3 (as shops export
them): the run gives the warehouse what the package gives on the single bundled file."""

from __future__ import annotations

import pandas as pd

from insiders import artifacts, pipeline, warehouse
from insiders.config import RunConfig
from tests.airflow_env import dag_test
from tests.conftest import REAL_DATA
from tests.e2e.conftest import BUCKET, MONTHS_PREFIX

#: Two spaces and two models keep it short; November, as the REST test's run (a rerun of a
#: month replaces it, so the tests do not depend on their order).
CONF = {"spaces": ["features", "umap"], "models": ["kmeans", "ward"]}
NOVEMBER = "2011-11-15T06:00:00+00:00"


def test_dag_runs_a_folder_of_monthly_files(airflow, e2e_warehouse, tmp_path):
    source = f"s3://{BUCKET}/{MONTHS_PREFIX}"
    state, output = dag_test(airflow, NOVEMBER, {**CONF, "source": source})
    assert state == "success", output[-5000:]
    with warehouse.connect(e2e_warehouse) as conn:
        tables = warehouse.snapshot(conn)
    runs = tables["runs"].set_index(tables["runs"]["run_month"].astype(str))
    assert runs.loc["2011-11-01", "source"] == source
    assert str(runs.loc["2011-11-01", "reference_date"]) == "2011-11-14"
    # the package on the one file, same settings: the same customers, segments and Insiders
    run_dir = str(tmp_path)
    facts = pipeline.run_all(str(REAL_DATA), run_dir, RunConfig.from_params(CONF),
                             reference_date="2011-11-14",
                             stages=pipeline.stages_through("tier"))
    assert runs.loc["2011-11-01", "insiders"] == facts["tier"]["insiders"]["customers"]
    expected = artifacts.load_frame(pipeline.path(run_dir, "segments")).sort_index()
    segments = tables["customer_segments"]
    got = (segments[segments["run_month"].astype(str) == "2011-11-01"]
           .set_index("customer_id").sort_index())
    assert got.index.tolist() == expected.index.tolist()
    assert (got["segment_id"] == expected["segment_id"]).all()
    assert (got["is_insider"] == expected["is_insider"]).all()
    assert len(pd.unique(got["segment_id"])) == facts["tier"]["segments"]
