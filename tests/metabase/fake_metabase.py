"""A stand-in for Metabase's REST API, for tests. IT IS NOT METABASE.

Written from Metabase's API documentation for v0.50 (https://www.metabase.com/docs/v0.50/api/...
pages for setup, session, database, collection, card and dashboard) and the endpoint schemas in
its sources (v0.50, and around v0.59 for set-up, settings, dashboard questions and sync), it
implements exactly the endpoints ``insiders.metabase`` calls, with their documented request and
response shapes, and keeps its state in memory:

- ``GET /api/health``, ``GET /api/session/properties`` (no login: ``setup-token``,
  ``has-user-setup``, ``version`` {``tag``} as given to the constructor, ``anon-tracking-enabled``);
- ``POST /api/setup`` (403 once a user exists; 400 with nested ``errors`` like Metabase's schema
  check on a wrong token, a blank site name, a bad email, or a password it refuses: under 8
  characters, no digit, or in :data:`COMMON_PASSWORDS`). Like v0.59 it turns
  ``anon-tracking-enabled`` on whatever ``prefs.allow_tracking`` says;
  ``POST /api/session`` (401 ``{"errors": {"password": "did not match stored password"}}``);
- ``PUT /api/setting/:key`` ``{"value": v}`` (204; ``null`` restores the default; only
  ``anon-tracking-enabled`` is known); the values are in :attr:`FakeMetabase.settings`;
- ``GET/POST /api/database``, ``PUT /api/database/:id`` (stored passwords come back as
  ``**MetabasePass**``), both after a connection test: 400 ``{"message", "errors"}`` in the
  words of Metabase's postgres driver when (host, port, dbname) is not in ``reachable`` or, when
  ``warehouse_logins`` is given, the login is not one of them;
  ``POST /api/database/:id/sync_schema`` (422, the driver's message as text, when the stored
  connection no longer passes that test) and ``/rescan_values``;
- ``GET/POST /api/collection``, ``GET /api/collection/:id/items?models=...`` (cards whose
  ``dashboard_id`` is set, "dashboard questions", only with ``show_dashboard_questions=true``);
- ``POST /api/card``, ``PUT /api/card/:id``;
- ``POST /api/dashboard``, ``GET/PUT /api/dashboard/:id`` (``dashcards`` with negative ids for
  new ones, ids absent from the list are deleted, ``tabs``).

Every other endpoint answers 404. Every endpoint but health, session properties, setup and login
needs a valid ``X-Metabase-Session`` header (401 ``Unauthenticated`` otherwise). Malformed
payloads (missing or ill-typed required fields) get 400 ``{"errors": {field: message}}`` like
Metabase's schema checks. It does not run queries, sync anything, or check SQL: what it proves is
that the client speaks the documented protocol, not that a real Metabase accepts every detail.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PROTECTED_PASSWORD = "**MetabasePass**"
#: What the compose file pins.
DEFAULT_VERSION = "v0.59.6"
#: A few of the common passwords Metabase refuses (its list has thousands).
COMMON_PASSWORDS = frozenset({"password", "password1", "12345678", "123456789", "metabase",
                              "metabase1", "admin123", "qwerty123", "passw0rd"})
MIN_PASSWORD_LENGTH = 8
_TOO_COMMON = "password is too common."
_HOST_PORT = ("Hmm, we couldn't connect to the database. Make sure your Host and Port settings are "
              "correct")
_SETTING_DEFAULTS: dict[str, Any] = {"anon-tracking-enabled": True}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_ENGINES = {"postgres", "h2", "mysql", "redshift", "snowflake", "bigquery-cloud-sdk"}
_NON_BLANK = "value must be a non-blank string."
_MAP = "value must be a map."
_POSITIVE = "value must be an integer greater than zero."


class BadRequest(Exception):
    """A 400 with per-field errors (nested maps for nested payloads, as Metabase's)."""

    def __init__(self, errors: dict[str, Any], specific: dict[str, Any] | None = None):
        super().__init__(errors)
        self.errors = errors
        #: Metabase's ``specific-errors``: they repeat the values received (passwords too).
        self.specific = specific


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _nonneg(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _valid_password(password: Any) -> bool:
    """Long enough, with a digit, and not a common one."""
    return (isinstance(password, str) and len(password) >= MIN_PASSWORD_LENGTH
            and any(c.isdigit() for c in password) and password.lower() not in COMMON_PASSWORDS)


class FakeMetabase:
    """An in-memory Metabase stand-in served on 127.0.0.1 (a free port), in a thread.

    Args:
        admin: ``(email, password)`` of an existing admin: the instance is already set up.
        warehouse_logins: ``{user: password}`` the warehouse accepts; None: accept any login.
        reachable: the ``(host, port, dbname)`` a connection test reaches; None: any. Change
            :attr:`reachable` later to make a stored database unreachable.
        version: the ``version.tag`` of ``GET /api/session/properties``.
    """

    def __init__(self, admin: tuple[str, str] | None = None,
                 warehouse_logins: dict[str, str] | None = None,
                 reachable: set[tuple[str, int, str]] | None = None,
                 version: str = DEFAULT_VERSION) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.setup_token = str(uuid.uuid4())
        self.site_name: str | None = None
        self.users: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, str] = {}
        self.databases: dict[int, dict[str, Any]] = {}
        self.collections: dict[int, dict[str, Any]] = {}
        self.cards: dict[int, dict[str, Any]] = {}
        self.dashboards: dict[int, dict[str, Any]] = {}
        self.dashcards: dict[int, dict[str, Any]] = {}
        self.tabs: dict[int, dict[str, Any]] = {}
        self.warehouse_logins = warehouse_logins
        self.reachable = reachable
        self.version = version
        #: Settings as stored (``anon-tracking-enabled`` is on until someone turns it off).
        self.settings: dict[str, Any] = dict(_SETTING_DEFAULTS)
        #: Every request: (method, path, parsed JSON body or None).
        self.requests: list[tuple[str, str, Any]] = []
        #: Every sync asked for: ("sync_schema" | "rescan_values", database id).
        self.syncs: list[tuple[str, int]] = []
        if admin:
            self._add_user(*admin, first_name="Existing", last_name="Admin")
            self.site_name = "Existing"
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> FakeMetabase:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, method: str, prefix: str = "") -> list[tuple[str, str, Any]]:
        """The recorded requests of one method (and path prefix)."""
        return [r for r in self.requests if r[0] == method and r[1].startswith(prefix)]

    def add_database(self, name: str, engine: str = "h2", details: dict | None = None) -> int:
        """A database that was there before (e.g. the sample database)."""
        db_id = next(self._ids)
        self.databases[db_id] = {"id": db_id, "name": name, "engine": engine, "details": details or {},
                                 "is_sample": engine == "h2"}
        return db_id

    def _add_user(self, email: str, password: str, first_name: str | None, last_name: str | None) -> None:
        self.users[email] = {"id": next(self._ids), "email": email, "password": password,
                             "first_name": first_name, "last_name": last_name, "is_superuser": True}

    def _new_session(self, email: str) -> str:
        token = str(uuid.uuid4())
        self.sessions[token] = email
        return token

    # ---------------------------------------------------------------- HTTP plumbing
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    self._send(400, "Malformed JSON in request body.")
                    return
                with fake._lock:
                    fake.requests.append((method, parts.path.rstrip("/") or "/", body))
                    try:
                        status, answer = fake.handle(method, parts.path.rstrip("/"), parse_qs(parts.query),
                                                     body, self.headers.get("X-Metabase-Session"))
                    except BadRequest as exc:
                        status, answer = 400, {"errors": exc.errors}
                        if exc.specific:
                            answer["specific-errors"] = exc.specific
                self._send(status, answer)

            def _send(self, status: int, answer: Any) -> None:
                if isinstance(answer, str):
                    data, kind = answer.encode(), "text/plain"
                elif answer is None:
                    data, kind = b"", "text/plain"
                else:
                    data, kind = json.dumps(answer).encode(), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PUT(self) -> None:
                self._serve("PUT")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        return Handler

    # ---------------------------------------------------------------- routes
    def handle(self, method: str, path: str, query: dict, body: Any, session: str | None) -> tuple[int, Any]:
        """Answer one request: (status, JSON value or text)."""
        if (method, path) == ("GET", "/api/health"):
            return 200, {"status": "ok"}
        if (method, path) == ("GET", "/api/session/properties"):
            # the setup token stays readable after set-up; has-user-setup is what tells
            return 200, {"setup-token": self.setup_token, "has-user-setup": bool(self.users),
                         "site-name": self.site_name,
                         "anon-tracking-enabled": self.settings["anon-tracking-enabled"],
                         "version": {"tag": self.version, "date": "2026-01-01", "hash": "fake"}}
        if (method, path) == ("POST", "/api/setup"):
            return self._setup(body)
        if (method, path) == ("POST", "/api/session"):
            return self._login(body)
        if session not in self.sessions:
            return 401, "Unauthenticated"
        body = body if body is not None else {}
        if method in ("POST", "PUT") and not isinstance(body, dict):
            return 400, "The request body must be a JSON object."
        route = [p for p in path.split("/") if p][1:]  # without "api"
        handler = {
            ("GET", "database"): self._list_databases,
            ("POST", "database"): self._create_database,
            ("GET", "collection"): self._list_collections,
            ("POST", "collection"): self._create_collection,
            ("POST", "card"): self._create_card,
            ("POST", "dashboard"): self._create_dashboard,
        }.get((method, "/".join(route)))
        if handler:
            return handler(body)
        if method == "PUT" and len(route) == 2 and route[0] == "setting":
            return self._put_setting(route[1], body)
        if len(route) >= 2:
            kind, ident, rest = route[0], route[1], tuple(route[2:])
            if not ident.isdigit():
                return 404, "API endpoint does not exist."
            ident_int = int(ident)
            routes = {
                ("PUT", "database", ()): lambda: self._update_database(ident_int, body),
                ("POST", "database", ("sync_schema",)): lambda: self._sync("sync_schema", ident_int),
                ("POST", "database", ("rescan_values",)): lambda: self._sync("rescan_values", ident_int),
                ("GET", "collection", ("items",)): lambda: self._items(ident_int, query),
                ("PUT", "card", ()): lambda: self._update_card(ident_int, body),
                ("GET", "dashboard", ()): lambda: self._get_dashboard(ident_int),
                ("PUT", "dashboard", ()): lambda: self._update_dashboard(ident_int, body),
            }
            target = routes.get((method, kind, rest))
            if target:
                return target()
        return 404, "API endpoint does not exist."

    # ---------------------------------------------------------------- setup and session
    def _setup(self, body: Any) -> tuple[int, Any]:
        if self.users:
            return 403, ("The /api/setup route can only be used to create the first user, however a user "
                         "currently exists.")
        if not isinstance(body, dict):
            raise BadRequest({"token": "Token does not match the setup token."})
        user = body.get("user") if isinstance(body.get("user"), dict) else {}
        prefs = body.get("prefs") if isinstance(body.get("prefs"), dict) else {}
        errors: dict[str, Any] = {}
        user_errors: dict[str, str] = {}
        if body.get("token") != self.setup_token:
            errors["token"] = "Token does not match the setup token."
        if _blank(prefs.get("site_name")):
            errors["prefs"] = {"site_name": _NON_BLANK}
        if not isinstance(user.get("email"), str) or not _EMAIL.match(user["email"]):
            user_errors["email"] = "value must be a valid email address."
        password = user.get("password")
        if not _valid_password(password):
            user_errors["password"] = _TOO_COMMON
        for name in ("first_name", "last_name"):
            if user.get(name) is not None and _blank(user.get(name)):
                user_errors[name] = "nullable " + _NON_BLANK
        if user_errors:
            errors["user"] = user_errors
        if errors:
            specific = None
            if "password" in user_errors:
                specific = {"user": {"password": [
                    f"valid password that is not too common, received: {json.dumps(password)}"]}}
            raise BadRequest(errors, specific)
        self._add_user(user["email"], password, user.get("first_name"), user.get("last_name"))
        self.site_name = prefs["site_name"]
        self.allow_tracking = prefs.get("allow_tracking")  # what was asked for: v0.59 ignores it
        self.settings["anon-tracking-enabled"] = True
        return 200, {"id": self._new_session(user["email"])}

    def _put_setting(self, key: str, body: dict) -> tuple[int, Any]:
        if key not in _SETTING_DEFAULTS:
            return 404, f"Unknown setting: :{key}"
        value = body.get("value")
        if value is None:
            value = _SETTING_DEFAULTS[key]
        elif isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        elif not isinstance(value, bool):
            return 400, f"Invalid value for boolean setting {key}: {value!r}"
        self.settings[key] = value
        return 204, None

    def _login(self, body: Any) -> tuple[int, Any]:
        body = body if isinstance(body, dict) else {}
        errors = {k: _NON_BLANK for k in ("username", "password") if _blank(body.get(k))}
        if errors:
            raise BadRequest(errors)
        user = self.users.get(body["username"])
        if user is None or user["password"] != body["password"]:
            return 401, {"errors": {"password": "did not match stored password"}}
        return 200, {"id": self._new_session(user["email"])}

    # ---------------------------------------------------------------- databases
    def _public_database(self, db: dict[str, Any]) -> dict[str, Any]:
        out = dict(db, details=dict(db["details"]))
        if "password" in out["details"]:
            out["details"]["password"] = PROTECTED_PASSWORD
        return out

    def _list_databases(self, _body: Any) -> tuple[int, Any]:
        data = [self._public_database(db) for db in sorted(self.databases.values(), key=lambda d: d["name"])]
        return 200, {"data": data, "total": len(data)}

    def _check_database(self, body: dict, required: bool) -> None:
        errors = {}
        if (required or body.get("name") is not None) and _blank(body.get("name")):
            errors["name"] = _NON_BLANK
        if (required or body.get("engine") is not None) and body.get("engine") not in _ENGINES:
            errors["engine"] = "value must be a valid database engine."
        details = body.get("details")
        if (required or details is not None) and not isinstance(details, dict):
            errors["details"] = _MAP
        if errors:
            raise BadRequest(errors)

    def _connection_error(self, engine: str, details: dict) -> dict | None:
        if engine != "postgres":
            return None
        missing = [k for k in ("host", "port", "dbname", "user") if details.get(k) in (None, "")]
        if missing or not isinstance(details.get("port"), int):
            return {"message": _HOST_PORT, "errors": {k: "required" for k in missing or ["port"]}}
        if self.reachable is not None:
            servers = {(host, port) for host, port, _db in self.reachable}
            if (details["host"], details["port"]) not in servers:
                return {"message": _HOST_PORT,
                        "errors": {"host": "check your host settings", "port": "check your port settings"}}
            if (details["host"], details["port"], details["dbname"]) not in self.reachable:
                return {"message": "Looks like the Database name is incorrect.",
                        "errors": {"dbname": "check your database name settings"}}
        if self.warehouse_logins is not None and \
                self.warehouse_logins.get(details["user"]) != details.get("password"):
            return {"message": f'FATAL: password authentication failed for user "{details["user"]}"',
                    "errors": {"password": "did not work for this user"}}
        return None

    def _create_database(self, body: dict) -> tuple[int, Any]:
        self._check_database(body, required=True)
        error = self._connection_error(body["engine"], body["details"])
        if error:
            return 400, error
        db_id = next(self._ids)
        self.databases[db_id] = {"id": db_id, "name": body["name"], "engine": body["engine"],
                                 "details": dict(body["details"]), "is_sample": False,
                                 "is_full_sync": body.get("is_full_sync", True)}
        return 200, self._public_database(self.databases[db_id])

    def _update_database(self, db_id: int, body: dict) -> tuple[int, Any]:
        db = self.databases.get(db_id)
        if db is None:
            return 404, "Not found."
        self._check_database(body, required=False)
        details = dict(body.get("details") or db["details"])
        if details.get("password") == PROTECTED_PASSWORD:
            details["password"] = db["details"].get("password")
        error = self._connection_error(body.get("engine") or db["engine"], details)
        if error:
            return 400, error
        db.update({k: v for k, v in body.items()
                   if k in ("name", "engine", "is_full_sync") and v is not None})
        db["details"] = details
        return 200, self._public_database(db)

    def _sync(self, kind: str, db_id: int) -> tuple[int, Any]:
        if db_id not in self.databases:
            return 404, "Not found."
        db = self.databases[db_id]
        if kind == "sync_schema" and self._connection_error(db["engine"], db["details"]):
            details = db["details"]
            return 422, (f"Connection to {details.get('host')}:{details.get('port')} refused. Check that "
                         "the hostname and port are correct and that the postmaster is accepting TCP/IP "
                         "connections.")
        self.syncs.append((kind, db_id))
        return 200, {"status": "ok"}

    # ---------------------------------------------------------------- collections
    def _list_collections(self, _body: Any) -> tuple[int, Any]:
        root = {"id": "root", "name": "Our analytics", "can_write": True}
        return 200, [root, *sorted(self.collections.values(), key=lambda c: c["id"])]

    def _create_collection(self, body: dict) -> tuple[int, Any]:
        errors = {}
        if _blank(body.get("name")):
            errors["name"] = _NON_BLANK
        color = body.get("color")
        if color is not None and not (isinstance(color, str) and _COLOR.match(color)):
            errors["color"] = "value must be a string that matches the regex `^#[0-9A-Fa-f]{6}$`."
        if body.get("description") is not None and _blank(body["description"]):
            errors["description"] = "nullable " + _NON_BLANK
        if body.get("parent_id") is not None and body["parent_id"] not in self.collections:
            errors["parent_id"] = _POSITIVE
        if errors:
            raise BadRequest(errors)
        coll_id = next(self._ids)
        parent = body.get("parent_id")
        self.collections[coll_id] = {"id": coll_id, "name": body["name"],
                                     "description": body.get("description"), "archived": False,
                                     "personal_owner_id": None, "can_write": True,
                                     "location": f"/{parent}/" if parent else "/"}
        return 200, self.collections[coll_id]

    def _items(self, coll_id: int, query: dict) -> tuple[int, Any]:
        if coll_id not in self.collections:
            return 404, "Not found."
        models = set(query.get("models") or ["card", "dashboard"])
        flag = (query.get("show_dashboard_questions") or ["false"])[-1]
        if flag not in ("true", "false"):
            raise BadRequest({"show_dashboard_questions": "nullable value must be a valid boolean string "
                                                          "('true' or 'false')."})
        show_dashboard_questions = flag == "true"
        data = [{"id": c["id"], "name": c["name"], "model": "card", "display": c["display"],
                 "archived": c["archived"], "dashboard_id": c.get("dashboard_id")}
                for c in self.cards.values()
                if c["collection_id"] == coll_id and "card" in models and not c["archived"]
                and (show_dashboard_questions or c.get("dashboard_id") is None)]
        data += [{"id": d["id"], "name": d["name"], "model": "dashboard", "archived": d["archived"]}
                 for d in self.dashboards.values()
                 if d["collection_id"] == coll_id and "dashboard" in models and not d["archived"]]
        data.sort(key=lambda item: (item["model"], item["name"]))
        return 200, {"total": len(data), "data": data, "models": sorted(models),
                     "limit": None, "offset": None}

    # ---------------------------------------------------------------- cards
    def _check_card(self, body: dict, required: bool) -> None:
        errors = {}
        for name in ("name", "display"):
            if (required or body.get(name) is not None) and _blank(body.get(name)):
                errors[name] = _NON_BLANK
        for name in ("dataset_query", "visualization_settings"):
            if (required or body.get(name) is not None) and not isinstance(body.get(name), dict):
                errors[name] = _MAP
        if body.get("description") is not None and _blank(body["description"]):
            errors["description"] = "nullable " + _NON_BLANK
        if body.get("type") is not None and body["type"] not in ("question", "model", "metric"):
            errors["type"] = "nullable enum of question, metric, model"
        if body.get("collection_id") is not None and body["collection_id"] not in self.collections:
            errors["collection_id"] = _POSITIVE
        query = body.get("dataset_query")
        if isinstance(query, dict):
            native = query.get("native") if isinstance(query.get("native"), dict) else {}
            if query.get("type") != "native" or _blank(native.get("query")):
                errors["dataset_query"] = "a native query needs type 'native' and a non-blank native.query"
            elif query.get("database") not in self.databases:
                errors["dataset_query"] = f"no database with id {query.get('database')!r}"
        if errors:
            raise BadRequest(errors)

    def _create_card(self, body: dict) -> tuple[int, Any]:
        self._check_card(body, required=True)
        card_id = next(self._ids)
        fields = ("name", "description", "display", "visualization_settings", "dataset_query",
                  "collection_id", "type")
        self.cards[card_id] = {"id": card_id, "archived": False, "collection_id": None,
                               "description": None, "type": "question", "dashboard_id": None,
                               **{k: body[k] for k in fields if k in body}}
        self.cards[card_id]["database_id"] = body["dataset_query"]["database"]
        return 200, self.cards[card_id]

    def _update_card(self, card_id: int, body: dict) -> tuple[int, Any]:
        card = self.cards.get(card_id)
        if card is None:
            return 404, "Not found."
        self._check_card(body, required=False)
        card.update({k: v for k, v in body.items() if v is not None and k in
                     ("name", "description", "display", "visualization_settings", "dataset_query",
                      "collection_id", "type", "archived")})
        return 200, card

    # ---------------------------------------------------------------- dashboards
    def _create_dashboard(self, body: dict) -> tuple[int, Any]:
        errors = {}
        if _blank(body.get("name")):
            errors["name"] = _NON_BLANK
        if body.get("parameters") is not None and not isinstance(body["parameters"], list):
            errors["parameters"] = "nullable sequence of parameter"
        if body.get("collection_id") is not None and body["collection_id"] not in self.collections:
            errors["collection_id"] = _POSITIVE
        if errors:
            raise BadRequest(errors)
        dash_id = next(self._ids)
        self.dashboards[dash_id] = {"id": dash_id, "name": body["name"],
                                    "description": body.get("description"),
                                    "collection_id": body.get("collection_id"), "parameters": [],
                                    "archived": False}
        return 200, self._full_dashboard(dash_id)

    def _full_dashboard(self, dash_id: int) -> dict[str, Any]:
        dashcards = [dict(dc, card=self.cards.get(dc["card_id"]))
                     for dc in sorted(self.dashcards.values(), key=lambda d: d["id"])
                     if dc["dashboard_id"] == dash_id]
        tabs = [t for t in self.tabs.values() if t["dashboard_id"] == dash_id]
        return dict(self.dashboards[dash_id], dashcards=dashcards, tabs=tabs)

    def _get_dashboard(self, dash_id: int) -> tuple[int, Any]:
        if dash_id not in self.dashboards:
            return 404, "Not found."
        return 200, self._full_dashboard(dash_id)

    def _update_dashboard(self, dash_id: int, body: dict) -> tuple[int, Any]:
        dash = self.dashboards.get(dash_id)
        if dash is None:
            return 404, "Not found."
        errors = {}
        if body.get("name") is not None and _blank(body["name"]):
            errors["name"] = "nullable " + _NON_BLANK
        if body.get("collection_id") is not None and body["collection_id"] not in self.collections:
            errors["collection_id"] = _POSITIVE
        dashcards = body.get("dashcards")
        if dashcards is not None:
            errors.update(self._check_dashcards(dash_id, dashcards))
        tabs = body.get("tabs")
        if tabs is not None and (not isinstance(tabs, list) or any(
                not isinstance(t, dict) or not isinstance(t.get("id"), int) or _blank(t.get("name"))
                for t in tabs)):
            errors["tabs"] = "nullable sequence of map with :id and a non-blank :name"
        if errors:
            raise BadRequest(errors)
        dash.update({k: body[k] for k in ("name", "description", "collection_id") if body.get(k) is not None})
        if dashcards is not None:
            if any(t["dashboard_id"] == dash_id for t in self.tabs.values()) and \
                    not all(dc.get("dashboard_tab_id") for dc in dashcards):
                return 400, {"message": "This dashboard has tab, makes sure every card has a tab"}
            keep = {dc["id"] for dc in dashcards if dc["id"] > 0}
            for dc_id in [i for i, dc in self.dashcards.items() if dc["dashboard_id"] == dash_id]:
                if dc_id not in keep:
                    del self.dashcards[dc_id]
            for dc in dashcards:
                fields = {k: dc.get(k) for k in ("card_id", "row", "col", "size_x", "size_y",
                                                 "dashboard_tab_id")}
                fields.update(parameter_mappings=dc.get("parameter_mappings") or [],
                              visualization_settings=dc.get("visualization_settings") or {},
                              series=dc.get("series") or [])
                if dc["id"] > 0:
                    self.dashcards[dc["id"]].update(fields)
                else:
                    new_id = next(self._ids)
                    self.dashcards[new_id] = {"id": new_id, "dashboard_id": dash_id, **fields}
        return 200, self._full_dashboard(dash_id)

    def _check_dashcards(self, dash_id: int, dashcards: Any) -> dict[str, str]:
        if not isinstance(dashcards, list) or not all(isinstance(dc, dict) for dc in dashcards):
            return {"dashcards": "nullable sequence of dashcard maps"}
        ids = [dc.get("id") for dc in dashcards]
        if len(set(map(str, ids))) != len(ids):
            return {"dashcards": "value must be seq of maps in which ids are unique"}
        for dc in dashcards:
            if not isinstance(dc.get("id"), int) or isinstance(dc.get("id"), bool):
                return {"dashcards": "every dashcard needs an integer :id (negative for a new one)"}
            if not (_positive(dc.get("size_x")) and _positive(dc.get("size_y"))):
                return {"dashcards": "size_x and size_y: " + _POSITIVE}
            if not (_nonneg(dc.get("row")) and _nonneg(dc.get("col"))):
                return {"dashcards": "row and col: value must be an integer greater or equal to than zero."}
            if dc.get("card_id") is not None and dc["card_id"] not in self.cards:
                return {"dashcards": f"no card with id {dc['card_id']}"}
            if dc["id"] > 0 and self.dashcards.get(dc["id"], {}).get("dashboard_id") != dash_id:
                return {"dashcards": f"dashcard {dc['id']} is not on dashboard {dash_id}"}
        return {}
