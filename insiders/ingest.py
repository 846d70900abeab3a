"""Read transaction lines (CSV, Excel, Parquet; local or any fsspec URL) into one typed schema."""

from __future__ import annotations

import io
import logging
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pandas as pd

from insiders.config import ReadConfig
from insiders.errors import InputError
from insiders.presets import PRESETS, ROLES, Preset, suggest_preset
from insiders.schema import (
    ALIASES,
    COLUMNS,
    CUSTOMER_KEY,
    NULLABLE,
    PLAIN_ID,
    customer_surrogates,
    normalise_name,
)

logger = logging.getLogger(__name__)

#: Date formats tried, in order, on text dates; the first that reads the first date wins.
#: Numeric day/month dates (``12/1/2010 8:26``, ``01.12.2010``) are not here: which number
#: is the day is told from the whole column (see :func:`_day_month_format`).
DATE_FORMATS = (
    "%d-%b-%y",  # the shop's export: 29-Nov-16
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%d-%b-%Y",
)
#: A date with the day and the month as numbers and the year last, optionally a time.
_DAY_MONTH = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?:([ T])\d{1,2}:\d{2}(:\d{2})?)?")

#: A date and time followed by its UTC offset (Shopify's exports), and the offset alone.
_WITH_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?\s*(?:[+-]\d{2}:?\d{2}|Z)")
_OFFSET = r"\s*(?:[+-]\d{2}:?\d{2}|Z)$"

#: C1 control characters: what cp1252 text (€, curly quotes) turns into when read as Latin-1.
_C1 = re.compile("[\x80-\x9f]")

_INT64 = 2**63
_NUMBER_COLUMNS = ("quantity", "unit_price", "customer_id")
_NON_FINITE = frozenset({"inf", "infinity", "nan"})
#: Numbers with one separator (``6,45``, ``2.55``, ``1,234``) and with grouped thousands.
_ONE_SEPARATOR = re.compile(r"(\d*)([.,])(\d*)")
_LEAD_GROUP = re.compile(r"[1-9]\d{0,2}")
_GROUPED = (
    (re.compile(r"[1-9]\d{0,2}(?:,\d{3})+\.\d*"), "."),  # 1,234.56
    (re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+,\d*"), ","),  # 1.234,56
    (re.compile(r"[1-9]\d{0,2}(?:,\d{3}){2,}"), "."),  # 1,234,567
    (re.compile(r"[1-9]\d{0,2}(?:\.\d{3}){2,}"), ","),  # 1.234.567
    (re.compile(r"(?:\d+\.\d*|\.\d+)[eE][+-]?\d+"), "."),  # 2.5e3
)
_SEPARATOR_NAMES = {".": "decimal point", ",": "decimal comma"}

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


class IngestError(InputError):
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
            from the whole column, refused when it cannot tell); ``decimal`` and
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
    files = _files_of(src, storage_options)
    for file in files if files is not None else [src]:
        yield _read_file(file, read, storage_options, found)


def _read_file(src: str, read: ReadConfig, storage_options: dict[str, Any],
               found: dict[str, set[str]] | None) -> pd.DataFrame:
    """One file's lines in the canonical schema (see :func:`read_transactions`)."""
    fmt = detect_format(src)
    layout = (read.layout, read.column_map, found)
    date_format, decimal, thousands = read.date_format, read.decimal, read.thousands
    _check_separators(src, decimal, thousands)
    raw_bytes = _read_bytes(src, storage_options)
    if not raw_bytes.strip():
        raise IngestError(src, "the file is empty", hint="Check the export; it has no lines")
    if fmt == "csv":
        frame = _read_csv(src, raw_bytes, read.encoding)
        row_label = _csv_row_label
    elif fmt == "excel":
        sheets = _read_sheets(src, raw_bytes, read.sheet)
        lines = pd.concat(
            [_to_schema(frame, src, _sheet_row_label(name, len(sheets) > 1), date_format,
                        decimal, thousands, layout) for name, frame in sheets.items()],
            ignore_index=True)
        logger.info("read %d lines from %s (%s)", len(lines), src,
                    ", ".join(f"sheet {name!r}" for name in sheets))
        return lines
    else:
        frame = _read_with(src, "Parquet", lambda: pd.read_parquet(io.BytesIO(raw_bytes)))
        row_label = _plain_row_label
    lines = _to_schema(frame, src, row_label, date_format, decimal, thousands, layout)
    logger.info("read %d lines from %s", len(lines), src)
    return lines


def _files_of(src: str, storage_options: dict[str, Any]) -> list[str] | None:
    """The data files of a folder or a glob, sorted; None when ``src`` names one file."""
    protocol = fsspec.core.split_protocol(src)[0]
    is_glob = any(c in src for c in "*?[")
    if not is_glob and protocol in (None, "file", "local") and not Path(src.removeprefix("file://")).is_dir():
        return None  # a local file (or a missing one): no listing needed
    try:
        fs, root = fsspec.core.url_to_fs(src, **storage_options)
        if is_glob:
            found = sorted(fs.glob(root))
        elif fs.isdir(root):
            found = sorted(fs.find(root))
        else:
            return None
    except PermissionError as exc:
        raise IngestError(src, f"access denied ({exc})", hint="Check the credentials") from exc
    base = root if not is_glob else ""

    def is_data(name: str) -> bool:
        parts = name[len(base):].strip("/").split("/") if base else [name.rsplit("/", 1)[-1]]
        if any(p.startswith(("_", ".")) for p in parts):
            return False
        stem = name.lower()
        for suffix in _COMPRESSIONS:
            stem = stem.removesuffix(suffix)
        return Path(stem).suffix in _FORMATS

    files = [f for f in found if is_data(f) and not fs.isdir(f)]
    if not files and is_glob:
        raise IngestError(src, "no file matches the pattern", hint="Give files ending in .csv, "
                          ".xlsx or .parquet (optionally .gz for CSV)")
    if not files:
        raise IngestError(src, "is a folder, not a file, and holds no data file",
                          hint="Put files ending in .csv, .xlsx or .parquet in it (optionally "
                          ".gz for CSV), or give one file")
    if protocol in (None, "local"):
        return files
    return [fs.unstrip_protocol(f) for f in files]


def _read_bytes(src: str, storage_options: dict[str, Any]) -> bytes:
    try:
        with fsspec.open(src, "rb", compression="infer", **storage_options) as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise IngestError(src, "file not found", hint="Check the path or the bucket and key") from exc
    except PermissionError as exc:
        raise IngestError(src, f"access denied ({exc})", hint="Check the credentials") from exc
    except IsADirectoryError as exc:
        raise IngestError(src, "is a folder, not a file",
                          hint="Give a file, or the folder itself to read every file in it") from exc


def _read_with(src: str, kind: str, reader: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    try:
        return reader()
    except Exception as exc:  # the readers raise many types; all mean "not this format"
        raise IngestError(
            src,
            f"cannot be read as {kind}: {exc}",
            hint=f"Check that the file really is {kind} and not truncated",
        ) from exc


def _check_separators(src: str, decimal: str, thousands: str | None) -> None:
    if decimal not in ("auto", ".", ","):
        raise IngestError(src, "decimal must be '.', ',' or 'auto'", value=decimal)
    if thousands is None or thousands == "auto":
        return
    if len(thousands) != 1 or thousands.isdigit() or thousands in "+-eE" or thousands == decimal:
        raise IngestError(
            src,
            "thousands must be None, 'auto' or one character that is not a digit, a sign, "
            "'e' or the decimal separator",
            value=thousands,
        )


def _decode(src: str, raw: bytes, encoding: str) -> tuple[str, str]:
    if b"\x00" in raw[:65536]:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise IngestError(
            src,
            "the file holds NUL bytes, so it is not a text CSV in UTF-8 or Latin-1",
            row=f"line {line}",
            hint="Save it as CSV in UTF-8 or Latin-1 (it may be UTF-16 or a binary file)",
        )
    candidates = ["utf-8-sig", "cp1252", "latin-1"] if encoding == "auto" else [encoding]
    for candidate in candidates:
        try:
            return raw.decode(candidate), candidate
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
    text, used = _decode(src, raw, encoding)
    sep = _field_separator(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as exc:
        raise IngestError(src, f"malformed CSV: {exc}", hint="Check quoting and separators") from exc
    except pd.errors.EmptyDataError as exc:
        raise IngestError(src, "the file is empty", hint="Check the export") from exc
    if frame.empty:
        raise IngestError(src, "the file has a header but no lines", hint="Check the export")
    if _C1.search(text):
        _refuse_control_characters(src, frame, used, encoding)
    return frame


def _field_separator(text: str) -> str:
    """The field separator: the one of , ; tab | seen most in the header line (column names
    hold none of them). Shops with a decimal comma export with semicolons."""
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _refuse_control_characters(src: str, frame: pd.DataFrame, used: str, encoding: str) -> None:
    """Raise for the first cell (or header) holding a C1 control character."""
    used = used.removesuffix("-sig")
    if used == "latin-1" and encoding == "auto":
        problem = "the file is neither UTF-8 nor cp1252, and as Latin-1 it holds the control character {}"
    else:
        problem = f"read as {used} the file holds the control character {{}}, so it is probably not {used}"
    hint = (
        "Pass encoding= with the file's real encoding (encoding='cp1252' for Windows text "
        "with € or curly quotes; --encoding on the command line), or fix the bytes"
    )
    for name in frame.columns:
        if _C1.search(str(name)):
            char = _C1.search(str(name)).group()  # type: ignore[union-attr]
            raise IngestError(
                src,
                problem.format(f"U+{ord(char):04X}"),
                row="line 1 (the header)",
                value=str(name),
                hint=hint,
            )
    for name in frame.columns:
        hits = frame[name].str.contains(_C1.pattern, regex=True, na=False)
        if hits.any():
            i = _first_bad(hits)
            value = frame[name].iloc[i]
            char = _C1.search(value).group()  # type: ignore[union-attr]
            raise IngestError(
                src,
                problem.format(f"U+{ord(char):04X}"),
                row=_csv_row_label(i),
                column=str(name),
                value=value,
                hint=hint,
            )


def _csv_row_label(i: int) -> str:
    return f"row {i + 1:,} (line {i + 2:,} of the file)"


def _read_sheets(src: str, raw_bytes: bytes, sheet_name: str | None) -> dict[str, pd.DataFrame]:
    """The workbook's sheets to read, by name: the one asked for, or every sheet when they all
    carry the same header (empty sheets skipped); a workbook whose sheets differ is refused."""
    book = _read_with(src, "Excel", lambda: pd.ExcelFile(io.BytesIO(raw_bytes)))
    names = [str(name) for name in book.sheet_names]
    listed = ", ".join(repr(name) for name in names)
    if sheet_name is not None:
        if sheet_name not in names:
            raise IngestError(src, f"has no sheet {sheet_name!r}; its sheets: {listed}",
                              value=sheet_name, hint="Set the param 'sheet' (CLI --sheet) to "
                              "one of its sheets, or leave it empty to read them all")
        names = [sheet_name]
    sheets = {}
    for name in names:
        frame = _read_with(src, "Excel", lambda n=name: pd.read_excel(book, sheet_name=n))
        if not frame.columns.empty or sheet_name is not None:
            sheets[name] = frame
    if not sheets:
        raise IngestError(src, "every sheet of the workbook is empty",
                          hint="Check the export; it has no lines")
    headers = {name: [str(c) for c in frame.columns] for name, frame in sheets.items()}
    first = next(iter(headers.values()))
    differ = [name for name, header in headers.items() if header != first]
    if differ:
        raise IngestError(
            src, f"the workbook's sheets do not share one header (sheets: {listed}; "
            f"{', '.join(repr(n) for n in differ)} differ from {next(iter(headers))!r})",
            hint="Set the param 'sheet' (CLI --sheet) to the sheet that holds the transaction "
            "lines, or give the sheets one header")
    return sheets


def _sheet_row_label(name: str, named: bool) -> Callable[[int], str]:
    """Rows of a sheet as the user finds them in the workbook (the header is row 1)."""
    where = f"sheet {name!r} row" if named else "sheet row"

    def label(i: int) -> str:
        return f"row {i + 1:,} ({where} {i + 2:,})"
    return label


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
            suggested = suggest_preset([str(c) for c in frame.columns])
            raise IngestError(
                src,
                "unknown column",
                column=name,
                hint=(f"This looks like the preset {suggested!r}: set the param 'preset' (CLI "
                      f"--preset {suggested}). " if suggested else "")
                + "Rename it to one of InvoiceNo, StockCode, Description, Quantity, "
                "InvoiceDate, UnitPrice, CustomerID, Country (or the Online Retail II names "
                "Invoice, Price, Customer ID), or remove it; or name the export's columns with "
                f"the param 'columns' (CLI --columns customer=...,date=...) or a preset "
                f"({', '.join(PRESETS)})",
            )
    missing = [c for c in COLUMNS if c not in renames.values()]
    if missing:
        raise IngestError(
            src,
            f"missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns))}",
            hint="Export every column of the transaction table, or name the columns there are "
            "with the param 'columns' (CLI --columns customer=...,date=...,amount=...)",
        )
    return frame.drop(columns=drop).rename(columns=renames)


@dataclass
class _Mapped:
    """A frame mapped by a preset or a column map, and what the mapping left to compute."""

    frame: pd.DataFrame  # the schema's columns (absent ones empty), ``status`` if mapped
    names: dict[str | None, str]  # schema column -> the export's header, for messages
    absent: set[str]  # schema columns the export does not have
    amount: bool  # ``unit_price`` holds the line's amount (to divide by the quantity)
    text_keys: bool  # customers are keys to keep as text (e-mails, ids with leading zeros)


def _map_columns(frame: pd.DataFrame, src: str, layout: tuple[Preset, dict[str, str]]) -> _Mapped:
    """The export's columns by role: the column map's, else the preset's (see
    :mod:`insiders.presets`); order-level fields filled from the order's first line."""
    preset, given = layout
    headers = {normalise_name(c): c for c in frame.columns}
    found = [str(c) for c in frame.columns]
    roles: dict[str, Any] = {}
    for role in ROLES:
        if role in given:
            column = given[role] if given[role] in frame.columns else headers.get(
                normalise_name(given[role]))
            if column is None:
                raise IngestError(src, f"the column map names {given[role]!r} for {role!r}, "
                                  f"but the file has no such column; found {', '.join(found)}",
                                  hint="Fix the param 'columns' (CLI --columns)")
            roles[role] = column
        elif (column := next((headers[normalise_name(o)] for o in preset.columns.get(role, ())
                              if normalise_name(o) in headers), None)) is not None:
            roles[role] = column
    priced = "amount" in roles or ("unit_price" in roles and "quantity" in roles)
    missing = [r for r in ("customer", "date") if r not in roles] + (
        [] if priced else ["amount (or quantity and unit_price)"])
    if missing:
        suggested = suggest_preset(found)
        raise IngestError(
            src, f"no column for {', '.join(missing)} under the preset {preset.name!r}; found "
            f"{', '.join(found)}",
            hint=(f"This looks like the preset {suggested!r} (CLI --preset {suggested}); "
                  if suggested and suggested != preset.name else "")
            + "name the columns with the param 'columns' (CLI --columns customer=COLUMN,"
            f"date=COLUMN,amount=COLUMN) or pick a preset: {', '.join(PRESETS)}")
    used = set(roles.values())
    ignored = [c for c in found if c not in {str(u) for u in used}]
    if preset.strict and ignored and not given:
        raise IngestError(src, "unknown column", column=ignored[0],
                          hint=f"The preset {preset.name!r} reads exactly its columns")
    if ignored:
        logger.info("%s: columns not used: %s", src, ", ".join(ignored))
    invoice = roles.get("invoice")
    # an amount is the line's price unless the unit price and the quantity say it already
    amount = "amount" in roles and not ("unit_price" in roles and "quantity" in roles)
    out = pd.DataFrame(index=frame.index)
    for role, column in roles.items():
        if role == "amount" and not amount:
            continue
        values = frame[column]
        if invoice is not None and role in preset.order_fields and role != "invoice":
            # later lines of an order leave the order's fields empty: take the first line's
            empty = values.isna() | (values.astype("str").str.strip() == "")
            values = values.where(~empty, values.where(~empty).groupby(frame[invoice]).transform(
                "first"))
        out["unit_price" if role == "amount" else ROLES[role] or role] = values
    names = {("unit_price" if r == "amount" else ROLES[r] or r): str(c) for r, c in roles.items()}
    absent = {c for c in COLUMNS if c not in out.columns}
    for column in absent:
        out[column] = None
    keys = out["customer_id"]
    text_keys = not pd.api.types.is_numeric_dtype(keys) and bool(
        (~keys.dropna().astype("str").str.strip().str.fullmatch(PLAIN_ID.pattern)).any())
    return _Mapped(out.reset_index(drop=True), names, absent, amount, text_keys)


def _first_bad(mask: pd.Series | np.ndarray) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def _to_schema(
    frame: pd.DataFrame,
    src: str,
    row_label: Callable[[int], str],
    date_format: str | None,
    decimal: str,
    thousands: str | None,
    layout: tuple[Preset, dict[str, str], dict[str, set[str]] | None] | None = None,
) -> pd.DataFrame:
    """One chunk of a source in the canonical schema (a preset's or a column map's lines also
    keep the export's customer keys), every value checked; bad input raises
    :class:`IngestError` naming the row, the column and the value."""
    keyed = layout is not None and not (layout[0].name == "online_retail" and not layout[1])
    mapped = _mapped(frame, src, layout if keyed else None)
    frame, original_names, absent = mapped.frame, mapped.names, mapped.absent

    def fail(column: str, i: int, problem: str, hint: str) -> IngestError:
        value = frame[column].iloc[i]
        return IngestError(
            src,
            problem,
            row=row_label(i),
            column=original_names[column],
            value=value.item() if isinstance(value, np.generic) else value,
            hint=hint,
        )

    for column in COLUMNS:
        values = frame[column]
        if column not in NULLABLE and column not in absent and values.isna().any():
            raise IngestError(src, "empty value in a required column",
                              row=row_label(_first_bad(values.isna())),
                              column=original_names[column], hint="Fill it in or remove the line")
    lines = _parsed(mapped, date_format, decimal, thousands, fail, row_label)
    # the lines of orders whose status is not a purchase (dropped last: rows named as read)
    excluded = (_not_purchases(frame["status"], layout[0], src) if "status" in frame
                else np.zeros(len(lines), dtype=bool))
    _fill_absent(lines, mapped, excluded, fail)
    if not keyed:  # the UCI files' keys are their ids
        return lines[list(COLUMNS)]
    # a preset's or a column map's lines keep the export's customer keys
    keys = frame["customer_id"]
    lines[CUSTOMER_KEY] = (keys.astype("Int64").astype("str") if pd.api.types.is_numeric_dtype(keys)
                           else keys.astype("str").str.strip()).where(keys.notna(), None)
    return lines.loc[~excluded, [*COLUMNS, CUSTOMER_KEY]].reset_index(drop=True)


def _mapped(frame: pd.DataFrame, src: str,
            layout: tuple[Preset, dict[str, str], dict[str, set[str]] | None] | None) -> _Mapped:
    """The chunk's columns under the schema's names: by their UCI names (``layout`` None), else
    by the preset and the column map, noting in ``layout[2]`` the columns absent and the
    currencies seen."""
    if layout is None:
        original_names = {ALIASES.get(normalise_name(c)): str(c) for c in frame.columns}
        return _Mapped(_rename_columns(frame, src).reset_index(drop=True), original_names,
                       set(), False, False)
    mapped = _map_columns(frame, src, layout[:2])
    if layout[2] is not None:
        layout[2].setdefault("absent", set()).update(mapped.absent)
        if "currency" in mapped.frame:
            codes = mapped.frame["currency"].dropna().astype("str").str.strip().str.upper()
            layout[2].setdefault("currencies", set()).update(set(codes) - {""})
    return mapped


def _parsed(mapped: _Mapped, date_format: str | None, decimal: str, thousands: str | None,
            fail, row_label: Callable[[int], str]) -> pd.DataFrame:
    """Every present column parsed into its type (dates, numbers in the file's separators,
    stripped texts, text keys as surrogate ids); absent columns as they are."""
    frame, absent = mapped.frame, mapped.absent
    numbers = [c for c in _NUMBER_COLUMNS if c not in absent
               and not (c == "customer_id" and mapped.text_keys)]
    texts = {column: _NumberTexts(frame[column]) for column in numbers
             if not pd.api.types.is_numeric_dtype(frame[column])}
    separators = _separators(texts, decimal, thousands, fail, row_label, mapped.names)
    out: dict[str, pd.Series] = {}
    for column in COLUMNS:
        values = frame[column]
        if column in absent:
            out[column] = values
        elif column == "customer_id" and mapped.text_keys:
            out[column] = customer_surrogates(values)
        elif column == "invoice_date":
            out[column] = _parse_dates(values, column, date_format, fail)
        elif column in texts:
            out[column] = _parse_text_numbers(texts[column], column, separators, decimal == "auto", fail)
        elif column in _NUMBER_COLUMNS:
            out[column] = _parse_numbers(values, column, fail)
        else:
            text = values.astype("str").str.strip()
            out[column] = text.where(values.notna(), None) if column in NULLABLE else text
    return pd.DataFrame(out)


def _fill_absent(lines: pd.DataFrame, mapped: _Mapped, excluded: np.ndarray, fail) -> None:
    """In place: the unit price from an amount, and the columns the export lacks (quantity 1
    or the amount's sign, one invoice per customer and timestamp, no product or country)."""
    absent = mapped.absent
    if mapped.amount:  # a line's amount: the unit price is the amount per item
        amount = lines["unit_price"].astype("float64")
        if "quantity" in absent:
            lines["quantity"] = np.where(amount < 0, -1, 1).astype("int64")
        elif (zero := (lines["quantity"] == 0).to_numpy() & ~excluded).any():
            raise fail("quantity", _first_bad(zero), "a quantity of 0 beside an amount",
                       "Fix the value or remove the line")
        lines["unit_price"] = (amount / lines["quantity"].astype("float64")).abs()
    elif "quantity" in absent:
        lines["quantity"] = np.int64(1)
    if "invoice_no" in absent:  # one order per customer and timestamp
        lines["invoice_no"] = (lines["customer_id"].astype("str") + " "
                               + lines["invoice_date"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    for column in ("stock_code", "country", "description"):
        if column in absent:
            lines[column] = pd.Series(None, index=lines.index, dtype="object")
    lines["quantity"] = lines["quantity"].astype("int64")
    lines["description"] = lines["description"].astype("str")


def _not_purchases(status: pd.Series, preset: Preset, src: str) -> np.ndarray:
    """Which lines belong to orders whose status is not a purchase under the preset's rule."""
    excluded = status.astype("str").map(normalise_name).isin(
        {normalise_name(s) for s in preset.excluded_statuses}).to_numpy()
    if excluded.any():
        logger.info("%s: %d lines of orders whose status is %s are not purchases (preset %s)",
                    src, int(excluded.sum()), " or ".join(preset.excluded_statuses), preset.name)
    return excluded


def _parse_numbers(values: pd.Series, column: str, fail: Callable[..., IngestError]) -> pd.Series:
    """Check a numeric (Excel or Parquet) column: finite, and whole and in int64 if it must be."""
    if column == "unit_price":
        numbers = values.astype("float64")
        infinite = np.isinf(numbers.to_numpy())
        if infinite.any():
            raise fail(column, _first_bad(infinite), "not a finite number", "Fix the value")
        return numbers
    if pd.api.types.is_integer_dtype(values):
        too_big = values.astype("float64").abs() >= _INT64
        if too_big.any():  # only unsigned 64-bit columns can get here
            raise fail(column, _first_bad(too_big), "outside the whole-number (int64) range", "Fix the value")
        return values.astype("Int64" if column == "customer_id" else "int64")
    numbers = values.astype("float64")
    out_of_range = ~(numbers.abs() < _INT64) & numbers.notna()
    if out_of_range.any():
        raise fail(
            column, _first_bad(out_of_range), "outside the whole-number (int64) range", "Fix the value"
        )
    fractional = numbers.notna() & (numbers.fillna(0) % 1 != 0)
    if fractional.any():
        raise fail(column, _first_bad(fractional), "not a whole number", "Fix the value")
    if column == "customer_id":
        return numbers.astype("Int64")
    return numbers.astype("int64")


class _NumberTexts:
    """A text column of numbers as its distinct stripped values (each read once)."""

    def __init__(self, values: pd.Series) -> None:
        text = values.astype("str").str.strip().where(values.notna(), None)
        self.codes, uniques = pd.factorize(text)
        self.uniques: list[str] = [str(u) for u in uniques]
        kinds, first = np.unique(self.codes, return_index=True)
        self.first_rows: np.ndarray = first[kinds >= 0]  # the first row of each distinct value

    def rows_of(self, bad: list[int]) -> int:
        """The first row holding any of the distinct values ``bad``."""
        return int(self.first_rows[bad].min())


def _evidence(token: str) -> tuple[str, str] | None:
    """What one number's text says about the separators.

    ``("decimal", sep)`` when ``sep`` can only be the decimal separator (``6,45``,
    ``1.234,5``, ``1,234,567`` says ``.``), ``("ambiguous", sep)`` for ``1,234`` or
    ``1.234`` (a decimal or a thousands separator), None when it says nothing.
    """
    body = token.lstrip("+-")
    one = _ONE_SEPARATOR.fullmatch(body)
    if one and (one[1] or one[3]):
        if _LEAD_GROUP.fullmatch(one[1]) and len(one[3]) == 3:
            return "ambiguous", one[2]
        return "decimal", one[2]
    for pattern, decimal in _GROUPED:
        if pattern.fullmatch(body):
            return "decimal", decimal
    return None


def _separators(
    texts: dict[str, _NumberTexts],
    decimal: str,
    thousands: str | None,
    fail: Callable[..., IngestError],
    row_label: Callable[[int], str],
    names: dict[str | None, str],
) -> tuple[str, str | None]:
    """The file's (decimal, thousands) separators: as given, or told from every number column."""
    if decimal == "auto" and thousands in (".", ","):
        decimal = "," if thousands == "." else "."
    if decimal == "auto":
        first: dict[tuple[str, str], tuple[int, str]] = {}  # evidence -> (row, column)
        for column, text in texts.items():
            for k, token in enumerate(text.uniques):
                seen = _evidence(token)
                row = int(text.first_rows[k])
                if seen and (seen not in first or row < first[seen][0]):
                    first[seen] = (row, column)
        point, comma = first.get(("decimal", ".")), first.get(("decimal", ","))
        if point and comma:
            (row_a, col_a), (row_b, col_b) = sorted([point, comma])
            this, other = ("comma", "point") if (row_b, col_b) == comma else ("point", "comma")
            earlier = texts[col_a].uniques[texts[col_a].codes[row_a]]
            raise fail(
                col_b,
                row_b,
                f"the file writes numbers both with a decimal {this}, like this one, and with a "
                f"decimal {other}, like {earlier!r} in {row_label(row_a)}, column '{names[col_a]}'",
                "Make the file use one convention, or pass decimal='.' or decimal=',' "
                "to say which one it uses (numbers written the other way are then refused)",
            )
        if point or comma:
            decimal = "." if point else ","
        else:
            ambiguous = [first[k] for k in (("ambiguous", "."), ("ambiguous", ",")) if k in first]
            if ambiguous:
                row, column = min(ambiguous)
                token = texts[column].uniques[texts[column].codes[row]]
                sep = token.lstrip("+-")[-4]
                as_decimal = token.replace(sep, ".")
                as_thousands = token.replace(sep, "")
                other = "," if sep == "." else "."
                raise fail(
                    column,
                    row,
                    f"the number could be {as_decimal} or {as_thousands}, and no number in the "
                    "file tells whether its separator is a decimal or a thousands separator",
                    f"Pass decimal={sep!r} if it means {as_decimal}, or decimal={other!r} "
                    f"if it means {as_thousands}",
                )
            decimal = "."
    if thousands == "auto":
        thousands = "," if decimal == "." else "."
    return decimal, thousands


def _number_pattern(decimal: str, thousands: str | None) -> re.Pattern[str]:
    d = re.escape(decimal)
    integer = rf"(?:\d+|[1-9]\d{{0,2}}(?:{re.escape(thousands)}\d{{3}})+)" if thousands else r"\d+"
    return re.compile(rf"[+-]?(?:{integer}(?:{d}\d*)?|{d}\d+)(?:[eE][+-]?\d+)?")


def _read_number(
    token: str, pattern: re.Pattern[str], decimal: str, thousands: str | None, whole: bool
) -> tuple[float | int | None, str | None]:
    """(value, None) or (None, problem) for one number's text."""
    if token.lstrip("+-").lower() in _NON_FINITE:
        return None, "not a finite number"
    if not pattern.fullmatch(token):
        return None, "not a number"
    plain = token.replace(thousands, "") if thousands else token
    exact = Decimal(plain.replace(decimal, "."))
    if whole:
        if not -_INT64 <= exact < _INT64:
            return None, "outside the whole-number (int64) range"
        if exact != exact.to_integral_value():
            return None, "not a whole number"
        return int(exact), None
    number = float(exact)
    if not math.isfinite(number):
        return None, "outside the range of a number (float64)"
    return number, None


def _parse_text_numbers(
    text: _NumberTexts,
    column: str,
    separators: tuple[str, str | None],
    detected: bool,
    fail: Callable[..., IngestError],
) -> pd.Series:
    decimal, thousands = separators
    pattern = _number_pattern(decimal, thousands)
    whole = column != "unit_price"
    values: list[float | int] = []
    problems: dict[int, str] = {}
    for k, token in enumerate(text.uniques):
        if whole and detected and _evidence(token) == ("ambiguous", decimal):
            problems[k] = "ambiguous"  # 1,000 in a whole-number column of a decimal-comma file
            values.append(0)
            continue
        value, problem = _read_number(token, pattern, decimal, thousands, whole)
        if problem:
            problems[k] = problem
        values.append(0 if value is None else value)
    if problems:
        i = text.rows_of(list(problems))
        k = int(text.codes[i])
        token, problem = text.uniques[k], problems[k]
        hint = "Fix the value or remove the line"
        if problem == "ambiguous":
            sep = _SEPARATOR_NAMES[decimal]
            problem = (
                f"a whole number written like this could be {token.replace(decimal, '')}, but the "
                f"file's {sep} reads it as {token.replace(decimal, '.')}"
            )
            hint = f"Write it without the separator, or pass decimal={decimal!r} to read it as a decimal"
        elif problem == "not a number" and re.search(r"\d", token):
            hint += (
                f" (numbers are read with a {_SEPARATOR_NAMES[decimal]}"
                f"{f' and {thousands!r} between thousands' if thousands else ''}; pass decimal= and "
                "thousands= if the file writes them another way, e.g. decimal=',', thousands=' ')"
            )
        raise fail(column, i, problem, hint)
    missing = text.codes < 0
    if whole:
        table = np.array([*values, 0], dtype="int64")
        numbers = pd.Series(pd.arrays.IntegerArray(table[text.codes], missing))
        return numbers.astype("Int64" if column == "customer_id" else "int64")
    return pd.Series(np.array([*values, np.nan], dtype="float64")[text.codes])


def _day_month_format(text: pd.Series, column: str, fail: Callable[..., IngestError]) -> str:
    """The strptime format of numeric dates, with the day and month told from every date."""
    shape = _DAY_MONTH.fullmatch(text.iloc[0])
    assert shape is not None
    sep, year, clock, seconds = shape[2], shape[4], shape[5], shape[6]
    uniques = pd.Series(text.unique())
    parts = uniques.str.extract(_DAY_MONTH.pattern)
    first, second = pd.to_numeric(parts[0]), pd.to_numeric(parts[2])
    tail = f"{sep}{'%Y' if len(year) == 4 else '%y'}" + (f"{clock}%H:%M" if clock else "")
    tail += ":%S" if seconds else ""
    day_first, month_first = f"%d{sep}%m{tail}", f"%m{sep}%d{tail}"

    def row_of(mask: pd.Series) -> int:
        return _first_bad(text.isin(set(uniques[mask])).to_numpy())

    days_first, months_first = (first > 12).fillna(False), (second > 12).fillna(False)
    if days_first.any() and months_first.any():
        (_, a), (row, b) = sorted([(row_of(days_first), "day"), (row_of(months_first), "month")])
        other = text.iloc[row_of(days_first if a == "day" else months_first)]
        raise fail(
            column,
            row,
            f"the file has dates with the day first and with the month first: this one has "
            f"the {b} first, but {other!r} has the {a} first",
            f"Fix the dates so they all have the same order, or pass date_format={day_first!r} or "
            f"{month_first!r} (--date-format) to say which (dates in the other order are then refused)",
        )
    if days_first.any():
        return day_first
    differ = ((first != second) & first.notna() & second.notna()).fillna(False)
    if months_first.any() or not differ.any():
        return month_first  # (when every day equals its month, both read the same)
    row = row_of(differ)
    raise fail(
        column,
        row,
        "the day and the month cannot be told apart: no date in the file has a number above 12",
        f"Pass date_format={day_first!r} (--date-format) if {text.iloc[row]!r} has the day first, "
        f"or date_format={month_first!r} if it has the month first",
    )


def _parse_dates(
    values: pd.Series, column: str, date_format: str | None, fail: Callable[..., IngestError]
) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = values
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
        return dates.astype("datetime64[ns]")
    text = values.astype("str").str.strip()
    first = text.iloc[0]
    if not date_format and _WITH_OFFSET.fullmatch(first):
        # Shopify's "2011-12-09 12:50:00 +0000": the shop's own wall-clock time is kept (a
        # purchase's day is the shop's day), the offset dropped
        text = text.str.replace(_OFFSET, "", regex=True)
        first = text.iloc[0]
    if date_format:
        formats = [date_format]
    elif _DAY_MONTH.fullmatch(first):
        formats = [_day_month_format(text, column, fail)]
    else:
        formats = list(DATE_FORMATS)
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
                "Fix the date, or pass date_format= (--date-format) if the file mixes formats",
            )
        return parsed.astype("datetime64[ns]")
    raise fail(
        column,
        0,
        "not a date in any known format",
        "Pass date_format= (--date-format; strptime codes, e.g. '%d-%b-%y' for 29-Nov-16)",
    )
