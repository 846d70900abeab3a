"""Customer features as one SQL query, run on DuckDB (embedded, the default) or on Spark.

The one definition of the features (:data:`insiders.options.FEATURE_DESCRIPTIONS`):
:func:`feature_query` writes it; :func:`customer_features` runs it on an engine, over
filtered lines given as a frame or as Parquet files read where they lie (a run folder's
``lines.parquet``, a folder or a glob of parts). The dialects differ in one expression only,
the day number of a timestamp; every other step is integer or double arithmetic both engines
compute alike.

Definitions (at day resolution, lines dated on or before the reference day only; returns kept
apart from purchases; a customer counts when at least one purchase line is left):

- ``frequency``: purchase invoices per 30 days of tenure, tenure being the days from the first
  purchase to the reference day plus one, at least :data:`MIN_TENURE_DAYS`;
- ``frequency_study``: invoices per day between the first and the last purchase (+1 day);
- ``avg_days_between_purchases``: days from the first to the last purchase per gap between
  purchase days (NULL, so NaN, with one purchase day).

Amounts (quantity x unit price, the price taken to 8 decimals) are summed as exact decimals
and only then made doubles: the features are the same, bit for bit, whatever the order the
lines are read in, the number of threads, or the engine. Counts are integers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from insiders.duckdb_io import connect, parquet_source, paths_of
from insiders.errors import InputError
from insiders.kept_lines import duckdb_relation, spark_frame
from insiders.options import FEATURE_DESCRIPTIONS, FEATURE_ENGINES
from insiders.schema import return_sql

if TYPE_CHECKING:  # pandas, duckdb and pyspark are imported by the functions that use them
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "ENGINES",
    "MIN_TENURE_DAYS",
    "customer_features",
    "feature_query",
    "lines_summary",
    "spark_session",
]

#: Where the query runs: DuckDB in the process (default), or a Spark session.
ENGINES = FEATURE_ENGINES
#: The shortest tenure ``frequency`` divides by: newer customers count as 30 days old.
MIN_TENURE_DAYS = 30

#: The day number (days since 1970-01-01) of a timestamp column, per dialect.
_DAY_NUMBER = {
    "duckdb": "date_diff('day', DATE '1970-01-01', CAST({column} AS DATE))",
    "spark": "unix_date(CAST({column} AS DATE))",
}
_EPOCH = date(1970, 1, 1)

#: Integer features (BIGINT in SQL, int64 in pandas); every other one is a double.
INTEGER_FEATURES = ("recency_days", "n_lines", "qty_returned", "n_invoices", "n_items",
                    "n_products", "n_returns")

_QUERY = """
WITH dated AS (
    SELECT CAST(customer_id AS BIGINT) AS customer_id,
           invoice_no,
           stock_code,
           CAST(quantity AS BIGINT) AS quantity,
           -- exact: amounts are decimals (prices to 1e-8), so sums do not depend on the
           -- order lines are read in or on how many threads or workers read them
           CAST(quantity AS DECIMAL(18, 0)) * CAST(unit_price AS DECIMAL(18, 8)) AS revenue,
           {day_number} AS day,
           {is_return} AS is_return
    FROM {lines}
),
kept AS (
    SELECT * FROM dated WHERE day <= {reference}
),
bought AS (
    SELECT customer_id,
           CAST(SUM(revenue) AS DOUBLE) AS gross_revenue,
           MIN(day) AS first_day,
           MAX(day) AS last_day,
           COUNT(*) AS n_lines,
           CAST(SUM(quantity) AS BIGINT) AS n_items,
           COUNT(DISTINCT stock_code) AS n_products,
           COUNT(DISTINCT invoice_no) AS n_invoices,
           COUNT(DISTINCT day) AS n_days
    FROM kept
    WHERE NOT is_return
    GROUP BY customer_id
),
baskets AS (
    SELECT customer_id,
           CAST(SUM(n_codes) AS DOUBLE) / COUNT(*) AS avg_unique_basket_size
    FROM (
        SELECT customer_id, invoice_no, COUNT(DISTINCT stock_code) AS n_codes
        FROM kept
        WHERE NOT is_return
        GROUP BY customer_id, invoice_no
    ) AS per_invoice
    GROUP BY customer_id
),
returned AS (
    SELECT customer_id,
           CAST(SUM(quantity) AS BIGINT) AS quantity,
           COUNT(*) AS n_returns,
           CAST(SUM(revenue) AS DOUBLE) AS revenue
    FROM kept
    WHERE is_return
    GROUP BY customer_id
)
SELECT b.customer_id,
       b.gross_revenue,
       CAST({reference} - b.last_day AS BIGINT) AS recency_days,
       b.n_lines,
       CAST(b.n_invoices AS DOUBLE)
           / GREATEST({reference} - b.first_day + 1, {min_tenure}) * 30 AS frequency,
       CAST(b.n_invoices AS DOUBLE) / (b.last_day - b.first_day + 1) AS frequency_study,
       CAST(-COALESCE(r.quantity, 0) AS BIGINT) AS qty_returned,
       b.n_invoices,
       b.n_items,
       b.n_products,
       b.gross_revenue / b.n_lines AS avg_ticket,
       CAST(b.n_items AS DOUBLE) / b.n_invoices AS avg_basket_size,
       k.avg_unique_basket_size,
       CASE WHEN b.n_days > 1
            THEN CAST(b.last_day - b.first_day AS DOUBLE) / (b.n_days - 1) END
           AS avg_days_between_purchases,
       COALESCE(r.n_returns, 0) AS n_returns,
       0.0 - COALESCE(r.revenue, 0.0) AS value_returned
FROM bought AS b
JOIN baskets AS k ON k.customer_id = b.customer_id
LEFT JOIN returned AS r ON r.customer_id = b.customer_id
ORDER BY b.customer_id
"""


def day_number(day: date | datetime | str | pd.Timestamp) -> int:
    """Days from 1970-01-01 to the day of ``day`` (its time of day dropped)."""
    import pandas as pd

    return (pd.Timestamp(day).normalize().date() - _EPOCH).days


def feature_query(
    lines: str,
    reference_date: date | datetime | str | pd.Timestamp,
    *,
    dialect: str = "duckdb",
    is_return: str = "is_return",
) -> str:
    """The features' SQL over the relation ``lines``, as of the reference day.

    Args:
        lines: what the query reads from: a table or view name, or a table function
            (``read_parquet('...')`` on DuckDB), with the columns of filtered lines.
        reference_date: the "as of" day.
        dialect: ``"duckdb"`` or ``"spark"`` (they differ in the day number only).
        is_return: the SQL expression telling a return line (the filter's ``is_return``; a
            negative quantity for lines that never went through the filter).
    """
    if dialect not in _DAY_NUMBER:
        raise InputError(f"unknown SQL dialect {dialect!r}; choose from {', '.join(_DAY_NUMBER)}")
    return _QUERY.format(
        lines=lines,
        reference=day_number(reference_date),
        min_tenure=MIN_TENURE_DAYS,
        day_number=_DAY_NUMBER[dialect].format(column="invoice_date"),
        is_return=is_return,
    )


def _summary_query(lines: str, dialect: str, is_return: str) -> str:
    day = _DAY_NUMBER[dialect].format(column="invoice_date")
    return (f"SELECT COUNT(*) AS n_lines, MIN({day}) AS first_day, "
            f"MAX(CASE WHEN NOT ({is_return}) THEN {day} END) AS last_purchase_day FROM {lines}")


def customer_features(
    lines: pd.DataFrame | str | Path | Sequence[str],
    reference_date: date | datetime | str | pd.Timestamp,
    *,
    engine: str = "duckdb",
    memory_limit: str | None = None,
    spark_master: str | None = None,
    storage_options: dict[str, Any] | None = None,
    kept: str | None = None,
) -> pd.DataFrame:
    """Run :func:`feature_query` on an engine; one row per customer, indexed by ``customer_id``.

    Args:
        lines: filtered lines as a frame, or Parquet files read in place: a path or URL, a
            folder of parts, a glob, or a list of them; with ``kept``, the lines read (one
            Parquet file) that the filter's index picks from.
        reference_date: the "as of" day.
        engine: ``"duckdb"`` (in the process; reads Parquet in streaming, spilling to disk past
            ``memory_limit``) or ``"spark"`` (a session on ``spark_master``).
        memory_limit: DuckDB's memory limit (e.g. ``"3GB"``); None: DuckDB's default (80% of
            the machine's memory).
        spark_master: the Spark master URL (``local[*]`` when None).
        storage_options: fsspec options for URLs that are not local paths (DuckDB reads them
            through fsspec).
        kept: the filter's ``kept_lines.parquet`` (:mod:`insiders.kept_lines`): the lines are
            the kept ones of ``lines``, joined in the engine.

    Returns:
        The columns of :data:`FEATURE_DESCRIPTIONS`, integer counts as int64, the rest float64.
    """
    if engine == "duckdb":
        table = _run_duckdb(lines, reference_date, memory_limit, storage_options, kept)
    elif engine == "spark":
        table = _run_spark(lines, reference_date, spark_master, kept)
    else:
        raise InputError(f"unknown feature engine {engine!r}; choose from {', '.join(ENGINES)}")
    return _typed(table)


def lines_summary(
    lines: str | Path | Sequence[str],
    *,
    engine: str = "duckdb",
    memory_limit: str | None = None,
    spark_master: str | None = None,
    storage_options: dict[str, Any] | None = None,
    kept: str | None = None,
) -> dict[str, Any]:
    """How many lines, the first line's day and the last purchase's day (Timestamps, or None
    with no line), read from the Parquet files without loading them (``kept``: as in
    :func:`customer_features`)."""
    import pandas as pd

    if engine == "spark":
        spark = spark_session(spark_master)
        _spark_lines(spark, lines, kept).createOrReplaceTempView("insiders_lines")
        row = spark.sql(_summary_query("insiders_lines", "spark", "is_return")).collect()[0]
        n, first, last = row[0], row[1], row[2]
    else:
        with connect(memory_limit) as con:
            source = _duckdb_lines(con, lines, storage_options, kept)
            n, first, last = con.execute(_summary_query(source, "duckdb", "is_return")).fetchone()

    def as_day(number: int | None) -> pd.Timestamp | None:
        return None if number is None else pd.Timestamp(_EPOCH) + pd.Timedelta(days=int(number))

    return {"lines": int(n), "first_day": as_day(first), "last_purchase_day": as_day(last)}


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    table = table.set_index("customer_id")
    table.index = table.index.astype("int64")
    for name in FEATURE_DESCRIPTIONS:
        table[name] = table[name].astype("int64" if name in INTEGER_FEATURES else "float64")
    return table[list(FEATURE_DESCRIPTIONS)]


def _duckdb_lines(con, lines, storage_options: dict[str, Any] | None, kept: str | None) -> str:
    """The filtered lines as a DuckDB relation: the files, or the kept ones of the lines read."""
    if kept is None:
        return parquet_source(con, lines, storage_options)
    return duckdb_relation(parquet_source(con, lines, storage_options, row_numbers=True),
                           parquet_source(con, kept, storage_options))


def _run_duckdb(lines, reference_date, memory_limit, storage_options, kept=None) -> pd.DataFrame:
    with connect(memory_limit) as con:
        if hasattr(lines, "columns"):  # a frame: scanned in place
            con.register("insiders_lines", lines)
            source = "insiders_lines"
            is_return = "is_return" if "is_return" in lines.columns else return_sql()
        else:
            source = _duckdb_lines(con, lines, storage_options, kept)
            is_return = "is_return"
        return con.execute(feature_query(source, reference_date, is_return=is_return)).df()


def spark_session(master: str | None = None):
    """The Spark session the engine runs on: ``master`` (``local[*]`` when None), times of day
    read in UTC, no UI."""
    from pyspark.sql import SparkSession

    return (SparkSession.builder.appName("insiders-features").master(master or "local[*]")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            # pandas writes nanosecond timestamps, which Spark reads only as longs
            .config("spark.sql.legacy.parquet.nanosAsLong", "true")
            .getOrCreate())


def _spark_lines(spark, lines, kept: str | None = None):
    """The lines as a Spark frame, ``invoice_date`` a timestamp (from nanoseconds when the
    files hold pandas' nanosecond timestamps, read as longs); with ``kept``, the kept ones of
    the lines read (:func:`insiders.kept_lines.spark_frame`)."""
    from pyspark.sql import functions as F

    frame = spark.read.parquet(*paths_of(lines))
    if kept is not None:
        frame = frame.select("*", F.col("_metadata.row_index").alias("line_index"))
    if dict(frame.dtypes)["invoice_date"] == "bigint":
        frame = frame.withColumn("invoice_date",
                                 F.timestamp_micros(F.floor(F.col("invoice_date") / 1000)))
    return frame if kept is None else spark_frame(frame, spark.read.parquet(kept))


def _run_spark(lines, reference_date, master, kept=None) -> pd.DataFrame:
    spark = spark_session(master)
    if hasattr(lines, "columns"):
        frame = spark.createDataFrame(lines)
        is_return = "is_return" if "is_return" in lines.columns else return_sql()
    else:
        frame = _spark_lines(spark, lines, kept)
        is_return = "is_return"
    frame.createOrReplaceTempView("insiders_lines")
    query = feature_query("insiders_lines", reference_date, dialect="spark", is_return=is_return)
    return spark.sql(query).toPandas()
