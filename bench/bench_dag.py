"""Wall time of the monthly DAG on the full bundled data with the embedded default.

The embedded default: local files instead of S3, a local Postgres started by the project,
Airflow's ``airflow dags test`` (dag.test(): every task in one process, no scheduler).
Timed from the command's start to its end, Airflow's own overhead included; the metadata
database is migrated before the clock starts. Target (issue 4): <= 90 s.

"steal" is the share of the machine's CPU time the hypervisor gave to other guests during a
run (from /proc/stat): on this shared 2-core machine it moves the figure by tens of percent.

Run: .venv/bin/python bench/bench_dag.py --record [--conf '{"spaces": ["umap"]}']
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from _record import record  # noqa: E402

from insiders import local_postgres, warehouse  # noqa: E402
from tests.airflow_env import VENV_BIN, airflow_env, migrate  # noqa: E402


def cpu_times() -> list[int]:
    """The machine's CPU time counters (user, nice, system, idle, iowait, irq, softirq, steal)."""
    with open("/proc/stat") as stat:
        return [int(v) for v in stat.readline().split()[1:9]]


def steal_share(before: list[int], after: list[int]) -> float:
    """Share of the machine's CPU time the hypervisor gave to others between two readings."""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    return delta[7] / max(sum(delta), 1)


@contextlib.contextmanager
def dag_environment(tmp: Path) -> Iterator[tuple[dict[str, str], str]]:
    """A local Postgres as the warehouse and a migrated Airflow home under ``tmp``: the
    environment of an ``airflow dags test`` and the warehouse's DSN (stopped at the end)."""
    server = local_postgres.start(tmp / "pg")
    try:
        dsn = local_postgres.ensure_database(server, "bench")
        env = airflow_env(tmp / "airflow", AIRFLOW_CONN_INSIDERS_WAREHOUSE=dsn,
                          AIRFLOW_VAR_INSIDERS_ARTIFACTS=(tmp / "runs").as_uri(),
                          AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING")
        migrate(env)
        yield env, dsn
    finally:
        local_postgres.stop(tmp / "pg")


def run_dag(env: dict[str, str], conf: dict) -> tuple[float, float]:
    """One ``airflow dags test``: its wall time and the machine's steal share meanwhile."""
    before = cpu_times()
    start = time.perf_counter()
    done = subprocess.run(
        [str(VENV_BIN / "airflow"), "dags", "test", "insiders_monthly",
         "2011-12-15T06:00:00+00:00", "-c", json.dumps(conf)],
        env=env, capture_output=True, text=True,
    )
    seconds = time.perf_counter() - start
    steal = steal_share(before, cpu_times())
    if done.returncode:
        print(done.stdout[-3000:], done.stderr[-3000:])
        raise SystemExit("the DAG run failed")
    return seconds, steal


def task_durations(metadata_db: Path) -> tuple[str, float]:
    """Each task's duration in the last run, and the time from the first task's start to the
    last one's end (the rest of a run's wall time is Airflow starting and the DAG's parse),
    from Airflow's own metadata database."""
    import sqlite3
    from datetime import datetime

    with sqlite3.connect(metadata_db) as db:
        rows = db.execute(
            "SELECT task_id, duration, start_date, end_date FROM task_instance WHERE run_id = "
            "(SELECT run_id FROM dag_run ORDER BY id DESC LIMIT 1) ORDER BY start_date"
        ).fetchall()
    starts = [datetime.fromisoformat(r[2]) for r in rows if r[2]]
    ends = [datetime.fromisoformat(r[3]) for r in rows if r[3]]
    span = (max(ends) - min(starts)).total_seconds() if starts and ends else float("nan")
    in_tasks = sum(seconds or 0 for _, seconds, _, _ in rows)
    text = ", ".join(f"{task} {seconds or 0:.0f} s" for task, seconds, _, _ in rows)
    text += f" (sum {in_tasks:.0f} s; first task start to last task end {span:.0f} s)"
    return text, span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conf", default="{}", help="DAG params as JSON (default: all defaults)")
    parser.add_argument("--repeat", type=int, default=2, help="runs (the first may be numba-cold)")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    conf = json.loads(args.conf)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with dag_environment(tmp) as (env, dsn):
            times, steals = zip(*(run_dag(env, conf) for _ in range(args.repeat)), strict=True)
            tasks, span = task_durations(tmp / "airflow" / "airflow.db")
            with warehouse.connect(dsn) as conn:
                n_runs = conn.execute("SELECT count(*) FROM insiders.runs").fetchone()[0]
                insiders = conn.execute("SELECT insiders FROM insiders.runs").fetchone()[0]
    assert n_runs == 1, "a rerun must replace the month"
    label = "defaults (4 spaces, 5 models)" if not conf else json.dumps(conf)
    runs = ", ".join(f"{t:.1f} s (steal {st:.0%})" for t, st in zip(times, steals, strict=True))
    median = sorted(times)[len(times) // 2]
    print(f"DAG wall time, params {label}: median {median:.1f} s; runs {runs}"
          + f" (Insiders: {insiders:,}) -- target <= 90 s")
    print(f"tasks of the last run: {tasks}; Airflow start-up and parse {times[-1] - span:.0f} s")
    if args.record:
        record(f"DAG insiders_monthly wall time, full data, embedded default, params {label}",
               f"median {median:.1f} s; runs: {runs}"
               + f" (airflow dags test, overhead included; target <= 90 s); last run's tasks: {tasks}; "
               f"Airflow start-up and parse {times[-1] - span:.0f} s")


if __name__ == "__main__":
    main()
