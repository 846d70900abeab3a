"""DuckDB at the edges: an in-process connection with a memory limit, and Parquet files (local
paths or fsspec URLs, files or folders of parts) read in place as a relation.

The features' SQL (:mod:`insiders.feature_sql`) and the data-quality rules
(:mod:`insiders.quality`) run on it, so lines larger than memory are read from their files,
and DuckDB spills to disk past its limit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from insiders import artifacts
from insiders.errors import InputError
from insiders.options import MEMORY_LIMIT_PATTERN

__all__ = ["connect", "lines_view", "parquet_source", "paths_of"]


def connect(memory_limit: str | None = None):
    """An in-memory DuckDB connection (a context manager), limited to ``memory_limit``
    (``"3GB"``; None: DuckDB's default, 80% of the machine). DuckDB need not keep the files'
    order (less memory): queries sort their results themselves."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")  # it writes to stdout: noise in task logs
    if memory_limit:
        con.execute(f"SET memory_limit = '{checked_memory_limit(memory_limit)}'")
    con.execute("SET preserve_insertion_order = false")
    return con


def checked_memory_limit(limit: str) -> str:
    """``limit`` stripped, or ValueError when it is not like ``"3GB"`` or ``"500MB"``."""
    if not re.fullmatch(MEMORY_LIMIT_PATTERN, limit.strip(), re.I):
        raise InputError(f"memory limit must look like '3GB' or '500MB', got {limit!r}")
    return limit.strip()


def paths_of(lines: str | Path | Sequence[str]) -> list[str]:
    """One path or URL, or several, as a list of strings."""
    if isinstance(lines, (str, Path)):
        return [str(lines)]
    return [str(p) for p in lines]


def parquet_source(con, lines: str | Path | Sequence[str], storage_options: dict[str, Any] | None = None,
                   *, row_numbers: bool = False) -> str:
    """``read_parquet([...])`` over the files (with ``row_numbers``, a ``file_row_number``
    column: each row's position in its file); URLs that are not local go through fsspec,
    registered with the connection once per file system."""
    import fsspec

    paths = []
    for raw in paths_of(lines):
        local = artifacts.local_path(raw)
        if local is not None:
            paths.append(f"{local.rstrip('/')}/**/*.parquet" if Path(local).is_dir() else local)
        else:
            fs, _ = fsspec.core.url_to_fs(raw, **(storage_options or {}))
            if _fs_name(fs) not in con.list_filesystems():  # e.g. the lines and their index
                con.register_filesystem(fs)
            paths.append(f"{raw.rstrip('/')}/**/*.parquet" if fs.isdir(raw) else raw)
    listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    numbers = ", file_row_number = true" if row_numbers else ""
    return f"read_parquet([{listed}], union_by_name = true{numbers})"


def lines_view(con, name: str, lines, columns: Sequence[str],
               storage_options: dict[str, Any] | None = None) -> str:
    """Create view ``name`` of the lines' ``columns`` and ``line_index``, each line's position
    in ``lines``: a frame (registered in place) or a Parquet file (read in place, with
    ``file_row_number``); return ``name``."""
    import numpy as np
    import pandas as pd

    if isinstance(lines, pd.DataFrame):
        import pyarrow as pa

        table = pa.Table.from_pandas(lines[list(columns)], preserve_index=False)
        con.register(f"{name}_frame", table.append_column(
            "line_index", pa.array(np.arange(len(lines), dtype=np.int64))))
        source, position = f"{name}_frame", "line_index"
    else:
        source = parquet_source(con, lines, storage_options, row_numbers=True)
        position = "file_row_number AS line_index"
    con.execute(f"CREATE TEMP VIEW {name} AS SELECT {', '.join(columns)}, {position} FROM {source}")
    return name


def _fs_name(fs) -> str:
    """The name DuckDB registers an fsspec file system under (its first protocol)."""
    return fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
