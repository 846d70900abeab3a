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
from typing import Any

import numpy as np
import pandas as pd

from insiders.config import QualityConfig
from insiders.duckdb_io import connect, lines_view
from insiders.errors import InputError
from insiders.schema import COLUMNS, return_sql

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


def check_non_sales(facts: dict[str, Any], config: QualityConfig, source: str) -> None:
    """Refuse a file that is mostly lines set aside as not sales (the ingest's ``set_aside``
    facts against ``lines_read``): above ``max_non_sale_share`` a wrong column is likelier."""
    set_aside = facts.get("set_aside") or {}
    n_aside = sum(int(v["lines"]) for v in set_aside.values())
    total = int(facts.get("lines_read", 0)) + n_aside
    if not total or n_aside / total <= config.max_non_sale_share:
        return
    rules = ", ".join(f"{rule} {v['lines']:,}" for rule, v in set_aside.items() if v["lines"])
    raise QualityError(
        f"{source}: {n_aside:,} of its {total:,} lines ({n_aside / total:.1%}) are not sales "
        f"({rules}), above max_non_sale_share {config.max_non_sale_share:.0%}. Check the "
        "column map (is the quantity or the amount the right column?), export the sales "
        "only, or raise max_non_sale_share (--max-non-sale-share)")


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


def check_lines(lines: pd.DataFrame | str, config: QualityConfig | None = None,
                *, source: str = "the data", reference_date: str | None = None,
                memory_limit: str | None = None,
                storage_options: dict[str, Any] | None = None,
                duplicates: bool = True) -> QualityResult:
    """Check every rule on the lines read (canonical schema, see :mod:`insiders.ingest`): a
    frame, or a Parquet file of them read in place (a run folder's ``raw_lines.parquet``, so
    lines larger than memory are checked by DuckDB within ``memory_limit``).

    With a ``reference_date``, the lines dated after it are counted too
    (``after_reference_date``): kept, but no feature of this month uses them.

    ``duplicates=False`` checks no line against another: without an invoice or a product
    column (a transaction log), two equal lines may well be two items of one order.

    Raises:
        QualityError: a file rule is broken; the message names the rule, the share found, the
            threshold and its param, an example line, and what to do.
    """
    config = config or QualityConfig()
    with connect(memory_limit) as con:
        lines_view(con, "insiders_lines", lines, COLUMNS, storage_options)
        stretch = _main_stretch(con, config.max_date_gap_days)
        con.execute(_DUPLICATES if duplicates else _NO_DUPLICATES)
        first_rule = _first_rule_sql(stretch)
        params = {"max_quantity": config.max_quantity, "max_unit_price": config.max_unit_price,
                  "max_line_revenue": config.max_line_revenue}
        later = ("invoice_date >= CAST($later AS TIMESTAMP)" if reference_date is not None
                 else "false")
        if reference_date is not None:
            params["later"] = (pd.Timestamp(reference_date).normalize()
                               + pd.Timedelta(days=1)).to_pydatetime()
        tally = _Tally(_query(con, _COMBOS.format(first_rule=first_rule, later=later), params).df())
        drop = config.duplicate_lines == "drop"
        rule = f"COALESCE({first_rule}, CASE WHEN d.line_index IS NOT NULL THEN 'duplicate_line' END)" \
            if drop else first_rule
        quarantined = _query(con, _QUARANTINED.format(rule=rule), params).df()
        _count_line_rules(tally, config)
        for check in _file_checks(tally.combos, config, first_rule):
            _check_file_rule(con, tally, check, params, source)
    if reference_date is not None:
        tally.count("after_reference_date", "info", f"dated after the reference date "
                    f"{reference_date}: kept, not used by this month's features", reference_date,
                    "kept", tally.combos["later"])
    if not duplicates:
        for row in tally.rows:
            if row["rule"] in ("duplicate_line", "duplicate_share"):
                row["action"], row["threshold"] = "not checked", "no invoice or product column"
    counts = pd.DataFrame(tally.rows)
    logger.info("data quality: %d of %d lines quarantined or dropped (%s)", len(quarantined),
                tally.n, ", ".join(f"{r}: {c}" for r, c in zip(counts["rule"], counts["lines"],
                                                               strict=True)
                                   if c and r in LINE_RULES))
    return QualityResult(counts=counts, quarantined=quarantined)


class _Tally:
    """The lines per combination of first rule broken, duplicate, return and later
    (:data:`_COMBOS`), and the counts table's rows as the rules are counted."""

    def __init__(self, combos: pd.DataFrame) -> None:
        self.combos = combos.sort_values(["first_rule", "dup", "is_return", "later"],
                                         na_position="first", kind="stable").reset_index(drop=True)
        self.n = int(self.combos["n"].sum())
        self.rows: list[dict[str, object]] = []

    def count(self, rule: str, kind: str, description: str, threshold: object, action: str,
              hit: pd.Series) -> int:
        """Add the rule's row (lines, share, revenue of the lines ``hit``); return its lines."""
        found = int(self.combos.loc[hit, "n"].sum())
        self.rows.append({"rule": rule, "kind": kind, "description": description,
                          "threshold": str(threshold), "action": action if found else "passed",
                          "lines": found, "share": _share(found, self.n),
                          "revenue": round(float(self.combos.loc[hit, "revenue"].sum()), 2)})
        return found


def _count_line_rules(tally: _Tally, config: QualityConfig) -> None:
    thresholds = {"quantity_out_of_range": config.max_quantity,
                  "unit_price_out_of_range": config.max_unit_price,
                  "line_revenue_out_of_range": config.max_line_revenue,
                  "date_cut_off": f"{config.max_date_gap_days} days",
                  "undecodable_text": "U+FFFD"}
    combos = tally.combos
    for name, threshold in thresholds.items():
        tally.count(name, "line", LINE_RULES[name], threshold, "quarantined",
                    combos["first_rule"] == name)
    drop = config.duplicate_lines == "drop"
    tally.count("duplicate_line", "line", LINE_RULES["duplicate_line"], config.duplicate_lines,
                "dropped" if drop else "kept", combos["dup"] & combos["first_rule"].isna())


@dataclass(frozen=True)
class _FileCheck:
    rule: str
    lines: pd.Series  # which combinations count
    limit: float
    param: str
    advice: str
    first_sql: str  # the first such line's index


def _file_checks(combos: pd.DataFrame, config: QualityConfig, first_rule: str) -> list[_FileCheck]:
    return [
        _FileCheck("duplicate_share", combos["dup"], config.max_duplicate_share,
                   "max_duplicate_share", "the same lines appear more than once: the export may "
                   "hold a file appended twice. Export it again",
                   "SELECT min(line_index) FROM insiders_duplicates"),
        _FileCheck("return_share", combos["is_return"], config.max_return_share,
                   "max_return_share", "too many lines have a quantity below zero (returns): are "
                   "the signs flipped, or is this a returns-only export? Check the quantity column",
                   f"SELECT min(line_index) FROM insiders_lines AS l WHERE {return_sql('l')}"),
        _FileCheck("quarantine_share", combos["first_rule"].notna(), config.max_quarantine_share,
                   "max_quarantine_share", "too many lines break the line rules: a wrong column, "
                   "unit or decimal separator is more likely than bad lines. Check the lines named",
                   f"SELECT min(line_index) FROM insiders_lines AS l WHERE {first_rule} IS NOT NULL"),
    ]


def _check_file_rule(con, tally: _Tally, check: _FileCheck, params: dict[str, Any],
                     source: str) -> None:
    """Count a file rule; refuse the file, naming its first such line, when it is broken."""
    found = int(tally.combos.loc[check.lines, "n"].sum())
    share = found / tally.n if tally.n else 0.0
    refused = share > check.limit
    tally.count(check.rule, "file", FILE_RULES[check.rule], check.limit,
                "refused" if refused else "passed", check.lines)
    if not refused:
        return
    example = int(_query(con, check.first_sql, params).fetchone()[0])
    line = con.execute("SELECT * FROM insiders_lines WHERE line_index = $i",
                       {"i": example}).df().iloc[0]
    detail = ""
    if check.rule == "quarantine_share":
        line_rules = pd.DataFrame(tally.rows).query("kind == 'line'")
        top = line_rules.sort_values("lines").iloc[-1]
        detail = f"; most under {top['rule']} ({int(top['lines']):,} lines)"
    raise QualityError(
        f"{source}: {found:,} of {tally.n:,} lines ({share:.2%}) break the rule {check.rule} "
        f"(at most {check.limit:.2%} allowed, param {check.param}){detail}; the first is line "
        f"{example + 1} ({_describe(line)}). {check.advice}, or raise {check.param}"
    )


#: The lines equal to an earlier line in every column (all but the first of each group).
_DUPLICATES = """
CREATE TEMP TABLE insiders_duplicates AS
SELECT unnest(list_sort(positions)[2:]) AS line_index
FROM (SELECT list(line_index) AS positions FROM insiders_lines
      GROUP BY {columns} HAVING count(*) > 1)
""".format(columns=", ".join(COLUMNS))

_NO_DUPLICATES = ("CREATE TEMP TABLE insiders_duplicates AS "
                  "SELECT CAST(NULL AS BIGINT) AS line_index WHERE false")

#: Lines and revenue per combination of first rule broken, duplicate, return and later.
_COMBOS = f"""
SELECT {{first_rule}} AS first_rule, d.line_index IS NOT NULL AS dup, {return_sql('l')} AS is_return,
       COALESCE({{later}}, false) AS later, count(*) AS n,
       fsum(CAST(l.quantity AS DOUBLE) * l.unit_price) AS revenue
FROM insiders_lines AS l LEFT JOIN insiders_duplicates AS d USING (line_index)
GROUP BY ALL
"""

#: The quarantined lines, their rule first, in the order read.
_QUARANTINED = """
SELECT * FROM (
    SELECT l.line_index, {rule} AS rule, l.* EXCLUDE (line_index)
    FROM insiders_lines AS l LEFT JOIN insiders_duplicates AS d USING (line_index)
) WHERE rule IS NOT NULL
ORDER BY line_index
"""


def _query(con, sql: str, params: dict[str, Any]):
    """Run ``sql`` with the named parameters it uses (``$name``)."""
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def _main_stretch(con, max_gap_days: int) -> tuple[str, str] | None:
    """The first and last day of the stretch of days (no gap above ``max_gap_days``) holding
    the most lines; None when no line has a date."""
    per_day = con.execute("SELECT CAST(invoice_date AS DATE) AS day, count(*) AS n FROM "
                          "insiders_lines WHERE invoice_date IS NOT NULL GROUP BY day "
                          "ORDER BY day").df()
    if per_day.empty:
        return None
    days = pd.to_datetime(per_day["day"]).to_numpy()
    gaps = np.diff(days).astype("timedelta64[D]").astype(np.int64)
    stretch = np.concatenate([[0], np.cumsum(gaps > max_gap_days)])
    main = int(np.argmax(np.bincount(stretch, weights=per_day["n"].to_numpy())))
    kept = days[stretch == main]
    return str(kept.min())[:10], str(kept.max())[:10]


def _first_rule_sql(stretch: tuple[str, str] | None) -> str:
    """The first line rule a line ``l`` breaks (NULL: none), duplicates apart."""
    cut_off = ("false" if stretch is None else
               f"COALESCE(CAST(l.invoice_date AS DATE) NOT BETWEEN DATE '{stretch[0]}' "
               f"AND DATE '{stretch[1]}', true)")
    undecodable = " OR ".join(f"COALESCE(contains(CAST(l.{c} AS VARCHAR), '\ufffd'), false)"
                              for c in _TEXT_COLUMNS)
    return f"""CASE
        WHEN abs(l.quantity) > $max_quantity THEN 'quantity_out_of_range'
        WHEN l.unit_price > $max_unit_price THEN 'unit_price_out_of_range'
        WHEN abs(CAST(l.quantity AS DOUBLE) * l.unit_price) > $max_line_revenue
            THEN 'line_revenue_out_of_range'
        WHEN {cut_off} THEN 'date_cut_off'
        WHEN {undecodable} THEN 'undecodable_text'
    END"""


def _share(count: int, n: int) -> float:
    return round(float(count) / n, 6) if n else 0.0


def _describe(line: pd.Series) -> str:
    """One line in a few words, for a message."""
    return (f"invoice {line['invoice_no']}, stock code {line['stock_code']}, quantity "
            f"{line['quantity']}, unit price {line['unit_price']}, dated "
            f"{pd.Timestamp(line['invoice_date']).date()}")
