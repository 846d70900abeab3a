"""Per-customer value over the next months: expected revenue and the probability of buying.

Two models and their blend:

- ``"gbm"``: gradient-boosted trees (:class:`~sklearn.ensemble.HistGradientBoostingRegressor`
  with a Poisson loss for revenue, a :class:`~sklearn.ensemble.HistGradientBoostingClassifier`
  for ``p_active``) trained on earlier monthly windows of the same lines: features as of a
  past cut -> revenue of the ``horizon_days`` after it. Every training window's target ends
  on or before the reference date, so nothing after it is used.
- ``"bgnbd"``: the BG/NBD purchase model with the Gamma-Gamma spend model (Fader, Hardie and
  Lee 2005), fitted by maximum likelihood with scipy on the purchase days up to the reference
  date.
- ``"blend"``: the mean of the two expected revenues (and of the two ``p_active``); the
  default (how it was chosen: docs/insiders.md).

When the requested model cannot be fitted on the data, :class:`ValueModel` steps down, says
so (``method_``, ``fallback_reason_``) and never fails: the trees need at least one training
window (``min_history_days`` of history plus the horizon before the reference date), so a young
shop's first months get BG/NBD + Gamma-Gamma alone, which needs no window; BG/NBD needs
``MIN_BTYD_DAYS`` of purchases and ``MIN_BTYD_CUSTOMERS`` customers, ``MIN_REPEATERS`` of them
with a repeat purchase day, so a shop's first weeks get ``"past_revenue"`` (the naive forecast:
the next horizon brings what the last one did).

Revenue is *gross*: quantity x unit price over purchase lines; returns are left out, as in
the ``gross_revenue`` feature (a return is rarely of the same quarter's purchases, and the
loyalty question is who buys). Dates are taken at day resolution, like the features.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from scipy import optimize, special

from insiders.errors import InputError
from insiders.features import MIN_TENURE_DAYS, as_date, build_customer_features

logger = logging.getLogger(__name__)

__all__ = [
    "GBM_FEATURES",
    "HORIZON_DAYS",
    "METHODS",
    "BetaGeoGammaGamma",
    "LineHistory",
    "ValueModel",
    "btyd_summary",
    "future_revenue",
    "invoices_per_30d",
    "training_cuts",
    "value_features",
]

DateLike = date | datetime | str | pd.Timestamp

#: The forecast window: three months.
HORIZON_DAYS = 91
#: The value models :class:`ValueModel` knows.
METHODS = ("gbm", "bgnbd", "blend")
#: The last step down when no model can be fitted (:meth:`ValueModel.fit`).
PAST_REVENUE = "past_revenue"
#: BG/NBD + Gamma-Gamma is fitted only on this many days of purchases (four weeks) ...
MIN_BTYD_DAYS = 28
#: ... and at least this many customers ...
MIN_BTYD_CUSTOMERS = 50
#: ... of whom at least this many bought on a second day (Gamma-Gamma's spend model).
MIN_REPEATERS = 10
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
    "invoices_per_30d",
    "revenue_per_30d",
    "avg_ticket",
    "avg_basket_size",
    "n_products",
    "value_returned",
    "avg_days_between_purchases",
)


#: The kept lines' columns the value model reads.
VALUE_COLUMNS = ("customer_id", "invoice_no", "stock_code", "invoice_date", "quantity", "unit_price",
                 "is_return")


# --- helpers on lines ------------------------------------------------------------------------
def _purchases(lines: pd.DataFrame) -> pd.DataFrame:
    """Purchase lines as (customer_id, invoice_no, day, revenue), sorted by day (a stable sort:
    lines of one day keep their order), so that a run of days is a slice (:func:`_days`);
    ``invoice_no`` as an integer code per invoice number (counts of distinct invoices only,
    without a string per line)."""
    is_return = lines["is_return"] if "is_return" in lines else lines["quantity"] < 0
    day = lines["invoice_date"].dt.normalize().to_numpy()
    rows = np.flatnonzero(~is_return.to_numpy(bool))  # the purchases, then by day
    rows = rows[np.argsort(day[rows], kind="stable")]
    return pd.DataFrame(
        {
            "customer_id": lines["customer_id"].to_numpy("int64", na_value=-1)[rows],
            "invoice_no": pd.factorize(lines["invoice_no"])[0][rows],
            "day": day[rows],
            "revenue": (lines["quantity"].to_numpy() * lines["unit_price"].to_numpy())[rows],
        }
    )


def _days(buys: pd.DataFrame, upto: pd.Timestamp, after: pd.Timestamp | None = None) -> pd.DataFrame:
    """The purchase lines (:func:`_purchases`, sorted by day) dated after ``after`` (None: from
    the first) up to ``upto`` included: a slice, not a copy."""
    days = buys["day"].to_numpy()
    start = 0 if after is None else int(np.searchsorted(days, after.to_datetime64(), "right"))
    return buys.iloc[start:int(np.searchsorted(days, upto.to_datetime64(), "right"))]


def future_revenue(
    kept_lines: pd.DataFrame, cut_date: DateLike, horizon_days: int = HORIZON_DAYS
) -> pd.Series:
    """Gross revenue per customer in the window (cut_date, cut_date + horizon_days], by day.

    Purchase lines only (quantity x unit price); returns are excluded, not netted, like the
    ``gross_revenue`` feature. A line dated on the cut day belongs to the past, one dated on
    the last day of the window to the future.

    Args:
        kept_lines: filtered lines (:func:`insiders.filters.filter_transactions`).
        cut_date: the last day of the past.
        horizon_days: the window's length in days.

    Returns:
        Revenue indexed by ``customer_id`` (sorted), only customers who bought in the window.
    """
    return _future_revenue(_purchases(kept_lines), as_date(cut_date), horizon_days)


def _future_revenue(buys: pd.DataFrame, cut: pd.Timestamp, horizon_days: int) -> pd.Series:
    window = _days(buys, cut + pd.Timedelta(days=horizon_days), after=cut)
    out = window.groupby("customer_id", sort=True)["revenue"].sum()
    out.name = "future_revenue"
    return out


def invoices_per_30d(
    n_invoices: pd.Series | np.ndarray | float,
    tenure_days: pd.Series | np.ndarray | float,
    min_tenure_days: float = MIN_TENURE_DAYS,
) -> pd.Series | np.ndarray | float:
    """Purchase invoices per 30 days of tenure: a frequency that grows with buying.

    ``n_invoices / max(tenure_days, min_tenure_days) * 30``. Tenure is the days from the first
    purchase to the reference date; the floor keeps a new customer's one invoice from reading
    as a high rate (one invoice within the floor is 1.0, the most a single invoice can score).

    Args:
        n_invoices: purchase invoices up to the reference date.
        tenure_days: days from the first purchase to the reference date (0 on the first day).
        min_tenure_days: the floor of tenure, in days (> 0).
    """
    if min_tenure_days <= 0:
        raise InputError(f"min_tenure_days must be > 0, got {min_tenure_days}")
    return n_invoices / np.maximum(tenure_days, min_tenure_days) * 30.0


def value_features(kept_lines: pd.DataFrame, reference_date: DateLike) -> pd.DataFrame:
    """The customer features (:func:`insiders.features.build_customer_features`) plus cheap
    ones for the value model, all as of the reference date (later lines do not count).

    Added columns: ``tenure_days`` (first purchase to the reference date), ``n_days``
    (distinct purchase days), ``revenue_30d``/``revenue_90d`` and ``invoices_90d`` (purchases
    in the last 30/90 days, the reference day included), ``invoices_per_30d``
    (:func:`invoices_per_30d`) and ``revenue_per_30d`` (the same for revenue).
    """
    ref = as_date(reference_date)
    return _value_features(build_customer_features(kept_lines, ref), _purchases(kept_lines), ref)


def _value_features(base: pd.DataFrame, buys: pd.DataFrame, ref: pd.Timestamp) -> pd.DataFrame:
    buys = _days(buys, ref)
    by = buys.groupby("customer_id", sort=True)
    extra = pd.DataFrame(
        {"first_day": by["day"].min(), "n_days": by["day"].nunique()}
    ).reindex(base.index)
    out = base.copy()
    out["tenure_days"] = (ref - extra["first_day"]).dt.days.astype("int64")
    out["n_days"] = extra["n_days"].astype("int64")
    for days in (30, 90):
        recent = _days(buys, ref, after=ref - pd.Timedelta(days=days))
        grouped = recent.groupby("customer_id", sort=True)
        out[f"revenue_{days}d"] = grouped["revenue"].sum().reindex(base.index, fill_value=0.0)
        if days == 90:
            out["invoices_90d"] = grouped["invoice_no"].nunique().reindex(base.index, fill_value=0)
    out["invoices_per_30d"] = invoices_per_30d(out["n_invoices"], out["tenure_days"])
    out["revenue_per_30d"] = out["gross_revenue"] / np.maximum(out["tenure_days"], MIN_TENURE_DAYS) * 30.0
    return out


def btyd_summary(kept_lines: pd.DataFrame, reference_date: DateLike) -> pd.DataFrame:
    """The BG/NBD inputs per customer as of the reference date, in days.

    ``frequency`` = repeat purchase days (distinct purchase days - 1), ``recency`` = days from
    the first to the last purchase day, ``T`` = days from the first purchase day to the
    reference date, ``monetary`` = mean revenue per repeat purchase day (the first day left out;
    0 without repeats), as in Fader, Hardie & Lee (2005).
    """
    return _btyd_summary(_purchases(kept_lines), as_date(reference_date))


def _btyd_summary(buys: pd.DataFrame, ref: pd.Timestamp) -> pd.DataFrame:
    daily = _days(buys, ref).groupby(["customer_id", "day"], sort=True)["revenue"].sum().reset_index()
    by = daily.groupby("customer_id", sort=True)
    first, last = by["day"].min(), by["day"].max()
    n_days = by["day"].size()
    first_revenue = by["revenue"].first()  # days are sorted: the first purchase day
    repeat_revenue = by["revenue"].sum() - first_revenue
    frequency = (n_days - 1).astype("int64")
    summary = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last - first).dt.days.astype("float64"),
            "T": (ref - first).dt.days.astype("float64"),
            "monetary": (repeat_revenue / frequency.where(frequency > 0)).fillna(0.0),
        }
    )
    summary.index.name = "customer_id"
    return summary


# --- BG/NBD + Gamma-Gamma --------------------------------------------------------------------
@dataclass(frozen=True)
class _Distinct:
    """An array as its distinct values and each element's position among them: a function of
    the array is computed once per distinct value and spread back (the same numbers, with far
    fewer calls when values repeat, as purchase-day counts and days do)."""

    values: np.ndarray
    index: np.ndarray

    @classmethod
    def of(cls, array: np.ndarray) -> _Distinct:
        values, index = np.unique(array, return_inverse=True)
        return cls(values, index)

    def map(self, function) -> np.ndarray:
        return function(self.values)[self.index]


def _bgnbd_loglik(log_params: np.ndarray, x: _Distinct, tx: _Distinct, T: _Distinct) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = np.exp(log_params)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _bgnbd_terms(r, alpha, a, b, x, tx, T)


def _bgnbd_terms(r: float, alpha: float, a: float, b: float, x: _Distinct, tx: _Distinct,
                 T: _Distinct) -> np.ndarray:
    a1 = x.map(lambda v: special.gammaln(r + v) - special.gammaln(r) + r * np.log(alpha))
    a2 = x.map(lambda v: special.gammaln(a + b) + special.gammaln(b + v) - special.gammaln(b)
               - special.gammaln(a + b + v))
    r_x = x.map(lambda v: r + v)
    a3 = -r_x * T.map(lambda v: np.log(alpha + v))
    repeat = x.map(lambda v: v > 0)
    a4 = np.full_like(a3, -np.inf)
    a4[repeat] = (np.log(a) - x.map(lambda v: np.log(b + v - 1))[repeat]
                  - r_x[repeat] * tx.map(lambda v: np.log(alpha + v))[repeat])
    return a1 + a2 + np.logaddexp(a3, a4)


def _gamma_gamma_loglik(log_params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend ``m`` over ``x`` transactions."""
    p, q, v = np.exp(log_params)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q)
                + q * np.log(v) + (p * x - 1) * np.log(m) + p * x * np.log(x)
                - (p * x + q) * np.log(v + x * m))


def _fit_mle(loglik, start: np.ndarray, args: tuple, penalizer: float) -> np.ndarray:
    def objective(theta: np.ndarray) -> float:
        if np.any(np.abs(theta) > 30):
            return 1e100
        value = -np.mean(loglik(theta, *args)) + penalizer * float(np.sum(theta**2))
        return value if np.isfinite(value) else 1e100

    result = optimize.minimize(objective, start, method="Nelder-Mead",
                               options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10})
    result = optimize.minimize(objective, result.x, method="L-BFGS-B")
    return result.x


@dataclass
class BetaGeoGammaGamma:
    """BG/NBD (purchase days) with Gamma-Gamma (spend per purchase day), time in days.

    Parameters follow Fader, Hardie & Lee (2005): purchase rate ~ Gamma(r, alpha), dropout
    after each purchase ~ Beta(a, b); spend per purchase day ~ Gamma(p, nu), nu ~ Gamma(q,
    gamma). Fitted by maximum likelihood (a tiny L2 penalty on the log-parameters, ``penalizer``,
    keeps the optimum finite; it does not depend on the currency or time unit); deterministic
    (fixed start, Nelder-Mead then L-BFGS-B).
    """

    penalizer: float = 1e-6
    params_: dict[str, float] | None = None

    def fit(self, summary: pd.DataFrame) -> BetaGeoGammaGamma:
        """Fit on :func:`btyd_summary` output (every customer for BG/NBD, repeaters for spend)."""
        x = summary["frequency"].to_numpy(float)
        tx = summary["recency"].to_numpy(float)
        T = summary["T"].to_numpy(float)
        scale = max(float(np.median(T)), 1.0)
        bg = _fit_mle(_bgnbd_loglik, np.log([0.5, scale, 1.0, 1.0]),
                      (_Distinct.of(x), _Distinct.of(tx), _Distinct.of(T)), self.penalizer)
        repeat = (x > 0) & (summary["monetary"].to_numpy(float) > 0)
        m = summary["monetary"].to_numpy(float)[repeat]
        gg_start = np.log([2.0, 2.0, max(float(np.mean(m)), 1.0)])
        gg = _fit_mle(_gamma_gamma_loglik, gg_start, (x[repeat], m), self.penalizer)
        r, alpha, a, b = np.exp(bg)
        p, q, v = np.exp(gg)
        self.params_ = {"r": r, "alpha": alpha, "a": a, "b": b, "p": p, "q": q, "v": v}
        logger.info("BG/NBD+GG fitted: %s",
                    ", ".join(f"{k} = {float(val):.4g}" for k, val in self.params_.items()))
        return self

    def _check(self) -> dict[str, float]:
        if self.params_ is None:
            raise RuntimeError("BetaGeoGammaGamma is not fitted: call fit() first")
        return self.params_

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """E[purchase days in (T, T + t] | frequency, recency, T] (FHL 2005, eq. 10)."""
        pr = self._check()
        r, alpha, a, b = pr["r"], pr["alpha"], pr["a"], pr["b"]
        x = summary["frequency"].to_numpy(float)
        T = summary["T"].to_numpy(float)
        z = t / (alpha + T + t)
        log_ratio = (r + x) * np.log((alpha + T) / (alpha + T + t))
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        first = (a + b + x - 1) / (a - 1) * (1.0 - np.exp(log_ratio) * hyp)
        # no purchases without a repeat, small-t limit if hyp2f1 fails (very large x)
        fallback = (r + x) / (alpha + T) * t
        first = np.where(np.isfinite(first) & (first >= 0), first, fallback)
        return first * self.p_alive(summary)

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """P(still a customer at T | frequency, recency, T)."""
        pr = self._check()
        r, alpha, a, b = pr["r"], pr["alpha"], pr["a"], pr["b"]
        x = summary["frequency"].to_numpy(float)
        tx = summary["recency"].to_numpy(float)
        T = summary["T"].to_numpy(float)
        log_odds = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + tx)),
            -np.inf,
        )
        return 1.0 / (1.0 + np.exp(log_odds))

    def p_active(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """P(at least one purchase in (T, T + t]): alive at T, then a Poisson event before t.

        Under BG/NBD a customer alive at T stays alive until the next purchase, and the
        posterior rate of an alive customer is Gamma(r + x, alpha + T).
        """
        pr = self._check()
        r, alpha = pr["r"], pr["alpha"]
        x = summary["frequency"].to_numpy(float)
        T = summary["T"].to_numpy(float)
        none_if_alive = np.exp((r + x) * np.log((alpha + T) / (alpha + T + t)))
        return self.p_alive(summary) * (1.0 - none_if_alive)

    def expected_spend(self, summary: pd.DataFrame) -> np.ndarray:
        """E[spend per purchase day | frequency, monetary] (Gamma-Gamma); the mean without repeats."""
        pr = self._check()
        p, q, v = pr["p"], pr["q"], pr["v"]
        x = summary["frequency"].to_numpy(float)
        m = summary["monetary"].to_numpy(float)
        population = p * v / (q - 1) if q > 1 else float(np.nan)
        conditional = (v + x * m) * p / (p * x + q - 1)
        return np.where(x > 0, conditional, population)

    def expected_revenue(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """Expected revenue in (T, T + t]: expected purchase days x expected spend per day."""
        return self.expected_purchases(summary, t) * self.expected_spend(summary)


# --- the lines, with what the models derive from them per day, computed once ---------------
class LineHistory:
    """Filtered lines, and what the value model derives from them per day, computed once.

    A month's fit reads the features at each training cut, the revenue after each cut and the
    BG/NBD summary; the months of a warm start (:func:`insiders.membership.warm_start`) share
    most cuts (one calendar month apart: :func:`training_cuts`). Pass one history to every fit
    of a run and each day's tables are computed once, the purchase lines extracted once. The
    tables equal the module's functions on the same lines (a test checks it). The lines are
    held sorted by day (copied only when they are not), so the lines up to a day are a slice
    of them; the ``max_days`` tables used most recently are kept. ``memory_limit`` bounds
    DuckDB's memory for the features (:func:`insiders.features.build_customer_features`).
    """

    def __init__(self, lines: pd.DataFrame, *, max_days: int = 24,
                 memory_limit: str | None = None) -> None:
        self.lines = _by_day(_coded(lines))  # coded first: the sort copies no strings
        self.max_days = max_days
        self.memory_limit = memory_limit
        self._buys: pd.DataFrame | None = None
        self._tables: dict[tuple, pd.DataFrame | pd.Series] = {}

    @classmethod
    def of(cls, lines: pd.DataFrame | LineHistory) -> LineHistory:
        """``lines`` itself when it is a history, else a new one over the frame."""
        return lines if isinstance(lines, LineHistory) else cls(lines)

    @property
    def purchases(self) -> pd.DataFrame:
        """The purchase lines (:func:`_purchases`), extracted on first use."""
        if self._buys is None:
            self._buys = _purchases(self.lines)
        return self._buys

    def _table(self, key: tuple, compute):
        if key in self._tables:  # the most recently used go last: consecutive months reuse
            self._tables[key] = self._tables.pop(key)  # their older cuts' tables
        else:
            if len(self._tables) >= self.max_days:
                self._tables.pop(next(iter(self._tables)))  # the least recently used
            self._tables[key] = compute()
        return self._tables[key]

    def lines_upto(self, day: DateLike) -> pd.DataFrame:
        """The lines dated on or before ``day`` (a slice: the lines are sorted by day)."""
        end = (as_date(day) + pd.Timedelta(days=1)).to_datetime64()
        # days never decrease along the lines, so "before the next midnight" is a prefix
        return self.lines.iloc[:int(np.searchsorted(self.lines["invoice_date"].to_numpy(), end))]

    def customers(self, day: DateLike) -> pd.Index:
        """The customers with a purchase on or before ``day``, sorted."""
        return pd.Index(np.unique(_days(self.purchases, as_date(day))["customer_id"].to_numpy()),
                        name="customer_id")

    def features(self, day: DateLike) -> pd.DataFrame:
        """:func:`insiders.features.build_customer_features` as of ``day``."""
        ref = as_date(day)
        return self._table(("features", ref), lambda: build_customer_features(
            self.lines_upto(ref), ref, memory_limit=self.memory_limit))

    def keep_features(self, day: DateLike, features: pd.DataFrame) -> None:
        """Hold ``features`` as the features of ``day`` (computed by an earlier stage of the
        run on the same lines: :meth:`features` returns them instead of computing them)."""
        self._table(("features", as_date(day)), lambda: features)

    def value_features(self, day: DateLike) -> pd.DataFrame:
        """:func:`value_features` as of ``day``."""
        ref = as_date(day)
        return self._table(("value", ref),
                           lambda: _value_features(self.features(ref), self.purchases, ref))

    def future_revenue(self, cut: DateLike, horizon_days: int = HORIZON_DAYS) -> pd.Series:
        """:func:`future_revenue` after ``cut``."""
        day = as_date(cut)
        return self._table(("future", day, horizon_days),
                           lambda: _future_revenue(self.purchases, day, horizon_days))

    def btyd_summary(self, day: DateLike) -> pd.DataFrame:
        """:func:`btyd_summary` as of ``day``."""
        ref = as_date(day)
        return self._table(("btyd", ref), lambda: _btyd_summary(self.purchases, ref))

    def first_purchase_day(self, day: DateLike) -> pd.Timestamp | None:
        """The first purchase day on or before ``day`` (None without one)."""
        days = self.purchases["day"]  # sorted
        return (pd.Timestamp(days.iloc[0]) if len(days) and days.iloc[0] <= as_date(day)
                else None)


def _by_day(lines: pd.DataFrame) -> pd.DataFrame:
    """The lines sorted by day (a stable sort: a day's lines keep their order), as they are
    when they already are."""
    day = lines["invoice_date"].dt.normalize()
    if day.is_monotonic_increasing:
        return lines
    return lines.take(np.argsort(day.to_numpy(), kind="stable"))


def _coded(lines: pd.DataFrame) -> pd.DataFrame:
    """The lines with ``invoice_no`` and ``stock_code`` as integer codes (the features only
    count them distinct): the same features, without a string per line to hold and hash."""
    coded = {c: pd.factorize(lines[c], use_na_sentinel=True)[0].astype(np.int64)
             for c in ("invoice_no", "stock_code")
             if c in lines and not pd.api.types.is_integer_dtype(lines[c])}
    if not coded:
        return lines
    out = lines.assign(**coded)
    for column in coded:  # a missing code stays missing
        out[column] = out[column].where(out[column] >= 0)
    return out


def _seeded_rows(n: int, size: int | None, random_state: int) -> np.ndarray | None:
    """Sorted row numbers of a seeded sample of ``size`` of ``n`` rows (None: all of them)."""
    if size is None or n <= size:
        return None
    return np.sort(np.random.default_rng(random_state).choice(n, size, replace=False))


# --- the value model -------------------------------------------------------------------------
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


class ValueModel:
    """Expected revenue over the next ``horizon_days`` and the probability of buying in them.

    ``fit(lines, reference_date)`` uses only the lines dated on or before the reference date;
    ``predict(lines)`` returns, for every customer with a purchase up to the reference date,
    ``expected_revenue`` and ``p_active`` (indexed by ``customer_id``, sorted). Saveable with
    joblib (plain attributes only).

    Parameters:
        method: ``"blend"`` (default), ``"gbm"`` or ``"bgnbd"`` (see the module docstring).
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
    core). ``fit`` and ``predict`` take the lines
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
        random_state: int = 0,
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

    def fit(self, kept_lines: pd.DataFrame | LineHistory, reference_date: DateLike) -> ValueModel:
        """Fit as of the reference date (lines after it are ignored).

        Sets ``method_``, the model actually fitted (``method``, ``"bgnbd"`` or
        ``"past_revenue"``), and ``fallback_reason_``, why it stepped down (None if it did not).
        """
        if self.method not in METHODS:
            raise InputError(f"method must be one of {METHODS}, got {self.method!r}")
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
        x = train[list(self.features)].to_numpy(float)
        y = train["target"].to_numpy(float)
        regressor, classifier = self._trees()
        with threadpool_limits(limits=1):
            regressor.fit(x, y)
            classifier.fit(x, (y > 0).astype(int))
        self.regressor_, self.classifier_ = regressor, classifier
        self.n_training_rows_ = len(train)

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
        ref = self.reference_date_ if reference_date is None else as_date(reference_date)
        history = LineHistory.of(kept_lines)
        parts = {}
        if getattr(self, "method_", self.method) == PAST_REVENUE:
            return self._past_revenue(history, ref)
        if self.regressor_ is not None:
            x = history.value_features(ref)
            matrix = x[list(self.features)].to_numpy(float)
            # every core: each row's sum over the trees is the same whichever thread makes it
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
            out = w * parts["gbm"] + (1 - w) * parts["bgnbd"].reindex(parts["gbm"].index)
        else:
            (out,) = parts.values()
        out.index.name = "customer_id"
        return out.sort_index()

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
