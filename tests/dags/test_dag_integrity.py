"""The DAG file parses cleanly and says what it should: schedule, tasks, retries, docs."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time

import pytest

from tests.airflow_env import ROOT, airflow_env

PARSE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get("insiders_monthly")
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dag_ids": sorted(bag.dags)}
if dag:
    out.update(
        schedule=dag.timetable.expression, timetable=type(dag.timetable).__name__,
        tags=sorted(dag.tags), doc=bool(dag.doc_md),
        tasks={t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks},
        retries={t.task_id: t.retries for t in dag.tasks},
        backoff=all(t.retry_exponential_backoff for t in dag.tasks),
        params=sorted(dag.params), catchup=dag.catchup, max_active_runs=dag.max_active_runs,
        param_schemas={k: {**dag.params.get_param(k).schema,
                           "description": dag.params.get_param(k).description}
                       for k in dag.params},
        param_defaults={k: dag.params.get_param(k).value for k in dag.params},
        start_date=dag.start_date.isoformat(),
        failure_callbacks={t.task_id: [f"{c.__module__}.{c.__qualname__}"
                                       for c in (t.on_failure_callback or [])] for t in dag.tasks},
    )
if dag:
    out["load_outlets"] = sorted(getattr(o, "name", str(o)) for o in dag.get_task("load").outlets)
crm = bag.dags.get("insiders_crm_handoff")
if crm:
    out["crm"] = {"timetable": type(crm.timetable).__name__,
                  "assets": str(getattr(crm.timetable, "asset_condition", "")),
                  "tasks": sorted(t.task_id for t in crm.tasks)}
print(json.dumps(out, default=str))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    import json

    env = airflow_env(tmp_path_factory.mktemp("airflow-home"))
    done = subprocess.run([sys.executable, "-c", PARSE, str(ROOT / "dags")], env=env,
                          capture_output=True, text=True, check=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_import_errors(parsed):
    assert parsed["errors"] == {}
    assert parsed["dag_ids"] == ["insiders_crm_handoff", "insiders_monthly"]


def test_the_loaded_month_is_an_asset_a_downstream_dag_is_scheduled_on(parsed):
    from insiders.options import INSIDERS_LOADED_ASSET

    assert parsed["load_outlets"] == [INSIDERS_LOADED_ASSET]
    assert parsed["crm"]["timetable"] == "AssetTriggeredTimetable"
    assert f"name='{INSIDERS_LOADED_ASSET}'" in parsed["crm"]["assets"]
    assert parsed["crm"]["tasks"] == ["publish"]


def test_scheduled_on_the_15th(parsed):
    assert parsed["schedule"] == "0 6 15 * *"
    assert parsed["timetable"] == "CronTriggerTimetable"  # logical date = the 15th
    assert parsed["catchup"] is False and parsed["max_active_runs"] == 1


def test_task_graph_is_the_pipeline(parsed):
    chain = ["ingest", "check_quality", "filter_lines", "features", "embed", "compare", "segments", "tier",
             "backtest", "report", "load", "export", "resync_metabase"]
    assert set(parsed["tasks"]) == set(chain)
    for upstream, downstream in itertools.pairwise(chain):
        assert parsed["tasks"][upstream] == [downstream]
    assert parsed["tasks"]["resync_metabase"] == []


def test_retries_tags_docs_params(parsed):
    assert all(r >= 2 for r in parsed["retries"].values())
    assert parsed["backoff"]
    assert parsed["tags"] == ["insiders", "monthly", "segmentation"]
    assert parsed["doc"]
    assert {"source", "anonymous_policy", "selection_rule", "k", "value_score",
            "reference_date"} <= set(parsed["params"])


def test_every_task_mails_its_failure_through_the_alerts_connection(parsed):
    for task_id, callbacks in parsed["failure_callbacks"].items():
        assert [c.rsplit(".", 1)[-1] for c in callbacks] == ["notify_failure"], task_id


def test_any_day_of_the_bundled_data_can_be_a_run_date(parsed):
    """A run dated before the DAG's start_date runs no task: the start_date must not be after
    the first day of the data."""
    import pandas as pd

    from tests.conftest import REAL_DATA

    first = pd.read_parquet(REAL_DATA, columns=["InvoiceDate"])["InvoiceDate"].min()
    start = pd.Timestamp(parsed["start_date"]).tz_convert(None)
    assert start <= first.normalize(), (start, first)


def test_every_param_has_a_title_and_a_description_and_every_choice_is_offered(parsed):
    from insiders.config import PARAMS, RUN_PARAMS, RunConfig

    assert set(parsed["params"]) == set(PARAMS) | RUN_PARAMS
    for name, schema in parsed["param_schemas"].items():
        assert schema.get("title") and schema.get("description"), name
        assert schema.get("section"), name
    # the form's defaults are the package's own: one place for each default
    assert RunConfig.from_params({k: parsed["param_defaults"][k] for k in PARAMS}) == RunConfig()
    assert "k_range" not in parsed["params"]  # a range is two integer fields, not a text box
    assert parsed["param_schemas"]["k_min"]["type"] == "integer"
    assert parsed["param_schemas"]["k_max"]["type"] == "integer"


def test_dag_file_parses_without_heavy_imports():
    """Parsing must stay cheap: no pandas, scikit-learn or UMAP at import time."""
    code = (
        "import sys, time, runpy; t = time.perf_counter(); "
        f"runpy.run_path({str(ROOT / 'dags' / 'insiders_monthly.py')!r}); "
        "heavy = [m for m in ('pandas', 'sklearn', 'umap', 'numba') if m in sys.modules]; "
        "print(heavy)"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=airflow_env(ROOT / "var" / "airflow-parse"), timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
    assert time.perf_counter() - start < 120  # a sanity bound, not a benchmark
