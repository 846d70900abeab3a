"""Real services for the end-to-end tests: an S3 API (moto in server mode) on 127.0.0.1 and
a Postgres warehouse, both started here; an Airflow home with connections from env vars."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from insiders import local_postgres
from tests.airflow_env import VENV_BIN, airflow_env, aws_connection, migrate
from tests.conftest import REAL_DATA

BUCKET = "insiders-data"
#: The bundled data as the shop's monthly exports, one Parquet file per month, in the bucket.
MONTHS_PREFIX = "raw/months/"
BAD_CSV = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART,6,01-Dec-10,2.55,17850,United Kingdom\n"
    "536366,22633,HAND WARMER,6,01-Dec-10,1.85,17850,United Kingdom\n"
    "536367,22632,HAND WARMER,six,01-Dec-10,1.85,13047,France\n"
)


def _wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def upload_months(s3, prefix: str) -> list[str]:
    """Put the bundled data into the bucket as one file per month (``2011-01.parquet``)."""
    import io

    import pandas as pd

    raw = pd.read_parquet(REAL_DATA)
    keys = []
    for month, part in raw.groupby(raw["InvoiceDate"].dt.strftime("%Y-%m"), sort=True):
        body = io.BytesIO()
        part.to_parquet(body, index=False)
        keys.append(f"{prefix}{month}.parquet")
        s3.put_object(Bucket=BUCKET, Key=keys[-1], Body=body.getvalue())
    return keys


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """moto's S3 server on loopback, with the bundled data and a bad CSV in a bucket."""
    import boto3

    port = local_postgres.free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_port(port)
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(REAL_DATA), BUCKET, "raw/online_retail.parquet")
        s3.put_object(Bucket=BUCKET, Key="raw/bad.csv", Body=BAD_CSV.encode())
        upload_months(s3, MONTHS_PREFIX)
        yield endpoint
    finally:
        server.terminate()
        server.wait(10)
        log.close()


@pytest.fixture(scope="session")
def e2e_warehouse(postgres) -> str:
    return local_postgres.ensure_database(postgres, "e2e")


@pytest.fixture(scope="session")
def airflow(tmp_path_factory, s3_endpoint, e2e_warehouse) -> dict[str, str]:
    """Environment of an Airflow whose connections and variables point at the services."""
    env = airflow_env(
        tmp_path_factory.mktemp("airflow"),
        AIRFLOW_CONN_AWS_DEFAULT=aws_connection(s3_endpoint),
        AIRFLOW_CONN_INSIDERS_WAREHOUSE=e2e_warehouse,
        AIRFLOW_VAR_INSIDERS_SOURCE=f"s3://{BUCKET}/raw/online_retail.parquet",
        AIRFLOW_VAR_INSIDERS_ARTIFACTS=f"s3://{BUCKET}/runs",
    )
    migrate(env)
    return env


def api(base: str, method: str, path: str, token: str | None = None, body=None) -> dict:
    """One call of Airflow's REST API, JSON in and out."""
    request = urllib.request.Request(
        base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


@contextlib.contextmanager
def standalone(airflow: dict[str, str], log_path: Path) -> Iterator[tuple[str, str, dict]]:
    """``airflow standalone`` (API server, scheduler, DAG processor) on a free port, healthy,
    the monthly DAG parsed and unpaused: yields the base URL, a token and the environment.
    Only runs asked for by hand or by a backfill: no scheduled run while a test runs."""
    port = local_postgres.free_port()
    env = {
        **airflow,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    }
    log = log_path.open("w")
    server = subprocess.Popen([str(VENV_BIN / "airflow"), "standalone"], env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_port(port, timeout=180)
        deadline = time.monotonic() + 180
        while True:
            try:
                if api(base, "GET", "/api/v2/monitor/health")["scheduler"]["status"] == "healthy":
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "Airflow did not become healthy"
            time.sleep(2)
        passwords = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
        user, password = next(iter(json.loads(passwords.read_text()).items()))
        token = api(base, "POST", "/auth/token", body={"username": user, "password": password})[
            "access_token"]
        deadline = time.monotonic() + 120
        while True:  # the DAG appears once the DAG processor has parsed it
            try:
                api(base, "PATCH", "/api/v2/dags/insiders_monthly", token, {"is_paused": False})
                break
            except urllib.error.HTTPError as exc:
                assert exc.code == 404 and time.monotonic() < deadline
                time.sleep(2)
        yield base, token, env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
