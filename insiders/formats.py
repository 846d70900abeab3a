"""One formatter per kind of value, for the report and the Airflow plugin page.

Pure functions of a value; they import nothing but the standard library (the plugin imports
this module inside Airflow's API server). A missing value (None, NaN) prints as ``–``.

Rules:

- ids (customers, segments): plain digits, ``14646`` (never ``14,646`` or ``14646.0``), so
  that they can be pasted into a CRM.
- money: the currency's symbol (``£`` for the default ``GBP``, ``€``, ``$``; another code
  is written before the amount, ``CHF 12.50``), then by size:
  from 1 million, millions with two decimals (``£1.23 M``); from 10,000, rounded to the
  hundred (``£45,300``); from 100, whole pounds (``£7,697``); below 100, with pence
  (``£12.50``). The size is read after rounding (``£999,990`` prints ``£1.00 M``).
  Negative amounts put the sign first (``-£1,234``); ``signed=True`` also writes ``+``.
- shares (fractions of 1): percentages with one decimal, ``61.2%``; a share that is not zero
  but would print as zero prints ``<0.1%``.
- counts: thousands separators, ``1,097``; a count that is not whole (a mean or a median of
  counts) keeps one decimal, ``12.5``.
- days: one decimal and the unit, ``9.2 days``; whole days without decimals, ``6 days``.
- ratios (times a reference): one decimal and ``x``, ``2.3x``; below 1, two (``0.16x``).
- numbers (scores, indices): fixed decimals (``number:4`` -> ``0.4321``); p-values: three
  significant digits (``3.1e-45``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

MISSING = "–"
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
#: The currency of amounts whose caller names none: the bundled data's (the ``online_retail``
#: preset's). A run passes its own (``facts.json``'s ``currency``).
DEFAULT_CURRENCY = "GBP"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _signed(text: str, negative: bool, signed: bool) -> str:
    return ("-" if negative else "+" if signed else "") + text


def identifier(value: Any) -> str:
    """A customer or segment id: plain digits (``14646``)."""
    if _missing(value):
        return MISSING
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):  # exactly: ids made from text keys pass 2^53
        return str(int(value))
    number = float(value)
    if not number.is_integer():
        raise ValueError(f"an id must be a whole number, got {value!r}")
    return str(int(number))


def masked_key(key: Any) -> str:
    """A customer key as a report or a log may show it: an e-mail (personal data) masked to its
    first letter and its domain (``c***@shop.example``); any other key as it is."""
    if _missing(key):
        return MISSING
    text = str(key)
    local, at, domain = text.partition("@")
    return f"{local[:1]}***@{domain}" if at and local and domain else text


def money(value: Any, currency: str = DEFAULT_CURRENCY, *, signed: bool = False) -> str:
    """An amount of money with its currency, rounded by size (see the module's rules)."""
    if _missing(value):
        return MISSING
    amount = float(value)
    size = abs(amount)
    if round(size, -2) >= 1_000_000:
        text = f"{size / 1e6:,.2f} M"
    elif round(size) >= 10_000:
        text = f"{round(size, -2):,.0f}"
    elif round(size, 2) >= 100:
        text = f"{size:,.0f}"
    else:
        text = f"{size:,.2f}"
    negative = amount < 0 and any(c in "123456789" for c in text)
    symbol = CURRENCY_SYMBOLS.get(currency)
    text = symbol + text if symbol else f"{currency} {text}" if currency else text
    return _signed(text, negative, signed)


def share(value: Any, digits: int = 1) -> str:
    """A fraction of 1 as a percentage (``0.612`` -> ``61.2%``)."""
    if _missing(value):
        return MISSING
    percent = float(value) * 100
    smallest = 10.0 ** -digits
    if percent != 0 and abs(percent) < smallest / 2:
        return f"{'-' if percent < 0 else ''}<{smallest:.{digits}f}%"
    return f"{percent:.{digits}f}%"


def count(value: Any) -> str:
    """A number of things with thousands separators (``1,097``); one decimal if not whole."""
    if _missing(value):
        return MISSING
    number = float(value)
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.1f}"


def days(value: Any, digits: int = 1, *, signed: bool = False) -> str:
    """A duration in days: ``9.2 days``; whole days without decimals (``6 days``, ``1 day``)."""
    if _missing(value):
        return MISSING
    number = float(value)
    if number.is_integer():
        digits = 0
    unit = "day" if abs(number) == 1 else "days"
    return f"{number:{'+' if signed else ''},.{digits}f} {unit}"


def ratio(value: Any, digits: int = 1) -> str:
    """Times a reference: ``2.3x``; below 1, one more decimal (``0.16x``)."""
    if _missing(value):
        return MISSING
    number = float(value)
    if abs(number) < 1:
        digits += 1
    return f"{number:,.{digits}f}x"


def number(value: Any, digits: int = 2, *, signed: bool = False) -> str:
    """A plain number with fixed decimals (scores, indices: ``0.4321``)."""
    if _missing(value):
        return MISSING
    return f"{float(value):{'+' if signed else ''},.{digits}f}"


def p_value(value: Any) -> str:
    """A p-value, three significant digits (``0.0123``, ``3.1e-45``)."""
    if _missing(value):
        return MISSING
    return f"{float(value):.3g}"


def flag(value: Any) -> str:
    """A yes/no answer."""
    if _missing(value):
        return MISSING
    return "yes" if bool(value) else "no"


def text(value: Any) -> str:
    """Anything else, as it is."""
    return MISSING if _missing(value) else str(value)


#: Formatter by kind name; ``fmt(value, "number:4")`` passes 4 as the first option.
KINDS: dict[str, Callable[..., str]] = {
    "id": identifier, "money": money, "share": share, "count": count, "days": days,
    "ratio": ratio, "number": number, "p_value": p_value, "flag": flag, "text": text,
}

#: The kind of each customer feature (see ``insiders.options.FEATURE_DESCRIPTIONS``).
FEATURE_KINDS: dict[str, str] = {
    "gross_revenue": "money", "recency_days": "days", "n_lines": "count",
    "frequency": "number:2", "frequency_study": "number:3", "qty_returned": "count",
    "n_invoices": "count", "n_items": "count",
    "n_products": "count", "avg_ticket": "money", "avg_basket_size": "count",
    "avg_unique_basket_size": "count", "avg_days_between_purchases": "days",
    "n_returns": "count", "value_returned": "money",
}


def fmt(value: Any, kind: str, currency: str = DEFAULT_CURRENCY) -> str:
    """Format ``value`` as ``kind``: a key of :data:`KINDS`, optionally with an option
    (``number:4`` for four decimals; ``money:EUR`` names the currency, else ``currency``)."""
    name, _, option = kind.partition(":")
    formatter = KINDS[name]
    if name == "money":
        return money(value, option or currency)
    return formatter(value, int(option)) if option else formatter(value)


def feature(value: Any, name: str, currency: str = DEFAULT_CURRENCY) -> str:
    """A customer feature's value, in its kind (a plain number if the feature is unknown)."""
    return fmt(value, FEATURE_KINDS.get(name, "number:2"), currency)


def filters(currency: str = DEFAULT_CURRENCY) -> dict[str, Callable[..., str]]:
    """The formatters as Jinja2 filters (``{{ x | money }}``, ``{{ x | fmt("number:4") }}``,
    ``{{ x | feature("recency_days") }}``), money in ``currency`` unless told otherwise."""

    def money_in(value: Any, in_currency: str | None = None, *, signed: bool = False) -> str:
        return money(value, in_currency or currency, signed=signed)

    def fmt_in(value: Any, kind: str) -> str:
        return fmt(value, kind, currency)

    def feature_in(value: Any, name: str) -> str:
        return feature(value, name, currency)

    return {
        "customer_id": identifier, "segment_id": identifier, "share": share, "count": count,
        "days": days, "ratio": ratio, "number": number, "p_value": p_value, "flag": flag,
        "money": money_in, "fmt": fmt_in, "feature": feature_in,
    }


def register(environment: Any, currency: str = DEFAULT_CURRENCY) -> Any:
    """Add :func:`filters` to a Jinja2 environment; returns it."""
    environment.filters.update(filters(currency))
    return environment
