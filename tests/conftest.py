"""Shared fixtures: the bundled real data, the shop's CSV export of it, tiny hand-made lines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from insiders.ingest import read_transactions

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = ROOT / "data" / "online_retail.parquet"
#: The shop's export moved every date this many days later (see data/README.md).
EXPORT_SHIFT_DAYS = 2190


@pytest.fixture(scope="session", autouse=True)
def no_worker_left_behind():
    """The worker processes the runs kept warm are stopped when the session ends."""
    yield
    from insiders.parallel import release_workers

    release_workers()


@pytest.fixture(scope="session")
def real_lines() -> pd.DataFrame:
    """The bundled UCI data in the canonical schema (read once per session)."""
    return read_transactions(REAL_DATA)


def write_shop_export(raw: pd.DataFrame, path: Path) -> Path:
    """Write UCI-named lines the way the shop exports them.

    Latin-1, dates shifted 2,190 days and written like ``29-Nov-16`` (no time of day),
    customer ids as whole numbers, and a trailing empty ninth column.
    """
    out = raw.copy()
    shifted = out["InvoiceDate"] + pd.Timedelta(days=EXPORT_SHIFT_DAYS)
    out["InvoiceDate"] = shifted.dt.strftime("%d-%b-%y")
    out["CustomerID"] = out["CustomerID"].astype("Int64")
    out[""] = None
    out.to_csv(path, index=False, encoding="latin-1")
    return path


@pytest.fixture(scope="session")
def shop_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole bundled data as the shop's CSV export (``Ecommerce.csv``)."""
    raw = pd.read_parquet(REAL_DATA)
    return write_shop_export(raw, tmp_path_factory.mktemp("export") / "Ecommerce.csv")


def make_lines(rows: list[tuple]) -> pd.DataFrame:
    """Canonical lines from (invoice, code, qty, date, price, customer, country) tuples."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "invoice_no",
            "stock_code",
            "quantity",
            "invoice_date",
            "unit_price",
            "customer_id",
            "country",
        ],
    )
    frame["description"] = "item " + frame["stock_code"]
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"])
    frame["customer_id"] = frame["customer_id"].astype("Int64")
    frame["quantity"] = frame["quantity"].astype("int64")
    frame["unit_price"] = frame["unit_price"].astype("float64")
    return frame[
        [
            "invoice_no",
            "stock_code",
            "description",
            "quantity",
            "invoice_date",
            "unit_price",
            "customer_id",
            "country",
        ]
    ]


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory):
    """A real PostgreSQL server on 127.0.0.1, started for the session (see insiders.local_postgres)."""
    from insiders import local_postgres

    data_dir = tmp_path_factory.mktemp("postgres") / "data"
    server = local_postgres.start(data_dir)
    yield server
    local_postgres.stop(data_dir)


@pytest.fixture
def warehouse_dsn(postgres, request) -> str:
    """A fresh, empty database on the session's server, for one test."""
    import re

    from insiders import local_postgres

    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
    import psycopg

    with psycopg.connect(postgres.uri(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    return local_postgres.ensure_database(postgres, name)


#: Fixtures that bring the real data or a real server: a test using one is slow.
SLOW_FIXTURES = {"real_lines", "shop_export", "postgres", "warehouse_dsn", "real_features",
                 "first_run", "run_dir", "run_dirs"}
#: Folders whose tests run Airflow, Postgres or the whole pipeline.
SLOW_FOLDERS = {"e2e", "plugins", "report", "warehouse", "dags"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark as ``slow`` what needs the real data or a real server, so that
    ``pytest -m "not slow"`` is the quick loop on hand-made data."""
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if uses & SLOW_FIXTURES or item.path.parent.name in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)
