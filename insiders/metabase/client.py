"""Metabase's REST API: the settings, the errors, the client, the version check and the session."""

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

logger = logging.getLogger(__name__)

#: The Metabase the compose file pins, and the oldest one this client supports.
TARGET_VERSION = "v0.59.6"
MINIMUM_VERSION = "v0.50"
SITE_NAME = "Insiders"
DEFAULT_DATABASE_NAME = "Insiders warehouse"
SESSION_HEADER = "X-Metabase-Session"


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
        """Build the configuration from environment variables (see :mod:`insiders.metabase`).

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
