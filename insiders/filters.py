"""Named filter rules: the lines kept for the features, and a count of the lines each rule removed."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from insiders.config import FilterConfig
from insiders.duckdb_io import connect, lines_view, parquet_source
from insiders.errors import InputError
from insiders.kept_lines import kept_frame, kept_index
from insiders.schema import return_sql

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
    index, quarantine = filter_index(lines, config)
    return FilterResult(lines=kept_frame(lines, index), quarantine=quarantine, kept=index)


def filter_index(
    lines: pd.DataFrame | str,
    config: FilterConfig | None = None,
    *,
    quarantined: str | None = None,
    memory_limit: str | None = None,
    storage_options: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The filter rules as SQL (DuckDB) over lines given as a frame or a Parquet file read in
    place (a run folder's ``raw_lines.parquet``: lines larger than memory, within
    ``memory_limit``), without the lines whose positions ``quarantined`` (a Parquet file with
    ``line_index``, the data-quality stage's) names.

    Returns:
        The kept lines' index (:func:`insiders.kept_lines.kept_index`: positions in ``lines``
        and the customer id after the filter) and the quarantine summary
        (:attr:`FilterResult.quarantine`).
    """
    config = config or FilterConfig()
    with connect(memory_limit) as con:
        source = lines_view(con, "insiders_read", lines, _COLUMNS, storage_options)
        if quarantined is not None:
            set_aside = parquet_source(con, quarantined, storage_options)
            source = (f"(SELECT * FROM {source} WHERE line_index NOT IN "
                      f"(SELECT line_index FROM {set_aside}))")
        codes = con.execute(f"SELECT DISTINCT stock_code FROM {source} "
                            "WHERE stock_code IS NOT NULL").df()["stock_code"]
        pattern = re.compile(config.non_product_code_pattern)
        non_product = ([c for c in codes if pattern.fullmatch(str(c))]
                       if config.non_product_code_pattern else [])
        con.register("insiders_non_product", pd.DataFrame({"stock_code": pd.Series(
            non_product, dtype=object if non_product else "str")}))
        rule = _first_rule_sql(config)
        con.execute(f"CREATE TEMP TABLE insiders_flagged AS SELECT line_index, {rule} AS rule, "
                    f"customer_id, invoice_no, invoice_date, {return_sql()} AS is_return, "
                    f"CAST(quantity AS DOUBLE) * unit_price AS revenue FROM {source} AS l",
                    {"min_unit_price": config.min_unit_price})
        combos = con.execute(
            "SELECT rule, is_return, customer_id IS NULL AS anonymous, count(*) AS n, "
            "fsum(revenue) AS revenue FROM insiders_flagged GROUP BY ALL").df()
        if config.anonymous == "synthetic":
            real_max = con.execute("SELECT max(customer_id) FROM insiders_flagged "
                                   "WHERE rule IS NULL").fetchone()[0]
            if real_max is not None and real_max >= config.synthetic_id_start:
                raise InputError(
                    f"synthetic customer ids start at {config.synthetic_id_start}, but real ids "
                    f"go up to {real_max}; raise synthetic_id_start"
                )
        index = con.execute(_KEPT, {"start": config.synthetic_id_start}).df()
    ids = index["customer_id"].astype("Int64")
    if config.anonymous == "synthetic" and ids.notna().all():
        ids = ids.astype("int64")  # every kept line has a customer
    index = kept_index(index["line_index"].to_numpy(np.int64), ids)
    quarantine = _summary(combos, config)
    logger.info(
        "kept %d of %d lines; removed %s",
        len(index),
        int(combos["n"].sum()),
        dict(zip(quarantine["rule"], quarantine["lines_removed"], strict=True)),
    )
    return index, quarantine


#: The raw columns the rules read.
_COLUMNS = ("invoice_no", "stock_code", "quantity", "invoice_date", "unit_price", "customer_id",
            "country")

#: The kept lines' positions and ids, in the order read: under the synthetic policy each
#: anonymous invoice is one made-up customer, numbered by (first day, invoice).
_KEPT = """
WITH kept AS (SELECT line_index, customer_id, invoice_no, invoice_date
              FROM insiders_flagged WHERE rule IS NULL),
anonymous AS (SELECT invoice_no, min(CAST(invoice_date AS DATE)) AS day FROM kept
              WHERE customer_id IS NULL AND invoice_no IS NOT NULL GROUP BY invoice_no),
numbered AS (SELECT invoice_no, $start - 1 + row_number() OVER (ORDER BY day, invoice_no) AS id
             FROM anonymous)
SELECT k.line_index, COALESCE(k.customer_id, n.id) AS customer_id
FROM kept AS k LEFT JOIN numbered AS n ON k.customer_id IS NULL AND n.invoice_no = k.invoice_no
ORDER BY k.line_index
"""


def _first_rule_sql(config: FilterConfig) -> str:
    """The first rule that removes a line ``l`` (NULL: kept)."""
    def listed(values) -> str:
        return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)

    countries = (f"l.country IN ({listed(config.excluded_countries)})"
                 if config.excluded_countries else "false")
    customers = (f"l.customer_id IN ({', '.join(str(int(c)) for c in config.excluded_customers)})"
                 if config.excluded_customers else "false")
    anonymous = "l.customer_id IS NULL" if config.anonymous == "exclude" else "false"
    return f"""CASE
        WHEN l.unit_price < $min_unit_price THEN 'unit_price_below_min'
        WHEN l.stock_code IN (SELECT stock_code FROM insiders_non_product)
            THEN 'non_product_stock_code'
        WHEN COALESCE({countries}, false) THEN 'unknown_country'
        WHEN COALESCE({customers}, false) THEN 'excluded_customer'
        WHEN {anonymous} THEN 'anonymous_line'
    END"""


def _summary(combos: pd.DataFrame, config: FilterConfig) -> pd.DataFrame:
    """The quarantine summary from the lines and revenue per (rule, return, anonymous)."""
    combos = combos.sort_values(["rule", "is_return", "anonymous"], na_position="first",
                                kind="stable").reset_index(drop=True)

    def total(mask: pd.Series) -> tuple[int, float]:
        return int(combos.loc[mask, "n"].sum()), round(float(combos.loc[mask, "revenue"].sum()), 2)

    counts: list[dict[str, object]] = []
    for rule, description in RULES.items():
        if rule == "anonymous_line" and config.anonymous != "exclude":
            continue
        lines, revenue = total(combos["rule"] == rule)
        counts.append({"rule": rule, "description": description, "lines_removed": lines,
                       "revenue_removed": revenue})
    kept = combos["rule"].isna()
    if config.anonymous == "synthetic":
        counts.append(_kept_count("anonymous_relabelled", *total(kept & combos["anonymous"]),
                                  "anonymous line given a made-up customer per invoice (kept)"))
    counts.append(_kept_count("return_line", *total(kept & combos["is_return"]),
                              "quantity below zero: a return (kept, counted apart)"))
    quarantine = pd.DataFrame(counts).fillna({"lines_flagged": 0, "revenue_flagged": 0.0})
    quarantine["lines_flagged"] = quarantine["lines_flagged"].astype("int64")
    return quarantine


def non_sale_counts(set_aside: dict[str, dict[str, float]]) -> pd.DataFrame:
    """The quarantine summary's rows of the lines the reader set aside as not sales (one per
    rule of :data:`insiders.ingest.non_sales.NON_SALE_RULES`, 0 where none), from the
    ingest's ``set_aside`` facts."""
    from insiders.ingest.non_sales import NON_SALE_RULES

    return pd.DataFrame([
        {"rule": rule, "description": f"not a sale: {description}",
         "lines_removed": int(set_aside.get(rule, {}).get("lines", 0)),
         "revenue_removed": round(float(set_aside.get(rule, {}).get("revenue", 0.0)), 2),
         "lines_flagged": 0, "revenue_flagged": 0.0}
        for rule, description in NON_SALE_RULES.items()])


def _kept_count(rule: str, lines: int, revenue: float, description: str) -> dict:
    return {
        "rule": rule,
        "description": description,
        "lines_removed": 0,
        "lines_flagged": lines,
        "revenue_removed": 0.0,
        "revenue_flagged": revenue,
    }
