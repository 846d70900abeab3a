"""Data quality: plausibility rules checked on the lines read, before the filters.

Each rule is named and counted. A line rule quarantines the lines that break it (kept aside
with the rule's name, never segmented); a file rule refuses the run with a message that says
what was found and what to do (:class:`QualityError`). Thresholds come from
:class:`insiders.config.QualityConfig` (DAG params and CLI flags).

The filters (:mod:`insiders.filters`) come after: they are the business's choices (no
postage lines, no anonymous customers); the rules here catch input that is wrong.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insiders.config import QualityConfig
from insiders.errors import InputError

logger = logging.getLogger(__name__)

__all__ = ["FILE_RULES", "LINE_RULES", "QualityError", "QualityResult", "check_lines", "drop_lines",
           "passed_positions"]

#: Line rules, in the order they run: a line is counted under the first rule it breaks.
LINE_RULES: dict[str, str] = {
    "quantity_out_of_range": "quantity beyond plus or minus max_quantity",
    "unit_price_out_of_range": "unit price above max_unit_price",
    "line_revenue_out_of_range": "quantity x unit price beyond plus or minus max_line_revenue",
    "date_cut_off": "dated apart from the data's stretch of days (a gap above max_date_gap_days)",
    "undecodable_text": "text holding the replacement character (bytes that did not decode)",
    "duplicate_line": "equal to an earlier line in every column (dropped under duplicate_lines=drop)",
}
#: File rules: when one is broken, the run is refused.
FILE_RULES: dict[str, str] = {
    "duplicate_share": "share of duplicate lines above max_duplicate_share",
    "return_share": "share of return lines above max_return_share",
    "quarantine_share": "share of lines quarantined by the line rules above max_quarantine_share",
}
_TEXT_COLUMNS = ("invoice_no", "stock_code", "description", "country")


class QualityError(InputError):
    """The file breaks a file rule: the run is refused, nothing downstream is written."""


@dataclass
class QualityResult:
    """Output of :func:`check_lines`.

    Attributes:
        counts: one row per rule: ``rule``, ``kind`` (line / file), ``description``,
            ``threshold``, ``action`` (quarantined, dropped, kept, passed), ``lines``,
            ``share``, ``revenue``.
        quarantined: the quarantined lines with their ``rule`` and ``line_index`` (the line's
            position in the lines read), in that order.
    """

    counts: pd.DataFrame
    quarantined: pd.DataFrame = field(repr=False)



def passed_positions(n_lines: int, quarantined: pd.DataFrame) -> np.ndarray:
    """The positions (as read, ascending) of the lines the quarantine did not take."""
    keep = np.ones(n_lines, dtype=bool)
    keep[quarantined["line_index"].to_numpy(dtype=np.int64)] = False
    return np.flatnonzero(keep)


def drop_lines(lines: pd.DataFrame, quarantined: pd.DataFrame) -> pd.DataFrame:
    """The lines read without the quarantined ones (by ``line_index``, positions as read)."""
    return lines.take(passed_positions(len(lines), quarantined)).reset_index(drop=True)


def check_lines(lines: pd.DataFrame, config: QualityConfig | None = None,
                *, source: str = "the data", reference_date: str | None = None) -> QualityResult:
    """Check every rule on the lines read (canonical schema, see :mod:`insiders.ingest`).

    With a ``reference_date``, the lines dated after it are counted too
    (``after_reference_date``): kept, but no feature of this month uses them.

    Raises:
        QualityError: a file rule is broken; the message names the rule, the share found, the
            threshold and its param, an example line, and what to do.
    """
    config = config or QualityConfig()
    n = len(lines)
    quantity = lines["quantity"].to_numpy(dtype=np.float64)
    price = lines["unit_price"].to_numpy(dtype=np.float64)
    revenue = quantity * price
    rule_of = np.full(n, "", dtype=object)
    rows: list[dict[str, object]] = []

    def count(rule: str, kind: str, description: str, threshold: object, action: str,
              hit: np.ndarray) -> None:
        rows.append({"rule": rule, "kind": kind, "description": description,
                     "threshold": str(threshold), "action": action if hit.any() else "passed",
                     "lines": int(hit.sum()), "share": _share(hit.sum(), n),
                     "revenue": round(float(np.nansum(revenue[hit])), 2)})

    def line_rule(rule: str, broken: np.ndarray, threshold: object, action: str = "quarantined",
                  *, set_aside: bool = True) -> None:
        hit = broken & (rule_of == "")
        if set_aside:
            rule_of[hit] = rule
        count(rule, "line", LINE_RULES[rule], threshold, action, hit)

    line_rule("quantity_out_of_range", np.abs(quantity) > config.max_quantity, config.max_quantity)
    line_rule("unit_price_out_of_range", price > config.max_unit_price, config.max_unit_price)
    line_rule("line_revenue_out_of_range", np.abs(revenue) > config.max_line_revenue,
              config.max_line_revenue)
    line_rule("date_cut_off", _cut_off_dates(lines["invoice_date"], config.max_date_gap_days),
              f"{config.max_date_gap_days} days")
    undecodable = np.zeros(n, dtype=bool)
    for column in _TEXT_COLUMNS:
        undecodable |= lines[column].astype("string").str.contains("\ufffd", regex=False) \
            .fillna(False).to_numpy(dtype=bool)
    line_rule("undecodable_text", undecodable, "U+FFFD")

    duplicate = lines.duplicated(keep="first").to_numpy()
    drop = config.duplicate_lines == "drop"
    line_rule("duplicate_line", duplicate, config.duplicate_lines,
              "dropped" if drop else "kept", set_aside=drop)

    returns = quantity < 0
    file_checks = (
        ("duplicate_share", duplicate, config.max_duplicate_share, "max_duplicate_share",
         "the same lines appear more than once: the export may hold a file appended twice. "
         "Export it again"),
        ("return_share", returns, config.max_return_share, "max_return_share",
         "too many lines have a quantity below zero (returns): are the signs flipped, or is "
         "this a returns-only export? Check the quantity column"),
        ("quarantine_share", (rule_of != "") & (rule_of != "duplicate_line"),
         config.max_quarantine_share, "max_quarantine_share",
         "too many lines break the line rules: a wrong column, unit or decimal separator is "
         "more likely than bad lines. Check the lines named"),
    )
    counts_so_far = pd.DataFrame(rows)
    for rule, mask, limit, param, advice in file_checks:
        share = float(mask.mean()) if n else 0.0
        found = int(mask.sum())
        refused = share > limit
        count(rule, "file", FILE_RULES[rule], limit, "refused" if refused else "passed", mask)
        if refused:
            example = int(np.flatnonzero(mask)[0])
            detail = ""
            if rule == "quarantine_share":
                top = counts_so_far[counts_so_far["kind"] == "line"].sort_values("lines").iloc[-1]
                detail = f"; most under {top['rule']} ({int(top['lines']):,} lines)"
            raise QualityError(
                f"{source}: {found:,} of {n:,} lines ({share:.2%}) break the rule {rule} "
                f"(at most {limit:.2%} allowed, param {param}){detail}; the first is line "
                f"{example + 1} ({_describe(lines.iloc[example])}). {advice}, or raise {param}"
            )
    if reference_date is not None:
        later = (lines["invoice_date"] >= pd.Timestamp(reference_date).normalize()
                 + pd.Timedelta(days=1)).to_numpy(dtype=bool)
        count("after_reference_date", "info", f"dated after the reference date {reference_date}: "
              "kept, not used by this month's features", reference_date, "kept", later)
    counts = pd.DataFrame(rows)
    quarantined_mask = rule_of != ""
    quarantined = lines.loc[quarantined_mask].copy()
    quarantined.insert(0, "rule", rule_of[quarantined_mask].astype(str))
    quarantined.insert(0, "line_index", np.flatnonzero(quarantined_mask))
    logger.info("data quality: %d of %d lines quarantined or dropped (%s)", int(quarantined_mask.sum()),
                n, ", ".join(f"{r}: {c}" for r, c in zip(counts["rule"], counts["lines"], strict=True)
                             if c and r in LINE_RULES))
    return QualityResult(counts=counts, quarantined=quarantined.reset_index(drop=True))


def _share(count: int, n: int) -> float:
    return round(float(count) / n, 6) if n else 0.0


def _cut_off_dates(dates: pd.Series, max_gap_days: int) -> np.ndarray:
    """Lines whose day lies outside the stretch of days (no gap above ``max_gap_days``)
    holding the most lines."""
    days = dates.dt.normalize()
    if days.isna().all():
        return np.zeros(len(dates), dtype=bool)
    per_day = days.value_counts().sort_index()
    gaps = np.diff(per_day.index.to_numpy()).astype("timedelta64[D]").astype(np.int64)
    stretch = np.concatenate([[0], np.cumsum(gaps > max_gap_days)])
    lines_per_stretch = np.bincount(stretch, weights=per_day.to_numpy())
    main = int(np.argmax(lines_per_stretch))
    kept_days = per_day.index[stretch == main]
    return ~days.between(kept_days.min(), kept_days.max()).to_numpy(dtype=bool)


def _describe(line: pd.Series) -> str:
    """One line in a few words, for a message."""
    return (f"invoice {line['invoice_no']}, stock code {line['stock_code']}, quantity "
            f"{line['quantity']}, unit price {line['unit_price']}, dated "
            f"{pd.Timestamp(line['invoice_date']).date()}")
