"""The value model: the models fitted and blended, or stepped down from when the data cannot carry them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from insiders.errors import InputError
from insiders.features import as_date
from insiders.options import DEFAULT_SEED, VALUE_MODELS
from insiders.value.bgnbd import BetaGeoGammaGamma
from insiders.value.boosted import GBM_FEATURES, BoostedTrees, tree_inputs
from insiders.value.lines import HORIZON_DAYS, DateLike, LineHistory, _seeded_rows

logger = logging.getLogger(__name__)

#: From this many customers the trees predict on every core (below, on one).
PARALLEL_PREDICT_ROWS = 100_000
#: The last step down when no model can be fitted (:meth:`ValueModel.fit`).
PAST_REVENUE = "past_revenue"
#: BG/NBD + Gamma-Gamma is fitted only on this many days of purchases (four weeks) ...
MIN_BTYD_DAYS = 28
#: ... and at least this many customers ...
MIN_BTYD_CUSTOMERS = 50
#: ... of whom at least this many bought on a second day (Gamma-Gamma's spend model).
MIN_REPEATERS = 10


class ValueModel(BoostedTrees):
    """Expected revenue over the next ``horizon_days`` and the probability of buying in them.

    ``fit(lines, reference_date)`` uses only the lines dated on or before the reference date;
    ``predict(lines)`` returns, for every customer with a purchase up to the reference date,
    ``expected_revenue`` and ``p_active`` (indexed by ``customer_id``, sorted). Saveable with
    joblib (plain attributes only).

    Parameters:
        method: ``"blend"`` (default), ``"gbm"`` or ``"bgnbd"`` (see :mod:`insiders.value`).
        horizon_days: the forecast window.
        n_windows, step_months, min_history_days: the gbm's training windows
            (:func:`training_cuts`).
        max_training_rows: the gbm is fitted on a seeded sample of this many of its stacked
            training rows when there are more (a shop of 430,000 customers has 2.6 million);
            None: all of them.
        btyd_max_customers: BG/NBD and Gamma-Gamma are fitted on a seeded sample of this
            many customers when there are more (every customer is scored); None: all.
        features: the gbm's features (columns of :func:`value_features`).
        max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization: the
            gbm's trees (the same for the regressor and the classifier).
        blend_weight: weight of the gbm in ``"blend"`` (the rest goes to BG/NBD).
        random_state: seed of every estimator.

    Trees are fitted with one thread (threadpoolctl), and without early stopping, so the
    result does not depend on the machine's core count (predictions, row by row, use every
    core from :data:`PARALLEL_PREDICT_ROWS` customers). ``fit`` and ``predict`` take the lines
    or a :class:`LineHistory` of them (the same result, computed once across fits).
    """

    def __init__(
        self,
        method: str = "blend",
        *,
        horizon_days: int = HORIZON_DAYS,
        n_windows: int = 6,
        step_months: int = 1,
        min_history_days: int = 30,
        max_training_rows: int | None = 250_000,
        btyd_max_customers: int | None = 100_000,
        features: Sequence[str] = GBM_FEATURES,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        blend_weight: float = 0.5,
        random_state: int = DEFAULT_SEED,
    ) -> None:
        self.method = method
        self.horizon_days = horizon_days
        self.n_windows = n_windows
        self.step_months = step_months
        self.min_history_days = min_history_days
        self.max_training_rows = max_training_rows
        self.btyd_max_customers = btyd_max_customers
        self.features = tuple(features)
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.blend_weight = blend_weight
        self.random_state = random_state

    # -- fitting
    def fit(self, kept_lines: pd.DataFrame | LineHistory, reference_date: DateLike) -> ValueModel:
        """Fit as of the reference date (lines after it are ignored).

        Sets ``method_``, the model actually fitted (``method``, ``"bgnbd"`` or
        ``"past_revenue"``), and ``fallback_reason_``, why it stepped down (None if it did not).
        """
        if self.method not in VALUE_MODELS:
            raise InputError(f"method must be one of {VALUE_MODELS}, got {self.method!r}")
        ref = as_date(reference_date)
        self.reference_date_ = ref
        self.regressor_ = self.classifier_ = self.btyd_ = None
        self.training_cuts_: list[pd.Timestamp] = []
        self.method_, self.fallback_reason_ = self.method, None
        history = LineHistory.of(kept_lines)
        if history.first_purchase_day(ref) is None:
            raise InputError(f"no purchase lines on or before {ref.date()}")
        if self.method in ("gbm", "blend"):
            train = self._training_or_none(history, ref)
            if train is None:
                self.method_ = "bgnbd"
            else:
                self._fit_trees(train)
        if self.method_ in ("bgnbd", "blend"):
            self._fit_btyd(history, ref)
        if self.fallback_reason_:
            logger.warning("value model: %s (%s)", self.fallback_reason_, self.method_)
        return self

    def _fit_btyd(self, history: LineHistory, ref: pd.Timestamp) -> None:
        """BG/NBD + Gamma-Gamma, or the step down to past revenue when the data cannot carry it."""
        summary = history.btyd_summary(ref)
        repeaters = int((summary["frequency"] > 0).sum())
        days = (ref - history.first_purchase_day(ref)).days
        if days < MIN_BTYD_DAYS or len(summary) < MIN_BTYD_CUSTOMERS or repeaters < MIN_REPEATERS:
            self._step_down(
                f"too little history for a value model by {ref.date()}: {days} days of "
                f"purchases, {len(summary)} customers, {repeaters} of them buying on a second day "
                f"(BG/NBD + Gamma-Gamma needs {MIN_BTYD_DAYS} days, {MIN_BTYD_CUSTOMERS} customers "
                f"and {MIN_REPEATERS} repeat ones; the trees {self.min_history_days} + "
                f"{self.horizon_days} days)")
            return
        rows = _seeded_rows(len(summary), self.btyd_max_customers, self.random_state)
        if rows is not None:
            logger.info("value model: BG/NBD fitted on %d of %d customers (seeded sample)",
                        len(rows), len(summary))
            summary = summary.iloc[rows]
        btyd = BetaGeoGammaGamma().fit(summary)
        if not all(np.isfinite(v) and v > 0 for v in btyd.params_.values()):
            self._step_down(f"BG/NBD + Gamma-Gamma found no finite fit by {ref.date()}")
            return
        self.btyd_ = btyd

    def _step_down(self, reason: str) -> None:
        """Drop every fitted model and rank by past revenue, saying why."""
        self.regressor_ = self.classifier_ = self.btyd_ = None
        self.method_ = PAST_REVENUE
        self.fallback_reason_ = (f"{reason}; so each customer's revenue of the last "
                                 f"{self.horizon_days} days stands for the next {self.horizon_days}")

    # -- predicting
    def predict(self, kept_lines: pd.DataFrame | LineHistory,
                reference_date: DateLike | None = None) -> pd.DataFrame:
        """``expected_revenue`` and ``p_active`` for every customer with a purchase up to the
        reference date (the fit's by default)."""
        if not hasattr(self, "reference_date_"):
            raise RuntimeError("ValueModel is not fitted: call fit() first")
        return forecast_of(self.predict_parts(kept_lines, reference_date))

    def predict_parts(self, kept_lines: pd.DataFrame | LineHistory,
                      reference_date: DateLike | None = None) -> dict[str, pd.DataFrame]:
        """What :meth:`predict` returns, by the model that made it: ``"gbm"``, ``"bgnbd"`` and
        ``"blend"`` (their blend) for those fitted, or ``"past_revenue"`` alone after a step
        down; so one fit ranks the customers by each of its models."""
        if not hasattr(self, "reference_date_"):
            raise RuntimeError("ValueModel is not fitted: call fit() first")
        ref = self.reference_date_ if reference_date is None else as_date(reference_date)
        history = LineHistory.of(kept_lines)
        parts = {}
        if getattr(self, "method_", self.method) == PAST_REVENUE:
            return {PAST_REVENUE: self._past_revenue(history, ref)}
        if self.regressor_ is not None:
            x = history.value_features(ref)
            matrix = tree_inputs(x, self.features)
            # each row's sum over the trees is the same whichever thread makes it: every core
            # for a large shop, one thread below (OpenMP's start per tree costs more than the
            # rows, and on a busy machine its spinning threads made a predict 25x slower)
            with threadpool_limits(limits=1 if len(matrix) < PARALLEL_PREDICT_ROWS else None):
                revenue = self.regressor_.predict(matrix)
                p_active = self.classifier_.predict_proba(matrix)[:, 1]
            parts["gbm"] = pd.DataFrame({"expected_revenue": revenue, "p_active": p_active}, index=x.index)
        if self.btyd_ is not None:
            summary = history.btyd_summary(ref)
            parts["bgnbd"] = pd.DataFrame(
                {"expected_revenue": self.btyd_.expected_revenue(summary, self.horizon_days),
                 "p_active": self.btyd_.p_active(summary, self.horizon_days)},
                index=summary.index,
            )
        if len(parts) == 2:
            w = self.blend_weight
            parts["blend"] = w * parts["gbm"] + (1 - w) * parts["bgnbd"].reindex(parts["gbm"].index)
        for out in parts.values():
            out.index.name = "customer_id"
        return {name: out.sort_index() for name, out in parts.items()}

    def _past_revenue(self, history: LineHistory, ref: pd.Timestamp) -> pd.DataFrame:
        """The naive forecast: each customer's revenue of the last horizon, and whether they
        bought in it, stand for the next horizon's."""
        customers = history.btyd_summary(ref).index
        last = history.future_revenue(ref - pd.Timedelta(days=self.horizon_days), self.horizon_days)
        revenue = last.reindex(customers, fill_value=0.0).astype(float)
        out = pd.DataFrame({"expected_revenue": revenue, "p_active": (revenue > 0).astype(float)},
                           index=customers)
        out.index.name = "customer_id"
        return out.sort_index()


def forecast_of(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The forecast among :meth:`ValueModel.predict_parts`'s parts (what :meth:`ValueModel.predict`
    returns): their blend when both models were fitted, else the one model fitted."""
    if "blend" in parts:
        return parts["blend"]
    (out,) = parts.values()
    return out
