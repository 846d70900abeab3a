"""Read and write a run's tables and files on a local path or any fsspec URL."""

from __future__ import annotations

import io
import json
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
        buffer.write(frame.to_csv(index=index).encode("utf-8"))
    else:
        frame.to_parquet(buffer, index=index)
    with fs.open(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return uri


def load_frame(uri: str | Path, *, storage_options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Read a frame written by :func:`save_frame`."""
    import pandas as pd

    uri = str(uri)
    with fsspec.open(uri, "rb", **(storage_options or {})) as handle:
        data = handle.read()
    if uri.endswith(".csv"):
        return pd.read_csv(io.BytesIO(data))
    return pd.read_parquet(io.BytesIO(data))


def save_json(obj: Any, uri: str | Path, *, storage_options: dict[str, Any] | None = None) -> str:
    """Write a small JSON document (facts of a run) and return its URI."""
    uri = str(uri)
    fs, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))
    fs.makedirs(fs._parent(path), exist_ok=True)
    with fs.open(path, "w") as handle:
        json.dump(obj, handle, indent=2, default=str)
    return uri


def load_json(uri: str | Path, *, storage_options: dict[str, Any] | None = None) -> Any:
    """Read a JSON document written by :func:`save_json`."""
    with fsspec.open(str(uri), "r", **(storage_options or {})) as handle:
        return json.load(handle)
