"""The Insiders plugin (plugins/insiders_plugin.py) in a real Airflow API server.

Two ``airflow api-server`` processes on loopback, each with its own Airflow home and the
connection ``insiders_warehouse`` from the environment: one reads a warehouse holding three
small run months (a local run folder with its report, one without it yet, one on S3), the
other a database that starts empty and is dropped at the end. Both read a real Postgres.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import psycopg
import pytest

from insiders import local_postgres, warehouse
from insiders.formats import share
from tests.airflow_env import ROOT, VENV_BIN, airflow_env, migrate

PLUGIN_FILE = ROOT / "plugins" / "insiders_plugin.py"
REPORT = "<!doctype html><html><body><h1>Insiders report 2011-12</h1><p>marker 5c1d</p></body></html>\n"
NASTY = 'Low value, <script>alert("x")</script> & co'


def _plugin_module():
    spec = importlib.util.spec_from_file_location("insiders_plugin_under_test", PLUGIN_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as Airflow's plugin loader does (dataclasses need it)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- the warehouse


def _fresh_database(server, name: str) -> str:
    with psycopg.connect(server.uri(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return local_postgres.ensure_database(server, name)


def _load_months(dsn: str, runs_dir: Path) -> None:
    """Three run months, straight into the tables: 2011-12 (latest, local folder with its
    report), 2011-11 (on S3), 2011-10 (local folder, no report yet)."""
    latest, without_report = runs_dir / "2011-12", runs_dir / "2011-10"
    latest.mkdir(parents=True)
    without_report.mkdir(parents=True)
    (latest / "report.html").write_text(REPORT, encoding="utf-8")
    runs = [
        # month, reference date, artifacts, customers, insiders, share customers, share revenue
        ("2011-12-01", "2011-12-14", latest.as_uri(), 4329, 1097, 0.2534, 0.6341),
        ("2011-11-01", "2011-11-14", "s3://insiders-data/runs/2011-11", 4100, 1010, 0.2463, 0.6012),
        ("2011-10-01", "2011-10-14", without_report.as_uri(), 3900, 980, 0.2513, 0.6105),
    ]
    segments = [  # segment id, name, is Insiders, customers, share, revenue, share, mean revenue
        (1, "Insiders", True, 1097, 0.2534, 5450600.25, 0.6341, 4968.64),
        (2, "Mid value, active", False, 2000, 0.4620, 2400000.0, 0.2792, 1200.0),
        (3, NASTY, False, 1232, 0.2846, 745000.0, 0.0867, 604.71),
    ]
    with warehouse.connect(dsn) as conn:
        warehouse.ensure_schema(conn)
        with conn.transaction():
            for month, ref, artifacts, customers, insiders, share_c, share_r in runs:
                conn.execute(
                    "INSERT INTO insiders.runs (run_month, reference_date, source, customers, insiders, "
                    "insiders_share_customers, insiders_share_revenue, chosen_candidate, silhouette, "
                    "artifacts, run_id) VALUES (%s, %s, 'test', %s, %s, %s, %s, 'umap/ward/k=8', "
                    "0.4321, %s, %s)",
                    (month, ref, customers, insiders, share_c, share_r, artifacts, f"manual__{month}"),
                )
            for seg in segments:
                conn.execute(
                    "INSERT INTO insiders.segment_profiles (run_month, segment_id, segment_name, "
                    "mostly_insiders, n_customers, share_customers, revenue, share_revenue, "
                    "mean_gross_revenue, mean_recency_days) VALUES ('2011-12-01', %s, %s, %s, %s, %s, "
                    "%s, %s, %s, 12.5)",
                    seg,
                )
            conn.execute(
                "INSERT INTO insiders.membership_history (run_month, customer_id, change, previous_month) "
                "VALUES ('2011-12-01', 12346, 'entered', '2011-11-01'), "
                "('2011-12-01', 12347, 'entered', '2011-11-01'), ('2011-12-01', 12348, 'left', '2011-11-01')"
            )


# --------------------------------------------------------------------------- the API servers


@dataclass
class Server:
    base: str
    process: subprocess.Popen
    log: Path


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(status, content type, body) of a GET; error statuses are returned, not raised."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def _start(home: Path, dsn: str) -> Server:
    port = local_postgres.free_port()
    env = airflow_env(home, AIRFLOW_CONN_INSIDERS_WAREHOUSE=dsn,
                      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True")
    log = home / "api-server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(VENV_BIN / "airflow"), "api-server", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    return Server(f"http://127.0.0.1:{port}", process, log)


def _wait_ready(server: Server, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"api-server exited: {server.log.read_text()[-4000:]}")
        try:
            if _get(server.base + "/api/v2/monitor/health")[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"api-server did not answer: {server.log.read_text()[-4000:]}")
        time.sleep(1)


def _stop(server: Server) -> None:
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(60)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(10)


@pytest.fixture(scope="module")
def servers(postgres, tmp_path_factory) -> dict[str, Server]:
    """{"loaded": server on the three months, "empty": server on an empty database}."""
    loaded_dsn = _fresh_database(postgres, "plugin_ui_loaded")
    _load_months(loaded_dsn, tmp_path_factory.mktemp("runs"))
    empty_dsn = _fresh_database(postgres, "plugin_ui_empty")

    homes = {name: tmp_path_factory.mktemp(f"airflow_{name}") for name in ("loaded", "empty")}
    migrate(airflow_env(homes["loaded"]))
    for db_file in homes["loaded"].glob("airflow.db*"):  # same metadata, no second migration
        shutil.copy2(db_file, homes["empty"] / db_file.name)
    started = {"loaded": _start(homes["loaded"], loaded_dsn), "empty": _start(homes["empty"], empty_dsn)}
    try:
        for server in started.values():
            _wait_ready(server)
        yield started
    finally:
        for server in started.values():
            _stop(server)


# --------------------------------------------------------------------------- the tests


def test_the_plugin_is_registered(servers):
    status, _, body = _get(servers["loaded"].base + "/api/v2/plugins")
    assert status == 200, body
    plugin = next(p for p in json.loads(body)["plugins"] if p["name"] == "insiders")
    assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == ["/insiders"]
    view = plugin["external_views"][0]
    assert view["url_route"] == "insiders" and view["href"] == "insiders/"
    assert view["destination"] == "nav"
    status, _, body = _get(servers["loaded"].base + "/api/v2/plugins/importErrors")
    assert status == 200 and json.loads(body)["total_entries"] == 0, body


def test_the_page_shows_the_latest_run_month(servers):
    page_url = servers["loaded"].base + "/insiders/"
    status, content_type, page = _get(page_url)
    assert status == 200, page
    assert content_type.startswith("text/html")
    assert "Insiders, run month 2011-12" in page
    assert "2011-12-14" in page  # reference date
    for figure in ("1,097", "4,329", share(0.2534), share(0.6341), "umap/ward/k=8", "0.4321"):
        assert figure in page, figure
    assert "25.3%" in page and "£5.45 M" in page  # the segment's revenue, as money
    # entered 2, left 1 against 2011-11
    assert '<div class="label">entered</div><div class="value">2</div>' in page
    assert '<div class="label">left</div><div class="value">1</div>' in page
    # the segment profile table of 2011-12, escaped
    assert "Mid value, active" in page
    assert "Low value, &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in page
    assert "<script>" not in page
    # the report: a link that resolves to the report route; the S3 one as text; a missing one said so
    assert 'href="report/2011-12"' in page
    assert urljoin(page_url, "report/2011-12") == servers["loaded"].base + "/insiders/report/2011-12"
    assert "s3://insiders-data/runs/2011-11/report.html" in page
    assert "not written yet" in page


def test_the_report_is_served_from_a_local_run_folder(servers):
    status, content_type, body = _get(servers["loaded"].base + "/insiders/report/2011-12")
    assert status == 200, body
    assert content_type.startswith("text/html")
    assert body == REPORT


@pytest.mark.parametrize(
    ("month", "says"),
    [
        ("2011-10", "report.html is not in the run folder of 2011-10"),
        ("2011-11", "s3://insiders-data/runs/2011-11/report.html"),
        ("2011-09", "The warehouse holds no run for 2011-09."),
        ("2011-13", "is not a month"),
    ],
)
def test_a_report_that_cannot_be_served_is_a_clear_404(servers, month, says):
    status, content_type, body = _get(servers["loaded"].base + f"/insiders/report/{month}")
    assert status == 404
    assert content_type.startswith("text/html")
    assert says in body


def test_the_page_is_behind_airflow_authentication(servers):
    status, _, _ = _get(servers["loaded"].base + "/insiders/", {"Authorization": "Bearer not-a-token"})
    assert status in (401, 403)


def test_an_empty_then_unreachable_warehouse_is_said_so(servers, postgres):
    base = servers["empty"].base
    status, _, page = _get(base + "/insiders/")  # no schema at all
    assert status == 200, page
    assert "The warehouse holds no run yet" in page
    assert "does not exist there yet" in page and "insiders_monthly" in page

    with warehouse.connect(postgres.uri("plugin_ui_empty")) as conn:
        warehouse.ensure_schema(conn)
    status, _, page = _get(base + "/insiders/")  # schema, no month
    assert status == 200, page
    assert "holds no run month yet" in page
    status, _, body = _get(base + "/insiders/report/2011-12")
    assert status == 404 and "holds no run for 2011-12" in body

    with psycopg.connect(postgres.uri(), autocommit=True) as conn:
        conn.execute('DROP DATABASE "plugin_ui_empty" WITH (FORCE)')
    status, _, page = _get(base + "/insiders/")
    assert status == 503, page
    assert "Cannot reach the warehouse" in page
    assert "AIRFLOW_CONN_INSIDERS_WAREHOUSE" in page
    status, _, body = _get(base + "/insiders/report/2011-12")
    assert status == 503 and "Cannot reach the warehouse" in body


# --------------------------------------------------------------------------- without a server


@pytest.mark.parametrize(("step", "watched", "expected"), [
    # every Airflow process imports plugins: none of these at import time (the page's
    # queries and formatters come with its first request)
    ("", "('fastapi', 'pandas', 'numpy', 'psycopg') or m.startswith('insiders.')", ""),
    # the page's template and formatters load no pandas or numpy in the API server
    ("insiders_plugin.render_problem('t', 'm'); ",
     "('pandas', 'numpy', 'insiders.templating', 'insiders.formats')",
     "insiders.formats,insiders.templating"),
])
def test_the_plugin_stays_light(step, watched, expected):
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import insiders_plugin; " + step
            + f"print(','.join(sorted(m for m in sys.modules if m in {watched})))")
    done = subprocess.run([sys.executable, "-c", code, str(PLUGIN_FILE.parent)],
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == expected


def _snapshot(plugin, tmp_path: Path):
    local = tmp_path / "2011-12"
    local.mkdir()
    (local / "report.html").write_text(REPORT)
    month = {"reference_date": dt.date(2011, 12, 14), "customers": 4329, "insiders": 1097,
             "insiders_share_customers": 0.2534, "insiders_share_revenue": 0.6341,
             "chosen_candidate": "umap/ward/k=8", "silhouette": 0.4321, "entered": 2,
             "left_group": 1, "revenue": 8_595_600.25, "run_id": "manual__<b>",
             "loaded_at": dt.datetime(2011, 12, 15, 3, 4, tzinfo=dt.timezone.utc)}
    months = [
        {**month, "run_month": dt.date(2011, 12, 1), "artifacts": local.as_uri()},
        {**month, "run_month": dt.date(2011, 11, 1), "artifacts": "s3://b/runs/2011-11",
         "entered": None, "left_group": None},
        {**month, "run_month": dt.date(2011, 10, 1), "artifacts": str(tmp_path / "none")},
        {**month, "run_month": dt.date(2011, 9, 1), "artifacts": None},
    ]
    segments = [{"segment_id": 14646, "segment_name": NASTY,  # an id: printed plain
                 "mostly_insiders": False,
                 "n_customers": 1232, "share_customers": 0.2846, "revenue": 745_000.0,
                 "share_revenue": 0.0867, "mean_gross_revenue": 604.71,
                 "mean_recency_days": 12.5, "mean_n_invoices": 3.25, "mean_qty_returned": None}]
    return plugin.Snapshot(where="reader@db:5432/insiders", months=months, segments=segments,
                           n_months=4)


def test_the_page_is_rendered_from_its_template_escaped_with_the_formatters(tmp_path):
    plugin = _plugin_module()
    page = plugin.render_summary(_snapshot(plugin, tmp_path))
    assert "Low value, &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in page
    assert "manual__&lt;b&gt;" in page
    assert "<script" not in page and "<b>" not in page
    cells = re.findall(r'<td class="n">([^<]*)</td>', page)
    assert cells[:10] == ["14646", "1,232", "28.5%", "£745,000", "8.7%", "£605", "12.5 days",
                          "3.2", "–", "1,097"]  # the segment row, then the first month's
    for label, value in (("Insiders", "1,097"), ("customer share", "25.3%"),
                         ("revenue share", "63.4%"), ("silhouette", "0.4321")):
        assert f'<div class="label">{label}</div><div class="value">{value}</div>' in page
    assert 'href="report/2011-12"' in page
    assert "<code>s3://b/runs/2011-11/report.html</code>" in page
    assert f"not written yet (<code>{tmp_path / 'none'}/report.html</code>)" in page
    assert "no run folder recorded" in page
    assert "month loaded 2011-12-15 03:04 UTC" in page


def test_the_empty_page_says_what_to_do():
    plugin = _plugin_module()
    page = plugin.render_summary(plugin.Snapshot(where="w", schema_missing=True))
    assert "does not exist there yet" in page and "<code>insiders_monthly</code>" in page
    page = plugin.render_summary(plugin.Snapshot(where="w"))
    assert "exists but holds no run month yet" in page


def test_run_months_and_run_folders():
    plugin = _plugin_module()
    assert str(plugin.parse_month("2011-12")) == "2011-12-01"
    assert str(plugin.parse_month("2011-12-01")) == "2011-12-01"
    assert plugin.parse_month("2011-12-15") is None
    assert plugin.parse_month("../etc") is None
    assert plugin.local_folder("file:///data/runs/2011-12") == Path("/data/runs/2011-12")
    assert plugin.local_folder("file:///data/my%20runs/2011-12") == Path("/data/my runs/2011-12")
    assert plugin.local_folder("/data/runs/2011-12") == Path("/data/runs/2011-12")
    assert plugin.local_folder("s3://bucket/runs/2011-12") is None
    assert plugin.local_folder("file://otherhost/runs") is None
    assert plugin.local_folder("var/runs/2011-12") is None
    assert plugin.report_uri("s3://bucket/runs/2011-12/") == "s3://bucket/runs/2011-12/report.html"


def test_problem_pages_escape_what_they_quote():
    plugin = _plugin_module()
    page = plugin.render_problem("<t>", "bad 'x' <b>", "do & see")
    assert "&lt;t&gt;" in page and "bad &#39;x&#39; &lt;b&gt;" in page and "do &amp; see" in page
    assert "<b>" not in page


def test_the_plugin_reads_with_the_warehouses_own_queries():
    """One copy of the read SQL: the page calls insiders.queries, and names its schema."""
    from insiders import queries

    plugin = _plugin_module()
    assert plugin.SCHEMA == queries.SCHEMA
    source = PLUGIN_FILE.read_text()
    assert "SELECT" not in source  # no SQL of its own
    assert "queries.latest_months" in source and "queries.segment_profiles" in source
