"""Finding a source's files and reading their bytes: CSV text decoded and split into
columns, a workbook's sheets, Parquet; and how a row is named in each."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd

from insiders.ingest.errors import IngestError, first_bad

#: C1 control characters: what cp1252 text (€, curly quotes) turns into when read as Latin-1.
_C1 = re.compile("[\x80-\x9f]")


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


def files_of(src: str, storage_options: dict[str, Any]) -> list[str] | None:
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


def read_bytes(src: str, storage_options: dict[str, Any]) -> bytes:
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


def read_with(src: str, kind: str, reader: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    try:
        return reader()
    except Exception as exc:  # the readers raise many types; all mean "not this format"
        raise IngestError(
            src,
            f"cannot be read as {kind}: {exc}",
            hint=f"Check that the file really is {kind} and not truncated",
        ) from exc


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


def read_csv(src: str, raw: bytes, encoding: str) -> pd.DataFrame:
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
            i = first_bad(hits)
            value = frame[name].iloc[i]
            char = _C1.search(value).group()  # type: ignore[union-attr]
            raise IngestError(
                src,
                problem.format(f"U+{ord(char):04X}"),
                row=csv_row_label(i),
                column=str(name),
                value=value,
                hint=hint,
            )


def csv_row_label(i: int) -> str:
    return f"row {i + 1:,} (line {i + 2:,} of the file)"


def read_sheets(src: str, raw_bytes: bytes, sheet_name: str | None) -> dict[str, pd.DataFrame]:
    """The workbook's sheets to read, by name: the one asked for, or every sheet when they all
    carry the same header (empty sheets skipped); a workbook whose sheets differ is refused."""
    book = read_with(src, "Excel", lambda: pd.ExcelFile(io.BytesIO(raw_bytes)))
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
        frame = read_with(src, "Excel", lambda n=name: pd.read_excel(book, sheet_name=n))
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


def sheet_row_label(name: str, named: bool) -> Callable[[int], str]:
    """Rows of a sheet as the user finds them in the workbook (the header is row 1)."""
    where = f"sheet {name!r} row" if named else "sheet row"

    def label(i: int) -> str:
        return f"row {i + 1:,} ({where} {i + 2:,})"
    return label


def plain_row_label(i: int) -> str:
    return f"row {i + 1:,}"


def read_parts(src: str, encoding: str, sheet: str | None,
               storage_options: dict[str, Any]) -> list[tuple[str | None, pd.DataFrame,
                                                              Callable[[int], str]]]:
    """One file's rows as read, before any column is mapped: one part per workbook sheet
    (its name), else one part (name None), each with the row labels that name its rows."""
    kind = detect_format(src)
    raw = read_bytes(src, storage_options)
    if not raw.strip():
        raise IngestError(src, "the file is empty", hint="Check the export; it has no lines")
    if kind == "csv":
        return [(None, read_csv(src, raw, encoding), csv_row_label)]
    if kind == "excel":
        sheets = read_sheets(src, raw, sheet)
        return [(name, frame, sheet_row_label(name, len(sheets) > 1))
                for name, frame in sheets.items()]
    return [(None, read_with(src, "Parquet", lambda: pd.read_parquet(io.BytesIO(raw))),
             plain_row_label)]
