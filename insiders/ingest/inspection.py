"""A look at an export before the run (``insiders inspect``, ``--preset auto``): its columns
and the role each seems to play (:mod:`insiders.ingest.roles`), the preset or ``--columns``
line proposed, and what the reader makes of a sample with it: the date range, the customers,
the lines each rule sets aside, the currency."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from insiders.config import ReadConfig
from insiders.ingest.errors import IngestError
from insiders.ingest.files import files_of, plain_row_label, read_parts
from insiders.ingest.lines import to_schema
from insiders.ingest.non_sales import NON_SALE_RULES
from insiders.ingest.roles import Proposal, propose_columns
from insiders.presets import PRESETS, parse_column_map, suggest_preset
from insiders.schema import CUSTOMER_KEY

#: Rows of a file looked at (the first ones): enough to judge a column, quick on a big file.
SAMPLE_ROWS = 20_000
#: The preset ``--preset auto`` resolves to when no known layout fits: the column map alone.
CUSTOM = "custom"


@dataclass
class Inspection:
    """What ``insiders inspect`` found in one file.

    Attributes:
        source: the file.
        rows, sampled: its rows, and how many of the first were looked at.
        proposal: each column's look and the roles proposed.
        preset, columns: what to run with (``columns`` None: the preset's own).
        found: what the reader made of the sample with them (``lines``, ``first``, ``last``,
            ``customers``, ``currency``, ``set_aside``), empty when it could not read it.
        problem: why the reader stopped on the sample with them (None: it read it).
    """

    source: str
    rows: int
    sampled: int
    proposal: Proposal
    preset: str
    columns: str | None
    found: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None

    @property
    def runnable(self) -> bool:
        """A run can take the proposal as it is: no role in doubt, the sample read."""
        return self.problem is None and (self.columns is None or self.proposal.complete)

    def flags(self) -> str:
        """The proposal as the command line takes it."""
        text = f"--preset {self.preset}"
        return text + (f" --columns {shlex.quote(self.columns)}" if self.columns else "")

    def read_config(self, read: ReadConfig) -> ReadConfig:
        """``read`` with the proposed preset and column map."""
        from dataclasses import replace

        return replace(read, preset=self.preset, columns=self.columns)


def inspect_source(source: str, read: ReadConfig | None = None, *,
                   storage_options: dict[str, Any] | None = None,
                   sample: int = SAMPLE_ROWS) -> Inspection:
    """Look at one file (a folder's or a glob's first): propose its layout and try it."""
    read = read or ReadConfig()
    files = files_of(source, storage_options or {})
    source = files[0] if files else source
    frame, row_label = _read_frame(source, read, storage_options or {})
    head = frame.head(sample).reset_index(drop=True)
    proposal = propose_columns(head)
    known = suggest_preset([str(c) for c in frame.columns])
    found = Inspection(source, len(frame), len(head), proposal, CUSTOM, proposal.column_map())
    if known is not None and not proposal.ambiguous:  # a known layout, nothing in doubt
        tried = Inspection(source, len(frame), len(head), proposal, known, None)
        _try(tried, head, row_label, read)
        if tried.problem is None:
            return tried
    if proposal.complete:
        _try(found, head, row_label, read)
    return found


def _read_frame(source: str, read: ReadConfig, storage_options: dict[str, Any]):
    """The file's rows as read, before any column is mapped (a workbook's sheets one after
    another), and its row labels."""
    parts = read_parts(source, read.encoding, read.sheet, storage_options)
    if len(parts) == 1:
        return parts[0][1], parts[0][2]
    return pd.concat([frame for _, frame, _ in parts], ignore_index=True), plain_row_label


def _try(inspection: Inspection, head: pd.DataFrame, row_label, read: ReadConfig) -> None:
    """Read the sample with the inspection's preset and columns; note what came out."""
    found: dict[str, Any] = {}
    layout = (PRESETS[inspection.preset], parse_column_map(inspection.columns), found)
    try:
        lines = to_schema(head, inspection.source, row_label, read.date_format, read.decimal,
                          read.thousands, layout)
    except IngestError as exc:
        inspection.problem = str(exc)
        return
    keys = lines[CUSTOMER_KEY] if CUSTOMER_KEY in lines else lines["customer_id"]
    inspection.found = {
        "lines": len(lines), "first": lines["invoice_date"].min(),
        "last": lines["invoice_date"].max(), "customers": int(keys.nunique()),
        "currency": ", ".join(sorted(found.get("currencies", ()))) or PRESETS[
            inspection.preset].currency,
        "set_aside": found.get("set_aside", {}), "absent": sorted(found.get("absent", ())),
    }


def describe(inspection: Inspection) -> str:
    """The inspection as ``insiders inspect`` prints it."""
    p, out = inspection.proposal, []
    sampled = ("" if inspection.sampled == inspection.rows
               else f" (the first {inspection.sampled:,} looked at)")
    out.append(f"{inspection.source}: {inspection.rows:,} rows{sampled}, {len(p.columns)} columns")
    roles = {column: role for role, column in p.roles.items()}
    for role, columns in p.ambiguous.items():
        for column in columns:
            roles[column] = f"{role}?"
    width = max(len(c.name) for c in p.columns) + 2
    out.append(f"  {'column':<{width}}{'looks like':<13}{'role':<14}values")
    for c in p.columns:
        out.append(f"  {c.name:<{width}}{c.kind:<13}{roles.get(c.name, '-'):<14}"
                   + ", ".join(c.examples))
    out += ["", *proposal_lines(inspection)]
    return "\n".join(out)


def proposal_lines(inspection: Inspection) -> list[str]:
    """What to run with, or what is in doubt; then what the reader made of the sample."""
    p, out = inspection.proposal, []
    if inspection.columns is None or p.complete:
        out.append(f"Proposal: {inspection.flags()}")
        kept = json.dumps({"preset": inspection.preset, "columns": inspection.columns})
        out.append(f"Kept for the monthly runs in Airflow: airflow variables set "
                   f"insiders_layout {shlex.quote(kept)}")
    for role, columns in p.ambiguous.items():
        shown = "; ".join(f"{c} ({', '.join(p.look(c).examples)})" for c in columns)
        out.append(f"Ambiguous: {role} could be {shown}. Choose one: --preset {CUSTOM} "
                   f"--columns {shlex.quote(_with(p, role, columns[0]))} (or another of them)")
    for role in p.missing:
        out.append(f"Missing: no column looks like the {role}; name it with --preset {CUSTOM} "
                   f"--columns {role.split(' ')[0]}=COLUMN,...")
    if inspection.problem:
        out.append(f"With it, the reader stops: {inspection.problem}")
    elif inspection.found:
        out += _found_lines(inspection.found)
    return out


def _with(proposal: Proposal, role: str, column: str) -> str:
    pairs = dict(proposal.roles) | {role: column}
    return ",".join(f"{r}={c}" for r, c in pairs.items())


def _found_lines(found: dict[str, Any]) -> list[str]:
    aside = found["set_aside"]
    rules = ", ".join(f"{rule} {aside[rule]['lines']:,}" for rule in NON_SALE_RULES if rule in aside)
    return [
        f"With it: {found['lines']:,} sale lines from {found['first']:%Y-%m-%d} to "
        f"{found['last']:%Y-%m-%d}, {found['customers']:,} customers, currency "
        f"{found['currency'] or 'not said (set --currency)'}",
        f"Set aside as not sales: {rules or 'none'}",
        *([f"Absent (left out): {', '.join(found['absent'])}"] if found["absent"] else []),
    ]
