"""The pandas path the features had before they became SQL (:mod:`insiders.feature_sql`):
kept only as the reference the SQL engines are checked against (tests) and timed against
(bench/bench_feature_engines.py). Not used by the product."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from insiders.features import MIN_TENURE_DAYS, as_date
from insiders.options import FEATURE_DESCRIPTIONS


def pandas_customer_features(
    lines: pd.DataFrame, reference_date: date | datetime | str | pd.Timestamp
) -> pd.DataFrame:
    """Compute one row of features per customer from filtered lines.

    Only lines dated on or before the reference date count; dates are taken at day
    resolution so that an export without times of day gives the same features. A customer
    counts when at least one purchase line is left. Returns are kept apart from purchases.

    Args:
        lines: filtered lines (see :func:`insiders.filters.filter_transactions`), with a
            customer id on every line.
        reference_date: the "as of" day, from the run (never the wall clock).

    Returns:
        A frame indexed by ``customer_id`` (sorted) with the columns of
        :data:`FEATURE_DESCRIPTIONS`.
    """
    ref = as_date(reference_date)
    if lines["customer_id"].isna().any():
        raise ValueError("lines without customer_id: filter them first (anonymous policy)")
    day = lines["invoice_date"].dt.normalize()
    in_window = (day <= ref).to_numpy()
    frame = pd.DataFrame(
        {
            "customer_id": lines["customer_id"].to_numpy("int64", na_value=-1),
            "invoice_no": lines["invoice_no"].to_numpy(),
            "stock_code": lines["stock_code"].to_numpy(),
            "day": day.to_numpy(),
            "quantity": lines["quantity"].to_numpy(),
            "revenue": lines["quantity"].to_numpy() * lines["unit_price"].to_numpy(),
        }
    )[in_window]
    returns_mask = _is_return(lines).to_numpy()[in_window]
    purchases = frame[~returns_mask]
    returns = frame[returns_mask]

    by_customer = purchases.groupby("customer_id", sort=True)
    features = by_customer.agg(
        gross_revenue=("revenue", "sum"),
        last_day=("day", "max"),
        first_day=("day", "min"),
        n_lines=("revenue", "size"),
        n_items=("quantity", "sum"),
        n_products=("stock_code", "nunique"),
        n_invoices=("invoice_no", "nunique"),
        n_days=("day", "nunique"),
    )
    features["recency_days"] = (ref - features["last_day"]).dt.days.astype("int64")
    span_days = (features["last_day"] - features["first_day"]).dt.days
    # invoices per 30 days since the first purchase, over at least MIN_TENURE_DAYS: grows
    # with buying (a one-off buyer of last week is not "every day")
    tenure_days = (ref - features["first_day"]).dt.days + 1
    features["frequency"] = features["n_invoices"] / tenure_days.clip(lower=MIN_TENURE_DAYS) * 30
    features["frequency_study"] = features["n_invoices"] / (span_days + 1)
    features["avg_ticket"] = features["gross_revenue"] / features["n_lines"]
    features["avg_basket_size"] = features["n_items"] / features["n_invoices"]
    per_invoice = purchases.groupby(["customer_id", "invoice_no"], sort=False)["stock_code"]
    features["avg_unique_basket_size"] = (
        per_invoice.nunique().groupby(level="customer_id").mean().reindex(features.index)
    )
    features["avg_days_between_purchases"] = (span_days / (features["n_days"] - 1)).where(
        features["n_days"] > 1, np.nan
    )
    returned = returns.groupby("customer_id").agg(
        qty_returned=("quantity", "sum"),
        n_returns=("quantity", "size"),
        value_returned=("revenue", "sum"),
    )
    returned = returned.reindex(features.index, fill_value=0)
    features["qty_returned"] = (-returned["qty_returned"]).astype("int64")
    features["n_returns"] = returned["n_returns"].astype("int64")
    features["value_returned"] = 0.0 - returned["value_returned"].astype("float64")
    features = features[list(FEATURE_DESCRIPTIONS)]
    features.index.name = "customer_id"
    return features


def _is_return(lines: pd.DataFrame) -> pd.Series:
    if "is_return" in lines:
        return lines["is_return"].astype(bool)
    return lines["quantity"] < 0
