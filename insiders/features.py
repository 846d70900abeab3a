"""Customer features as of a reference date: one row per customer with a purchase."""

from __future__ import annotations

import logging
from datetime import date, datetime

import numpy as np
import pandas as pd

from insiders.errors import InputError
from insiders.options import FEATURE_DESCRIPTIONS, STUDY_FEATURES

logger = logging.getLogger(__name__)

#: The shortest tenure ``frequency`` divides by: newer customers count as 30 days old.
MIN_TENURE_DAYS = 30

__all__ = [
    "FEATURE_DESCRIPTIONS",
    "STUDY_FEATURES",
    "build_customer_features",
    "checked_reference_date",
    "last_purchase_date",
]


def as_date(value: date | datetime | str | pd.Timestamp) -> pd.Timestamp:
    """Normalise a reference date to midnight of its day."""
    return pd.Timestamp(value).normalize()


def last_purchase_date(lines: pd.DataFrame) -> pd.Timestamp:
    """The day of the last purchase line: the reference date of a one-off analysis."""
    purchases = lines.loc[~_is_return(lines), "invoice_date"]
    if purchases.empty:
        raise InputError("no purchase lines: cannot pick a reference date")
    return purchases.max().normalize()


def build_customer_features(
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
    logger.info("built %d features for %d customers as of %s", features.shape[1], len(features), ref.date())
    return features


def _is_return(lines: pd.DataFrame) -> pd.Series:
    if "is_return" in lines:
        return lines["is_return"].astype(bool)
    return lines["quantity"] < 0


def checked_reference_date(
    lines: pd.DataFrame, reference_date: date | datetime | str | None, max_staleness_days: int = 45
) -> pd.Timestamp:
    """The reference date (default: the last purchase day), refused when it makes no sense.

    Raises:
        InputError: no line is left; the date is before the first purchase; or it is more than
            ``max_staleness_days`` after the last one (stale data, or a run date the data never
            reached) -- the message names the data's dates and what to change.
    """
    if lines.empty:
        raise InputError(
            "no purchase line is left after the data-quality checks and the filters: nothing "
            "to segment. quality.csv and quarantine.csv say what removed the lines (lines "
            "without a customer id go unless the anonymous policy is synthetic: --anonymous "
            "synthetic, param anonymous_policy)")
    last = last_purchase_date(lines)
    first = lines["invoice_date"].min().normalize()
    reference = pd.Timestamp(reference_date).normalize() if reference_date else last
    if reference < first:
        raise InputError(
            f"the reference date {reference.date()} is before the data's first purchase "
            f"({first.date()}): pick a date from {first.date()} to {last.date()}"
        )
    if (reference - last).days > max_staleness_days:
        raise InputError(
            f"the data's last purchase is {last.date()}, {(reference - last).days} days before "
            f"the reference date {reference.date()} (at most {max_staleness_days} allowed): "
            "load newer data, pick an earlier reference date (in Airflow: the run's date or the "
            "reference_date param), or raise max_staleness_days"
        )
    return reference
