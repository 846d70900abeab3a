"""Numbers: the file's decimal and thousands separators told from every number column, and
each number read and checked (finite, whole where it must be, within int64)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pandas as pd

from insiders.ingest.errors import IngestError, first_bad

_INT64 = 2**63
NUMBER_COLUMNS = ("quantity", "unit_price", "customer_id")
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


def check_separators(src: str, decimal: str, thousands: str | None) -> None:
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


def parse_numbers(values: pd.Series, column: str, fail: Callable[..., IngestError]) -> pd.Series:
    """Check a numeric (Excel or Parquet) column: finite, and whole and in int64 if it must be."""
    if column == "unit_price":
        numbers = values.astype("float64")
        infinite = np.isinf(numbers.to_numpy())
        if infinite.any():
            raise fail(column, first_bad(infinite), "not a finite number", "Fix the value")
        return numbers
    if pd.api.types.is_integer_dtype(values):
        too_big = values.astype("float64").abs() >= _INT64
        if too_big.any():  # only unsigned 64-bit columns can get here
            raise fail(column, first_bad(too_big), "outside the whole-number (int64) range", "Fix the value")
        return values.astype("Int64" if column == "customer_id" else "int64")
    numbers = values.astype("float64")
    out_of_range = ~(numbers.abs() < _INT64) & numbers.notna()
    if out_of_range.any():
        raise fail(
            column, first_bad(out_of_range), "outside the whole-number (int64) range", "Fix the value"
        )
    fractional = numbers.notna() & (numbers.fillna(0) % 1 != 0)
    if fractional.any():
        raise fail(column, first_bad(fractional), "not a whole number", "Fix the value")
    if column == "customer_id":
        return numbers.astype("Int64")
    return numbers.astype("int64")


class NumberTexts:
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


def file_separators(
    texts: dict[str, NumberTexts],
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


def parse_text_numbers(
    text: NumberTexts,
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
