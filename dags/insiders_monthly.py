"""
### Insiders, monthly

Picks the shop's best customers (**Insiders**) on the 15th of every month, as of the day
before (the run's data interval, so a backfill of last March answers for last March).

`ingest` -> `check_quality` -> `filter_lines` -> `features` -> `embed` -> `compare` -> `segments`
-> `tier` -> `backtest` -> `report` -> `load` -> `export` -> `resync_metabase`

Each task is a thin call into the `insiders` package; files go under one folder per run
month (`insiders_artifacts` Variable: `s3://bucket/prefix` through the `aws_default`
connection, or `file://...`; default `var/runs` beside this project), XCom carries only
that folder and small facts. `backtest` replays the months before and checks the choice
against plain rules; `report` answers the nine business questions (HTML and
Markdown with plots, `answers.csv`, `forecasts.csv`); `load` then replaces the run month
in the Postgres warehouse (`insiders_warehouse` connection), answers included, in one
transaction, so a rerun never duplicates it and a failure changes nothing, and updates the
Asset `insiders_month_loaded` (DAGs scheduled on it, such as `insiders_crm_handoff`, start
then); `export` writes `insiders.csv`, `joined.csv` and `left.csv`.

Configuration (from Airflow, never from code):

| what | where | default |
|---|---|---|
| warehouse | connection `insiders_warehouse` (Postgres) | required |
| S3 credentials / endpoint | connection `aws_default` | the AWS default chain |
| source (file, folder or glob) | param `source`, else Variable `insiders_source` | the bundled UCI data |
| run folders | Variable `insiders_artifacts` | `file://<project>/var/runs` |
| export layout | params `preset`, `columns`, else Variable `insiders_layout` (JSON) | `online_retail` |
| Metabase resync | connection `metabase_default` (HTTP, admin login) | skipped |
| feature engine | param `feature_engine`; Spark master: connection `spark_default` | duckdb; `local[*]` |
| failure mail | connection `insiders_alerts` (SMTP; extra `to`, `from_email`) | none sent (logged) |

**Triggering by hand**: the form's *Logical date* starts at now, and a run answers for the day
before it; on the bundled data (2010-12-01 to 2011-12-09) pick a date inside the data (e.g.
2011-12-15) or fill *Reference date*. A date after the data's last purchase by more than
`max_staleness_days` is refused with a message naming that date. While the DAG is paused the
form ticks *Unpause on trigger*: untick it to run one month without starting the schedule.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Asset, Param, Variable, dag, task

from insiders.config import PARAMS, RunConfig, form_defaults
from insiders.options import INSIDERS_LOADED_ASSET

#: Updated when a run month is in the warehouse (see dags/insiders_crm_handoff.py).
INSIDERS_LOADED = Asset(INSIDERS_LOADED_ASSET)

PROJECT = Path(__file__).resolve().parent.parent
WAREHOUSE_CONN = "insiders_warehouse"
AWS_CONN = "aws_default"
METABASE_CONN = "metabase_default"
SPARK_CONN = "spark_default"
ALERTS_CONN = "insiders_alerts"
#: The first day of the bundled data: any month of it can be run (a run dated before the DAG's
#: start_date would run no task at all).
START_DATE = pendulum.datetime(2010, 12, 1, tz="UTC")

log = logging.getLogger(__name__)


def _reference_date(context: dict[str, Any]) -> date:
    """The run's reference date: the param, else the day before the run's date (never the clock)."""
    params = context["params"]
    if params.get("reference_date"):
        return pendulum.parse(params["reference_date"]).date()
    anchor = context.get("data_interval_end") or context["dag_run"].run_after
    return anchor.date() - timedelta(days=1)  # the last full day before the run


def _run_info(context: dict[str, Any]) -> dict[str, str]:
    """Run month, reference date, source and run folder, from the run (never the clock)."""
    params = context["params"]
    reference = _reference_date(context)
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


def notify_failure(context: dict[str, Any]) -> None:
    """Mail a task's failure through the SMTP connection `insiders_alerts` (its extra holds
    `to` and `from_email`); without that connection, log that no mail is sent and return."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(ALERTS_CONN)
    except AirflowNotFoundException:
        log.info("no connection %r: no failure mail sent", ALERTS_CONN)
        return
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    extra = conn.extra_dejson
    if not extra.get("to"):
        log.warning("connection %r has no 'to' in its extra: no failure mail sent", ALERTS_CONN)
        return
    try:
        month = f"{_reference_date(context):%Y-%m}"
    except ValueError:  # the run failed on a reference date that is not a date: mail anyway
        month = "unknown (reference date not a date)"
    SmtpNotifier(
        smtp_conn_id=ALERTS_CONN, to=extra["to"], from_email=extra.get("from_email"),
        subject=f"Insiders: {{{{ dag.dag_id }}}} failed at {{{{ ti.task_id }}}} for run month {month}",
        html_content=(f"<p>DAG <b>{{{{ dag.dag_id }}}}</b>, task <b>{{{{ ti.task_id }}}}</b>, run "
                      f"month <b>{month}</b> (run {{{{ run_id }}}}, try {{{{ ti.try_number }}}}) "
                      "failed:</p><pre>{{ exception }}</pre><p><a href=\"{{ ti.log_url }}\">"
                      "The task's log</a></p>"),
    )(context)
    log.info("failure mail sent to %s through connection %r", extra["to"], ALERTS_CONN)


def _warehouse():
    """A connection to the warehouse, from the Airflow connection."""
    from airflow.sdk import Connection

    from insiders import warehouse

    conn = Connection.get(WAREHOUSE_CONN)
    return warehouse.connect(host=conn.host, port=conn.port, user=conn.login,
                             password=conn.password, dbname=conn.schema)


def _spark_master() -> str:
    """The master URL of connection `spark_default`, as the Spark provider reads it; `local[*]`
    (Spark inside the worker) when there is no such connection."""
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        Connection.get(SPARK_CONN)
    except AirflowNotFoundException:
        return "local[*]"
    return SparkSubmitHook(conn_id=SPARK_CONN)._resolve_connection()["master"]


def _method_params() -> dict[str, Param]:
    """One Param per choice of the run configuration, with its default, title and help."""
    defaults = form_defaults()
    return {
        name: Param(defaults[name], title=spec.title, description=spec.description,
                    section=spec.section, **spec.schema)
        for name, spec in PARAMS.items()
    }


def _config(params: dict[str, Any]) -> RunConfig:
    """The run configuration from the run's params (the same object the CLI builds); params
    it cannot take fail the task at once (a retry cannot fix them)."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return RunConfig.from_params({name: params.get(name) for name in PARAMS}
                                     | _kept_layout(params))
    except ValueError as exc:
        raise AirflowFailException(f"the run's params cannot be used: {exc}") from exc


def _kept_layout(params: dict[str, Any]) -> dict[str, Any]:
    """The export layout a team accepted once (``insiders inspect``), kept for the monthly runs
    in the Variable ``insiders_layout`` (JSON: ``{"preset": ..., "columns": ...}``): used when
    the run's params leave the layout at its defaults."""
    defaults = form_defaults()
    if any(params.get(k) not in (None, "", defaults[k]) for k in ("preset", "columns")):
        return {}
    kept = Variable.get("insiders_layout", default=None, deserialize_json=True)
    return {k: kept[k] for k in ("preset", "columns") if kept and kept.get(k)}


def _stage(name: str, run: dict[str, Any], params: dict[str, Any] | None = None, **inputs: Any):
    """Run one stage of the package on the run's folder with the run's configuration. Bad
    input fails the task at once (a retry cannot fix it); other errors are retried."""
    from airflow.sdk.exceptions import AirflowFailException

    from insiders import pipeline
    from insiders.errors import InputError
    from insiders.parallel import release_workers

    _use_object_storage(run["run_dir"], inputs.get("source") or "")
    try:
        return pipeline.run_stage(name, run["run_dir"], _config(params or {}), **inputs)
    except InputError as exc:
        raise AirflowFailException(str(exc)) from exc
    finally:  # the task's process ends here: its worker processes with it, none orphaned
        release_workers()


def _previous(run: dict[str, Any], name: str) -> str | None:
    """A file of the latest earlier run month in the warehouse (None on a first run)."""
    from insiders import run_folder, warehouse

    with _warehouse() as conn:
        previous = warehouse.previous_run_dir(conn, run["run_month"])
    return run_folder.path(previous, name) if previous else None


@dag(
    dag_id="insiders_monthly",
    schedule="0 6 15 * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
        "on_failure_callback": notify_failure,  # a mail when `insiders_alerts` exists
    },
    tags=["insiders", "segmentation", "monthly"],
    doc_md=__doc__,
    params={
        "source": Param(None, type=["null", "string"], title="Source", section="Run",
                        description="Transactions file or URL (s3://...); empty: the Variable "
                        "insiders_source, else the bundled data"),
        "reference_date": Param(None, type=["null", "string"], title="Reference date",
                                section="Run", format="date",
                                description="The day the run answers for (YYYY-MM-DD). Empty: "
                                "the day before the Logical date above, which the form sets to "
                                "now; the bundled data runs 2010-12-01 to 2011-12-09, so for it "
                                "pick a Logical date inside it (e.g. 2011-12-15) or a date here"),
        "reuse_spaces": Param(False, type="boolean", title="Reuse last month's spaces",
                              section="Run", description="Embed in last month's fitted spaces "
                              "instead of refitting them (stable segments)"),
        **_method_params(),
    },
)
def insiders_monthly():
    @task
    def ingest(**context) -> dict[str, Any]:
        """Read the source into the one schema; bad input fails here with file, row, column."""
        run = _run_info(context)
        facts = _stage("ingest", run, context["params"], source=run["source"],
                       run_id=context["run_id"])
        return {**run, "lines_read": facts["lines_read"]}

    @task
    def check_quality(run: dict[str, Any], params=None) -> dict[str, Any]:
        """Quarantine implausible lines (counted per rule); refuse a file that breaks a file rule."""
        facts = _stage("check_quality", run, params, reference_date=run["reference_date"])
        return {**run, "lines_quarantined": facts["lines_quarantined"]}

    @task
    def filter_lines(run: dict[str, Any], params=None) -> dict[str, Any]:
        """Apply the named filter rules; keep the quarantine summary."""
        facts = _stage("filter_lines", run, params)
        return {**run, "lines_kept": facts["lines_kept"]}

    @task
    def features(run: dict[str, Any], params=None) -> dict[str, Any]:
        """One row per customer as of the reference date (DuckDB, or Spark by param)."""
        master = _spark_master() if params.get("feature_engine") == "spark" else None
        facts = _stage("features", run, params, reference_date=run["reference_date"],
                       spark_master=master)
        return {**run, "customers": facts["customers"]}

    @task
    def embed(run: dict[str, Any], params=None) -> dict[str, Any]:
        """Fit the scaler and spaces (or reuse last month's)."""
        reuse = _previous(run, "spaces") if params["reuse_spaces"] else None
        _stage("embed", run, params, reuse_spaces=reuse)
        return run

    @task
    def compare(run: dict[str, Any], params=None) -> dict[str, Any]:
        """Score every model on every space; keep the whole table."""
        facts = _stage("compare", run, params)
        return {**run, "best_candidate": facts["best"]["candidate"]}

    @task
    def segments(run: dict[str, Any], params=None) -> dict[str, Any]:
        """Pick the model by policy; keep segment ids and names from last month."""
        facts = _stage("segments", run, params, previous_segments=_previous(run, "segments"))
        return {**run, "chosen": facts["chosen"]["candidate"], "segments": facts["segments"]}

    @task
    def tier(run: dict[str, Any], params=None) -> dict[str, Any]:
        """Choose this month's Insiders by value, with last month's members."""
        facts = _stage("tier", run, params, previous_segments=_previous(run, "segments"))
        return {**run, "insiders": facts["insiders"]}

    @task
    def backtest(run: dict[str, Any], params=None) -> dict[str, Any]:
        """Replay the earlier months, refit the clusters on bootstrap samples, back-test the rules."""
        facts = _stage("backtest", run, params)
        return {**run, "backtest_months": facts["backtest_months"]}

    @task
    def report(run: dict[str, Any], params=None) -> dict[str, Any]:
        """Answer the nine questions from the run folder: report.html and .md with plots."""
        facts = _stage("report", run, params)
        return {**run, "report": facts["report"]}

    @task(outlets=[INSIDERS_LOADED])
    def load(run: dict[str, Any], **context) -> dict[str, Any]:
        """Replace the run month in the warehouse, in one transaction; then tell the DAGs
        scheduled on the Asset which month and run folder it was."""
        from airflow.sdk.exceptions import AirflowFailException

        from insiders import warehouse
        from insiders.errors import RunFolderError

        _use_object_storage(run["run_dir"])
        try:
            with _warehouse() as conn:  # unreachable, or busy past the lock timeout: retried
                result = warehouse.load_run(conn, run["run_dir"], run_month=run["run_month"],
                                            run_id=context["run_id"])
        except RunFolderError as exc:  # a folder mixed by a failed rerun: rerun, don't retry
            raise AirflowFailException(str(exc)) from exc
        context["outlet_events"][INSIDERS_LOADED].extra = {
            "run_month": run["run_month"], "run_dir": run["run_dir"]}
        return {**run, "loaded": result.to_dict()}

    @task
    def export(run: dict[str, Any]) -> dict[str, Any]:
        """Write the CSV of Insiders beside the run's other outputs."""
        return {**run, "insiders_csv": _stage("export_insiders", run)}

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

    segmented = segments(compare(embed(features(filter_lines(check_quality(ingest()))))))
    chosen = tier(segmented)
    resync_metabase(export(load(report(backtest(chosen)))))


insiders_monthly()
