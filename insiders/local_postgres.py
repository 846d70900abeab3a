"""A local PostgreSQL for the demo and the tests, started by the project itself.

Uses the server binaries bundled by the ``pgserver`` wheel (PostgreSQL 16), so a fresh
machine needs nothing installed; listens on 127.0.0.1 like a real (RDS) server would.
PostgreSQL refuses to run as root: as root, the server runs as the system user
``pgserver`` (created if missing), as ``pgserver`` itself does.

Not for production: authentication is ``trust`` on loopback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

RUN_AS = "pgserver"


@dataclass(frozen=True)
class LocalPostgres:
    """A running local server."""

    data_dir: Path
    port: int

    def uri(self, database: str = "postgres", user: str = "postgres") -> str:
        """A libpq URI for a database on this server."""
        from urllib.parse import quote

        return f"postgresql://{quote(user, safe='')}@127.0.0.1:{self.port}/{quote(database, safe='')}"


def _pgserver_paths():
    import warnings

    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH
    return POSTGRES_BIN_PATH


def _bin(name: str) -> str:
    POSTGRES_BIN_PATH = _pgserver_paths()

    return str(POSTGRES_BIN_PATH / name)


def _as_user() -> str | None:
    if os.geteuid() != 0:
        return None
    POSTGRES_BIN_PATH = _pgserver_paths()
    from pgserver.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(RUN_AS)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
    return RUN_AS


def _run(args: list[str], user: str | None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, capture_output=True, text=True, user=user, **kwargs)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _running_port(data_dir: Path) -> int | None:
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return None
    lines = pid_file.read_text().splitlines()
    try:
        os.kill(int(lines[0]), 0)
    except (ProcessLookupError, ValueError, IndexError):
        return None
    except PermissionError:
        pass  # alive, owned by the other user
    return int(lines[3])


def start(data_dir: str | Path, port: int | None = None) -> LocalPostgres:
    """Start (or find already running) a server whose data lives in ``data_dir``.

    Idempotent: a second call returns the running server.
    """
    data_dir = Path(data_dir).resolve()
    running = _running_port(data_dir)
    if running:
        return LocalPostgres(data_dir, running)
    user = _as_user()
    data_dir.mkdir(parents=True, exist_ok=True)
    if user:
        import shutil

        from pgserver.utils import ensure_prefix_permissions

        ensure_prefix_permissions(data_dir)
        shutil.chown(data_dir, user, user)
    data_dir.chmod(0o700)
    if not (data_dir / "PG_VERSION").exists():
        _run(
            [
                _bin("initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            user,
        )
    port = port or free_port()
    log = data_dir / "server.log"
    _run(
        [
            _bin("pg_ctl"),
            "-D",
            str(data_dir),
            "-w",
            "-t",
            "60",
            "-l",
            str(log),
            "-o",
            f"-h 127.0.0.1 -p {port} -k {data_dir} -c fsync=off",
            "start",
        ],
        user,
        timeout=90,
    )
    server = LocalPostgres(data_dir, port)
    _wait_ready(server)
    return server


def _wait_ready(server: LocalPostgres, timeout: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(server.uri(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop(data_dir: str | Path) -> None:
    """Stop the server of ``data_dir`` if it runs."""
    data_dir = Path(data_dir).resolve()
    if _running_port(data_dir) is None:
        return
    user = RUN_AS if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.CalledProcessError):
        _run([_bin("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"], user)


def ensure_database(server: LocalPostgres, name: str) -> str:
    """Create database ``name`` if missing; return its URI."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.uri(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:  # quoted as an identifier: a name is never SQL
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server.uri(name)


def main(argv: list[str] | None = None) -> int:
    """``python -m insiders.local_postgres start|stop DATA_DIR``: prints the URI on start."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("data_dir")
    parser.add_argument("--port", type=int)
    parser.add_argument("--database", default="insiders", help="database to create on start")
    args = parser.parse_args(argv)
    if args.action == "stop":
        stop(args.data_dir)
        return 0
    server = start(args.data_dir, args.port)
    print(ensure_database(server, args.database))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
