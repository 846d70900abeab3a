"""Dates: the format of a date column told from its values (the day and the month told
apart from the whole column), or as given; every date checked."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd

from insiders.ingest.errors import IngestError, first_bad

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
        return first_bad(text.isin(set(uniques[mask])).to_numpy())

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


def parse_dates(
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
                first_bad(bad),
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
