"""An isolated Airflow for the tests: its own AIRFLOW_HOME (SQLite metadata), this project's
DAG folder, connections and variables from environment variables, as in production.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for an Airflow process rooted at ``home``."""
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        NUMBA_CACHE_DIR=str(ROOT / "var" / "numba-cache"),
        PYTHONPATH=str(ROOT),
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
    )
    env.update(extra)
    return env


def aws_connection(endpoint_url: str) -> str:
    """``AIRFLOW_CONN_AWS_DEFAULT`` for an S3 API on loopback."""
    return json.dumps({
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": endpoint_url, "region_name": "us-east-1"},
    })


def migrate(env: dict[str, str]) -> None:
    """Create Airflow's metadata database."""
    subprocess.run([str(VENV_BIN / "airflow"), "db", "migrate"], env=env, check=True,
                   capture_output=True, text=True, timeout=300)


DAG_TEST = """
import json, sys
import pendulum
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.get_dag("insiders_monthly")
run = dag.test(logical_date=pendulum.parse(sys.argv[2]), run_conf=json.loads(sys.argv[3]))
print("DAG_TEST_STATE=" + str(run.state))
"""


def dag_test(env: dict[str, str], logical_date: str, conf: dict) -> tuple[str, str]:
    """Run ``dag.test()`` for one logical date in a fresh process; return (state, output)."""
    done = subprocess.run(
        [sys.executable, "-c", DAG_TEST, str(ROOT / "dags"), logical_date, json.dumps(conf)],
        env=env, capture_output=True, text=True, timeout=1800,
    )
    output = done.stdout + done.stderr
    state = next((line.split("=", 1)[1] for line in done.stdout.splitlines()
                  if line.startswith("DAG_TEST_STATE=")), "crashed")
    return state, output
