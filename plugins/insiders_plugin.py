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
first request, in the API server only; the page reads the warehouse with SQL alone and is
rendered from the package template ``insiders/templates/plugin.html.j2`` (Jinja2, autoescaped)
with the report's formatters (:mod:`insiders.formats`), which import no pandas.
"""

from __future__ import annotations

import datetime as dt
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
# The page is the package template insiders/templates/plugin.html.j2, autoescaped, its figures
# printed by the formatters of insiders.formats (Jinja2 is imported on the first render).

PAGE_TEMPLATE = "plugin.html.j2"


def _month(value: dt.date) -> str:
    return f"{value:%Y-%m}"


def report_link(row: dict[str, Any]) -> dict[str, str]:
    """How the page points at a run's report: ``{"state": ...}`` with ``none`` (no run folder
    recorded), ``remote`` (s3:// or another store: its ``uri`` as text), ``local`` (an
    ``href`` to the report route) or ``missing`` (not written yet, at ``uri``)."""
    artifacts = row.get("artifacts")
    if not artifacts:
        return {"state": "none"}
    folder = local_folder(artifacts)
    if folder is None:  # s3:// or another remote store: the page cannot serve it
        return {"state": "remote", "uri": report_uri(artifacts)}
    if (folder / REPORT_FILE).is_file():
        # relative to the page (/insiders/); no target: the UI's iframe sandbox forbids pop-ups,
        # so the report opens in the iframe (Back returns here)
        return {"state": "local", "href": f"report/{_month(row['run_month'])}", "file": REPORT_FILE}
    return {"state": "missing", "uri": report_uri(artifacts)}


def _render(currency: str = "", **context: Any) -> str:
    from insiders import templating  # Jinja2: on the first render, not at plugin import

    return templating.render(PAGE_TEMPLATE, {"conn_id": CONN_ID, "dag_id": DAG_ID, **context},
                             currency=currency)


def render_summary(snap: Snapshot) -> str:
    """The page for a warehouse holding at least one run month (or none)."""
    if snap.schema_missing or not snap.months:
        return _render(view="empty", title="Insiders: no run yet", snap=snap)
    latest = snap.months[0]
    months = [{**m, "month": _month(m["run_month"]), "report": report_link(m)} for m in snap.months]
    loaded = latest.get("loaded_at")
    # months loaded before the warehouse kept the currency were all in pounds (NULL)
    currency = "GBP" if latest.get("currency") is None else latest["currency"]
    return _render(view="summary", title=f"Insiders {_month(latest['run_month'])}", snap=snap,
                   currency=currency,
                   latest=months[0], months=months, segments=snap.segments,
                   loaded=f"{loaded:%Y-%m-%d %H:%M %Z}" if loaded else None)


def render_problem(title: str, message: str, advice: str = "") -> str:
    """A page saying what is wrong and what to do."""
    return _render(view="problem", title=f"Insiders: {title}", problem=title, message=message,
                   advice=advice)


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
