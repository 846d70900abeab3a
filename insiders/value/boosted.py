"""The gradient-boosted model: its features, training windows, training rows and trees."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from insiders.errors import InputError
from insiders.features import as_date
from insiders.value.lines import HORIZON_DAYS, DateLike, LineHistory, _seeded_rows

logger = logging.getLogger(__name__)

#: Features of the gradient-boosted model: stable across history lengths (rates, recent windows)
#: plus a few cumulative ones.
GBM_FEATURES: tuple[str, ...] = (
    "recency_days",
    "tenure_days",
    "n_days",
    "n_invoices",
    "gross_revenue",
    "revenue_30d",
    "revenue_90d",
    "invoices_90d",
    "frequency",  # invoices per 30 days of tenure (the features' own)
    "revenue_per_30d",
    "avg_ticket",
    "avg_basket_size",
    "n_products",
    "value_returned",
    "avg_days_between_purchases",
)


#: The money among the trees' inputs, compared to the cent (:func:`tree_inputs`).
MONEY_FEATURES: tuple[str, ...] = ("gross_revenue", "revenue_30d", "revenue_90d",
                                   "revenue_per_30d", "avg_ticket", "value_returned")


def tree_inputs(frame: pd.DataFrame, features: tuple[str, ...] | list[str]) -> np.ndarray:
    """The trees' input matrix, money rounded to the cent: amounts that differ in a float's
    last bits (summed in another order, or read from an export that writes cents) give the
    same trees and the same forecasts."""
    x = frame[list(features)].copy()
    money = [c for c in MONEY_FEATURES if c in x.columns]
    x[money] = x[money].round(2)
    return x.to_numpy(float)


def training_cuts(
    reference_date: DateLike,
    first_day: DateLike,
    *,
    horizon_days: int = HORIZON_DAYS,
    n_windows: int = 6,
    step_months: int = 1,
    min_history_days: int = 30,
) -> list[pd.Timestamp]:
    """Cut dates of the training windows, latest first: each window's target
    (cut, cut + horizon] ends on or before the reference date, and each cut has at least
    ``min_history_days`` of data before it.

    Cut j is ``horizon_days`` before the reference date moved back ``j * step_months``
    calendar months, so the fits of consecutive monthly runs (on the same day of the month)
    share all cuts but one (:class:`LineHistory` computes each once).
    """
    ref, start = as_date(reference_date), as_date(first_day)
    cuts = []
    for j in range(n_windows):
        cut = ref - pd.DateOffset(months=j * step_months) - pd.Timedelta(days=horizon_days)
        if (cut - start).days < min_history_days:
            break
        cuts.append(cut)
    return cuts


class BoostedTrees:
    """The gradient-boosted part of :class:`~insiders.value.blend.ValueModel` (its hyper-parameters
    are the model's attributes): the trees, their training rows, and whether a window fits."""

    def _trees(self):
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        common = dict(max_iter=self.max_iter, learning_rate=self.learning_rate,
                      max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
                      l2_regularization=self.l2_regularization, early_stopping=False,
                      random_state=self.random_state)
        return (HistGradientBoostingRegressor(loss="poisson", **common),
                HistGradientBoostingClassifier(**common))

    def training_frame(self, kept_lines: pd.DataFrame | LineHistory,
                       reference_date: DateLike) -> pd.DataFrame:
        """The gbm's stacked training rows: features at each training cut, with ``target``
        (revenue of the window after the cut) and ``cut``. Only lines up to the reference
        date count: every cut and window ends on or before it."""
        ref = as_date(reference_date)
        history = LineHistory.of(kept_lines)
        first = history.first_purchase_day(ref)
        if first is None:
            raise InputError(f"no purchase lines on or before {ref.date()}")
        cuts = training_cuts(ref, first, horizon_days=self.horizon_days,
                             n_windows=self.n_windows, step_months=self.step_months,
                             min_history_days=self.min_history_days)
        if not cuts:
            raise InputError(
                f"no training window fits before {ref.date()}: need {self.min_history_days} days "
                f"of history plus the {self.horizon_days}-day horizon"
            )
        frames = []
        for cut in cuts:
            x = history.value_features(cut)[list(self.features)]
            target = history.future_revenue(cut, self.horizon_days)
            x = x.assign(target=target.reindex(x.index, fill_value=0.0), cut=cut)
            frames.append(x)
        return pd.concat(frames)

    def _training_or_none(self, history: LineHistory, ref: pd.Timestamp) -> pd.DataFrame | None:
        """The trees' training rows, or None (and the reason) when no window fits."""
        first = history.first_purchase_day(ref)
        if not training_cuts(ref, first, horizon_days=self.horizon_days, n_windows=1,
                             step_months=self.step_months, min_history_days=self.min_history_days):
            self.fallback_reason_ = (
                f"the gradient-boosted model needs {self.min_history_days} days of history plus "
                f"the {self.horizon_days}-day horizon before the run ({ref.date()}); the data has "
                f"{(ref - first).days} days, so BG/NBD + Gamma-Gamma chooses alone")
            return None
        return self.training_frame(history, ref)

    def _fit_trees(self, train: pd.DataFrame) -> None:
        from threadpoolctl import threadpool_limits

        self.training_cuts_ = sorted(train["cut"].unique())
        rows = _seeded_rows(len(train), self.max_training_rows, self.random_state)
        if rows is not None:
            logger.info("value model: trees fitted on %d of %d training rows (seeded sample)",
                        len(rows), len(train))
            train = train.iloc[rows]
        x = tree_inputs(train, self.features)
        y = train["target"].round(2).to_numpy(float)  # the cent, as the inputs
        regressor, classifier = self._trees()
        with threadpool_limits(limits=1):
            regressor.fit(x, y)
            classifier.fit(x, (y > 0).astype(int))
        self.regressor_, self.classifier_ = regressor, classifier
        self.n_training_rows_ = len(train)
