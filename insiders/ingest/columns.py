"""The export's columns by role: the UCI names, or a preset's or a column map's columns
(:mod:`insiders.presets`); and which lines' order status says they are not purchases."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insiders.ingest.errors import IngestError
from insiders.presets import PRESETS, ROLES, Preset, suggest_preset
from insiders.schema import ALIASES, COLUMNS, PLAIN_ID, normalise_name

logger = logging.getLogger(__name__)


def proposed_layout(frame: pd.DataFrame) -> str:
    """What ``insiders inspect`` proposes for the export, as an error's hint starts."""
    from insiders.ingest.roles import propose_columns

    proposal = propose_columns(frame)
    if proposal.complete:
        return (f"Its columns read as: --preset custom --columns '{proposal.column_map()}' "
                "(or --preset auto; 'insiders inspect' shows why). Otherwise: ")
    doubts = "; ".join(f"{role} could be {' or '.join(columns)}"
                       for role, columns in proposal.ambiguous.items())
    missing = "; ".join(f"no column looks like the {role}" for role in proposal.missing)
    return (f"Its columns read in part as: --columns '{proposal.column_map()}' ("
            f"{'; '.join(x for x in (doubts, missing) if x)}; 'insiders inspect' shows the "
            "candidates). Otherwise: ")


def _what_changed(given: dict[str, str], found: list[str], headers: dict[str, str]) -> str:
    """Which columns of the map the file lacks, and which of its columns the map does not
    name: what changed since the map was made."""
    lacks = [f"{column!r} ({role})" for role, column in given.items()
             if column not in found and normalise_name(column) not in headers]
    named = {normalise_name(c) for c in given.values()}
    new = [c for c in found if normalise_name(c) not in named]
    return (f"it has no column {', '.join(lacks)}"
            + (f"; columns the map does not name: {', '.join(new)}" if new else ""))


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
                      f"--preset {suggested}). " if suggested else proposed_layout(frame))
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
class Mapped:
    """A frame mapped by a preset or a column map, and what the mapping left to compute."""

    frame: pd.DataFrame  # the schema's columns (absent ones empty), ``status`` if mapped
    names: dict[str | None, str]  # schema column -> the export's header, for messages
    absent: set[str]  # schema columns the export does not have
    amount: bool  # ``unit_price`` holds the line's amount (to divide by the quantity)
    text_keys: bool  # customers are keys to keep as text (e-mails, ids with leading zeros)


def _map_columns(frame: pd.DataFrame, src: str, layout: tuple[Preset, dict[str, str]]) -> Mapped:
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
                raise IngestError(src, "the file no longer fits the column map: "
                                  + _what_changed(given, found, headers),
                                  hint="Fix the param 'columns' (CLI --columns; in Airflow the "
                                  "Variable insiders_layout), or see what 'insiders inspect' "
                                  "proposes for this file")
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
                  if suggested and suggested != preset.name else proposed_layout(frame))
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
    return Mapped(out.reset_index(drop=True), names, absent, amount, text_keys)


def mapped_columns(frame: pd.DataFrame, src: str,
            layout: tuple[Preset, dict[str, str], dict[str, set[str]] | None] | None) -> Mapped:
    """The chunk's columns under the schema's names: by their UCI names (``layout`` None), else
    by the preset and the column map, noting in ``layout[2]`` the columns absent."""
    if layout is None:
        original_names = {ALIASES.get(normalise_name(c)): str(c) for c in frame.columns}
        return Mapped(_rename_columns(frame, src).reset_index(drop=True), original_names,
                       set(), False, False)
    mapped = _map_columns(frame, src, layout[:2])
    if layout[2] is not None:
        layout[2].setdefault("absent", set()).update(mapped.absent)
    return mapped


def not_purchases(status: pd.Series, preset: Preset, src: str) -> np.ndarray:
    """Which lines belong to orders whose status is not a purchase under the preset's rule."""
    excluded = status.astype("str").map(normalise_name).isin(
        {normalise_name(s) for s in preset.excluded_statuses}).to_numpy()
    if excluded.any():
        logger.info("%s: %d lines of orders whose status is %s are not purchases (preset %s)",
                    src, int(excluded.sum()), " or ".join(preset.excluded_statuses), preset.name)
    return excluded
