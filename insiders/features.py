"""Customer features as of a reference date: one row per customer with a purchase."""

from __future__ import annotations

import logging
from datetime import date, datetime

import pandas as pd

from insiders.errors import InputError
from insiders.feature_sql import MIN_TENURE_DAYS, customer_features
from insiders.options import FEATURE_DESCRIPTIONS, STUDY_FEATURES
from insiders.schema import is_return

logger = logging.getLogger(__name__)

#: Why a run stops when the checks and the filters left no purchase line.
NO_LINE_LEFT = (
    "no purchase line is left after the data-quality checks and the filters: nothing "
    "to segment. quality.csv and quarantine.csv say what removed the lines (lines "
    "without a customer id go unless the anonymous policy is synthetic: --anonymous "
    "synthetic, param anonymous_policy)")

__all__ = [
    "FEATURE_DESCRIPTIONS",
    "MIN_TENURE_DAYS",
    "STUDY_FEATURES",
    "build_customer_features",
    "check_reference_date",
    "last_purchase_date",
]


def as_date(value: date | datetime | str | pd.Timestamp) -> pd.Timestamp:
    """Normalise a reference date to midnight of its day."""
    return pd.Timestamp(value).normalize()


def last_purchase_date(lines: pd.DataFrame) -> pd.Timestamp:
    """The day of the last purchase line: the reference date of a one-off analysis."""
    purchases = lines.loc[~is_return(lines), "invoice_date"]
    if purchases.empty:
        raise InputError("no purchase lines: cannot pick a reference date")
    return purchases.max().normalize()


def build_customer_features(
    lines: pd.DataFrame, reference_date: date | datetime | str | pd.Timestamp, *,
    memory_limit: str | None = None,
) -> pd.DataFrame:
    """Compute one row of features per customer from filtered lines in memory.

    The features are the SQL of :mod:`insiders.feature_sql`, run on DuckDB over the frame
    (the features stage runs the same query on the run folder's Parquet, or on Spark). Only
    lines dated on or before the reference date count; dates are taken at day resolution so
    that an export without times of day gives the same features. A customer counts when at
    least one purchase line is left. Returns are kept apart from purchases.

    Args:
        lines: filtered lines (see :func:`insiders.filters.filter_transactions`), with a
            customer id on every line.
        reference_date: the "as of" day, from the run (never the wall clock).
        memory_limit: DuckDB's (``"3GB"``; None: DuckDB's default, 80% of the machine).

    Returns:
        A frame indexed by ``customer_id`` (sorted) with the columns of
        :data:`FEATURE_DESCRIPTIONS`.
    """
    ref = as_date(reference_date)
    if lines["customer_id"].isna().any():
        raise ValueError("lines without customer_id: filter them first (anonymous policy)")
    features = customer_features(lines, ref, memory_limit=memory_limit)
    logger.info("built %d features for %d customers as of %s", features.shape[1], len(features), ref.date())
    return features


def check_reference_date(
    first_day: date | datetime | pd.Timestamp | None,
    last_purchase_day: date | datetime | pd.Timestamp | None,
    reference_date: date | datetime | str | None,
    max_staleness_days: int,
) -> pd.Timestamp:
    """The reference date (default: the last purchase day) from the data's first line and last
    purchase days (:func:`insiders.feature_sql.lines_summary`), refused when it makes no sense.

    Raises:
        InputError: no line is left; the date is before the first purchase; or it is more than
            ``max_staleness_days`` after the last one (stale data, or a run date the data never
            reached) -- the message names the data's dates and what to change.
    """
    if first_day is None:
        raise InputError(NO_LINE_LEFT)
    if last_purchase_day is None:
        raise InputError("no purchase lines: cannot pick a reference date")
    first, last = as_date(first_day), as_date(last_purchase_day)
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
