"""Read transaction lines (CSV, Excel, Parquet; local or any fsspec URL) into one typed schema."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pandas as pd

from insiders.schema import ALIASES, COLUMNS, NULLABLE, normalise_name

logger = logging.getLogger(__name__)

#: Date formats tried, in order, on text dates; the first that reads the first date wins.
DATE_FORMATS = (
    "%d-%b-%y",  # the shop's export: 29-Nov-16
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M",  # UCI data saved from Excel as CSV: 12/1/2010 8:26
    "%d/%m/%Y %H:%M",
    "%d-%b-%Y",
)

_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_COMPRESSIONS = (".gz", ".bz2", ".zip", ".xz", ".zst")


class IngestError(ValueError):
    """Input that cannot be read; the message names the file, row, column and value.

    Attributes mirror the message so that callers (and tests) can check them.
    """

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        row: str | None = None,
        column: str | None = None,
        value: Any = None,
        hint: str | None = None,
    ) -> None:
        self.source, self.problem, self.row, self.column = source, problem, row, column
        self.value, self.hint = value, hint
        where = ", ".join(
            part
            for part in (
                row,
                f"column '{column}'" if column else None,
                f"value {value!r}" if value is not None else None,
            )
            if part
        )
        message = f"{source}: {problem}"
        if where:
            message += f" ({where})"
        if hint:
            message += f". {hint}"
        super().__init__(message)


def detect_format(source: str) -> str:
    """Return ``"csv"``, ``"excel"`` or ``"parquet"`` from the file name."""
    name = str(source).lower()
    for suffix in _COMPRESSIONS:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    fmt = _FORMATS.get(Path(name).suffix)
    if fmt is None:
        raise IngestError(
            str(source),
            "unknown file type",
            hint="Give a file ending in .csv, .xlsx or .parquet (optionally .gz for CSV)",
        )
    return fmt


def read_transactions(
    source: str | Path,
    *,
    encoding: str = "auto",
    date_format: str | None = None,
    sheet_name: str | int = 0,
    storage_options: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Read transaction lines and return them in the canonical schema.

    Args:
        source: a local path or an fsspec URL (``s3://bucket/key.csv``, ``file://...``).
        encoding: text encoding of a CSV; ``"auto"`` tries UTF-8 then Latin-1.
        date_format: strptime format of text dates; by default it is detected.
        sheet_name: the Excel sheet to read.
        storage_options: passed to fsspec (e.g. ``{"client_kwargs": {"endpoint_url": ...}}``).

    Returns:
        One row per transaction line with the columns of :data:`insiders.schema.COLUMNS`.

    Raises:
        IngestError: the file is missing, empty, of an unknown type or encoding, lacks a
            column, has an unknown one, or holds a value that is not what its column needs.
    """
    src = str(source)
    fmt = detect_format(src)
    raw_bytes = _read_bytes(src, storage_options or {})
    if not raw_bytes.strip():
        raise IngestError(src, "the file is empty", hint="Check the export; it has no lines")
    if fmt == "csv":
        frame = _read_csv(src, raw_bytes, encoding)
        row_label = _csv_row_label
    elif fmt == "excel":
        frame = _read_with(src, "Excel", lambda: pd.read_excel(io.BytesIO(raw_bytes), sheet_name))
        row_label = _excel_row_label
    else:
        frame = _read_with(src, "Parquet", lambda: pd.read_parquet(io.BytesIO(raw_bytes)))
        row_label = _plain_row_label
    lines = _to_schema(frame, src, row_label, date_format)
    logger.info("read %d lines from %s", len(lines), src)
    return lines


def _read_bytes(src: str, storage_options: dict[str, Any]) -> bytes:
    try:
        with fsspec.open(src, "rb", compression="infer", **storage_options) as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise IngestError(src, "file not found", hint="Check the path or the bucket and key") from exc
    except PermissionError as exc:
        raise IngestError(src, f"access denied ({exc})", hint="Check the credentials") from exc


def _read_with(src: str, kind: str, reader: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    try:
        return reader()
    except Exception as exc:  # the readers raise many types; all mean "not this format"
        raise IngestError(
            src,
            f"cannot be read as {kind}: {exc}",
            hint=f"Check that the file really is {kind} and not truncated",
        ) from exc


def _decode(src: str, raw: bytes, encoding: str) -> str:
    if b"\x00" in raw[:65536]:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise IngestError(
            src,
            "the file holds NUL bytes, so it is not a text CSV in UTF-8 or Latin-1",
            row=f"line {line}",
            hint="Save it as CSV in UTF-8 or Latin-1 (it may be UTF-16 or a binary file)",
        )
    candidates = ["utf-8-sig", "latin-1"] if encoding == "auto" else [encoding]
    for candidate in candidates:
        try:
            return raw.decode(candidate)
        except UnicodeDecodeError as exc:
            last = exc
        except LookupError as exc:
            raise IngestError(src, f"unknown encoding {encoding!r}") from exc
    line = raw[: last.start].count(b"\n") + 1
    raise IngestError(
        src,
        f"cannot be decoded as {encoding}",
        row=f"line {line}",
        value=raw[last.start : last.end + 8],
        hint="Pass the file's real encoding (the shop's export is --encoding latin-1)",
    )


def _read_csv(src: str, raw: bytes, encoding: str) -> pd.DataFrame:
    text = _decode(src, raw, encoding)
    sep = "\t" if src.lower().removesuffix(".gz").endswith(".tsv") else ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as exc:
        raise IngestError(src, f"malformed CSV: {exc}", hint="Check quoting and separators") from exc
    except pd.errors.EmptyDataError as exc:
        raise IngestError(src, "the file is empty", hint="Check the export") from exc
    if frame.empty:
        raise IngestError(src, "the file has a header but no lines", hint="Check the export")
    return frame


def _csv_row_label(i: int) -> str:
    return f"row {i + 1:,} (line {i + 2:,} of the file)"


def _excel_row_label(i: int) -> str:
    return f"row {i + 1:,} (sheet row {i + 2:,})"


def _plain_row_label(i: int) -> str:
    return f"row {i + 1:,}"


def _rename_columns(frame: pd.DataFrame, src: str) -> pd.DataFrame:
    renames: dict[str, str] = {}
    drop: list[str] = []
    for col in frame.columns:
        name = str(col)
        canonical = ALIASES.get(normalise_name(name))
        if canonical is not None:
            if canonical in renames.values():
                raise IngestError(src, "two columns map to the same field", column=name, value=canonical)
            renames[col] = canonical
        elif (name.startswith("Unnamed:") or not name.strip()) and frame[col].isna().all():
            drop.append(col)  # e.g. the trailing empty column of the shop's export
        else:
            raise IngestError(
                src,
                "unknown column",
                column=name,
                hint="Rename it to one of InvoiceNo, StockCode, Description, Quantity, "
                "InvoiceDate, UnitPrice, CustomerID, Country (or the Online Retail II names "
                "Invoice, Price, Customer ID), or remove it",
            )
    missing = [c for c in COLUMNS if c not in renames.values()]
    if missing:
        raise IngestError(
            src,
            f"missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns))}",
            hint="Export every column of the transaction table",
        )
    return frame.drop(columns=drop).rename(columns=renames)


def _first_bad(mask: pd.Series | np.ndarray) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def _to_schema(
    frame: pd.DataFrame, src: str, row_label: Callable[[int], str], date_format: str | None
) -> pd.DataFrame:
    original_names = {ALIASES.get(normalise_name(c)): str(c) for c in frame.columns}
    frame = _rename_columns(frame, src).reset_index(drop=True)

    def fail(column: str, i: int, problem: str, hint: str) -> IngestError:
        return IngestError(
            src,
            problem,
            row=row_label(i),
            column=original_names[column],
            value=frame[column].iloc[i],
            hint=hint,
        )

    out: dict[str, pd.Series] = {}
    for column in COLUMNS:
        values = frame[column]
        if column not in NULLABLE and values.isna().any():
            i = _first_bad(values.isna())
            raise IngestError(
                src,
                "empty value in a required column",
                row=row_label(i),
                column=original_names[column],
                hint="Fill it in or remove the line",
            )
        if column == "invoice_date":
            out[column] = _parse_dates(values, column, date_format, fail)
        elif column in ("quantity", "unit_price", "customer_id"):
            out[column] = _parse_numbers(values, column, fail)
        else:
            text = values.astype("str").str.strip()
            out[column] = text.where(values.notna(), None) if column in NULLABLE else text
    lines = pd.DataFrame(out)
    lines["description"] = lines["description"].astype("str")
    return lines


def _parse_numbers(values: pd.Series, column: str, fail: Callable[..., IngestError]) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
    else:
        text = values.astype("str").str.strip().str.replace(",", "", regex=False)
        numbers = pd.to_numeric(text.where(values.notna(), None), errors="coerce")
        bad = numbers.isna() & values.notna()
        if bad.any():
            raise fail(column, _first_bad(bad), "not a number", "Fix the value or remove the line")
    if column == "unit_price":
        return numbers.astype("float64")
    present = numbers.notna()
    fractional = present & (numbers.fillna(0) % 1 != 0)
    if fractional.any():
        raise fail(column, _first_bad(fractional), "not a whole number", "Fix the value")
    if column == "customer_id":
        return numbers.astype("Int64")
    return numbers.astype("int64")


def _parse_dates(
    values: pd.Series, column: str, date_format: str | None, fail: Callable[..., IngestError]
) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = values
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
        return dates.astype("datetime64[ns]")
    text = values.astype("str").str.strip()
    formats = [date_format] if date_format else list(DATE_FORMATS)
    first = text.iloc[0]
    for fmt in formats:
        try:
            pd.to_datetime(pd.Series([first]), format=fmt)
        except (ValueError, TypeError):
            continue
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        bad = parsed.isna()
        if bad.any():
            raise fail(
                column,
                _first_bad(bad),
                f"not a date in the file's format {fmt!r}",
                "Fix the date, or pass --date-format if the file mixes formats",
            )
        return parsed.astype("datetime64[ns]")
    raise fail(
        column,
        0,
        "not a date in any known format",
        "Pass --date-format (strptime codes, e.g. '%d-%b-%y' for 29-Nov-16)",
    )
