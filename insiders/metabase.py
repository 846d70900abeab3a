"""Metabase provisioning as code: the warehouse connection, the questions and the "Insiders" dashboard.

``provision`` brings a Metabase instance to the state this module describes, and a second run
changes nothing but updates in place (it never duplicates):

1. read the server's version (``GET /api/session/properties``, no login needed: ``version.tag``
   such as ``v0.59.6``), refuse one older than :data:`MINIMUM_VERSION`; first-run set-up when the
   instance has no user yet (the same answer gives the ``setup-token``; ``POST /api/setup`` creates
   the admin, site name "Insiders"), else log in (``POST /api/session``; the session id goes in the
   ``X-Metabase-Session`` header); then turn anonymous usage tracking off
   (``PUT /api/setting/anon-tracking-enabled`` ``{"value": false}``) on every run, because set-up
   turns it on whatever ``prefs.allow_tracking`` says;
2. the warehouse database (engine ``postgres``) with the READ-ONLY login
   (``INSIDERS_READER_USER`` / ``INSIDERS_READER_PASSWORD``, see ``insiders warehouse
   create-reader``; never the writer), created with ``POST /api/database`` or updated with
   ``PUT /api/database/:id`` when a database of that name exists; then ``sync_schema``;
3. a collection "Insiders" holding everything below (found by name, else ``POST /api/collection``);
4. five native-SQL questions (cards) on schema ``insiders`` (:data:`CARDS`): found by name in the
   collection (listed with ``show_dashboard_questions=true``, else a question someone moved into the
   dashboard is hidden and would be created again) and ``PUT /api/card/:id``, else ``POST /api/card``;
5. the dashboard "Insiders" with the five cards, laid out on Metabase's 24-column grid:
   ``POST /api/dashboard`` if missing, then ``PUT /api/dashboard/:id`` with the full ``dashcards``
   list (existing dashcards keep their ids, new ones get negative ids; dashcards someone added by
   hand are kept as they are).

``resync`` asks Metabase to sync the schema and rescan the field values of the warehouse database
(``POST /api/database/:id/sync_schema`` and ``/rescan_values``): the DAG's last task.

Settings come from the environment (:meth:`MetabaseConfig.from_env`), never from code: ``MB_URL``,
``MB_ADMIN_EMAIL``, ``MB_ADMIN_PASSWORD``, ``INSIDERS_READER_USER`` (default ``metabase``),
``INSIDERS_READER_PASSWORD``, ``INSIDERS_WAREHOUSE_HOST`` / ``_PORT`` / ``_DB`` / ``_SSL``, and
optionally ``MB_DATABASE_NAME``, ``MB_WAIT_SECONDS``.

Versions: the compose file pins **Metabase v0.59.6** (:data:`TARGET_VERSION`); the client refuses
a server older than :data:`MINIMUM_VERSION` (v0.50, the API it was first written against: cards'
``type`` came in v0.49, ``dashcards`` on ``PUT /api/dashboard/:id`` in v0.47) and reports the version
the server gives. Endpoints and payload shapes were checked against Metabase's API reference pages
(https://www.metabase.com/docs/v0.50/api/ ``setup``, ``session``, ``database``, ``collection``,
``card``, ``dashboard``; the same pages under ``/docs/latest/``), its API changelog
(https://www.metabase.com/docs/latest/developers-guide/api-changelog) and the endpoint schemas in its
sources (``setup.clj``, ``card.clj``, ``dashboard.clj``, ``database.clj``, ``collection.clj``,
``setting.clj``; around v0.59 for the set-up, tracking, dashboard-question and sync behaviour):

- ``POST /api/setup`` takes ``token``, ``user`` {``email``, ``password``, ``first_name``,
  ``last_name``} and ``prefs`` {``site_name``, ``site_locale``, ``allow_tracking``}, answers
  ``{"id": session}``, and 403 once a user exists; a password it refuses (too short, no digit, or
  common) answers 400 ``{"errors": {"user": {"password": "password is too common."}}}``;
- ``POST /api/database`` and ``PUT /api/database/:id`` test the connection first and answer 400
  ``{"message": ..., "errors": {field: ...}}`` when it fails; ``POST /api/database/:id/sync_schema``
  answers 422 (the driver's message as text) when the database cannot be reached;
- ``POST /api/session`` takes ``username`` and ``password``; a wrong one answers 401
  ``{"errors": {"password": "did not match stored password"}}``;
- ``GET /api/database`` and ``GET /api/collection/:id/items`` answer ``{"data": [...], "total": n}``;
  the items leave out "dashboard questions" (cards saved into a dashboard, v0.53 and later) unless
  ``show_dashboard_questions=true``;
- ``POST /api/card`` requires ``name``, ``dataset_query``, ``display``, ``visualization_settings``;
- ``PUT /api/dashboard/:id`` takes ``dashcards`` (``id``, negative for a new one, ``card_id``,
  ``size_x``, ``size_y``, ``row``, ``col``; ids left out are deleted) and ``tabs``
  (``PUT /api/dashboard/:id/cards`` is deprecated).

It has been exercised against a stand-in of that API (``tests/metabase/fake_metabase.py``), not
against a running Metabase: run ``insiders metabase provision`` once on a v0.59 instance before
relying on it.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from insiders import queries

logger = logging.getLogger(__name__)

#: The Metabase the compose file pins, and the oldest one this client supports.
TARGET_VERSION = "v0.59.6"
MINIMUM_VERSION = "v0.50"
SITE_NAME = "Insiders"
COLLECTION_NAME = "Insiders"
DASHBOARD_NAME = "Insiders"
DEFAULT_DATABASE_NAME = "Insiders warehouse"
SCHEMA = "insiders"
SESSION_HEADER = "X-Metabase-Session"
#: The warehouse objects the questions may read (schema ``insiders``).
WAREHOUSE_OBJECTS = frozenset(queries.TABLES + queries.VIEWS)


_TRUE = ("1", "true", "yes", "require")


class MetabaseError(RuntimeError):
    """Provisioning failed; the message says what to do."""


@dataclass(frozen=True)
class MetabaseConfig:
    """Where Metabase is, how to log in as its admin, and the warehouse it should read.

    The reader login is only needed by :func:`provision` (it is what Metabase connects with);
    :func:`resync` needs the URL and the admin login only.
    """

    url: str
    admin_email: str
    admin_password: str = field(repr=False)
    reader_user: str | None = "metabase"
    reader_password: str | None = field(default=None, repr=False)
    warehouse_host: str = "localhost"
    warehouse_port: int = 5432
    warehouse_db: str = "insiders"
    warehouse_ssl: bool = False
    database_name: str = DEFAULT_DATABASE_NAME
    #: The warehouse writer's login, when known: the reader must never be it.
    writer_user: str | None = None
    admin_first_name: str = "Insiders"
    admin_last_name: str = "Admin"
    #: Seconds to wait for Metabase to finish starting (``GET /api/health``); 0: do not wait.
    wait_seconds: float = 0.0
    #: Seconds every HTTP call may take.
    timeout: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MetabaseConfig:
        """Build the configuration from environment variables (see the module docstring).

        ``INSIDERS_WAREHOUSE_DSN`` (the writer's URI, used by the pipeline), when set, is read
        only for its user name, so that provisioning can refuse to hand the writer to Metabase.
        """
        env = os.environ if environ is None else environ
        missing = [name for name in ("MB_URL", "MB_ADMIN_EMAIL", "MB_ADMIN_PASSWORD") if not env.get(name)]
        if missing:
            raise MetabaseError(
                f"set {', '.join(missing)}: Metabase's URL (e.g. http://localhost:3000) and the "
                "admin login to create on first run or to log in with"
            )
        port_text = env.get("INSIDERS_WAREHOUSE_PORT") or "5432"
        try:
            port = int(port_text)
        except ValueError:
            raise MetabaseError(f"INSIDERS_WAREHOUSE_PORT={port_text!r} is not a port number") from None
        wait_text = env.get("MB_WAIT_SECONDS") or "0"
        try:
            wait = float(wait_text)
        except ValueError:
            raise MetabaseError(f"MB_WAIT_SECONDS={wait_text!r} is not a number of seconds") from None
        writer_dsn = env.get("INSIDERS_WAREHOUSE_DSN") or ""
        writer = urlsplit(writer_dsn).username if "://" in writer_dsn else None
        return cls(
            url=env["MB_URL"],
            admin_email=env["MB_ADMIN_EMAIL"],
            admin_password=env["MB_ADMIN_PASSWORD"],
            reader_user=env.get("INSIDERS_READER_USER") or "metabase",
            reader_password=env.get("INSIDERS_READER_PASSWORD") or None,
            warehouse_host=env.get("INSIDERS_WAREHOUSE_HOST") or "localhost",
            warehouse_port=port,
            warehouse_db=env.get("INSIDERS_WAREHOUSE_DB") or "insiders",
            warehouse_ssl=(env.get("INSIDERS_WAREHOUSE_SSL") or "").lower() in _TRUE,
            database_name=env.get("MB_DATABASE_NAME") or DEFAULT_DATABASE_NAME,
            writer_user=writer,
            wait_seconds=wait,
        )


@dataclass(frozen=True)
class CardSpec:
    """One question: a native SQL query on schema ``insiders`` and how to show it."""

    name: str
    description: str
    sql: str
    display: str
    visualization_settings: dict[str, Any]
    #: (col, row, size_x, size_y) on the dashboard's 24-column grid.
    layout: tuple[int, int, int, int]


def _percent(*columns: str) -> dict[str, Any]:
    return {f'["name","{c}"]': {"number_style": "percent", "decimals": 1} for c in columns}


#: The dashboard's questions, in the order they appear on it.
CARDS: tuple[CardSpec, ...] = (
    CardSpec(
        name="Insiders per month: count and revenue share",
        description="Number of Insiders each run month and their share of revenue and of customers "
        "(view insiders.insiders_by_month).",
        sql="""SELECT run_month,
       insiders,
       insiders_share_revenue AS revenue_share,
       insiders_share_customers AS customer_share,
       customers
FROM insiders.insiders_by_month
ORDER BY run_month""",
        display="line",
        visualization_settings={
            "graph.dimensions": ["run_month"],
            "graph.metrics": ["insiders", "revenue_share"],
            "series_settings": {"revenue_share": {"axis": "right", "title": "Share of revenue"}},
            "column_settings": _percent("revenue_share", "customer_share"),
        },
        layout=(0, 0, 12, 6),
    ),
    CardSpec(
        name="Insiders entries and exits per month",
        description="Customers who entered and who left Insiders against the previous run month "
        "(insiders.membership_history; months without a change show 0).",
        sql="""SELECT r.run_month,
       count(m.customer_id) FILTER (WHERE m.change = 'entered') AS entered,
       count(m.customer_id) FILTER (WHERE m.change = 'left') AS exited
FROM insiders.runs r
LEFT JOIN insiders.membership_history m ON m.run_month = r.run_month
GROUP BY r.run_month
ORDER BY r.run_month""",
        display="bar",
        visualization_settings={
            "graph.dimensions": ["run_month"],
            "graph.metrics": ["entered", "exited"],
        },
        layout=(12, 0, 12, 6),
    ),
    CardSpec(
        name="Segment profiles, latest month",
        description="Every segment of the latest run month: size, shares and mean features "
        "(insiders.segment_profiles), best first.",
        sql="""SELECT p.segment_id,
       p.segment_name,
       p.mostly_insiders,
       p.n_customers,
       p.share_customers,
       p.revenue,
       p.share_revenue,
       p.mean_gross_revenue,
       p.mean_recency_days,
       p.mean_n_lines,
       p.mean_frequency,
       p.mean_qty_returned,
       p.run_month
FROM insiders.segment_profiles p
WHERE p.run_month = (SELECT max(run_month) FROM insiders.runs)
ORDER BY p.mean_gross_revenue DESC""",
        display="table",
        visualization_settings={"column_settings": _percent("share_customers", "share_revenue")},
        layout=(0, 6, 24, 6),
    ),
    CardSpec(
        name="Insiders revenue forecast",
        description="Expected revenue from Insiders in the coming months, next to the naive "
        "forecast it is back-tested against (insiders.forecasts, latest run month).",
        sql="""SELECT f.month,
       f.model,
       f.expected_revenue,
       f.naive_revenue,
       f.run_month
FROM insiders.forecasts f
WHERE f.run_month = (SELECT max(run_month) FROM insiders.forecasts)
ORDER BY f.month, f.model""",
        display="line",
        visualization_settings={
            "graph.dimensions": ["month"],
            "graph.metrics": ["expected_revenue", "naive_revenue"],
        },
        layout=(0, 12, 24, 6),
    ),
    CardSpec(
        name="Current Insiders",
        description="The customers in Insiders as of the latest run month, highest revenue first "
        "(view insiders.current_insiders).",
        sql="""SELECT c.customer_id,
       c.customer_key,
       c.segment_name,
       c.gross_revenue,
       c.recency_days,
       c.n_lines,
       c.n_invoices,
       c.frequency,
       c.qty_returned,
       c.run_month
FROM insiders.current_insiders c
ORDER BY c.gross_revenue DESC""",
        display="table",
        visualization_settings={},
        layout=(0, 18, 24, 9),
    ),
)


class _Client:
    """A few JSON calls to one Metabase, each with a timeout, errors turned into advice."""

    def __init__(self, config: MetabaseConfig) -> None:
        self.base = config.url.rstrip("/")
        self.timeout = config.timeout
        self.http = requests.Session()
        self.http.headers["Content-Type"] = "application/json"

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, body: Any = None, params: Any = None) -> requests.Response:
        url = self.base + path
        try:
            return self.http.request(method, url, json=body, params=params, timeout=self.timeout)
        except requests.Timeout:
            raise MetabaseError(
                f"Metabase at {self.base} did not answer {method} {path} within {self.timeout:g} s: "
                "is it still starting? Retry, or set MB_WAIT_SECONDS"
            ) from None
        except requests.RequestException as exc:
            raise MetabaseError(
                f"Metabase is not reachable at {self.base} ({type(exc).__name__}): start it, or set "
                "MB_URL to its address"
            ) from None

    def json(self, method: str, path: str, body: Any = None, params: Any = None, what: str = "",
             advice: Mapping[int, str] | None = None) -> Any:
        """The answer's JSON (or text); an error status raises, with ``advice[status]`` appended."""
        response = self.call(method, path, body, params)
        if response.status_code == 401:
            raise MetabaseError(
                f"Metabase at {self.base} refused {method} {path} (401): the session is missing or "
                "expired; run again"
            )
        if response.status_code >= 400:
            hint = (advice or {}).get(response.status_code)
            said = _message(response)
            raise MetabaseError(
                f"Metabase at {self.base} refused {what or method + ' ' + path} "
                f"(HTTP {response.status_code}): " + (f"{said.rstrip('.')}. {hint}" if hint else said)
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    def wait_until_ready(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                response = self.http.get(self.base + "/api/health", timeout=self.timeout)
                if response.status_code == 200:
                    return
                state = _message(response)
            except requests.RequestException as exc:
                state = type(exc).__name__
            if time.monotonic() >= deadline:
                raise MetabaseError(
                    f"Metabase at {self.base} was not ready after {seconds:g} s ({state}): start it, "
                    "check MB_URL, or raise MB_WAIT_SECONDS"
                )
            time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))


def _field_errors(errors: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``{"user": {"password": "..."}}`` as ``["user.password: ..."]``."""
    out = []
    for key, value in errors.items():
        if isinstance(value, Mapping):
            out += _field_errors(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}: {value}")
    return out


def _message(response: requests.Response) -> str:
    """Metabase's own words: ``message``, ``errors`` (per field, nested ones flattened) or the text.

    ``specific-errors`` is never shown: it repeats the values sent, passwords included.
    """
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason
    if isinstance(body, dict) and (body.get("message") or isinstance(body.get("errors"), dict)):
        parts = [str(body["message"])] if body.get("message") else []
        if isinstance(body.get("errors"), dict):
            parts += _field_errors(body["errors"])
        return "; ".join(parts)
    return str(body)[:300]


_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def _version_key(tag: str) -> tuple[int, int] | None:
    """``v0.59.6`` (or the Enterprise ``v1.59.6``) as ``(59, 6)``; None when it is not a release tag."""
    match = _VERSION.match(tag.strip())
    if not match or int(match.group(1)) > 1:
        return None
    return int(match.group(2)), int(match.group(3) or 0)


_MINIMUM_KEY = _version_key(MINIMUM_VERSION) or (0, 0)


def _check_version(base: str, properties: Mapping[str, Any]) -> str:
    """The server's version tag (``"unknown"`` when it gives none); raise when it is too old."""
    version = properties.get("version")
    tag = version.get("tag") if isinstance(version, Mapping) else None
    key = _version_key(tag) if isinstance(tag, str) else None
    if key is None:
        logger.warning("Metabase at %s gave no release version (%r); expected %s or later",
                       base, tag, MINIMUM_VERSION)
        return str(tag) if tag else "unknown"
    if key < _MINIMUM_KEY:
        raise MetabaseError(
            f"Metabase at {base} is {tag}, older than {MINIMUM_VERSION}, the oldest this client "
            f"supports: upgrade it (docker-compose.yaml pins {TARGET_VERSION})"
        )
    logger.info("Metabase at %s is %s", base, tag)
    return tag


def _json_field(response: requests.Response, name: str) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get(name) if isinstance(body, dict) else None


def _rows(answer: Any) -> list[dict[str, Any]]:
    """A list answer, or the ``data`` of a paginated one."""
    if isinstance(answer, dict):
        answer = answer.get("data", [])
    return [row for row in answer or [] if isinstance(row, dict)]


def _session(client: _Client, config: MetabaseConfig, allow_setup: bool = True) -> tuple[bool, str]:
    """Check the version, set up the instance (first run, when allowed) or log in; put the session
    id on the client.

    Returns (True when this call did the first-run set-up, the server's version tag).
    """
    if config.wait_seconds > 0:
        client.wait_until_ready(config.wait_seconds)
    properties = client.json("GET", "/api/session/properties", what="reading its public settings")
    properties = properties if isinstance(properties, dict) else {}
    version = _check_version(client.base, properties)
    token = properties.get("setup-token")
    if not properties.get("has-user-setup") and not allow_setup:
        raise MetabaseError(
            f"Metabase at {client.base} is not set up yet: run `insiders metabase provision` first"
        )
    if not properties.get("has-user-setup") and token:
        body = {
            "token": token,
            "user": {
                "email": config.admin_email,
                "password": config.admin_password,
                "first_name": config.admin_first_name,
                "last_name": config.admin_last_name,
                "site_name": SITE_NAME,
            },
            "prefs": {"site_name": SITE_NAME, "site_locale": "en", "allow_tracking": False},
        }
        response = client.call("POST", "/api/setup", body)
        if response.status_code >= 400:
            raise MetabaseError(
                f"first-run set-up of Metabase at {client.base} failed (HTTP {response.status_code}): "
                f"{_message(response).rstrip('.')}. Check MB_ADMIN_EMAIL and MB_ADMIN_PASSWORD: "
                "Metabase refuses short passwords, ones without a digit and common ones (such as "
                "'password' or '12345678'); use a long random one"
            )
        session_id = _json_field(response, "id")
        logger.info("set up Metabase at %s with admin %s", client.base, config.admin_email)
        setup = True
    elif not properties.get("has-user-setup"):
        raise MetabaseError(
            f"Metabase at {client.base} is not set up and gives no setup token: finish its set-up "
            "in the browser, or restart it with MB_SETUP_TOKEN, then run again"
        )
    else:
        response = client.call(
            "POST", "/api/session", {"username": config.admin_email, "password": config.admin_password}
        )
        session_id = _json_field(response, "id") if response.status_code == 200 else None
        if not session_id:
            raise MetabaseError(
                f"login to Metabase at {client.base} as {config.admin_email} failed "
                f"(HTTP {response.status_code}: {_message(response)}): check MB_ADMIN_EMAIL and "
                "MB_ADMIN_PASSWORD"
            )
        setup = False
    if not session_id:
        raise MetabaseError(f"Metabase at {client.base} answered the set-up without a session id")
    client.http.headers[SESSION_HEADER] = session_id
    return setup, version


def _disable_tracking(client: _Client) -> None:
    """Turn anonymous usage tracking off (set-up turns it on, ignoring ``prefs.allow_tracking``)."""
    client.json(
        "PUT", "/api/setting/anon-tracking-enabled", {"value": False},
        what="turning off anonymous tracking (setting anon-tracking-enabled)",
    )


def _find_database(client: _Client, name: str) -> dict[str, Any] | None:
    matches = [d for d in _rows(client.json("GET", "/api/database", what="listing databases"))
               if d.get("name") == name]
    return min(matches, key=lambda d: d["id"]) if matches else None


def _database_body(config: MetabaseConfig) -> dict[str, Any]:
    if not config.reader_user or not config.reader_password:
        raise MetabaseError(
            "set INSIDERS_READER_USER and INSIDERS_READER_PASSWORD: the read-only warehouse login "
            "Metabase connects with (create it with `insiders warehouse create-reader`)"
        )
    if config.reader_user in {"postgres", config.writer_user}:
        raise MetabaseError(
            f"INSIDERS_READER_USER={config.reader_user!r} is the warehouse's writer: give Metabase the "
            "read-only login made by `insiders warehouse create-reader --user metabase`"
        )
    return {
        "name": config.database_name,
        "engine": "postgres",
        "details": {
            "host": config.warehouse_host,
            "port": config.warehouse_port,
            "dbname": config.warehouse_db,
            "user": config.reader_user,
            "password": config.reader_password,
            "ssl": config.warehouse_ssl,
            "schema-filters-type": "inclusion",
            "schema-filters-patterns": SCHEMA,
            "tunnel-enabled": False,
            "advanced-options": False,
        },
        "is_full_sync": True,
        "auto_run_queries": True,
    }


def _connection_advice(config: MetabaseConfig) -> str:
    where = f"{config.warehouse_host}:{config.warehouse_port}/{config.warehouse_db}"
    return (f"Metabase could not connect to the warehouse at {where} as {config.reader_user!r}: check "
            "INSIDERS_WAREHOUSE_HOST, INSIDERS_WAREHOUSE_PORT and INSIDERS_WAREHOUSE_DB as seen from the "
            "Metabase server (in compose, the service name, not localhost), that the warehouse is up, "
            "and INSIDERS_READER_USER / INSIDERS_READER_PASSWORD (`insiders warehouse create-reader`)")


def _sync_advice(database_name: str) -> str:
    return (f"Metabase cannot reach the warehouse database {database_name!r} with its stored "
            "connection: check that the warehouse is up and reachable from the Metabase server; if its "
            "address or the reader's password changed, run `insiders metabase provision` to update it")


def _ensure_database(client: _Client, config: MetabaseConfig, body: dict[str, Any]) -> tuple[int, str]:
    existing = _find_database(client, config.database_name)
    advice = {400: _connection_advice(config)}
    if existing is None:
        database = client.json(
            "POST", "/api/database", body, what=f"adding database {config.database_name!r}", advice=advice
        )
        action = "created"
    else:
        database = client.json(
            "PUT", f"/api/database/{existing['id']}", body,
            what=f"updating database {config.database_name!r}", advice=advice,
        )
        action = "updated"
    database_id = int((database or existing or {})["id"])
    client.json("POST", f"/api/database/{database_id}/sync_schema", what="syncing the warehouse schema",
                advice={422: _sync_advice(config.database_name)})
    logger.info("%s Metabase database %r (id %d)", action, config.database_name, database_id)
    return database_id, action


def _ensure_collection(client: _Client) -> tuple[int, str]:
    collections = _rows(client.json("GET", "/api/collection", what="listing collections"))
    matches = [
        c for c in collections
        if isinstance(c.get("id"), int) and c.get("name") == COLLECTION_NAME and not c.get("archived")
        and c.get("personal_owner_id") is None and c.get("location", "/") == "/"
    ]
    if matches:
        return min(c["id"] for c in matches), "found"
    body = {
        "name": COLLECTION_NAME,
        "color": "#509EE3",
        "description": "The Insiders loyalty programme: questions and dashboard provisioned by "
        "`insiders metabase provision` (edits here are overwritten on the next run).",
    }
    collection = client.json("POST", "/api/collection", body, what="creating collection 'Insiders'")
    return int(collection["id"]), "created"


def _items(client: _Client, collection_id: int, model: str) -> dict[str, int]:
    """``{name: id}`` of the collection's items of one model, dashboard questions included."""
    answer = client.json(
        "GET", f"/api/collection/{collection_id}/items",
        params={"models": model, "show_dashboard_questions": "true"},
        what=f"listing the {model}s of collection 'Insiders'",
    )
    found: dict[str, int] = {}
    for item in sorted(_rows(answer), key=lambda i: i.get("id", 0)):
        if item.get("model", model) == model and not item.get("archived"):
            found.setdefault(item["name"], int(item["id"]))
    return found


def _card_body(spec: CardSpec, database_id: int, collection_id: int) -> dict[str, Any]:
    return {
        "name": spec.name,
        "description": spec.description,
        "type": "question",
        "collection_id": collection_id,
        "display": spec.display,
        "visualization_settings": spec.visualization_settings,
        "dataset_query": {
            "type": "native",
            "native": {"query": spec.sql, "template-tags": {}},
            "database": database_id,
        },
    }


def _ensure_dashboard(
    client: _Client, collection_id: int, card_ids: dict[str, int]
) -> tuple[int, str]:
    existing = _items(client, collection_id, "dashboard").get(DASHBOARD_NAME)
    description = ("Who the Insiders are, how many, their share of revenue, who enters and leaves, "
                   "and the revenue expected from them. Refreshed by the monthly run.")
    if existing is None:
        dashboard = client.json(
            "POST", "/api/dashboard",
            {"name": DASHBOARD_NAME, "description": description, "collection_id": collection_id,
             "parameters": []},
            what="creating dashboard 'Insiders'",
        )
        dashboard_id, action = int(dashboard["id"]), "created"
    else:
        dashboard_id, action = existing, "updated"
    current = client.json("GET", f"/api/dashboard/{dashboard_id}", what="reading dashboard 'Insiders'")
    tabs = [{"id": t["id"], "name": t["name"]} for t in current.get("tabs") or []]
    first_tab = tabs[0]["id"] if tabs else None
    ours = set(card_ids.values())
    by_card = {}
    kept = []
    for dashcard in sorted(current.get("dashcards") or [], key=lambda d: d["id"]):
        if dashcard.get("card_id") in ours and dashcard["card_id"] not in by_card:
            by_card[dashcard["card_id"]] = dashcard
        else:  # someone's own addition (or a duplicate of ours): keep it as it is
            kept.append({k: dashcard.get(k) for k in ("id", "card_id", "row", "col", "size_x", "size_y",
                                                       "parameter_mappings", "visualization_settings",
                                                       "series", "dashboard_tab_id")})
    dashcards = []
    for n, spec in enumerate(CARDS, start=1):
        card_id = card_ids[spec.name]
        col, row, size_x, size_y = spec.layout
        previous = by_card.get(card_id)
        dashcard = {
            "id": previous["id"] if previous else -n,
            "card_id": card_id,
            "row": row,
            "col": col,
            "size_x": size_x,
            "size_y": size_y,
            "parameter_mappings": [],
            "visualization_settings": {},
            "series": [],
        }
        if first_tab is not None:
            dashcard["dashboard_tab_id"] = (previous or {}).get("dashboard_tab_id") or first_tab
        dashcards.append(dashcard)
    body = {"name": DASHBOARD_NAME, "description": description, "collection_id": collection_id,
            "dashcards": dashcards + kept, "tabs": tabs}
    client.json(
        "PUT", f"/api/dashboard/{dashboard_id}", body, what="putting the cards on dashboard 'Insiders'"
    )
    return dashboard_id, action


def provision(config: MetabaseConfig) -> dict[str, Any]:
    """Bring Metabase to the described state: set-up or login, database, collection, cards, dashboard.

    Idempotent: a second run finds everything by name and updates it in place.

    Returns:
        ``{"url", "version" (the server's, e.g. ``v0.59.6``), "setup" (True when this run did the
        first-run set-up), "database_id", "collection_id", "card_ids" {name: id}, "dashboard_id",
        "dashboard_url", "created" [...], "updated" [...]}``, the last two naming what this run
        created or updated (``"database:<name>"``, ``"collection:Insiders"``, ``"card:<name>"``,
        ``"dashboard:Insiders"``).

    Raises:
        MetabaseError: Metabase not reachable or older than :data:`MINIMUM_VERSION`, login or set-up
        refused, the warehouse connection refused, a payload refused; the message says what to check.
    """
    client = _Client(config)
    created: list[str] = []
    updated: list[str] = []
    try:
        database_body = _database_body(config)  # checked before anything is sent
        setup, version = _session(client, config)
        _disable_tracking(client)
        database_id, action = _ensure_database(client, config, database_body)
        (created if action == "created" else updated).append(f"database:{config.database_name}")
        collection_id, action = _ensure_collection(client)
        if action == "created":
            created.append(f"collection:{COLLECTION_NAME}")
        existing_cards = _items(client, collection_id, "card")
        card_ids: dict[str, int] = {}
        for spec in CARDS:
            body = _card_body(spec, database_id, collection_id)
            if spec.name in existing_cards:
                card_id = existing_cards[spec.name]
                client.json("PUT", f"/api/card/{card_id}", body, what=f"updating question {spec.name!r}")
                updated.append(f"card:{spec.name}")
            else:
                card = client.json("POST", "/api/card", body, what=f"creating question {spec.name!r}")
                card_id = int(card["id"])
                created.append(f"card:{spec.name}")
            card_ids[spec.name] = card_id
        dashboard_id, action = _ensure_dashboard(client, collection_id, card_ids)
        (created if action == "created" else updated).append(f"dashboard:{DASHBOARD_NAME}")
    finally:
        client.close()
    logger.info("Metabase provisioned: created %s; updated %s", created or "nothing", updated or "nothing")
    return {
        "url": client.base,
        "version": version,
        "setup": setup,
        "database_id": database_id,
        "collection_id": collection_id,
        "card_ids": card_ids,
        "dashboard_id": dashboard_id,
        "dashboard_url": f"{client.base}/dashboard/{dashboard_id}",
        "created": created,
        "updated": updated,
    }


def resync(config: MetabaseConfig) -> dict[str, Any]:
    """Ask Metabase to sync the warehouse's schema and rescan its field values (after a load).

    Needs only ``url``, ``admin_email``, ``admin_password`` and ``database_name`` of the config.
    Both calls start background jobs in Metabase and return at once.

    Returns:
        ``{"database_id": id, "version": the server's, "sync_schema": answer, "rescan_values": answer}``.

    Raises:
        MetabaseError: not reachable or too old, login refused, no database of that name (run
        ``insiders metabase provision`` first), or the warehouse unreachable from Metabase (422).
    """
    client = _Client(config)
    try:
        _, version = _session(client, config, allow_setup=False)
        database = _find_database(client, config.database_name)
        if database is None:
            raise MetabaseError(
                f"Metabase at {client.base} has no database named {config.database_name!r}: run "
                "`insiders metabase provision` first (or set MB_DATABASE_NAME)"
            )
        database_id = int(database["id"])
        sync = client.json("POST", f"/api/database/{database_id}/sync_schema", what="syncing the schema",
                           advice={422: _sync_advice(config.database_name)})
        rescan = client.json("POST", f"/api/database/{database_id}/rescan_values", what="rescanning values")
    finally:
        client.close()
    logger.info("asked Metabase to sync and rescan database %r (id %d)", config.database_name, database_id)
    return {"database_id": database_id, "version": version, "sync_schema": sync, "rescan_values": rescan}
