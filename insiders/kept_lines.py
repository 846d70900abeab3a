"""The filter's kept lines as an index into the lines read, so a run folder holds the lines once.

The filter writes ``kept_lines.parquet``: one row per kept line, ``line_index`` (its position
in ``raw_lines.parquet``, ascending) and ``customer_id`` (the id after the filter: made-up ids
for anonymous invoices under the synthetic policy). The kept lines are the raw lines at those
positions with that id, ``is_synthetic_customer`` (no id as read) and ``is_return`` (quantity
below zero). :func:`kept_frame` builds them in pandas (the filter's own output is built so);
:func:`duckdb_relation` and :func:`spark_frame` give the same lines to the features' SQL,
read in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from insiders.schema import is_return, return_sql

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DERIVED", "customer_keys", "duckdb_relation", "kept_frame", "kept_index",
           "load_lines", "spark_frame"]

#: The columns the filter adds to the lines read, and their SQL (over the raw line ``r``).
DERIVED = {
    "is_synthetic_customer": "r.customer_id IS NULL",
    "is_return": return_sql("r"),
}


def kept_index(positions: np.ndarray, customer_id: pd.Series) -> pd.DataFrame:
    """The file the filter writes: each kept line's position in the lines read and its id."""
    import pandas as pd

    return pd.DataFrame({"line_index": np.asarray(positions, dtype=np.int64),
                         "customer_id": customer_id.reset_index(drop=True)})


def kept_frame(raw: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """The kept lines: ``raw`` (the lines read, any subset of their columns that holds
    ``customer_id`` and ``quantity``) at the kept positions, the filter's ids, and the
    :data:`DERIVED` columns; index 0..n-1."""
    return _derive(raw.take(kept["line_index"].to_numpy(np.int64)).reset_index(drop=True), kept)


def _derive(lines: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """The raw lines already at the kept positions, with the filter's ids and :data:`DERIVED`."""
    lines["is_synthetic_customer"] = lines["customer_id"].isna().to_numpy(bool)
    lines["customer_id"] = kept["customer_id"].reset_index(drop=True)
    lines["is_return"] = is_return(lines).to_numpy()
    return lines


def load_lines(run_dir: str, columns: list[str] | tuple[str, ...] | None = None) -> pd.DataFrame:
    """The run folder's kept lines (see the module), with only ``columns`` of the lines read
    when given (plus ``customer_id`` and ``quantity``, which the derived columns need).

    The lines read are taken a row group at a time, so memory holds the kept lines and one
    row group of the lines read, not both files whole.
    """
    from insiders import artifacts
    from insiders.run_folder import path

    wanted = None
    if columns is not None:
        read = [c for c in columns if c not in DERIVED]
        wanted = list(dict.fromkeys([*read, "customer_id", "quantity"]))
    kept = artifacts.load_frame(path(run_dir, "kept_lines"))
    raw = _take_rows(path(run_dir, "raw_lines"), kept["line_index"].to_numpy(np.int64), wanted)
    lines = _derive(raw, kept)
    return lines if columns is None else lines[list(columns)]


def customer_keys(run_dir: str) -> pd.Series | None:
    """Each customer's key as the export wrote it (``customer_key`` of the lines read, by
    ``customer_id``), or None when the lines read carry none (the ids are the keys)."""
    import contextlib

    import fsspec
    import pyarrow.parquet as pq

    from insiders import artifacts
    from insiders.run_folder import path
    from insiders.schema import CUSTOMER_KEY

    uri = path(run_dir, "raw_lines")
    local = artifacts.local_path(uri)
    with contextlib.ExitStack() as stack:
        source = local if local is not None else stack.enter_context(fsspec.open(uri, "rb"))
        parquet = pq.ParquetFile(source)
        if CUSTOMER_KEY not in parquet.schema_arrow.names:
            return None
        table = parquet.read(columns=["customer_id", CUSTOMER_KEY])
    keys = table.group_by("customer_id").aggregate([(CUSTOMER_KEY, "min")]).to_pandas()
    keys = keys.dropna(subset=["customer_id"])
    return keys.set_index(keys["customer_id"].astype("int64"))[f"{CUSTOMER_KEY}_min"].rename(
        CUSTOMER_KEY)


def _take_rows(uri: str, positions: np.ndarray, columns: list[str] | None) -> pd.DataFrame:
    """The rows at ``positions`` (ascending) of a Parquet file, read one row group at a time."""
    import contextlib

    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq

    from insiders import artifacts

    local = artifacts.local_path(uri)
    with contextlib.ExitStack() as stack:
        source = local if local is not None else stack.enter_context(fsspec.open(uri, "rb"))
        parquet = pq.ParquetFile(source)
        parts, start = [], 0
        for group in range(parquet.num_row_groups):
            size = parquet.metadata.row_group(group).num_rows
            lo, hi = np.searchsorted(positions, [start, start + size])
            if hi > lo:
                table = parquet.read_row_group(group, columns=columns)
                parts.append(table.take(pa.array(positions[lo:hi] - start)))
            start += size
        if not parts:
            return parquet.schema_arrow.empty_table().select(columns or parquet.schema_arrow.names) \
                .to_pandas()
        table = pa.concat_tables(parts)
        del parts
        return table.to_pandas(self_destruct=True, split_blocks=True)
def duckdb_relation(raw: str, kept: str) -> str:
    """The kept lines as a DuckDB subquery, from a ``read_parquet`` call over the raw lines
    with ``file_row_number = true`` (one file: row numbers are positions) and one over the
    kept index."""
    derived = ", ".join(f"{sql} AS {name}" for name, sql in DERIVED.items())
    return (f"(SELECT r.* EXCLUDE (customer_id, file_row_number), k.customer_id, {derived} "
            f"FROM {raw} AS r JOIN {kept} AS k ON r.file_row_number = k.line_index)")


def spark_frame(raw, kept):
    """The kept lines as a Spark frame, from the raw lines' frame with each line's position as
    ``line_index`` (``_metadata.row_index`` when read with ``spark.read.parquet``) and the
    kept index's frame."""
    from pyspark.sql import functions as F

    r, k = raw.alias("r"), kept.alias("k")
    others = [F.col(f"r.{c}") for c in raw.columns if c not in ("customer_id", "line_index")]
    derived = [F.expr(sql).alias(name) for name, sql in DERIVED.items()]
    return (r.join(k, F.col("r.line_index") == F.col("k.line_index"))
            .select(*others, F.col("k.customer_id").alias("customer_id"), *derived))
