"""Airflow 3 plugin: the latest Insiders run month, inside the Airflow UI.

Adds **Browse -> Insiders** to the Airflow UI (an ``external_views`` entry rendered in an
iframe) backed by a small FastAPI app that the API server mounts under ``/insiders``:

- ``/insiders/``: the latest run month read from the warehouse (``insiders.insiders_by_month``:
  customers, Insiders, shares, chosen model, silhouette, entered/left), its segment profiles
  (``insiders.segment_profiles``), the recent run months and a link to each run's report;
- ``/insiders/report/{YYYY-MM}``: the run's ``report.html`` when its run folder
  (``insiders.runs.artifacts``) is local (``file://``); an ``s3://`` folder is shown as text.

The warehouse is the Airflow connection ``insiders_warehouse``, as for the DAG. The page only
reads (read-only transaction, no DDL), and says what is wrong, and what to configure, when the
connection is missing, the warehouse is unreachable or holds no run yet. Access is Airflow's:
whoever may read the runs of the DAG ``insiders_monthly`` may see the page and the reports.

Airflow imports this file in every process that loads plugins (scheduler, workers, ...), so
it imports nothing heavy: FastAPI, Airflow's API security and psycopg are imported on the
first request, in the API server only; the page reads the warehouse with SQL alone.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlparse

from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)

CONN_ID = "insiders_warehouse"
DAG_ID = "insiders_monthly"
SCHEMA = "insiders"  # insiders.queries.SCHEMA (checked by a test; the package loads on first use)
URL_PREFIX = "/insiders"
REPORT_FILE = "report.html"
RECENT_MONTHS = 12
_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-01)?$")


# --------------------------------------------------------------------------- reading


class WarehouseUnavailable(Exception):
    """The warehouse cannot be read; ``advice`` says what to check or configure."""

    def __init__(self, message: str, advice: str):
        super().__init__(message)
        self.message = message
        self.advice = advice


@dataclass
class Snapshot:
    """What the page shows, read in one go."""

    where: str
    months: list[dict[str, Any]] = field(default_factory=list)  # latest first
    segments: list[dict[str, Any]] = field(default_factory=list)  # of the latest month
    n_months: int = 0
    schema_missing: bool = False


def _where_to_configure() -> str:
    return (
        f"in Admin -> Connections, or with the environment variable AIRFLOW_CONN_{CONN_ID.upper()} "
        "of the API server (e.g. postgresql://user:password@host:5432/database)"
    )


def _open_warehouse():
    """(connection, "user@host:port/db") from the Airflow connection; WarehouseUnavailable if not."""
    try:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError as exc:  # pragma: no cover - Airflow itself is broken
        raise WarehouseUnavailable(f"cannot import Airflow's Connection: {exc}", "") from exc
    try:
        conn = Connection.get(CONN_ID)
    except AirflowNotFoundException as exc:
        raise WarehouseUnavailable(
            f"The Airflow connection '{CONN_ID}' is not defined.",
            f"Define it (type Postgres, the database in the Schema field) {_where_to_configure()}, "
            "then reload this page.",
        ) from exc
    where = f"{conn.login or '?'}@{conn.host or 'localhost'}:{conn.port or 5432}/{conn.schema or '?'}"
    import psycopg  # the page reads SQL only: no pandas or scikit-learn in the API server

    params = {"host": conn.host, "port": conn.port, "user": conn.login,
              "password": conn.password, "dbname": conn.schema}
    try:
        db = psycopg.connect(connect_timeout=5,
                             **{k: v for k, v in params.items() if v not in (None, "")})
    except psycopg.Error as exc:
        raise WarehouseUnavailable(
            f"Cannot reach the warehouse at {where}: {str(exc).strip()}",
            "Check that the Postgres server is up and reachable from the API server, and the "
            f"host, port, login, password and database (Schema field) of the connection "
            f"'{CONN_ID}', set {_where_to_configure()}.",
        ) from exc
    return db, where


def read_snapshot() -> Snapshot:
    """The latest run month, its segment profiles and the recent months, from the warehouse."""
    import psycopg
    from psycopg.rows import dict_row

    from insiders import queries  # the warehouse's own read queries (psycopg only)

    db, where = _open_warehouse()
    snap = Snapshot(where=where)
    try:
        with db:
            db.read_only = True
            db.row_factory = dict_row
            db.execute("SET statement_timeout = '15s'")
            if not queries.schema_exists(db):
                snap.schema_missing = True
                return snap
            snap.months = queries.latest_months(db, RECENT_MONTHS)
            if not snap.months:
                return snap
            snap.n_months = queries.run_count(db)
            snap.segments = queries.segment_profiles(db, snap.months[0]["run_month"])
    except psycopg.Error as exc:
        raise WarehouseUnavailable(
            f"Reading the warehouse at {where} failed: {str(exc).strip()}",
            f"Check that the login of the connection '{CONN_ID}' may read the schema "
            f"'{SCHEMA}' (e.g. it has the role insiders_reader) and that the schema is the "
            "project's (it is created by the DAG's load task).",
        ) from exc
    return snap


def read_artifacts(month: dt.date) -> str | None:
    """The run folder of ``month`` (``runs.artifacts``); None if the month has no run."""
    import psycopg

    from insiders import queries

    db, where = _open_warehouse()
    try:
        with db:
            db.read_only = True
            return queries.run_artifacts(db, month)
    except psycopg.Error as exc:
        raise WarehouseUnavailable(
            f"Reading the warehouse at {where} failed: {str(exc).strip()}",
            f"Check that the login of the connection '{CONN_ID}' may read the schema '{SCHEMA}'.",
        ) from exc


# --------------------------------------------------------------------------- run folders


def parse_month(text: str) -> dt.date | None:
    """``YYYY-MM`` (or ``YYYY-MM-01``) -> the month's first day; None if not a month."""
    match = _MONTH.match(text)
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), 1)
    except ValueError:
        return None


def local_folder(artifacts: str | None) -> Path | None:
    """The local path of a run folder given as ``file://...`` or an absolute path; else None."""
    if not artifacts:
        return None
    if artifacts.startswith("file:"):
        parsed = urlparse(artifacts)
        if parsed.netloc not in ("", "localhost"):
            return None
        return Path(unquote(parsed.path))
    if "://" in artifacts:
        return None
    path = Path(artifacts)
    return path if path.is_absolute() else None


def report_uri(artifacts: str) -> str:
    """Where the run's report is (or will be), as the run folder names it."""
    return f"{artifacts.rstrip('/')}/{REPORT_FILE}"


# --------------------------------------------------------------------------- rendering


def esc(value: Any) -> str:
    """Text for HTML (element content and quoted attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def _count(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def _share(value: Any) -> str:
    return "–" if value is None else f"{float(value):.2%}"


def _number(value: Any, digits: int = 2) -> str:
    return "–" if value is None else f"{float(value):,.{digits}f}"


def _month(value: dt.date) -> str:
    return f"{value:%Y-%m}"


_CSS = """
:root { color-scheme: light dark; --fg: #1f2933; --muted: #5f6b7a; --line: #d9dee4;
  --head: #f3f5f7; --accent: #0b6e4f; --insider: #e7f6ef; --warn: #fff4e5; --warn-line: #f0b45b; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e4e7eb; --muted: #9aa5b1; --line: #3e4c59; --head: #1f2933;
    --accent: #4cc38a; --insider: #143d2b; --warn: #3d2e12; --warn-line: #b7791f; } }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  margin: 1.25rem 1.5rem; }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; } h2 { font-size: 1.05rem; margin: 1.6rem 0 .5rem; }
.sub { color: var(--muted); margin: 0 0 1rem; }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .6rem .9rem; min-width: 9.5rem; }
.card .label { color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
.card .value { font-size: 1.25rem; font-weight: 600; }
.card .value.small { font-size: .95rem; font-weight: 500; word-break: break-all; }
table { border-collapse: collapse; margin: .25rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .7rem; text-align: left; }
th { background: var(--head); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.insider td { background: var(--insider); font-weight: 600; }
a { color: var(--accent); }
code { font-size: .9em; word-break: break-all; }
.notice { border: 1px solid var(--warn-line); background: var(--warn); border-radius: 8px;
  padding: .8rem 1rem; max-width: 60rem; }
.muted { color: var(--muted); }
.scroll { overflow-x: auto; }
.foot { color: var(--muted); margin-top: 1.5rem; font-size: .85rem; }
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def _report_cell(row: dict[str, Any]) -> str:
    """A link to the run's report, or where it is / why there is none."""
    artifacts = row.get("artifacts")
    if not artifacts:
        return "<span class=\"muted\">no run folder recorded</span>"
    folder = local_folder(artifacts)
    if folder is None:  # s3:// or another remote store: the page cannot serve it
        return f"<code>{esc(report_uri(artifacts))}</code>"
    if (folder / REPORT_FILE).is_file():
        # relative to the page (/insiders/); no target: the UI's iframe sandbox forbids pop-ups,
        # so the report opens in the iframe (Back returns here)
        href = f"report/{_month(row['run_month'])}"
        return f"<a href=\"{esc(href)}\">{esc(REPORT_FILE)}</a>"
    return f"not written yet (<code>{esc(report_uri(artifacts))}</code>)"


def render_summary(snap: Snapshot) -> str:
    """The page for a warehouse holding at least one run month (or none)."""
    if snap.schema_missing or not snap.months:
        what = ("the schema 'insiders' does not exist there yet" if snap.schema_missing
                else "the schema 'insiders' exists but holds no run month yet")
        body = (
            "<h1>Insiders</h1>"
            f"<div class=\"notice\"><p><strong>The warehouse holds no run yet</strong>: {esc(what)} "
            f"(connection <code>{esc(CONN_ID)}</code>, <code>{esc(snap.where)}</code>).</p>"
            f"<p>Run the DAG <code>{esc(DAG_ID)}</code> (its <code>load</code> task creates the schema "
            "and writes the run month), e.g. trigger it from the DAG's page, or run "
            "<code>bash scripts/demo.sh</code> for the bundled data. If the DAG already ran, check "
            f"that <code>{esc(CONN_ID)}</code> points at the same database as the DAG's.</p></div>"
        )
        return _page("Insiders: no run yet", body)

    latest = snap.months[0]
    month = _month(latest["run_month"])
    cards = [
        ("Insiders", _count(latest["insiders"])),
        ("of customers", _count(latest["customers"])),
        ("customer share", _share(latest["insiders_share_customers"])),
        ("revenue share", _share(latest["insiders_share_revenue"])),
        ("entered", _count(latest["entered"])),
        ("left", _count(latest["left_group"])),
        ("silhouette", _number(latest["silhouette"], 4)),
    ]
    card_html = "".join(
        f"<div class=\"card\"><div class=\"label\">{esc(label)}</div>"
        f"<div class=\"value\">{esc(value)}</div></div>"
        for label, value in cards
    )
    card_html += (
        "<div class=\"card\"><div class=\"label\">chosen model</div>"
        f"<div class=\"value small\">{esc(latest['chosen_candidate'])}</div></div>"
    )

    seg_rows = []
    for s in snap.segments:
        row_class = " class=\"insider\"" if s["is_insider"] else ""
        seg_rows.append(
            f"<tr{row_class}>"
            f"<td class=\"n\">{esc(s['segment_id'])}</td><td>{esc(s['segment_name'])}</td>"
            f"<td>{'yes' if s['is_insider'] else ''}</td>"
            f"<td class=\"n\">{esc(_count(s['n_customers']))}</td>"
            f"<td class=\"n\">{esc(_share(s['share_customers']))}</td>"
            f"<td class=\"n\">{esc(_number(s['revenue'], 0))}</td>"
            f"<td class=\"n\">{esc(_share(s['share_revenue']))}</td>"
            f"<td class=\"n\">{esc(_number(s['mean_gross_revenue']))}</td>"
            f"<td class=\"n\">{esc(_number(s['mean_recency_days'], 1))}</td>"
            f"<td class=\"n\">{esc(_number(s['mean_n_invoices'], 1))}</td>"
            f"<td class=\"n\">{esc(_number(s['mean_qty_returned'], 1))}</td></tr>"
        )
    segments = (
        "<div class=\"scroll\"><table><thead><tr><th class=\"n\">id</th><th>segment</th><th>Insiders</th>"
        "<th class=\"n\">customers</th><th class=\"n\">customer share</th><th class=\"n\">revenue</th>"
        "<th class=\"n\">revenue share</th><th class=\"n\">mean revenue</th>"
        "<th class=\"n\">mean recency (days)</th><th class=\"n\">mean invoices</th>"
        "<th class=\"n\">mean units returned</th></tr></thead><tbody>"
        + "".join(seg_rows) + "</tbody></table></div>"
        if seg_rows else "<p>No segment profile recorded for this month.</p>"
    )

    month_rows = "".join(
        f"<tr><td>{esc(_month(m['run_month']))}</td><td>{esc(m['reference_date'])}</td>"
        f"<td class=\"n\">{esc(_count(m['insiders']))}</td>"
        f"<td class=\"n\">{esc(_count(m['customers']))}</td>"
        f"<td class=\"n\">{esc(_share(m['insiders_share_customers']))}</td>"
        f"<td class=\"n\">{esc(_share(m['insiders_share_revenue']))}</td>"
        f"<td class=\"n\">{esc(_count(m['entered']))}</td><td class=\"n\">{esc(_count(m['left_group']))}</td>"
        f"<td>{_report_cell(m)}</td></tr>"
        for m in snap.months
    )
    loaded = latest.get("loaded_at")
    body = (
        f"<h1>Insiders, run month {esc(month)}</h1>"
        f"<p class=\"sub\">As of {esc(latest['reference_date'])} (reference date); "
        f"{esc(_count(snap.n_months))} run month(s) in the warehouse; entered and left compare "
        + ("with the run month before." if len(snap.months) > 1
           else "with no earlier run month, so every Insider counts as entered.")
        + f"</p><div class=\"cards\">{card_html}</div>"
        f"<h2>Report</h2><p>{_report_cell(latest)}"
        + (f" &middot; run folder <code>{esc(latest['artifacts'])}</code>" if latest.get("artifacts") else "")
        + "</p>"
        f"<h2>Segments of {esc(month)}</h2>{segments}"
        "<h2>Recent run months</h2><div class=\"scroll\"><table><thead><tr><th>run month</th>"
        "<th>reference date</th>"
        "<th class=\"n\">Insiders</th><th class=\"n\">customers</th><th class=\"n\">customer share</th>"
        "<th class=\"n\">revenue share</th><th class=\"n\">entered</th><th class=\"n\">left</th>"
        f"<th>report</th></tr></thead><tbody>{month_rows}</tbody></table></div>"
        f"<p class=\"foot\">Read from the Airflow connection <code>{esc(CONN_ID)}</code> "
        f"(<code>{esc(snap.where)}</code>)"
        + (f"; month loaded {esc(f'{loaded:%Y-%m-%d %H:%M %Z}')}" if loaded else "")
        + (f" by run <code>{esc(latest['run_id'])}</code>" if latest.get("run_id") else "")
        + ".</p>"
    )
    return _page(f"Insiders {month}", body)


def render_problem(title: str, message: str, advice: str = "") -> str:
    """A page saying what is wrong and what to do."""
    body = (
        f"<h1>Insiders</h1><div class=\"notice\"><p><strong>{esc(title)}</strong></p>"
        f"<p>{esc(message)}</p>" + (f"<p>{esc(advice)}</p>" if advice else "") + "</div>"
    )
    return _page(f"Insiders: {title}", body)


# --------------------------------------------------------------------------- the web app


def build_app():
    """The FastAPI app behind ``/insiders`` (built on first request, in the API server)."""
    from fastapi import Depends, FastAPI
    from fastapi.responses import FileResponse, HTMLResponse

    dependencies = []
    try:  # Airflow's own access control: who may read the DAG's runs may read their results
        from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
        from airflow.api_fastapi.core_api.security import requires_access_dag

        dependencies.append(
            Depends(requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=DAG_ID))
        )
    except ImportError:  # pragma: no cover - only outside an API server
        log.warning("Airflow's API security is not importable: the Insiders page is not protected")

    app = FastAPI(title="Insiders", dependencies=dependencies, docs_url=None, redoc_url=None,
                  openapi_url=None)
    no_store = {"Cache-Control": "no-store"}

    @app.get("/", response_class=HTMLResponse)
    def summary_page() -> HTMLResponse:
        try:
            return HTMLResponse(render_summary(read_snapshot()), headers=no_store)
        except WarehouseUnavailable as exc:
            return HTMLResponse(render_problem("The warehouse cannot be read", exc.message, exc.advice),
                                status_code=503, headers=no_store)
        except Exception as exc:  # never a bare 500: say what failed
            log.exception("Insiders page failed")
            return HTMLResponse(
                render_problem("The Insiders page failed", f"{type(exc).__name__}: {exc}",
                               "See the API server's log for the traceback."),
                status_code=503, headers=no_store)

    @app.get("/report/{run_month}", response_class=HTMLResponse)
    def report(run_month: str):
        month = parse_month(run_month)
        if month is None:
            return HTMLResponse(render_problem("No such run month",
                                               f"'{run_month}' is not a month; use YYYY-MM, e.g. 2011-12."),
                                status_code=404, headers=no_store)
        try:
            artifacts = read_artifacts(month)
        except WarehouseUnavailable as exc:
            return HTMLResponse(render_problem("The warehouse cannot be read", exc.message, exc.advice),
                                status_code=503, headers=no_store)
        label = _month(month)
        if artifacts is None:
            return HTMLResponse(render_problem(
                "No such run month", f"The warehouse holds no run for {label}.",
                f"Run the DAG {DAG_ID} for that month (e.g. a backfill of {label}-15)."),
                status_code=404, headers=no_store)
        folder = local_folder(artifacts)
        if folder is None:
            return HTMLResponse(render_problem(
                "The report is not on this server",
                f"The run folder of {label} is {artifacts}; its report is {report_uri(artifacts)}.",
                "Open it with your object-store tools (e.g. aws s3 cp ... -); this page serves only "
                "reports of local (file://) run folders."),
                status_code=404, headers=no_store)
        path = folder / REPORT_FILE
        if not path.is_file():
            return HTMLResponse(render_problem(
                "The report is not there yet",
                f"{REPORT_FILE} is not in the run folder of {label} ({folder}).",
                f"The DAG {DAG_ID} writes it with the run's other outputs; rerun the month if the "
                "run predates the report."),
                status_code=404, headers=no_store)
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=no_store)

    return app


class LazyApp:
    """An ASGI app that builds :func:`build_app` on its first request.

    Keeps FastAPI, Airflow's API modules and the ``insiders`` package (pandas) out of the
    import of this file, which every Airflow process that loads plugins performs.
    """

    def __init__(self) -> None:
        self._app = None

    async def __call__(self, scope, receive, send) -> None:
        if self._app is None:
            self._app = build_app()
        await self._app(scope, receive, send)

    def __repr__(self) -> str:
        return f"{__name__}.build_app() (FastAPI, built on first request)"


class InsidersPlugin(AirflowPlugin):
    """Browse -> Insiders: the latest run month's Insiders and its report."""

    name = "insiders"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": LazyApp(), "url_prefix": URL_PREFIX, "name": "Insiders summary"},
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Insiders",
            # relative to the UI's <base href>: works when Airflow is served under a sub-path
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": "insiders",  # rendered inside the UI at /plugin/insiders
            "destination": "nav",
            "category": "browse",
        },
    ]
