"""Lines a real export carries that are not sales: set aside, named and counted, never fatal.

Two kinds, each rule named in :data:`NON_SALE_RULES` (the order they are checked in):

- rows that are no line at all, found before any value is parsed: the header line again
  inside the file (exports pasted together), a total or subtotal row;
- lines that sell nothing, found on the parsed values: an order whose status is not a
  purchase (the preset's statuses: void, cancelled, refunded...), no units (quantity 0 and
  nothing paid: a coupon, note or void line), a discount (a negative amount or price beside a positive
  quantity: a coupon, not a return), a price of 0 (a free item, a stock adjustment).

The reader drops them and adds their counts to ``found["set_aside"]`` (rule -> lines and
revenue); the run records them in ``facts.json`` and lists them first in ``quarantine.csv``
(the warehouse's ``filter_counts``). A file that is mostly such lines is refused by the
quality stage (``max_non_sale_share``): a wrong column is likelier than such an export.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: Each rule's name and what it sets aside, in the order the rules are checked.
NON_SALE_RULES: dict[str, str] = {
    "repeated_header": "the header line again inside the file (exports pasted together)",
    "total_row": "a total or subtotal row, not a line",
    "not_a_purchase": "a line of an order whose status is not a purchase (void, cancelled, "
                      "refunded...)",
    "no_units": "quantity 0 and nothing paid: a coupon, void or note line",
    "discount_line": "a negative amount or price beside a positive quantity: a coupon or "
                     "discount, not a return",
    "zero_price": "a price of 0: a free item or a stock adjustment, nothing paid",
}

#: A cell that labels a total row.
TOTAL_LABEL = re.compile(r"\s*(grand\s+|sub-?)?totals?\s*:?\s*|\s*sum\s*:?\s*", re.IGNORECASE)


def structural_rows(frame: pd.DataFrame, mapped: pd.DataFrame,
                    names: dict[str | None, str]) -> dict[str, np.ndarray]:
    """The rows of one chunk that are no line: ``repeated_header`` (every mapped cell reads as
    its column's name) and ``total_row`` (no customer and no date, and a cell that says total).

    Args:
        frame: the chunk as read (every column of the export).
        mapped: its columns by the schema's names, values as read (positions as ``frame``'s).
        names: schema column -> the export's header name.
    """
    present = [c for c, name in names.items() if c in mapped.columns and name]

    def is_header(column: str, values: pd.Series) -> np.ndarray:
        if not _is_text(values):  # a number or a date is never a header's name
            return np.zeros(len(values), dtype=bool)
        name = str(names[column]).strip().casefold()
        return (values.astype("str").str.strip().str.casefold() == name).to_numpy()

    def is_blank(column: str, values: pd.Series) -> np.ndarray:
        blank = values.isna().to_numpy()
        return blank | (values.astype("str").str.strip() == "").to_numpy() if _is_text(values) \
            else blank

    header = (_rows_where(mapped, present, is_header) if len(present) >= 2
              else np.zeros(len(mapped), dtype=bool))
    empty = _rows_where(mapped, [c for c in ("customer_id", "invoice_date") if c in mapped.columns],
                        is_blank)
    labelled = np.zeros(len(frame), dtype=bool)
    if empty.any():
        for column in frame.columns:
            cells = frame[column].to_numpy()[empty]
            labelled[np.flatnonzero(empty)] |= [isinstance(c, str) and bool(TOTAL_LABEL.fullmatch(c))
                                                for c in cells]
    return {"repeated_header": header, "total_row": empty & labelled & ~header}


def _is_text(values: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)


def _rows_where(mapped: pd.DataFrame, columns: list[str], test) -> np.ndarray:
    """The rows where ``test(column, values)`` holds in every one of ``columns``, each column
    tested only on the rows the ones before left (a header or a total row is rare: after the
    first column few rows are left to test)."""
    rows = np.arange(len(mapped))
    for column in columns:
        if not len(rows):
            break
        rows = rows[test(column, mapped[column].iloc[rows])]
    found = np.zeros(len(mapped), dtype=bool)
    found[rows] = True
    return found


def unsold_lines(lines: pd.DataFrame, *, amount: bool, quantity: bool) -> dict[str, np.ndarray]:
    """The parsed lines that sell nothing: ``no_units``, ``discount_line``, ``zero_price``
    (the first rule that fits a line names it).

    Args:
        lines: the parsed lines; ``unit_price`` holds the line's amount when ``amount``.
        amount: the export gives each line's amount (not a unit price).
        quantity: the export has a quantity column.
    """
    price = lines["unit_price"].to_numpy(dtype="float64")
    none = np.zeros(len(lines), dtype=bool)
    if not quantity:  # one unit a line, or one returned when the amount is negative
        return {"no_units": none, "discount_line": none, "zero_price": price == 0}
    units = lines["quantity"].to_numpy(dtype="float64")
    # no units and nothing paid (an amount beside no units is refused: it cannot be told)
    no_units = (units == 0) & ((price == 0) if amount else True)
    discount = ~no_units & (price < 0) & (units > 0)
    return {"no_units": no_units, "discount_line": discount,
            "zero_price": ~no_units & ~discount & (price == 0)}


def line_revenue(lines: pd.DataFrame, *, amount: bool) -> np.ndarray:
    """Each parsed line's revenue: its amount, or quantity x unit price."""
    price = lines["unit_price"].to_numpy(dtype="float64")
    if amount:
        return price
    return lines["quantity"].to_numpy(dtype="float64") * price


def tally(found: dict | None, rule: str, mask: np.ndarray, revenue: np.ndarray | None) -> None:
    """Add one rule's lines (and their revenue) to ``found["set_aside"]``."""
    n = int(np.count_nonzero(mask))
    if found is None or not n:
        return
    seen = found.setdefault("set_aside", {}).setdefault(rule, {"lines": 0, "revenue": 0.0})
    seen["lines"] += n
    if revenue is not None:
        seen["revenue"] += float(np.nansum(revenue[mask]))
