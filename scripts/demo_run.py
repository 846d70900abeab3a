"""Run the DAG `insiders_monthly` once for a date, as `airflow dags test` does (every task in
this process, in order), so that the run then reads in the Airflow UI as what it was; exit 1
unless the run succeeded and its tasks ran.

    python scripts/demo_run.py 2011-12-15T06:00:00+00:00 '{"anonymous_policy": "synthetic"}'

What differs from `airflow dags test` (Airflow 3.3, `DAG.test` in airflow/sdk/definitions/dag.py):

- the run's `run_after` is its logical date, not the wall clock: its id names the month
  (`manual__2011-12-15T06:00:00+00:00`) and the grid places it at its month;
- the run starts at the wall clock: `DAG.test` stamps the run's start with its logical date, so
  the UI showed a run of 15 years ("Total: 5465d", duration "21d01:35:06");
- each task's `logging` records also go to that task's log file under `AIRFLOW_HOME/logs`,
  where the UI reads a task's log (`DAG.test` writes them to stdout only). Airflow's own
  lines about the task (its start, its end) are not among them: `DAG.test` prints those.
- a run in which no task ran (a date before the DAG's `start_date`) is a failure, not "done".
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

DAGS = Path(__file__).resolve().parent.parent / "dags"
DAG_ID = "insiders_monthly"


def verdict(run_state: str | None, task_states: dict[str, str | None]) -> str | None:
    """None when the run succeeded and its tasks ran, else what went wrong, in words."""
    ran = {t: s for t, s in task_states.items() if s in ("success", "failed", "skipped",
                                                          "upstream_failed")}
    if not task_states or not any(s in ("success", "failed") for s in ran.values()):
        return (f"no task ran (run state {run_state!r}, {len(task_states)} task instances): a run "
                "date before the DAG's start_date, or a DAG that cannot be scheduled")
    failed = sorted(t for t, s in task_states.items() if s in ("failed", "upstream_failed"))
    if run_state != "success" or failed:
        return f"the DAG run {run_state}: failed tasks {', '.join(failed) or '(none)'}"
    not_run = sorted(t for t, s in task_states.items() if s not in ("success", "skipped"))
    if not_run:
        return f"tasks that never ran: {', '.join(not_run)}"
    return None


class _JsonLines(logging.Formatter):
    """One JSON object a line, the shape of Airflow 3's task log files."""

    def format(self, record: logging.LogRecord) -> str:
        from datetime import datetime, timezone

        event = record.getMessage()
        if record.exc_info:
            event = f"{event}\n{self.formatException(record.exc_info)}"
        return json.dumps({
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(), "event": event, "logger": record.name,
        })


def _task_logs_to_files() -> None:
    """While `DAG.test` runs a task, copy the `logging` records to the task's log file."""
    from airflow.configuration import conf
    from airflow.sdk.definitions import dag as sdk_dag
    from airflow.utils.log.file_task_handler import FileTaskHandler

    base = Path(conf.get("logging", "base_log_folder"))
    names = FileTaskHandler(base_log_folder=str(base))
    run_task = sdk_dag._run_task

    def run_task_with_log_file(*, ti, **kwargs):
        path = base / names._render_filename(ti, ti.try_number)
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, mode="w", encoding="utf-8")
        handler.setFormatter(_JsonLines())
        handler.setLevel(logging.INFO)
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            return run_task(ti=ti, **kwargs)
        finally:
            root.removeHandler(handler)
            handler.close()

    sdk_dag._run_task = run_task_with_log_file


def _run_starts_now() -> None:
    """`DAG.test` creates the run through `get_or_create_dagrun` with the logical date as its
    start date; give it the wall clock instead."""
    from airflow.models import dagrun
    from airflow.sdk import timezone

    create = dagrun.get_or_create_dagrun

    def create_starting_now(**kwargs):
        return create(**{**kwargs, "start_date": timezone.utcnow()})

    dagrun.get_or_create_dagrun = create_starting_now


def main(logical_date: str, conf: str = "{}") -> int:
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    when = pendulum.parse(logical_date)
    dag = DagBag(dag_folder=str(DAGS)).get_dag(DAG_ID)
    if dag is None:
        print(f"demo: the DAG {DAG_ID} does not parse (see the lines above)", file=sys.stderr)
        return 1
    _run_starts_now()
    _task_logs_to_files()
    run = dag.test(logical_date=when, run_after=when, run_conf=json.loads(conf))
    states = {ti.task_id: (str(ti.state) if ti.state else None)
              for ti in run.get_task_instances()}
    problem = verdict(str(run.state) if run.state else None, states)
    if problem:
        print(f"demo: {problem} (run {run.run_id})", file=sys.stderr)
        return 1
    print(f"demo: run {run.run_id} succeeded, {len(states)} tasks", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
