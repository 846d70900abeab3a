"""The warehouse's read queries, shared by the warehouse summary, the DAG and the Airflow plugin.

Light on purpose: it needs only a psycopg connection (no pandas or scikit-learn), so the
Airflow API server can import it. Reads never create or change the schema: a warehouse
without one answers "nothing yet" and the read-only login can run every query here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = [
    "READER_ROLE",
    "SCHEMA",
    "TABLES",
    "VIEWS",
    "best_scores",
    "latest_months",
    "model_count",
    "previous_run_dir",
    "run_artifacts",
    "run_count",
    "schema_exists",
    "segment_profiles",
]

SCHEMA = "insiders"
READER_ROLE = "insiders_reader"
#: The tables of the schema (the migrations make them), and its views.
TABLES = ("runs", "customer_segments", "segment_profiles", "model_scores", "filter_counts",
          "quality_counts", "membership_history", "answers", "forecasts")
VIEWS = ("insiders_by_month", "current_insiders")

Row = dict[str, Any]


def _cursor(conn, query: str, params: tuple = ()):
    """Execute on a cursor of plain tuples, whatever the connection's row factory."""
    from psycopg.rows import tuple_row

    cursor = conn.cursor(row_factory=tuple_row)
    cursor.execute(query, params)
    return cursor


def _rows(conn, query: str, params: tuple = ()) -> list[Row]:
    cursor = _cursor(conn, query, params)
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _one(conn, query: str, params: tuple = ()) -> tuple | None:
    return _cursor(conn, query, params).fetchone()


def schema_exists(conn) -> bool:
    """Whether the warehouse holds the project's tables (a load or ``warehouse init`` made them)."""
    return bool(_one(conn, "SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.runs",))[0])


def latest_months(conn, limit: int = 12) -> list[Row]:
    """The latest run months, newest first: Insiders' figures, revenue, run folder, load time."""
    return _rows(
        conn,
        f"SELECT v.run_month, v.reference_date, v.customers, v.insiders, "
        f"v.insiders_share_customers, v.insiders_share_revenue, v.chosen_candidate, "
        f"v.silhouette, v.entered, v.left_group, r.revenue, r.artifacts, r.run_id, r.loaded_at, "
        # a warehouse not yet migrated to 0006 has no currency column: NULL then
        f"to_jsonb(r) ->> 'currency' AS currency "
        f"FROM {SCHEMA}.insiders_by_month v JOIN {SCHEMA}.runs r USING (run_month) "
        f"ORDER BY v.run_month DESC LIMIT %s",
        (limit,),
    )


def run_count(conn) -> int:
    """How many run months the warehouse holds."""
    return _one(conn, f"SELECT count(*) FROM {SCHEMA}.runs")[0]


def segment_profiles(conn, month: dt.date) -> list[Row]:
    """A run month's segments, Insiders first, then by mean revenue."""
    return _rows(
        conn,
        f"SELECT segment_id, segment_name, mostly_insiders, n_customers, share_customers, revenue, "
        f"share_revenue, mean_gross_revenue, mean_recency_days, mean_n_invoices, "
        f"mean_qty_returned FROM {SCHEMA}.segment_profiles WHERE run_month = %s "
        "ORDER BY mostly_insiders DESC, mean_gross_revenue DESC NULLS LAST, segment_id",
        (month,),
    )


def best_scores(conn, month: dt.date, limit: int = 6) -> list[Row]:
    """A run month's best candidates of the model comparison, by silhouette."""
    return _rows(
        conn,
        f"SELECT candidate, n_clusters, noise_share, silhouette, davies_bouldin, "
        f"calinski_harabasz, is_chosen FROM {SCHEMA}.model_scores WHERE run_month = %s "
        "AND silhouette IS NOT NULL ORDER BY silhouette DESC, candidate LIMIT %s",
        (month, limit),
    )


def model_count(conn, month: dt.date) -> int:
    """How many candidates a run month's comparison scored."""
    return _one(conn, f"SELECT count(*) FROM {SCHEMA}.model_scores WHERE run_month = %s", (month,))[0]


def run_artifacts(conn, month: dt.date) -> str | None:
    """The run folder of ``month``; None if the month has no run (or there is no schema)."""
    if not schema_exists(conn):
        return None
    row = _one(conn, f"SELECT artifacts FROM {SCHEMA}.runs WHERE run_month = %s", (month,))
    return row[0] if row else None


def previous_run_dir(conn, month: dt.date) -> str | None:
    """The run folder of the latest run month before ``month``; None on a first run."""
    if not schema_exists(conn):
        return None
    row = _one(
        conn,
        f"SELECT artifacts FROM {SCHEMA}.runs WHERE run_month < %s ORDER BY run_month DESC LIMIT 1",
        (month,),
    )
    return row[0] if row else None
