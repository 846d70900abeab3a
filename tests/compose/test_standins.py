"""The stand-ins scripts/compose_check.sh brings the stack up with (docker/, the override
docker-compose.standins.yaml), checked without a Docker engine: the override swaps only what it
must, every image the stack names is either built by compose, built by docker/build-images.sh
under the very name the files use, or replaced by the override; the S3 stand-in keeps its
buckets over a restart; the Metabase stand-in serves the test suite's fake on its port."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
OVERRIDE = ROOT / "docker-compose.standins.yaml"
BUILDER = ROOT / "docker" / "build-images.sh"
STANDINS = ROOT / "docker" / "standins"
#: What the override may change in a service: which image runs, how, and how it is checked.
SWAPPABLE = {"image", "command", "entrypoint", "healthcheck", "environment", "volumes"}


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


@pytest.fixture(scope="module")
def override() -> dict:
    return yaml.safe_load(OVERRIDE.read_text())["services"]


def built_by_script() -> set[str]:
    return set(re.findall(r"^build_image (\S+) ", BUILDER.read_text(), re.M))


def test_override_swaps_only_minio_and_metabase(services, override):
    assert set(override) == {"minio", "minio-init", "metabase"}
    for name, service in override.items():
        assert name in services, f"{name}: not a service of docker-compose.yaml"
        assert set(service) <= SWAPPABLE, f"{name}: the override changes {set(service) - SWAPPABLE}"
        assert "ports" not in service and "depends_on" not in service


def test_every_image_is_built_here_or_stood_in(services, override):
    script = built_by_script()
    for name, service in services.items():
        image = service["image"]
        if "build" in service:
            continue
        if name in override:
            assert override[name]["image"] in script, f"{name}: stand-in {override[name]['image']} not built"
        else:
            assert image in script, f"{name}: {image} is neither built by build-images.sh nor stood in"
    base = re.search(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    assert base in script, f"./Dockerfile's base {base} is not built by build-images.sh"


def test_the_scripts_parse():
    for script in (ROOT / "scripts" / "compose_check.sh", BUILDER,
                   ROOT / "docker" / "postgres" / "docker-entrypoint.sh",
                   ROOT / "docker" / "airflow" / "entrypoint"):
        done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"{script.name}: {done.stderr}"


def test_stand_in_dockerfiles_keep_the_official_contracts():
    airflow = (ROOT / "docker" / "airflow" / "Dockerfile").read_text()
    for fact in ("AIRFLOW_HOME=/opt/airflow", "--uid 50000 --gid 0", "VIRTUAL_ENV=/home/airflow/.local",
                 'ENTRYPOINT ["/usr/bin/dumb-init", "--", "/entrypoint"]', "apache-airflow==3.3.2",
                 "USER 50000"):
        assert fact in airflow, fact
    postgres = (ROOT / "docker" / "postgres" / "Dockerfile").read_text()
    for fact in ("PGDATA=/var/lib/postgresql/data", "postgresql-15", 'ENTRYPOINT ["docker-entrypoint.sh"]',
                 "STOPSIGNAL SIGINT"):
        assert fact in postgres, fact
    entrypoint = (ROOT / "docker" / "postgres" / "docker-entrypoint.sh").read_text()
    for fact in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "listen_addresses=''",
                 "/docker-entrypoint-initdb.d"):
        assert fact in entrypoint, fact


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def start(args: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return out


def test_s3_stand_in_keeps_buckets_over_a_restart(tmp_path, monkeypatch):
    boto3 = pytest.importorskip("boto3")
    pytest.importorskip("moto")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = tmp_path / "data"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "insiders")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "change-me-minio")
    server = [str(STANDINS / "s3_server.py"), str(data), "--host", "127.0.0.1", "--port", str(port)]
    proc = start(server)
    try:
        wait_for(url + "/")
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        seed = tmp_path / "online_retail.parquet"
        seed.write_bytes(b"PAR1" + bytes(range(256)) * 100)
        env = {"MINIO_ROOT_USER": "insiders", "MINIO_ROOT_PASSWORD": "change-me-minio"}
        for _ in range(2):  # minio-init runs at every `up`: idempotent
            done = subprocess.run([sys.executable, str(STANDINS / "s3_seed.py"), url, "insiders-data",
                                   str(seed), "raw/online_retail.parquet"], env={**os.environ, **env},
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stdout + done.stderr
        s3.put_object(Bucket="insiders-data", Key="runs/2011-12/insiders.csv", Body=b"customer_id\n1\n",
                      ContentType="text/csv")
        s3.put_object(Bucket="insiders-data", Key="runs/2011-12/gone.txt", Body=b"x")
        s3.delete_object(Bucket="insiders-data", Key="runs/2011-12/gone.txt")
    finally:
        out = stop(proc)
    assert "saved" in out, out
    proc = start(server)
    try:
        wait_for(url + "/")
        listed = s3.list_objects_v2(Bucket="insiders-data")["Contents"]
        assert {o["Key"] for o in listed} == {"raw/online_retail.parquet", "runs/2011-12/insiders.csv"}
        assert s3.get_object(Bucket="insiders-data", Key="raw/online_retail.parquet")["Body"].read() == \
            seed.read_bytes()
        head = s3.head_object(Bucket="insiders-data", Key="runs/2011-12/insiders.csv")
        assert head["ContentType"] == "text/csv"
    finally:
        stop(proc)


def test_metabase_stand_in_serves_the_fake_on_its_port():
    port = free_port()
    env = {"MB_JETTY_PORT": str(port), "FAKE_METABASE_DIR": str(ROOT / "tests" / "metabase"),
           "INSIDERS_READER_USER": "metabase", "INSIDERS_READER_PASSWORD": "change-me-warehouse-reader"}
    proc = start([str(STANDINS / "metabase_server.py")], env)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/health")
        props = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/session/properties", timeout=5).read()
        assert b"setup-token" in props
    finally:
        out = stop(proc)
    assert "NOT Metabase" in out


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose (v1) is not installed")
def test_compose_v1_accepts_the_files_with_the_override(tmp_path):
    env = tmp_path / "env"
    env.write_text((ROOT / ".env.example").read_text())
    done = subprocess.run(["docker-compose", "--env-file", str(env), "-f", str(COMPOSE), "-f", str(OVERRIDE),
                           "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
