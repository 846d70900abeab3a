"""The entry points: read transaction lines (CSV, Excel, Parquet; local or any fsspec URL),
a file, a folder or a glob, into one typed schema."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from insiders.config import AUTO_PRESET, ReadConfig
from insiders.ingest.errors import IngestError
from insiders.ingest.files import detect_format, files_of, read_parts
from insiders.ingest.lines import to_schema
from insiders.ingest.numbers import check_separators
from insiders.progress import note

logger = logging.getLogger(__name__)


def read_transactions(
    source: str | Path,
    read: ReadConfig | None = None,
    *,
    storage_options: dict[str, Any] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Read transaction lines and return them in the canonical schema.

    Nothing is guessed: a file whose numbers, dates or bytes can be read two ways is
    refused with a message naming the argument that settles it.

    Args:
        source: a local path or an fsspec URL (``s3://bucket/key.csv``, ``file://...``) of a
            file, of a folder of files (monthly exports; searched through, names starting
            with ``_`` or ``.`` skipped, like Spark's ``_SUCCESS``), or a glob
            (``s3://bucket/exports/2011-*.csv``). Each file is read and checked on its own, so
            an error names the file; the lines come in the order of the sorted file names.
        read: how to read it (:class:`insiders.config.ReadConfig`, whose fields say it):
            ``encoding`` (``"auto"`` tries UTF-8, then cp1252, then Latin-1; text holding C1
            control characters is refused whatever the encoding); ``date_format`` (detected
            by default; for numeric dates like ``01/12/2010`` the day and month are told apart
            from the whole column, refused when it cannot tell; dates written as digits are
            read as compact ISO 8601 or seconds or milliseconds since 1970 when exactly one of
            them reads every date, ``"epoch_s"`` or ``"epoch_ms"`` to say so); ``decimal`` and
            ``thousands`` (told from the file: ``6,45`` or ``1.234,5`` mean a decimal comma,
            refused when only values like ``1,234`` are present); ``sheet`` (None: every
            sheet of a workbook, when they share one header); ``preset`` and ``columns`` (the
            export's layout, :mod:`insiders.presets`).
        storage_options: passed to fsspec (e.g. ``{"client_kwargs": {"endpoint_url": ...}}``).
        **options: fields of ``read`` to change (``decimal=","``), for short calls.

    Returns:
        One row per transaction line with the columns of :data:`insiders.schema.COLUMNS`.

    Raises:
        IngestError: the file is missing, empty, of an unknown type or encoding, lacks a
            column, has an unknown one, or holds a value that is not what its column needs.
    """
    src = str(source)
    read = replace(read or ReadConfig(), **options)
    parts = list(iter_transactions(src, read, storage_options=storage_options))
    if len(parts) == 1:
        return parts[0]
    lines = pd.concat(parts, ignore_index=True)
    logger.info("read %d lines from %d files in %s", len(lines), len(parts), src)
    return lines


def iter_transactions(source: str | Path, read: ReadConfig | None = None, *,
                      storage_options: dict[str, Any] | None = None,
                      found: dict[str, set[str]] | None = None) -> Iterator[pd.DataFrame]:
    """The lines of each file of ``source`` in turn (one frame for a file; a folder's or a
    glob's files in the order of their sorted names), each read and checked as
    :func:`read_transactions` does: for sources larger than memory, one file at a time.

    ``found={}`` collects what the exports say beyond their lines: ``absent``, the schema's
    columns some file lacks (its preset or column map names none: see
    :mod:`insiders.presets`), and ``currencies``, the ISO codes of a currency column."""
    src, read, storage_options = str(source), read or ReadConfig(), storage_options or {}
    files = files_of(src, storage_options)
    files = files if files is not None else [src]
    if read.preset == AUTO_PRESET:
        read = _settled(files[0], read, storage_options, found)
    for file in files:
        yield _read_file(file, read, storage_options, found)


def _settled(file: str, read: ReadConfig, storage_options: dict[str, Any],
             found: dict | None) -> ReadConfig:
    """``--preset auto``: the layout the first file's look proposes, when it can run as it is
    (noted in ``found["layout"]``); else refused, showing the proposal."""
    from insiders.ingest.inspection import inspect_source, proposal_lines

    look = inspect_source(file, read, storage_options=storage_options)
    if not look.runnable:
        raise IngestError(file, "--preset auto cannot settle the export's columns: "
                          + " ".join(proposal_lines(look)),
                          hint="Run 'insiders inspect' on it, then give --preset and --columns")
    note("--preset auto: %s reads as %s", file, look.flags())
    if found is not None:
        found["layout"] = {"preset": look.preset, "columns": look.columns, "flags": look.flags()}
    return look.read_config(read)


def _read_file(src: str, read: ReadConfig, storage_options: dict[str, Any],
               found: dict[str, set[str]] | None) -> pd.DataFrame:
    """One file's lines in the canonical schema (see :func:`read_transactions`)."""
    layout = (read.layout, read.column_map, found)
    detect_format(src)  # an unknown file type is said first, before the separators
    check_separators(src, read.decimal, read.thousands)
    parts = read_parts(src, read.encoding, read.sheet, storage_options)
    schema = [to_schema(frame, src, row_label, read.date_format, read.decimal, read.thousands,
                        layout) for _, frame, row_label in parts]
    lines = schema[0] if len(schema) == 1 else pd.concat(schema, ignore_index=True)
    sheets = [name for name, _, _ in parts if name is not None]
    logger.info("read %d lines from %s%s", len(lines), src,
                f" ({', '.join(f'sheet {name!r}' for name in sheets)})" if sheets else "")
    return lines
