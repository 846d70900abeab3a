"""
### Insiders, monthly

Picks the shop's best customers (**Insiders**) on the 15th of every month, as of the day
before (the run's data interval, so a backfill of last March answers for last March).

`ingest` -> `filter_lines` -> `features` -> `embed` -> `compare` -> `select` -> `report`
-> `load` -> `export` -> `resync_metabase`

Each task is a thin call into the `insiders` package; files go under one folder per run
month (`insiders_artifacts` Variable: `s3://bucket/prefix` through the `aws_default`
connection, or `file://...`; default `var/runs` beside this project), XCom carries only
that folder and small facts. `report` answers the nine business questions (HTML and
Markdown with plots, `answers.csv`, `forecasts.csv`); `load` then replaces the run month
in the Postgres warehouse (`insiders_warehouse` connection), answers included, in one
transaction, so a rerun never duplicates it and a failure changes nothing; `export`
writes `insiders.csv`.

Configuration (from Airflow, never from code):

| what | where | default |
|---|---|---|
| warehouse | connection `insiders_warehouse` (Postgres) | required |
| S3 credentials / endpoint | connection `aws_default` | the AWS default chain |
| source file | param `source`, else Variable `insiders_source` | the bundled UCI data |
| run folders | Variable `insiders_artifacts` | `file://<project>/var/runs` |
| Metabase resync | connection `metabase_default` (HTTP, admin login) | skipped |
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Param, Variable, dag, task

from insiders.options import ANONYMOUS_POLICIES, FEATURE_DESCRIPTIONS, MODELS, RULES, SPACES

PROJECT = Path(__file__).resolve().parent.parent
WAREHOUSE_CONN = "insiders_warehouse"
AWS_CONN = "aws_default"
METABASE_CONN = "metabase_default"


def _run_info(context: dict[str, Any]) -> dict[str, str]:
    """Run month, reference date, source and run folder, from the run (never the clock)."""
    params = context["params"]
    if params.get("reference_date"):
        reference = pendulum.parse(params["reference_date"]).date()
    else:
        anchor = context.get("data_interval_end") or context["dag_run"].run_after
        reference = anchor.date() - timedelta(days=1)  # the last full day before the run
    month = reference.replace(day=1)
    source = params.get("source") or Variable.get(
        "insiders_source", default=(PROJECT / "data" / "online_retail.parquet").as_uri()
    )
    base = Variable.get("insiders_artifacts", default=(PROJECT / "var" / "runs").as_uri())
    return {
        "run_month": month.isoformat(),
        "reference_date": reference.isoformat(),
        "source": source,
        "run_dir": f"{base.rstrip('/')}/{month:%Y-%m}",
    }


def _use_object_storage(*uris: str) -> None:
    """Let the insiders package reach s3:// with the Airflow AWS connection's settings."""
    if not any(u.startswith("s3://") for u in uris):
        return
    import fsspec
    from airflow.sdk import ObjectStoragePath

    fs = ObjectStoragePath(next(u for u in uris if u.startswith("s3://")), conn_id=AWS_CONN).fs
    fsspec.config.conf["s3"] = dict(fs.storage_options)


def _warehouse():
    """A connection to the warehouse, from the Airflow connection."""
    from airflow.sdk import Connection

    from insiders import warehouse

    conn = Connection.get(WAREHOUSE_CONN)
    return warehouse.connect(host=conn.host, port=conn.port, user=conn.login,
                             password=conn.password, dbname=conn.schema)


@dag(
    dag_id="insiders_monthly",
    schedule="0 6 15 * *",
    start_date=pendulum.datetime(2011, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
    },
    tags=["insiders", "segmentation", "monthly"],
    doc_md=__doc__,
    params={
        "source": Param(None, type=["null", "string"],
                        description="Transactions file or URL; empty: Variable insiders_source"),
        "reference_date": Param(None, type=["null", "string"],
                                description="YYYY-MM-DD; empty: the day before the run's date"),
        "anonymous_policy": Param("exclude", enum=list(ANONYMOUS_POLICIES)),
        "spaces": Param(list(SPACES), type="array", items={"enum": list(SPACES)}),
        "models": Param(list(MODELS), type="array", items={"enum": list(MODELS)}),
        "reuse_spaces": Param(False, type="boolean",
                              description="Embed in last month's fitted spaces (stable segments)"),
        "selection_rule": Param("fixed", enum=list(RULES)),
        "space": Param("umap", enum=list(SPACES)),
        "model": Param("ward", enum=list(MODELS)),
        "k": Param(8, type="integer", minimum=2, maximum=14),
        "k_range": Param([4, 10], type="array", minItems=2, maxItems=2),
        "value_score": Param("gross_revenue", enum=list(FEATURE_DESCRIPTIONS)),
    },
)
def insiders_monthly():
    @task
    def ingest(**context) -> dict[str, Any]:
        """Read the source into the one schema; bad input fails here with file, row, column."""
        from airflow.sdk.exceptions import AirflowFailException

        from insiders import pipeline
        from insiders.ingest import IngestError

        run = _run_info(context)
        _use_object_storage(run["source"], run["run_dir"])
        try:
            facts = pipeline.ingest(run["source"], run["run_dir"])
        except IngestError as exc:  # bad input: retrying cannot help, say what to fix
            raise AirflowFailException(str(exc)) from exc
        return {**run, "lines_read": facts["lines_read"]}

    @task
    def filter_lines(run: dict[str, Any], params=None) -> dict[str, Any]:
        """Apply the named filter rules; keep the quarantine summary."""
        from insiders import pipeline
        from insiders.filters import FilterConfig

        _use_object_storage(run["run_dir"])
        facts = pipeline.filter_lines(run["run_dir"], FilterConfig(anonymous=params["anonymous_policy"]))
        return {**run, "lines_kept": facts["lines_kept"]}

    @task
    def features(run: dict[str, Any]) -> dict[str, Any]:
        """One row per customer as of the reference date."""
        from insiders import pipeline

        _use_object_storage(run["run_dir"])
        facts = pipeline.features(run["run_dir"], run["reference_date"])
        return {**run, "customers": facts["customers"]}

    @task
    def embed(run: dict[str, Any], params=None) -> dict[str, Any]:
        """Fit the scaler and spaces (or reuse last month's)."""
        from insiders import pipeline, warehouse

        _use_object_storage(run["run_dir"])
        reuse = None
        if params["reuse_spaces"]:
            with _warehouse() as conn:
                previous = warehouse.previous_run_dir(conn, run["run_month"])
            reuse = pipeline.path(previous, "spaces") if previous else None
        pipeline.embed(run["run_dir"], spaces=params["spaces"], reuse_spaces=reuse)
        return run

    @task
    def compare(run: dict[str, Any], params=None) -> dict[str, Any]:
        """Score every model on every space; keep the whole table."""
        from insiders import pipeline
        from insiders.compare import GridConfig

        _use_object_storage(run["run_dir"])
        facts = pipeline.compare(run["run_dir"], GridConfig(models=tuple(params["models"])))
        return {**run, "best_candidate": facts["best"]["candidate"]}

    @task
    def select(run: dict[str, Any], params=None) -> dict[str, Any]:
        """Pick the model by policy; find Insiders; keep segment ids from last month."""
        from insiders import pipeline, warehouse
        from insiders.select import SelectionPolicy

        _use_object_storage(run["run_dir"])
        with _warehouse() as conn:
            previous = warehouse.previous_run_dir(conn, run["run_month"])
        policy = SelectionPolicy(
            rule=params["selection_rule"], space=params["space"], model=params["model"],
            k=params["k"], k_min=params["k_range"][0], k_max=params["k_range"][1],
            value_score=params["value_score"],
        )
        facts = pipeline.select(run["run_dir"], policy,
                                pipeline.path(previous, "segments") if previous else None)
        return {**run, "insiders": facts["insiders"], "chosen": facts["chosen"]["candidate"]}

    @task
    def report(run: dict[str, Any]) -> dict[str, Any]:
        """Answer the nine questions: report.html and .md with plots, answers, forecast."""
        from insiders import pipeline

        _use_object_storage(run["run_dir"])
        return {**run, "report": pipeline.report(run["run_dir"])["report"]}

    @task
    def load(run: dict[str, Any], **context) -> dict[str, Any]:
        """Replace the run month in the warehouse, in one transaction."""
        from insiders import warehouse

        _use_object_storage(run["run_dir"])
        with _warehouse() as conn:
            result = warehouse.load_run(conn, run["run_dir"], run_month=run["run_month"],
                                        run_id=context["run_id"])
        return {**run, "loaded": result.to_dict()}

    @task
    def export(run: dict[str, Any]) -> dict[str, Any]:
        """Write the CSV of Insiders beside the run's other outputs."""
        from insiders import pipeline

        _use_object_storage(run["run_dir"])
        return {**run, "insiders_csv": pipeline.export_insiders(run["run_dir"])}

    @task
    def resync_metabase(run: dict[str, Any]) -> dict[str, Any]:
        """Ask Metabase to resync the warehouse; skipped without a `metabase_default` connection."""
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException, AirflowSkipException

        from insiders import metabase

        try:
            conn = Connection.get(METABASE_CONN)
        except AirflowNotFoundException as exc:
            raise AirflowSkipException(f"no connection {METABASE_CONN!r}: no Metabase to resync") from exc
        config = metabase.MetabaseConfig(
            url=f"{conn.schema or 'http'}://{conn.host}:{conn.port or 3000}",
            admin_email=conn.login, admin_password=conn.password,
        )
        return metabase.resync(config)

    resync_metabase(export(load(report(select(compare(embed(features(filter_lines(ingest())))))))))


insiders_monthly()
