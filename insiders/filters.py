"""Named filter rules: the lines kept for the features, and a count of the lines each rule removed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insiders.config import FilterConfig
from insiders.kept_lines import kept_frame, kept_index

logger = logging.getLogger(__name__)


@dataclass
class FilterResult:
    """Output of :func:`filter_transactions`.

    Attributes:
        lines: the kept lines, with ``is_return`` (quantity < 0) and ``is_synthetic_customer``.
        quarantine: one row per rule: ``rule``, ``description``, ``lines_removed``,
            ``revenue_removed``, in the order the rules ran; returns and anonymous lines
            relabelled under the synthetic policy are counted there too, as kept.
        kept: the kept lines as an index into the input (:mod:`insiders.kept_lines`): what
            the run folder holds instead of a second copy of the lines.
    """

    lines: pd.DataFrame
    quarantine: pd.DataFrame = field(repr=False)
    kept: pd.DataFrame = field(repr=False)


RULES: dict[str, str] = {
    "unit_price_below_min": "unit price below the minimum (free or near-free lines)",
    "non_product_stock_code": "stock code of letters only: postage, fees, manual adjustments",
    "unknown_country": "country that names no country",
    "excluded_customer": "customer excluded on purpose (outlier)",
    "anonymous_line": "no customer id: cannot join a loyalty programme",
}


def filter_transactions(lines: pd.DataFrame, config: FilterConfig | None = None) -> FilterResult:
    """Apply the filter rules in order and count what each one removed.

    Args:
        lines: transaction lines in the canonical schema (see :mod:`insiders.ingest`).
        config: the rules; the study's by default.

    Returns:
        The kept lines and the quarantine summary. The input frame is not changed.
    """
    config = config or FilterConfig()
    revenue = lines["quantity"].to_numpy() * lines["unit_price"].to_numpy()
    keep = np.ones(len(lines), dtype=bool)
    counts: list[dict[str, object]] = []

    def apply(rule: str, removed: np.ndarray, description: str | None = None) -> None:
        hit = removed & keep
        counts.append(
            {
                "rule": rule,
                "description": description or RULES[rule],
                "lines_removed": int(hit.sum()),
                "revenue_removed": round(float(revenue[hit].sum()), 2),
            }
        )
        keep[hit] = False

    apply("unit_price_below_min", lines["unit_price"].to_numpy() < config.min_unit_price)
    codes = lines["stock_code"].astype("category")
    non_product = codes.cat.categories.str.fullmatch(config.non_product_code_pattern)
    apply("non_product_stock_code", np.asarray(non_product, dtype=bool)[codes.cat.codes])
    apply("unknown_country", lines["country"].isin(config.excluded_countries).to_numpy())
    apply(
        "excluded_customer",
        lines["customer_id"].isin(config.excluded_customers).fillna(False).to_numpy(bool),
    )
    anonymous = lines["customer_id"].isna().to_numpy()
    if config.anonymous == "exclude":
        apply("anonymous_line", anonymous)

    index = kept_index(np.flatnonzero(keep), lines["customer_id"][keep])
    if config.anonymous == "synthetic":
        index["customer_id"] = _synthetic_ids(lines.loc[keep], config.synthetic_id_start).to_numpy()
    kept = kept_frame(lines, index)
    if config.anonymous == "synthetic":
        relabelled = kept["is_synthetic_customer"].to_numpy()
        counts.append(
            _kept_count(
                "anonymous_relabelled",
                relabelled,
                revenue[keep],
                "anonymous line given a made-up customer per invoice (kept)",
            )
        )
    counts.append(
        _kept_count(
            "return_line",
            kept["is_return"].to_numpy(),
            revenue[keep],
            "quantity below zero: a return (kept, counted apart)",
        )
    )
    quarantine = pd.DataFrame(counts).fillna({"lines_flagged": 0, "revenue_flagged": 0.0})
    quarantine["lines_flagged"] = quarantine["lines_flagged"].astype("int64")
    logger.info(
        "kept %d of %d lines; removed %s",
        len(kept),
        len(lines),
        dict(zip(quarantine["rule"], quarantine["lines_removed"], strict=True)),
    )
    return FilterResult(lines=kept, quarantine=quarantine, kept=index)


def _kept_count(rule: str, mask: np.ndarray, revenue: np.ndarray, description: str) -> dict:
    return {
        "rule": rule,
        "description": description,
        "lines_removed": 0,
        "lines_flagged": int(mask.sum()),
        "revenue_removed": 0.0,
        "revenue_flagged": round(float(revenue[mask].sum()), 2),
    }


def _synthetic_ids(lines: pd.DataFrame, start: int) -> pd.Series:
    """Give each anonymous invoice its own customer id, numbered by (first day, invoice)."""
    anonymous = lines["customer_id"].isna()
    real_max = lines["customer_id"].max()
    if pd.notna(real_max) and real_max >= start:
        raise ValueError(
            f"synthetic customer ids start at {start}, but real ids go up to {real_max}; "
            "raise synthetic_id_start"
        )
    # day resolution, so that an export without times of day numbers them the same way
    anon = lines.loc[anonymous, ["invoice_no"]].assign(day=lines["invoice_date"].dt.normalize())
    invoices = (
        anon.groupby("invoice_no", sort=False)["day"]
        .min()
        .reset_index()
        .sort_values(["day", "invoice_no"], kind="stable")
    )
    ids = pd.Series(np.arange(start, start + len(invoices)), index=invoices["invoice_no"])
    out = lines["customer_id"].copy()
    out[anonymous] = lines.loc[anonymous, "invoice_no"].map(ids).to_numpy()
    return out.astype("Int64")
