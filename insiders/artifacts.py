"""Read and write a run's tables and files on a local path or any fsspec URL."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fsspec

if TYPE_CHECKING:  # pandas is imported by the functions that read or write frames
    import pandas as pd


def join(prefix: str | Path, *parts: str) -> str:
    """Join a local path or a URL prefix with file names."""
    return "/".join([str(prefix).rstrip("/"), *parts])


def save_frame(
    frame: pd.DataFrame, uri: str | Path, *, index: bool = True, storage_options: dict[str, Any] | None = None
) -> str:
    """Write a frame as Parquet or CSV (by suffix) and return its URI."""
    uri = str(uri)
    fs, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))
    fs.makedirs(fs._parent(path), exist_ok=True)
    buffer = io.BytesIO()
    if uri.endswith(".csv"):
        buffer.write(_csv_text(frame, index).encode("utf-8"))
    else:
        frame.to_parquet(buffer, index=index)
    _write_atomically(fs, path, buffer.getvalue())
    return uri


def _csv_text(frame: pd.DataFrame, index: bool) -> str:
    """The frame as CSV text. A text cell holding a carriage return (which pandas writes
    unquoted: a spreadsheet would break the row there) gets every text cell quoted."""
    import csv

    texts = frame.select_dtypes(include=["object", "string"])
    broken = any(texts[c].map(lambda v: isinstance(v, str) and "\r" in v).any() for c in texts)
    return frame.to_csv(index=index, quoting=csv.QUOTE_NONNUMERIC if broken else csv.QUOTE_MINIMAL)


def save_frames(frames: Iterable[pd.DataFrame], uri: str | Path, *,
                before_rename: Callable[[], None] | None = None,
                storage_options: dict[str, Any] | None = None) -> int:
    """Write frames of one schema (the first one's) one after another into one Parquet file,
    holding one frame at a time; return the rows written.

    Written beside and renamed over once every frame is in and ``before_rename`` (if given)
    has returned: an error in a frame, or in ``before_rename``, leaves no file changed.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    fs, path = fsspec.core.url_to_fs(str(uri), **(storage_options or {}))
    fs.makedirs(fs._parent(path), exist_ok=True)
    partial = f"{path}.partial"
    rows = 0
    try:
        with fs.open(partial, "wb") as handle:
            writer = schema = None
            try:
                for frame in frames:
                    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
                    if writer is None:
                        schema = table.schema
                        writer = pq.ParquetWriter(handle, schema)
                    writer.write_table(table)
                    rows += len(frame)
                    del table
            finally:  # closed before its file, even when a frame fails
                if writer is not None:
                    writer.close()
            if writer is None:
                raise ValueError(f"{uri}: no frame to write")
        if before_rename is not None:
            before_rename()
    except BaseException:
        if fs.exists(partial):
            fs.rm(partial)
        raise
    fs.mv(partial, path)
    return rows


def write_bytes(uri: str | Path, data: bytes, *, storage_options: dict[str, Any] | None = None) -> str:
    """Write a file's bytes atomically (see :func:`_write_atomically`) and return its URI."""
    fs, path = fsspec.core.url_to_fs(str(uri), **(storage_options or {}))
    fs.makedirs(fs._parent(path), exist_ok=True)
    _write_atomically(fs, path, data)
    return str(uri)


def _write_atomically(fs: Any, path: str, data: bytes) -> None:
    """Write beside, then rename over: a reader (or a failed rerun) never sees half a file.
    On object stores the rename is a copy and one PUT is atomic anyway."""
    partial = f"{path}.partial"
    try:
        with fs.open(partial, "wb") as handle:
            handle.write(data)
    except BaseException:
        if fs.exists(partial):  # a full disk: leave no half file behind
            fs.rm(partial)
        raise
    fs.mv(partial, path)


def file_digest(uri: str | Path, *, storage_options: dict[str, Any] | None = None) -> str:
    """The SHA-256 of a file's bytes (hex)."""
    import hashlib

    digest = hashlib.sha256()
    with fsspec.open(str(uri), "rb", **(storage_options or {})) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def exists(uri: str | Path, *, storage_options: dict[str, Any] | None = None) -> bool:
    """Whether a file exists (local path or URL)."""
    fs, path = fsspec.core.url_to_fs(str(uri), **(storage_options or {}))
    return fs.exists(path)


def local_path(uri: str | Path) -> str | None:
    """The local file system path of a plain path or ``file://`` URL; None for other URLs."""
    uri = str(uri)
    if fsspec.core.split_protocol(uri)[0] in (None, "file", "local"):
        return uri.removeprefix("file://")
    return None


def load_frame(uri: str | Path, *, columns: list[str] | None = None,
               storage_options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Read a frame written by :func:`save_frame` (a Parquet file: only ``columns`` when
    given; a local one is read in place, without its bytes in memory first)."""
    import pandas as pd

    uri = str(uri)
    source: Any = local_path(uri)
    if source is None:
        with fsspec.open(uri, "rb", **(storage_options or {})) as handle:
            source = io.BytesIO(handle.read())
    if uri.endswith(".csv"):
        return pd.read_csv(source, usecols=columns)
    return pd.read_parquet(source, columns=columns)


def save_json(obj: Any, uri: str | Path, *, storage_options: dict[str, Any] | None = None) -> str:
    """Write a small JSON document (facts of a run) and return its URI."""
    uri = str(uri)
    fs, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))
    fs.makedirs(fs._parent(path), exist_ok=True)
    _write_atomically(fs, path, json.dumps(obj, indent=2, default=str).encode("utf-8"))
    return uri


def load_json(uri: str | Path, *, storage_options: dict[str, Any] | None = None) -> Any:
    """Read a JSON document written by :func:`save_json`."""
    with fsspec.open(str(uri), "r", **(storage_options or {})) as handle:
        return json.load(handle)
