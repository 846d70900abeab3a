"""One chunk of a source as the schema's lines: columns by role, every value parsed and
checked, the columns the export lacks filled in, and the export's customer keys kept."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from insiders.ingest.columns import Mapped, mapped_columns, not_purchases
from insiders.ingest.dates import parse_dates
from insiders.ingest.errors import IngestError, first_bad
from insiders.ingest.non_sales import line_revenue, structural_rows, tally, unsold_lines
from insiders.ingest.numbers import (
    NUMBER_COLUMNS,
    NumberTexts,
    file_separators,
    parse_numbers,
    parse_text_numbers,
)
from insiders.presets import Preset
from insiders.schema import COLUMNS, CUSTOMER_KEY, NULLABLE, customer_surrogates

logger = logging.getLogger(__name__)


def to_schema(
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
    found = layout[2] if layout is not None else None
    mapped = mapped_columns(frame, src, layout if keyed else None)
    mapped, row_label = _without_structural_rows(frame, mapped, row_label, found)
    frame, original_names, absent = mapped.frame, mapped.names, mapped.absent
    if found is not None and "currency" in frame:  # the currencies the lines name
        codes = frame["currency"].dropna().astype("str").str.strip().str.upper()
        found.setdefault("currencies", set()).update(set(codes) - {""})

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
                              row=row_label(first_bad(values.isna())),
                              column=original_names[column], hint="Fill it in or remove the line")
    lines = _parsed(mapped, date_format, decimal, thousands, fail, row_label)
    # the lines that sell nothing are set aside (dropped last: rows named as read)
    excluded = _unsold(lines, mapped, layout[0] if layout else None, src, found)
    _fill_absent(lines, mapped, excluded, fail)
    if not keyed:  # the UCI files' keys are their ids
        return lines.loc[~excluded, list(COLUMNS)].reset_index(drop=True)
    # a preset's or a column map's lines keep the export's customer keys
    keys = frame["customer_id"]
    lines[CUSTOMER_KEY] = (keys.astype("Int64").astype("str") if pd.api.types.is_numeric_dtype(keys)
                           else keys.astype("str").str.strip()).where(keys.notna(), None)
    return lines.loc[~excluded, [*COLUMNS, CUSTOMER_KEY]].reset_index(drop=True)


def _parsed(mapped: Mapped, date_format: str | None, decimal: str, thousands: str | None,
            fail, row_label: Callable[[int], str]) -> pd.DataFrame:
    """Every present column parsed into its type (dates, numbers in the file's separators,
    stripped texts, text keys as surrogate ids); absent columns as they are."""
    frame, absent = mapped.frame, mapped.absent
    numbers = [c for c in NUMBER_COLUMNS if c not in absent
               and not (c == "customer_id" and mapped.text_keys)]
    texts = {column: NumberTexts(frame[column]) for column in numbers
             if not pd.api.types.is_numeric_dtype(frame[column])}
    separators = file_separators(texts, decimal, thousands, fail, row_label, mapped.names)
    out: dict[str, pd.Series] = {}
    for column in COLUMNS:
        values = frame[column]
        if column in absent:
            out[column] = values
        elif column == "customer_id" and mapped.text_keys:
            out[column] = customer_surrogates(values)
        elif column == "invoice_date":
            out[column] = parse_dates(values, column, date_format, fail)
        elif column in texts:
            out[column] = parse_text_numbers(texts[column], column, separators, decimal == "auto", fail)
        elif column in NUMBER_COLUMNS:
            out[column] = parse_numbers(values, column, fail)
        else:
            text = values.astype("str").str.strip()
            out[column] = text.where(values.notna(), None) if column in NULLABLE else text
    return pd.DataFrame(out)


def _without_structural_rows(frame: pd.DataFrame, mapped: Mapped,
                             row_label: Callable[[int], str], found: dict | None
                             ) -> tuple[Mapped, Callable[[int], str]]:
    """The chunk without its rows that are no line (a header again, a total row: counted in
    ``found``), and the row labels of the rows left, as the file numbers them."""
    skip = np.zeros(len(frame), dtype=bool)
    for rule, mask in structural_rows(frame, mapped.frame, mapped.names).items():
        tally(found, rule, mask, None)
        skip |= mask
    if not skip.any():
        return mapped, row_label
    left = np.flatnonzero(~skip)
    return (replace(mapped, frame=mapped.frame.iloc[left].reset_index(drop=True)),
            lambda i: row_label(int(left[i])))


def _unsold(lines: pd.DataFrame, mapped: Mapped, preset: Preset | None, src: str,
            found: dict | None) -> np.ndarray:
    """Which parsed lines sell nothing (:mod:`insiders.ingest.non_sales`), counted in
    ``found``: an order status that is not a purchase, no units, a discount, a price of 0."""
    revenue = line_revenue(lines, amount=mapped.amount)
    excluded = (not_purchases(mapped.frame["status"], preset, src).copy()
                if "status" in mapped.frame and preset is not None
                else np.zeros(len(lines), dtype=bool))
    tally(found, "not_a_purchase", excluded, revenue)
    rules = unsold_lines(lines, amount=mapped.amount, quantity="quantity" not in mapped.absent)
    for rule, mask in rules.items():
        mask = mask & ~excluded
        tally(found, rule, mask, revenue)
        excluded |= mask
    if excluded.any():
        logger.info("%s: %d lines set aside as not sales", src, int(excluded.sum()))
    return excluded


def _fill_absent(lines: pd.DataFrame, mapped: Mapped, excluded: np.ndarray, fail) -> None:
    """In place: the unit price from an amount, and the columns the export lacks (quantity 1
    or the amount's sign, one invoice per customer and timestamp, no product or country)."""
    absent = mapped.absent
    if mapped.amount:  # a line's amount: the unit price is the amount per item
        amount = lines["unit_price"].astype("float64")
        if "quantity" in absent:
            lines["quantity"] = np.where(amount < 0, -1, 1).astype("int64")
        elif (zero := (lines["quantity"] == 0).to_numpy() & ~excluded).any():
            raise fail("quantity", first_bad(zero), "a quantity of 0 beside an amount that is "
                       "not 0: what was sold cannot be told (lines with quantity 0 and amount 0 "
                       "are set aside as not sales)", "Fix the value or remove the line, or "
                       "check that the column map names the right quantity and amount")
        with np.errstate(divide="ignore", invalid="ignore"):  # no units: set aside already
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
