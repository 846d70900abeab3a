"""The month's hand-off files, as a CRM or an email tool (Klaviyo, Mailchimp) imports them.

``insiders.csv`` lists every Insider; ``joined.csv`` and ``left.csv`` are the month's add and
remove lists. One row per customer, plain ids, dates as ``YYYY-MM-DD``, amounts rounded.
``customer_key`` is the customer as the shop's export names them (an e-mail, an id with its
leading zeros): the key a CRM matches on; ``customer_id`` is the product's own id for it.

A shop's values are data, never code: a text cell that a spreadsheet would run as a formula
(it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written with a
leading ``'``, as OWASP advises against CSV injection (:func:`spreadsheet_safe`); numbers stay
numbers. Such a key then differs from the export's by that quote: a CRM that needs it exact
matches on ``customer_id`` or reads ``segments.parquet`` or the warehouse (docs/outputs.md).
"""

from __future__ import annotations

import pandas as pd

from insiders.kept_lines import load_lines
from insiders.schema import CUSTOMER_KEY, key_column

__all__ = ["COLUMNS", "crm_table", "hand_off", "publish", "spreadsheet_safe"]

#: What a text cell starts with when a spreadsheet would read it as a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: The columns of every hand-off file, in order.
COLUMNS = ("customer_id", "customer_key", "country", "segment_id", "segment_name", "status", "member_since",
           "last_purchase_date", "expected_revenue", "p_active", "value_rank", "gross_revenue",
           "recency_days", "n_invoices", "frequency", "reason")


#: The lines' columns the hand-off reads.
CRM_COLUMNS = ("customer_id", "country")


def customer_country(lines: pd.DataFrame) -> pd.Series:
    """Each customer's country: the one of most of their purchase lines (ties: the first in
    alphabetical order)."""
    counts = lines.groupby(["customer_id", "country"], observed=True).size().rename("n").reset_index()
    counts = counts.sort_values(["customer_id", "n", "country"], ascending=[True, False, True],
                                kind="stable")
    return counts.drop_duplicates("customer_id").set_index("customer_id")["country"]


def crm_table(features: pd.DataFrame, segments: pd.DataFrame, lines: pd.DataFrame,
              reference_date: str | pd.Timestamp) -> pd.DataFrame:
    """Every customer of the month with the hand-off columns (:data:`COLUMNS`)."""
    reference = pd.Timestamp(reference_date).normalize()
    out = segments.join(features, how="inner")
    out["country"] = customer_country(lines).reindex(out.index)
    out["last_purchase_date"] = (reference - pd.to_timedelta(out["recency_days"], unit="D")).dt.date
    out["member_since"] = pd.to_datetime(out["member_since"]).dt.date
    if CUSTOMER_KEY not in out:  # a run folder from before the keys were kept
        out[CUSTOMER_KEY] = key_column(out.index, None)
    out = out.reset_index()
    for column, digits in (("expected_revenue", 2), ("p_active", 3), ("gross_revenue", 2),
                           ("frequency", 2)):
        out[column] = out[column].round(digits)
    out["value_rank"] = out["value_rank"].astype("Int64")
    return out[list(COLUMNS)]


def hand_off(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The three files: Insiders (best expected value first), who joined, who left."""
    order = ["expected_revenue", "gross_revenue", "customer_id"]
    ranked = table.sort_values(order, ascending=[False, False, True], kind="stable",
                               na_position="last")
    ranked = spreadsheet_safe(ranked)
    members = ranked["status"].isin(("new", "stayed"))
    return {"insiders_csv": ranked[members], "joined": ranked[ranked["status"] == "new"],
            "left": ranked[ranked["status"] == "left"]}


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every text cell that starts like a formula (:data:`FORMULA_STARTS`)
    prefixed with ``'``, so that a spreadsheet shows it as text; numbers, dates and missing
    cells unchanged."""
    out = table.copy()
    for column in out.columns:
        values = out[column]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        text = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
        if text.any():
            out[column] = values.where(~text, "'" + values[text].astype("str"))
    return out


def publish(run_dir: str, outbox: str) -> dict[str, str]:
    """Write a run month's hand-off files into ``outbox/<YYYY-MM>/`` (a path or URL a CRM
    sync picks up), built from the run folder; returns file name -> URI. Rerunning a month
    rewrites its files."""
    from insiders import artifacts, run_folder

    facts = artifacts.load_json(run_folder.path(run_dir, "facts"))
    month = pd.Timestamp(facts["reference_date"]).strftime("%Y-%m")
    table = crm_table(artifacts.load_frame(run_folder.path(run_dir, "features")),
                      artifacts.load_frame(run_folder.path(run_dir, "segments")),
                      load_lines(run_dir, CRM_COLUMNS),
                      facts["reference_date"])
    written = {}
    for name, frame in hand_off(table).items():
        file = run_folder.FILES[name]
        written[file] = artifacts.save_frame(frame, artifacts.join(outbox, month, file), index=False)
    return written
