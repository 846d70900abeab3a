"""The features task's Spark master comes from connection `spark_default`, read the way the
Spark provider reads it; without the connection, Spark runs inside the worker (local[*])."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.airflow_env import ROOT, airflow_env

MASTER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("insiders_monthly", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print("MASTER=" + module._spark_master())
"""


@pytest.mark.parametrize(("connection", "master"), [
    ("spark://10.0.0.5:7077", "spark://10.0.0.5:7077"),
    ('{"conn_type": "spark", "host": "yarn"}', "yarn"),
    (None, "local[*]"),
])
def test_spark_master_from_the_connection(tmp_path, connection, master):
    env = airflow_env(tmp_path)
    env.pop("AIRFLOW_CONN_SPARK_DEFAULT", None)
    if connection:
        env["AIRFLOW_CONN_SPARK_DEFAULT"] = connection
    done = subprocess.run([sys.executable, "-c", MASTER, str(ROOT / "dags" / "insiders_monthly.py")],
                          env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("MASTER=")]
    assert lines == [f"MASTER={master}"], done.stdout[-2000:] + done.stderr[-2000:]
