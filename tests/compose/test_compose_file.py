"""docker-compose.yaml, Dockerfile and .env.example, checked from their text: the services, pinned
images, health checks, ports, volumes, start order, the settings the DAG reads, and no secret
anywhere but in .env. The stack brought up for real is scripts/compose_check.sh (docs/compose.md);
its stand-ins are checked in test_standins.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

#: Services that run until stopped: each needs a health check and restarts.
LONG_RUNNING = {
    "postgres", "warehouse", "minio", "metabase-db", "metabase",
    "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
}
#: Services that do one job and exit (others wait for them to succeed).
ONE_SHOT = {"airflow-init", "minio-init", "warehouse-init", "metabase-provision"}
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
#: host port -> (service, container port); nothing else may be published.
PUBLISHED = {
    8080: ("airflow-apiserver", 8080),
    3000: ("metabase", 3000),
    9000: ("minio", 9000),
    9001: ("minio", 9001),
    5433: ("warehouse", 5432),
}
SECRET_NAME = re.compile(r"PASSWORD|_PASS$|SECRET|KEY")


def is_secret(key: str) -> bool:
    """Names a password, secret or key (a *_FILE setting holds a path to one, not the secret)."""
    return bool(SECRET_NAME.search(key)) and not key.endswith("_FILE")

#: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, $VAR; $$ escapes.
REFERENCE = re.compile(
    r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class Ref(NamedTuple):
    name: str
    op: str  # "" (plain), ":-", "-", ":?", "?", ":+", "+"
    text: str

    @property
    def has_default(self) -> bool:
        return self.op in (":-", "-", ":+", "+")


def references(text: str) -> list[Ref]:
    """The variables a compose string interpolates."""
    refs = []
    for m in REFERENCE.finditer(text):
        if m.group(0) == "$$":
            continue
        name = m.group("braced") or m.group("bare")
        refs.append(Ref(name, m.group("op") or "", m.group(0)))
    return refs


def strings(node: Any) -> Iterator[str]:
    """Every string in a loaded YAML document, keys and values."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def environment(service: dict) -> dict[str, str]:
    """A service's environment as a dict (compose allows a mapping or a KEY=VALUE list)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        values[key.strip()] = value.strip()
    return values


def connection(value: str) -> tuple[dict, dict[str, Ref]]:
    """An AIRFLOW_CONN_* JSON value, with each ${...} replaced by a token (token -> reference)."""
    tokens: dict[str, Ref] = {}

    def swap(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        token = f"@ref{len(tokens)}@"
        tokens[token] = references(match.group(0))[0]
        return token

    return json.loads(REFERENCE.sub(swap, value)), tokens


def host_port(mapping: str | int) -> tuple[int, int]:
    """(host, container) of a short port mapping like "127.0.0.1:8080:8080" or "8080:8080/tcp"."""
    parts = str(mapping).split("/")[0].split(":")
    assert len(parts) >= 2, f"port {mapping!r} publishes a random host port"
    return int(parts[-2]), int(parts[-1])


def depends_on(service: dict) -> dict[str, dict]:
    deps = service.get("depends_on") or {}
    return {name: {} for name in deps} if isinstance(deps, list) else deps


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


def test_every_part_of_the_product_is_a_service(services):
    missing = (LONG_RUNNING | ONE_SHOT) - set(services)
    assert not missing, sorted(missing)


def test_every_image_is_pinned(services):
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name}: no image (a built one needs a tag too)"
        assert "$" not in image, f"{name}: image {image!r} comes from a variable"
        _, sep, tag = image.rpartition(":")
        assert sep and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: image {image!r} is not a version"


def test_long_running_services_have_health_checks_and_restart(services):
    for name, service in services.items():
        if service.get("profiles") or name in ONE_SHOT:
            continue
        assert name in LONG_RUNNING, f"{name}: new service, classify it in this test"
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name}: no health check"
        assert service.get("restart") in ("always", "unless-stopped"), f"{name}: does not restart"


def test_one_shot_services_run_once(services):
    for name in ONE_SHOT:
        # quoted in YAML: a bare `no` would load as False
        assert services[name].get("restart") == "no", f"{name}: restart must be the string 'no'"


def test_only_the_documented_ports_are_published(services):
    published = {}
    for name, service in services.items():
        for mapping in service.get("ports") or []:
            host, container = host_port(mapping)
            assert host not in published, f"host port {host} published twice"
            published[host] = (name, container)
    assert published == PUBLISHED


def test_databases_and_object_storage_keep_data_in_named_volumes(compose, services):
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source, _, rest = str(volume).partition(":")
            if source.startswith((".", "/", "~")):
                if rest.endswith(":ro"):
                    assert (ROOT / source).exists(), f"{name}: mounts missing {source}"
                continue
            assert source in declared, f"{name}: volume {source!r} is not declared"
            used.add(source)
    assert used == declared, f"declared but unused: {sorted(declared - used)}"
    data_dirs = {"postgres": "/var/lib/postgresql/data", "warehouse": "/var/lib/postgresql/data",
                 "metabase-db": "/var/lib/postgresql/data", "minio": "/data"}
    for name, target in data_dirs.items():
        mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in services[name]["volumes"]}
        assert mounts.get(target) in declared, f"{name}: {target} is not on a named volume"


def test_start_order_waits_for_health_and_completed_jobs(services):
    for name, service in services.items():
        for dep, spec in depends_on(service).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            condition = spec.get("condition")
            if dep in ONE_SHOT:
                assert condition == "service_completed_successfully", f"{name} -> {dep}: {condition}"
            else:
                assert condition == "service_healthy", f"{name} -> {dep}: {condition}"
                assert services[dep].get("healthcheck"), f"{name} waits for {dep}, which has no check"
    expected = {
        "minio-init": {"minio"},
        "warehouse-init": {"warehouse"},
        "metabase": {"metabase-db"},
        "metabase-provision": {"metabase", "warehouse-init"},
        "airflow-init": {"postgres"},
        "airflow-scheduler": {"postgres", "airflow-init", "minio-init", "warehouse-init"},
        **{name: {"postgres", "airflow-init"} for name in AIRFLOW_SERVICES - {"airflow-scheduler"}},
    }
    for name, deps in expected.items():
        assert deps <= set(depends_on(services[name])), f"{name} does not wait for {deps}"


def test_start_order_has_no_cycle(services):
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name not in done:
            for dep in depends_on(services[name]):
                visit(dep, (*path, name))
            done.add(name)

    for name in services:
        visit(name, ())


def test_no_secret_is_written_in_the_compose_file(services):
    for name, service in services.items():
        for key, value in environment(service).items():
            refs = references(value)
            if is_secret(key):
                assert len(refs) == 1 and refs[0].text == value, f"{name}: {key} is not a ${{...}}"
                assert not refs[0].has_default, f"{name}: {key} has a default, a secret in the repo"
            for m in re.finditer(r"://[^/:@\s]+:([^@\s]*)@", value):  # user:password@ in a URI
                assert [r.text for r in references(m.group(1))] == [m.group(1)], f"{name}: {key}"
            if key.startswith("AIRFLOW_CONN_"):
                conn, tokens = connection(value)
                if "password" in conn:
                    assert conn["password"] in tokens, f"{name}: {key} has a literal password"
                    assert not tokens[conn["password"]].has_default, f"{name}: {key} password default"


def test_env_example_defines_every_required_variable(compose, env_example):
    refs = [ref for text in strings(compose) for ref in references(text)]
    required = {ref.name for ref in refs if not ref.has_default}
    assert required, "the compose file takes no setting from .env"
    assert required <= set(env_example), f"missing from .env.example: {sorted(required - set(env_example))}"
    unused = set(env_example) - {ref.name for ref in refs}
    assert not unused, f".env.example sets what compose never reads: {sorted(unused)}"


def test_env_example_holds_placeholders_not_secrets(env_example):
    secrets = {k: v for k, v in env_example.items() if is_secret(k)}
    assert secrets
    for key, value in secrets.items():
        assert "change-me" in value, f".env.example: {key} looks like a real secret"


def test_env_file_is_git_ignored():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, timeout=30)
    assert done.returncode == 0, ".env is not git-ignored"


#: Connections the DAG uses only when they exist: failure mail (skipped and logged without it)
#: and a Spark master (``local[*]`` without it).
OPTIONAL_CONNS = frozenset({"insiders_alerts", "spark_default"})
#: Variables the DAG reads only when a team sets them: an export layout kept for the monthly
#: runs (the params' layout without it).
OPTIONAL_VARIABLES = frozenset({"insiders_layout"})


def test_airflow_gets_what_the_dag_reads(services):
    dag = (ROOT / "dags" / "insiders_monthly.py").read_text()
    conn_ids = set(re.findall(r'^[A-Z_]+_CONN = "([a-z_]+)"', dag, re.M))
    variables = set(re.findall(r'Variable\.get\(\s*"([a-z_]+)"', dag))
    assert {"insiders_warehouse", "aws_default"} <= conn_ids
    assert {"insiders_source", "insiders_artifacts"} <= variables
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        for conn_id in conn_ids | {"metabase_default"}:
            key = f"AIRFLOW_CONN_{conn_id.upper()}"
            if key not in env:  # the stack has no mail server or Spark master: the DAG runs
                assert conn_id in OPTIONAL_CONNS, f"{name}: no {key}"  # without them (tests/dags)
                continue
            conn, _ = connection(env[key])
            host = conn.get("host") or urlsplit(conn["extra"]["endpoint_url"]).hostname
            assert host in services, f"{name}: {conn_id} points at unknown host {host}"
        for variable in variables - OPTIONAL_VARIABLES:
            assert env[f"AIRFLOW_VAR_{variable.upper()}"].startswith("s3://insiders-data/")


def test_connections_match_the_services_they_point_at(services):
    env = environment(services["airflow-scheduler"])
    warehouse = environment(services["warehouse"])
    conn, tokens = connection(env["AIRFLOW_CONN_INSIDERS_WAREHOUSE"])
    assert (conn["conn_type"], conn["host"], conn["port"]) == ("postgres", "warehouse", 5432)
    assert conn["schema"] == warehouse["POSTGRES_DB"] == "insiders"
    assert tokens[conn["login"]].name == references(warehouse["POSTGRES_USER"])[0].name
    assert tokens[conn["password"]].name == references(warehouse["POSTGRES_PASSWORD"])[0].name

    minio = environment(services["minio"])
    conn, tokens = connection(env["AIRFLOW_CONN_AWS_DEFAULT"])
    assert conn["conn_type"] == "aws" and conn["extra"]["endpoint_url"] == "http://minio:9000"
    assert tokens[conn["login"]].name == references(minio["MINIO_ROOT_USER"])[0].name
    assert tokens[conn["password"]].name == references(minio["MINIO_ROOT_PASSWORD"])[0].name

    conn, tokens = connection(env["AIRFLOW_CONN_METABASE_DEFAULT"])
    assert (conn["conn_type"], conn["host"], conn["port"]) == ("http", "metabase", 3000)
    provision = environment(services["metabase-provision"])
    assert tokens[conn["login"]].name == references(provision["MB_ADMIN_EMAIL"])[0].name
    assert tokens[conn["password"]].name == references(provision["MB_ADMIN_PASSWORD"])[0].name


def test_minio_init_uploads_the_source_the_dag_reads(services):
    script = " ".join(services["minio-init"]["command"])
    source = environment(services["airflow-scheduler"])["AIRFLOW_VAR_INSIDERS_SOURCE"]
    bucket, _, key = source.removeprefix("s3://").partition("/")
    assert f"mc mb --ignore-existing local/{bucket}" in script
    assert re.search(rf"mc cp /seed/(\S+) local/{bucket}/{key}\b", script)
    seed = next(v.split(":")[0] for v in services["minio-init"]["volumes"] if ":/seed" in v)
    file = re.search(r"mc cp /seed/(\S+) ", script).group(1)
    assert (ROOT / seed / file).is_file()


def test_metabase_keeps_its_own_data_in_its_postgres(services):
    mb = environment(services["metabase"])
    db = environment(services["metabase-db"])
    assert mb["MB_DB_TYPE"] == "postgres" and mb["MB_DB_HOST"] == "metabase-db"
    assert mb["MB_DB_PORT"] == "5432"
    assert (mb["MB_DB_DBNAME"], mb["MB_DB_USER"]) == (db["POSTGRES_DB"], db["POSTGRES_USER"])
    assert mb["MB_DB_PASS"] == db["POSTGRES_PASSWORD"]
    assert "/api/health" in " ".join(services["metabase"]["healthcheck"]["test"])


def test_metabase_provision_reads_the_warehouse_with_the_read_only_login(services):
    provision = environment(services["metabase-provision"])
    init = environment(services["warehouse-init"])
    command = [*services["metabase-provision"]["entrypoint"], *services["metabase-provision"]["command"]]
    assert command == ["insiders", "metabase", "provision"]
    assert provision["MB_URL"] == "http://metabase:3000"
    assert provision["INSIDERS_WAREHOUSE_HOST"] == "warehouse"
    for key in ("INSIDERS_READER_USER", "INSIDERS_READER_PASSWORD"):
        assert provision[key] == init[key], f"{key}: provision and warehouse-init disagree"
    assert "create-reader" in " ".join(services["warehouse-init"]["command"])


def test_dockerfile_builds_on_the_pinned_airflow_and_python():
    airflow = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    python = re.search(r"--python-version (\d+\.\d+)", (ROOT / "requirements.lock").read_text()).group(1)
    dockerfile = DOCKERFILE.read_text()
    bases = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
    assert bases == [f"apache/airflow:{airflow}-python{python}"]
    assert re.search(r"^COPY .*\brequirements\.lock\b", dockerfile, re.M), "the image ignores the lock"
    assert re.search(r"pip install .*-r /tmp/\S+", dockerfile)


def test_services_built_here_share_one_image(services):
    built = {name: s["image"] for name, s in services.items() if "build" in s}
    assert AIRFLOW_SERVICES | {"airflow-init", "warehouse-init", "metabase-provision"} <= set(built)
    assert len(set(built.values())) == 1
    assert all(services[name]["build"] == "." for name in built)


def test_metabase_provision_gets_the_settings_the_cli_reads(services, env_example):
    """The one-shot provisioner's environment, resolved from .env.example, is what
    `insiders metabase provision` (MetabaseConfig.from_env) reads."""
    import re

    from insiders.metabase import MetabaseConfig

    env = services["metabase-provision"]["environment"]
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)

    def resolve(value: str) -> str:
        return re.sub(r"\$\{(\w+)[^}]*\}", lambda m: env_example.get(m.group(1), ""), str(value))

    config = MetabaseConfig.from_env({k: resolve(v) for k, v in env.items()})
    assert config.url.startswith("http://metabase:3000")
    assert (config.warehouse_host, config.warehouse_port, config.warehouse_db) == (
        "warehouse", 5432, "insiders")
    assert config.reader_user == env_example["INSIDERS_READER_USER"]
    assert config.reader_password
