"""The matrix of bad inputs and faults a new user meets, made from the bundled data.

Each case writes its input beside a small sample of the bundled lines and says what a serious
product must do with it: refuse it clearly (exit 2, ``error: ...`` naming what was found and
what to do, no traceback) or read it correctly (the same features as the clean data, the
bad lines set aside). ``tests/unit/test_bad_inputs.py`` runs every case in-process;
``bench/bench_bad_inputs.py`` runs them as a user would (a subprocess each) and records the
counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tests.conftest import REAL_DATA

#: How the bundled columns are written in the CSV cases.
DATE = "%Y-%m-%d %H:%M"


def sample() -> pd.DataFrame:
    """Every tenth line of 1-23 December 2010 (about 4,000 lines, days above 12 included)."""
    raw = pd.read_parquet(REAL_DATA)
    return raw[raw["InvoiceDate"] < "2010-12-24"].iloc[::10].reset_index(drop=True)


def write_csv(frame: pd.DataFrame, path: Path, *, date_format: str = DATE, **options) -> Path:
    out = frame.copy()
    if pd.api.types.is_datetime64_any_dtype(out["InvoiceDate"]):
        out["InvoiceDate"] = out["InvoiceDate"].dt.strftime(date_format)
    out["CustomerID"] = out["CustomerID"].astype("Int64")
    out.to_csv(path, index=False, **options)
    return path


@dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes:
        name: what it is.
        make: writes the input into a folder from the sample; returns the CLI's argv (after
            ``insiders``) with ``{out}`` where the output folder goes.
        expect: ``"refused"`` or ``"read"``.
        message: fragments a refusal must hold (what was found, what to do).
        truth: for ``"read"``: the clean lines the features must equal (default: the sample).
        check: for ``"read"`` of another kind: a test of the output folder.
        env: environment the command runs with.
    """

    name: str
    make: Callable[[pd.DataFrame, Path], list[str]]
    expect: str
    message: tuple[str, ...] = ()
    truth: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    check: Callable[[Path], bool] | None = None
    env: dict[str, str] = field(default_factory=dict)


def _features(path: Path, *extra: str) -> list[str]:
    return ["-q", "features", str(path), "-o", "{out}/features.parquet", *extra]


def _csv_case(edit: Callable[[pd.DataFrame], pd.DataFrame], *extra: str, **options):
    def make(lines: pd.DataFrame, folder: Path) -> list[str]:
        return _features(write_csv(edit(lines.copy()), folder / "lines.csv", **options), *extra)
    return make


def _parquet_case(edit: Callable[[pd.DataFrame], pd.DataFrame], *extra: str):
    def make(lines: pd.DataFrame, folder: Path) -> list[str]:
        path = folder / "lines.parquet"
        edit(lines.copy()).to_parquet(path)
        return _features(path, *extra)
    return make


def _set(row: int, column: str, value):
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame
    return edit


def _set_date(row: int, value: str):
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, "InvoiceDate"] = pd.Timestamp(value)
        return frame
    return edit


def _drop(row: int):
    return lambda frame: frame.drop(index=row).reset_index(drop=True)


def _text_column(column: str, render: Callable[[object], str]):
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].map(render)
        return frame
    return edit


def _prices_with_grouping(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[0, "UnitPrice"] = 1234.5
    frame["UnitPrice"] = frame["UnitPrice"].map(lambda v: f"{v:,.2f}")
    return frame


def _with_big_price(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[0, "UnitPrice"] = 1234.5
    return frame


def _early_days_only(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["InvoiceDate"].dt.day <= 12].reset_index(drop=True)


def _twice(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame, frame], ignore_index=True)


def _some_repeated(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame, frame.iloc[100:110]], ignore_index=True)


def _flipped(frame: pd.DataFrame) -> pd.DataFrame:
    frame["Quantity"] = -frame["Quantity"]
    return frame


def _many_absurd_prices(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[frame.index[::20], "UnitPrice"] = 1e9
    return frame


def _no_customers(frame: pd.DataFrame) -> pd.DataFrame:
    frame["CustomerID"] = float("nan")
    return frame


def _cp1252(lines: pd.DataFrame, folder: Path) -> list[str]:
    frame = lines.copy()
    frame.loc[0, "Description"] = "MUG “JOY” €2"
    path = write_csv(frame, folder / "lines.csv", encoding="cp1252")
    return ["-q", "ingest", str(path), "-o", "{out}/lines.parquet"]


def _euro_read(out: Path) -> bool:
    return pd.read_parquet(out / "lines.parquet")["description"].iloc[0] == "MUG “JOY” €2"


def _undefined_cp1252_bytes(lines: pd.DataFrame, folder: Path) -> list[str]:
    path = write_csv(lines, folder / "lines.csv")
    data = path.read_bytes().replace(b"WHITE HANGING", b"WHITE\x81HANGING", 1)
    path.write_bytes(data)
    return _features(path)


def _folder(lines: pd.DataFrame, folder: Path) -> list[str]:
    (folder / "exports").mkdir()
    return _features(folder / "exports")


def _under_a_file(lines: pd.DataFrame, folder: Path) -> list[str]:
    blocker = folder / "blocker"
    blocker.write_text("")
    path = write_csv(lines, folder / "lines.csv")
    return ["-q", "features", str(path), "-o", str(blocker / "features.parquet")]


def _missing_column(lines: pd.DataFrame, folder: Path) -> list[str]:
    return _features(write_csv(lines.drop(columns="UnitPrice"), folder / "lines.csv"))


def _header_only(lines: pd.DataFrame, folder: Path) -> list[str]:
    return _features(write_csv(lines.iloc[:0], folder / "lines.csv"))


def _unknown_type(lines: pd.DataFrame, folder: Path) -> list[str]:
    path = folder / "lines.json"
    lines.to_json(path, date_format="iso")
    return _features(path)


def _warehouse(dsn: str):
    return lambda lines, folder: ["-q", "warehouse", "summary", "--dsn", dsn]


def _s3(lines: pd.DataFrame, folder: Path) -> list[str]:
    return ["-q", "ingest", "s3://insiders-missing/lines.csv", "-o", "{out}/lines.parquet"]


CASES: tuple[Case, ...] = (
    Case("decimal comma prices (6,45), comma-separated", _csv_case(
        _text_column("UnitPrice", lambda v: f"{v:.2f}".replace(".", ","))), "read"),
    Case("decimal comma prices (6,45), semicolon-separated", _csv_case(
        _text_column("UnitPrice", lambda v: f"{v:.2f}".replace(".", ",")), sep=";"), "read"),
    Case("thousands separators (1,234.50)", _csv_case(_prices_with_grouping), "read",
         truth=_with_big_price),
    Case("day-first dates (01/12/2010 08:26)", _csv_case(lambda f: f, date_format="%d/%m/%Y %H:%M"),
         "read"),
    Case("day or month first, undecidable", _csv_case(_early_days_only, date_format="%d/%m/%Y %H:%M"),
         "refused", ("InvoiceDate", "date-format")),
    Case("quantity 1e19 (beyond int64)", _csv_case(_set(5, "Quantity", "1e19")), "refused",
         ("Quantity", "1e19")),
    Case("quantity 1e12 on one line", _csv_case(_set(5, "Quantity", 10**12)), "read", truth=_drop(5)),
    Case("unit price inf", _csv_case(_set(7, "UnitPrice", "inf")), "refused", ("UnitPrice", "inf")),
    Case("unit price 1e9 on one line", _parquet_case(_set(7, "UnitPrice", 1e9)), "read",
         truth=_drop(7)),
    Case("non-numeric quantity", _csv_case(_set(9, "Quantity", "twelve")), "refused",
         ("Quantity", "twelve")),
    Case("the file appended twice", _csv_case(_twice), "refused", ("duplicate_share", "Export it again")),
    Case("ten lines repeated", _csv_case(_some_repeated), "read"),
    Case("one purchase dated 2099", _csv_case(_set_date(11, "2099-01-01 10:00")), "read",
         truth=_drop(11)),
    Case("one purchase dated 1970", _csv_case(_set_date(11, "1970-01-01 10:00")), "read",
         truth=_drop(11)),
    Case("quantities with flipped signs", _csv_case(_flipped), "refused", ("return_share",)),
    Case("one line in twenty priced 1e9", _csv_case(_many_absurd_prices), "refused",
         ("quarantine_share", "unit_price_out_of_range")),
    Case("text with U+FFFD (did not decode)", _parquet_case(_set(13, "Description", "BAD \ufffd")),
         "read", truth=_drop(13)),
    Case("cp1252 text (€, curly quotes)", _cp1252, "read", check=_euro_read),
    Case("bytes undefined in cp1252", _undefined_cp1252_bytes, "refused", ("encoding",)),
    Case("no customer ids at all", _csv_case(_no_customers), "refused", ("no purchase line",)),
    Case("reference date before the data", _csv_case(lambda f: f, "--reference-date", "2009-01-01"),
         "refused", ("before the data's first purchase", "2010-12-")),
    Case("reference date long after the data", _csv_case(lambda f: f, "--reference-date",
                                                        "2026-12-02"),
         "refused", ("days before the reference date", "max_staleness_days")),
    Case("an empty folder as input", _folder, "refused", ("exports",)),
    Case("output under a regular file", _under_a_file, "refused", ("cannot read or write",)),
    Case("a column missing", _missing_column, "refused", ("missing column", "unit_price")),
    Case("header only", _header_only, "refused", ("no lines", )),
    Case("unknown file type (.json)", _unknown_type, "refused", (".json",)),
    Case("warehouse unreachable", _warehouse("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"),
         "refused", ("warehouse cannot be reached", "--dsn")),
    Case("malformed warehouse DSN", _warehouse("postgresql://:::not a dsn"), "refused",
         ("--dsn",)),
    Case("object store unreachable", _s3, "refused", ("object store cannot be reached",),
         env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x",
              "AWS_SECRET_ACCESS_KEY": "y", "AWS_MAX_ATTEMPTS": "1"}),
)

OUTCOMES = ("refused clearly", "refused vaguely", "read correctly", "refused wrongly",
            "silently accepted", "traceback")


def classify(case: Case, code: int, err: str, out_dir: Path, truth_features: Path | None) -> str:
    """One of :data:`OUTCOMES` for a case's exit code, stderr and output folder."""
    if "Traceback" in err or code not in (0, 2):
        return "traceback"
    if code == 2:
        if case.expect != "refused":
            return "refused wrongly"
        if not err.startswith("error: "):
            return "refused vaguely"
        lowered = err.lower()
        return ("refused clearly" if all(m.lower() in lowered for m in case.message)
                else "refused vaguely")
    if case.expect == "refused":
        return "silently accepted"
    if case.check is not None:
        return "read correctly" if case.check(out_dir) else "silently accepted"
    got = pd.read_parquet(out_dir / "features.parquet")
    want = pd.read_parquet(truth_features)
    try:
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
    except AssertionError:
        return "silently accepted"
    return "read correctly"


def truth_lines(case: Case, lines: pd.DataFrame) -> pd.DataFrame:
    """The clean lines a read case must give the features of."""
    return (case.truth or (lambda f: f))(lines.copy())
