"""Dates: the format of a date column told from its values (the day and the month told
apart from the whole column; dates written as digits read in the one form that reads them
all), or as given; every date checked."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from insiders.ingest.errors import IngestError, first_bad

#: Date formats tried, in order, on text dates; the first that reads the first date wins.
#: Numeric day/month dates (``12/1/2010 8:26``, ``01.12.2010``) are not here: which number
#: is the day is told from the whole column (see :func:`_day_month_format`); nor are dates
#: written as digits only (see :data:`COMPACT_FORMATS` and :data:`EPOCHS`).
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

#: Dates written as digits only, by their number of digits: compact ISO 8601.
COMPACT_FORMATS = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
#: Dates written as a whole number of seconds or milliseconds since 1970-01-01 UTC: the
#: ``date_format`` that names each, and its unit.
EPOCHS = {"epoch_s": "s", "epoch_ms": "ms"}
#: The dates a number is read as when the form is detected (from, before): a number outside
#: it is another number (an id, an amount) or a date in another form, or a missing date
#: written as 0. Epochs are held to it also when named.
PLAUSIBLE = (pd.Timestamp("2000-01-01"), pd.Timestamp("2100-01-01"))
_FORM_NAMES = {
    "%Y%m%d": "compact ISO 8601 (YYYYMMDD)",
    "%Y%m%d%H%M": "compact ISO 8601 with the time (YYYYMMDDHHMM)",
    "%Y%m%d%H%M%S": "compact ISO 8601 with the time (YYYYMMDDHHMMSS)",
    "epoch_s": "seconds since 1970-01-01 UTC",
    "epoch_ms": "milliseconds since 1970-01-01 UTC",
}
#: Any date a datetime64[ns] holds, for saying what a number would be as each form.
_ANY = (pd.Timestamp("1677-09-22"), pd.Timestamp("2262-04-11"))
_DIGITS = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")



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
    text, numeric = _as_text(values, column, fail)
    if date_format in EPOCHS or (not date_format and (numeric or _DIGITS.fullmatch(text.iloc[0]))):
        return _digit_dates(text, column, date_format, fail)
    return _text_dates(text, column, date_format, fail)


def _as_text(values: pd.Series, column: str, fail: Callable[..., IngestError]) -> tuple[pd.Series, bool]:
    """The column as stripped text, and whether it holds numbers (Parquet's or Excel's int64, or
    floats that are all whole: written as whole numbers)."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return values.astype("str").str.strip(), False
    if not pd.api.types.is_integer_dtype(values):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        whole = np.isfinite(numbers) & (np.abs(numbers) < 2**63)
        whole[whole] = numbers[whole] % 1 == 0
        if not whole.all():
            raise fail(column, first_bad(~whole), "a date written as a number that is not whole",
                       f"Fix the value; {_number_forms()}")
        values = values.astype("int64")
    return values.astype("str"), True


def _reading(text: pd.Series, form: str, span: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> pd.Series:
    """The dates of digit texts in one form: NaT where a value is not one or lies outside
    ``span`` (:data:`PLAUSIBLE` by default)."""
    low_date, high_date = span or PLAUSIBLE
    if form in EPOCHS:
        scale = 1000 if EPOCHS[form] == "ms" else 1
        low, high = (int(d.timestamp()) * scale for d in (low_date, high_date))
        numbers = pd.to_numeric(text.where(text.str.fullmatch(r"[0-9]{1,18}")), errors="coerce")
        inside = (numbers >= low) & (numbers < high)
        counts = numbers.where(inside, low).astype("int64")
        return pd.Series(pd.to_datetime(counts, unit=EPOCHS[form]).where(inside), index=text.index)
    digits = next(n for n, fmt in COMPACT_FORMATS.items() if fmt == form)
    dates = pd.to_datetime(text.where(text.str.fullmatch(rf"[0-9]{{{digits}}}")), format=form,
                           errors="coerce")
    return dates.where((dates >= low_date) & (dates < high_date))


def _digit_dates(text: pd.Series, column: str, asked: str | None,
                 fail: Callable[..., IngestError]) -> pd.Series:
    """Dates written as digits: as the epoch asked, else in the one form (compact ISO 8601 or
    an epoch, every date in :data:`PLAUSIBLE`) that reads every value; refused, naming the
    forms, when none does or when two do."""
    codes, uniques = pd.factorize(text)
    uniques = pd.Series(uniques, dtype="str")
    forms = [asked] if asked else [*COMPACT_FORMATS.values(), *EPOCHS]
    readings = {form: _reading(uniques, form) for form in forms}
    whole = [form for form, dates in readings.items() if dates.notna().all()]
    if len(whole) > 1:
        a, b = whole[:2]
        raise fail(
            column,
            0,
            f"the dates can be read two ways: this one is {readings[a].iloc[0]} as "
            f"{_FORM_NAMES[a]} and {readings[b].iloc[0]} as {_FORM_NAMES[b]}",
            f"Pass date_format={a!r} or {b!r} (--date-format {a} or {b}) to say which",
        )
    if whole:
        return pd.Series(readings[whole[0]].to_numpy()[codes], index=text.index).astype("datetime64[ns]")
    form = asked or next((form for form, dates in readings.items() if pd.notna(dates.iloc[0])), None)
    if form is None:
        raise _no_form(uniques.iloc[:1], column, fail)
    raise _off_form(text, codes, readings[form].isna().to_numpy(), form, asked, column, fail)


def _number_forms() -> str:
    """The forms of dates written as numbers, for messages."""
    return ("dates written as numbers are read as compact ISO 8601 (YYYYMMDD, YYYYMMDDHHMM, "
            "YYYYMMDDHHMMSS) or as whole seconds or milliseconds since 1970 (date_format='epoch_s' "
            f"or 'epoch_ms'), between {PLAUSIBLE[0].date()} and {PLAUSIBLE[1].date()}")


def _no_form(value: pd.Series, column: str, fail: Callable[..., IngestError]) -> IngestError:
    """The error for a first date that no form reads in :data:`PLAUSIBLE`, saying what each
    form that reads it at all would make of it."""
    seen = {form: _reading(value, form, _ANY).iloc[0] for form in (*COMPACT_FORMATS.values(), *EPOCHS)}
    seen = {form: date for form, date in seen.items() if pd.notna(date)}
    problem = (f"a number that is not a date between {PLAUSIBLE[0].date()} and "
               f"{PLAUSIBLE[1].date()} in any form read")
    problem += "".join(f"; as {_FORM_NAMES[form]} it would be {date}" for form, date in seen.items())
    hint = "Fix the value" + "".join(
        f", or pass date_format={form!r} (--date-format {form}) if the dates really are that "
        "old or that late" for form in seen if form in COMPACT_FORMATS.values())
    return fail(column, 0, problem, f"{hint}; {_number_forms()}")


def _off_form(text: pd.Series, codes: np.ndarray, bad: np.ndarray, form: str, asked: str | None,
              column: str, fail: Callable[..., IngestError]) -> IngestError:
    """The error for the first date not in ``form`` (the one asked for, or the first date's),
    naming the forms that would read it."""
    row = first_bad(bad[codes])
    value = pd.Series([text.iloc[row]], dtype="str")
    others = {other: _reading(value, other).iloc[0] for other in (*COMPACT_FORMATS.values(), *EPOCHS)
              if other != form}
    others = {other: date for other, date in others.items() if pd.notna(date)}
    how = f"as asked (date_format={asked!r})" if asked else f"as the first date ({text.iloc[0]!r}) is"
    problem = (f"not a date in {_FORM_NAMES[form]} between {PLAUSIBLE[0].date()} and "
               f"{PLAUSIBLE[1].date()}, {how}")
    problem += "".join(f"; as {_FORM_NAMES[other]} it would be {date}" for other, date in others.items())
    hint = "Fix the date or remove the line"
    if form in COMPACT_FORMATS.values():
        hint += (f"; if the file's dates really lie outside those years, pass date_format={form!r} "
                 f"(--date-format {form}), which reads every date of that form")
    hint += "".join(f"; pass date_format={other!r} (--date-format {other}) if every date is "
                    f"{_FORM_NAMES[other]}" for other in others)
    return fail(column, row, problem, hint)


def _text_dates(text: pd.Series, column: str, date_format: str | None,
                fail: Callable[..., IngestError]) -> pd.Series:
    """Dates written as text: in the format given, the day/month order told from the column,
    or the first of :data:`DATE_FORMATS` that reads the first date; every date checked."""
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
        "Pass date_format= (--date-format; strptime codes, e.g. '%d-%b-%y' for 29-Nov-16)"
        + (f"; {_number_forms()}" if _NUMBER.fullmatch(first) else ""),
    )
