"""Ranking customers, and the plain rules the Insiders are measured against: one definition each.

- :func:`rank_scores` / :func:`top_n`: customers ordered by a score, the same on any machine
  (scores rounded, ties to a tie-break such as past revenue, then to the smaller id);
- :func:`rfm_score`: the classic RFM score, quintiles of recency, invoices and revenue summed;
- :func:`top_by_past_revenue` and :func:`top_by_rfm`: the "top N by past revenue" and "top N
  by RFM score" of the report's question 8, of the back-tests and of the benches.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["INSIDERS", "PLAIN_RULES", "TOP_BY_PAST_REVENUE", "TOP_BY_RFM", "decile_calibration",
           "normalized_gini", "rank_scores", "rfm_score", "top_by_past_revenue", "top_by_rfm",
           "top_n"]

#: The labels the Insiders and the plain rules go by in the run folder's tables and the report.
INSIDERS = "Insiders"
TOP_BY_PAST_REVENUE = "Top N by past revenue"
TOP_BY_RFM = "Top N by RFM score"


def rank_scores(scores: pd.Series, *, tiebreak: pd.Series | None = None, decimals: int = 6) -> pd.Index:
    """Customer ids ordered from best to worst score, the same on any machine.

    Scores are rounded to ``decimals`` first (a 1e-12 difference from summation order or
    thread count does not reorder customers), ties go to the higher ``tiebreak`` (e.g. past
    revenue, also rounded), then to the smaller customer id.
    """
    keys = [scores.index.to_numpy()]
    if tiebreak is not None:
        keys.append(-np.round(tiebreak.reindex(scores.index).fillna(0.0).to_numpy(float), decimals))
    keys.append(-np.round(scores.to_numpy(float), decimals))
    order = np.lexsort(keys)  # the last key is the primary one
    return scores.index[order]


def top_n(scores: pd.Series, n: int, *, tiebreak: pd.Series | None = None, decimals: int = 6) -> pd.Index:
    """The ``n`` best customers by score (see :func:`rank_scores`)."""
    return rank_scores(scores, tiebreak=tiebreak, decimals=decimals)[: max(int(n), 0)]


def rfm_score(features: pd.DataFrame) -> pd.Series:
    """Quintiles of recency (recent is 5), invoices and gross revenue, summed (3 to 15).

    Quintiles come from percentile ranks with ties averaged, so equal values get equal
    quintiles (``rank(method="first")`` would split ties by row order).
    """
    def quintile(values: pd.Series, ascending: bool) -> pd.Series:
        pct = values.rank(method="average", pct=True, ascending=ascending)
        return np.ceil(pct * 5).clip(1, 5).astype("int64")

    return (quintile(features["recency_days"], ascending=False)
            + quintile(features["n_invoices"], ascending=True)
            + quintile(features["gross_revenue"], ascending=True))


def top_by_past_revenue(features: pd.DataFrame, n: int) -> pd.Index:
    """The ``n`` customers with the highest gross revenue so far."""
    return top_n(features["gross_revenue"], n)


def top_by_rfm(features: pd.DataFrame, n: int) -> pd.Index:
    """The ``n`` customers with the highest RFM score, ties to the higher gross revenue."""
    return top_n(rfm_score(features).astype(float), n, tiebreak=features["gross_revenue"])


#: The plain rules the Insiders are measured against, by label: each picks ``n`` customers
#: from a month's features.
PLAIN_RULES: dict[str, Callable[[pd.DataFrame, int], pd.Index]] = {
    TOP_BY_PAST_REVENUE: top_by_past_revenue,
    TOP_BY_RFM: top_by_rfm,
}


def normalized_gini(actual: pd.Series, scores: pd.Series) -> float:
    """How well ``scores`` order customers by what they then bought (``actual``): the Gini of
    the Lorenz curve of ``actual`` in the order of ``scores`` (:func:`rank_scores`, the same
    on any machine), over that of the perfect order. 1: the best order; 0: no better than
    chance. As the CLV literature reports a ranking (Wang et al. 2019, Google)."""
    actual = actual.reindex(scores.index, fill_value=0.0).astype(float)
    total = float(actual.sum())
    if total <= 0 or len(actual) < 2:
        return float("nan")

    def gini(order: pd.Index) -> float:
        cumulative = np.cumsum(actual.reindex(order).to_numpy()) / total
        return float(cumulative.mean() - (len(order) + 1) / (2 * len(order)))

    return gini(rank_scores(scores)) / gini(rank_scores(actual))


def decile_calibration(actual: pd.Series, forecast: pd.Series) -> pd.DataFrame:
    """Mean forecast and mean actual per decile of forecast (1: the highest tenth), as
    calibration charts show them; one row per decile: ``decile``, ``customers``,
    ``mean_forecast``, ``mean_actual``."""
    order = rank_scores(forecast)
    rows = []
    for decile, members in enumerate(np.array_split(order.to_numpy(), 10), start=1):
        rows.append({"decile": decile, "customers": len(members),
                     "mean_forecast": float(forecast.reindex(members).mean()),
                     "mean_actual": float(actual.reindex(members, fill_value=0.0).mean())})
    return pd.DataFrame(rows)
