"""The nine business questions, answered with numbers: pure functions of a run's tables."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.tree import DecisionTreeClassifier, _tree

from insiders.formats import count, days, number, ratio, share
from insiders.ranking import INSIDERS, PLAIN_RULES
from insiders.rules import RULES, SegmentRules, over, return_rate

logger = logging.getLogger(__name__)

#: How the high-returns action starts in Q9's text.
RETURNS_ACTION = "returns"


# --- Q3 ------------------------------------------------------------------------------------
def profile_vs_rest(features: pd.DataFrame, is_insider: pd.Series,
                    feature_names: list[str]) -> pd.DataFrame:
    """Median and quartiles of each feature for Insiders and for the rest of the base."""
    rows = []
    for name in feature_names:
        for group, mask in (("Insiders", is_insider), ("Rest", ~is_insider)):
            values = features.loc[mask.reindex(features.index, fill_value=False), name].dropna()
            rows.append({"feature": name, "group": group, "q1": values.quantile(0.25),
                         "median": values.median(), "q3": values.quantile(0.75),
                         "mean": values.mean()})
    table = pd.DataFrame(rows).pivot(index="feature", columns="group")
    table.columns = [f"{group.lower()}_{stat}" for stat, group in table.columns]
    table = table.reindex(feature_names)
    table["median_ratio"] = table["insiders_median"] / table["rest_median"].replace(0, np.nan)
    return table


# --- Q5 ------------------------------------------------------------------------------------
def monthly_revenue(lines: pd.DataFrame, customers: pd.Index, last_day: pd.Timestamp) -> pd.Series:
    """Purchase revenue per calendar month of a group of customers, complete months only,
    up to ``last_day``."""
    purchases = lines[~lines["is_return"] & lines["customer_id"].isin(customers)]
    day = purchases["invoice_date"].dt.normalize()
    purchases = purchases[day <= last_day]
    revenue = (purchases["quantity"] * purchases["unit_price"]).groupby(
        purchases["invoice_date"].dt.to_period("M")).sum()
    first = lines["invoice_date"].min().to_period("M")
    last_complete = (last_day + pd.Timedelta(days=1)).to_period("M") - 1
    months = pd.period_range(first, last_complete, freq="M")
    # the first month is complete only if the data starts on its first day
    if lines["invoice_date"].min().day != 1:
        months = months[1:]
    return revenue.reindex(months, fill_value=0.0)


@dataclass
class Forecast:
    """Expected revenue of a group for the coming months, with its back-test (None, and the
    errors None, when the data holds no earlier selection to back-test)."""

    forecast: pd.DataFrame  # month, expected (model), naive
    backtest: pd.DataFrame | None  # month, actual, model, naive
    model_mae: float | None
    naive_mae: float | None
    model_mape: float | None
    naive_mape: float | None
    method: str


#: Exponential smoothing needs this many complete months; fewer get the naive forecast.
MIN_SMOOTHING_MONTHS = 4
HOLT = "damped-trend exponential smoothing (statsmodels Holt), monthly revenue"


def _holt(series: pd.Series, horizon: int) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    fitted = ExponentialSmoothing(series.to_numpy(dtype=float), trend="add", damped_trend=True,
                                  initialization_method="estimated").fit()
    return np.maximum(fitted.forecast(horizon), 0.0)


def _naive(series: pd.Series, horizon: int) -> np.ndarray:
    """The mean of the last three months (NaN without a complete month)."""
    return np.repeat(series.iloc[-3:].mean() if len(series) else np.nan, horizon)


def _model(series: pd.Series, horizon: int) -> np.ndarray:
    return (_holt(series, horizon) if len(series) >= MIN_SMOOTHING_MONTHS
            else _naive(series, horizon))


def forecast_revenue(history: pd.Series, backtest_history: pd.Series | None = None,
                     backtest_actual: pd.Series | None = None, horizon: int = 3) -> Forecast:
    """Damped-trend exponential smoothing (Holt) of a group's monthly revenue, against the
    naive forecast (the mean of the last three months). A history shorter than
    ``MIN_SMOOTHING_MONTHS`` complete months gets the naive forecast, and the method says so.

    Args:
        history: the group's monthly revenue up to the last complete month.
        backtest_history: for the back-test, the monthly revenue of the group selected
            ``horizon`` months earlier, up to that selection (None: no back-test).
        backtest_actual: what that group then bought in the ``horizon`` following months.
        horizon: months ahead.
    """
    future = (pd.period_range(history.index[-1] + 1, periods=horizon, freq="M")
              if len(history) else [])  # no complete month: nothing to forecast
    forecast = pd.DataFrame({"month": [str(m) for m in future],
                             "expected": _model(history, len(future)),
                             "naive": _naive(history, len(future))})
    if len(history) >= MIN_SMOOTHING_MONTHS:
        method = HOLT
    elif len(history):
        method = (f"the naive forecast: {len(history)} complete month(s) of data are too few for "
                  f"exponential smoothing ({MIN_SMOOTHING_MONTHS} needed)")
    else:
        method = "none: the data holds no complete month yet"
    if backtest_history is None or backtest_actual is None or not len(backtest_history) \
            or not len(backtest_actual):
        return Forecast(forecast, None, None, None, None, None, method)
    predicted = _model(backtest_history, len(backtest_actual))
    baseline = _naive(backtest_history, len(backtest_actual))
    actual = backtest_actual.to_numpy(dtype=float)
    backtest = pd.DataFrame({"month": backtest_actual.index.astype(str), "actual": actual,
                             "model": predicted, "naive": baseline})
    return Forecast(
        forecast=forecast, backtest=backtest,
        model_mae=float(np.mean(np.abs(predicted - actual))),
        naive_mae=float(np.mean(np.abs(baseline - actual))),
        model_mape=float(np.mean(np.abs(predicted - actual) / np.maximum(actual, 1e-9))),
        naive_mape=float(np.mean(np.abs(baseline - actual) / np.maximum(actual, 1e-9))),
        method=method,
    )


# --- Q6 / Q7 ---------------------------------------------------------------------------------
@dataclass
class Rules:
    """Readable rules reproducing membership, and how well they do."""

    enter: list[str]  # conditions that lead to Insiders
    leave: list[str]  # conditions that lead out of Insiders
    precision: float
    recall: float
    accuracy: float


#: The chance that the next actual / forecast ratio falls within :func:`ratio_interval`'s.
INTERVAL_LEVEL = 0.9


def ratio_interval(ratios: pd.Series | list[float],
                   level: float = INTERVAL_LEVEL) -> tuple[float, float] | None:
    """Where the next actual / forecast ratio is likely to fall, from the ratios measured at
    earlier cuts: the prediction interval of one more draw from a log-normal fitted to them
    (Student's t with their count less one degrees of freedom, so few cuts give a wide range).
    None with fewer than two ratios (or one not positive)."""
    logs = np.log(np.asarray(ratios, dtype=float))
    if len(logs) < 2 or not np.isfinite(logs).all():
        return None
    spread = float(logs.std(ddof=1)) * np.sqrt(1 + 1 / len(logs))
    half = float(stats.t.ppf(0.5 + level / 2, len(logs) - 1)) * spread
    return float(np.exp(logs.mean() - half)), float(np.exp(logs.mean() + half))


def _paths(tree: DecisionTreeClassifier, names: list[str]) -> list[tuple[list[str], int, int, int]]:
    """Every leaf's conditions, predicted class, samples and Insiders in it."""
    t = tree.tree_
    out: list[tuple[list[str], int, int, int]] = []

    def walk(node: int, conds: list[str]) -> None:
        if t.feature[node] == _tree.TREE_UNDEFINED:
            counts = t.value[node][0] * t.n_node_samples[node]
            out.append((conds, int(np.argmax(t.value[node][0])), int(t.n_node_samples[node]),
                        round(counts[1]) if len(counts) > 1 else 0))
            return
        name, threshold = names[t.feature[node]], t.threshold[node]
        walk(t.children_left[node], [*conds, f"{name} <= {threshold:,.4g}"])
        walk(t.children_right[node], [*conds, f"{name} > {threshold:,.4g}"])

    walk(0, [])
    return out


def membership_rules(features: pd.DataFrame, is_insider: pd.Series, feature_names: list[str],
                     *, max_depth: int = 3, random_state: int = 42) -> Rules:
    """A shallow decision tree on the features that reproduces Insiders membership.

    Its paths to an Insiders leaf are the conditions to enter; the paths elsewhere are the
    conditions under which a customer is out (or removed). Fidelity: precision and recall of
    the tree's Insiders against the clusters' Insiders.
    """
    X = features[feature_names].to_numpy(dtype=float)
    y = is_insider.reindex(features.index).to_numpy(dtype=int)
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=20, class_weight=None,
                                  random_state=random_state).fit(X, y)
    predicted = tree.predict(X)
    tp = int(((predicted == 1) & (y == 1)).sum())
    enter, leave = [], []
    for conds, cls, n, n_ins in _paths(tree, feature_names):
        line = " and ".join(conds) + f"  ({count(n)} customers, {share(n_ins / n, 0)} Insiders)"
        (enter if cls == 1 else leave).append(line)

    return Rules(
        enter=enter, leave=leave,
        precision=tp / max(int((predicted == 1).sum()), 1),
        recall=tp / max(int((y == 1).sum()), 1),
        accuracy=float((predicted == y).mean()),
    )


# --- Q8 --------------------------------------------------------------------------------------
#: The most resampled values :func:`revenue_test`'s bootstrap holds at once (per sample).
BOOTSTRAP_VALUES = 10_000_000


def revenue_test(features: pd.DataFrame, is_insider: pd.Series, *, n_resamples: int = 2000,
                 random_state: int = 42) -> dict[str, float]:
    """Mann-Whitney U test of revenue per customer, Insiders against the rest, and a
    bootstrap 95% confidence interval of the difference in mean revenue."""
    mask = is_insider.reindex(features.index, fill_value=False).to_numpy()
    a = features["gross_revenue"].to_numpy()[mask]
    b = features["gross_revenue"].to_numpy()[~mask]
    test = stats.mannwhitneyu(a, b, alternative="greater")
    # resamples in batches of at most BOOTSTRAP_VALUES values: one batch below that (as
    # before), and not 2,000 x 430,000 values at once (17 GB) at 100x
    batch = max(1, BOOTSTRAP_VALUES // max(len(a) + len(b), 1))
    boot = stats.bootstrap((a, b), lambda x, y, axis=-1: x.mean(axis=axis) - y.mean(axis=axis),
                           n_resamples=n_resamples, random_state=random_state,
                           vectorized=True, method="percentile",
                           batch=batch if batch < n_resamples else None)
    return {
        "mann_whitney_u": float(test.statistic),
        "p_value": float(test.pvalue),
        "mean_insiders": float(a.mean()),
        "mean_rest": float(b.mean()),
        "mean_difference": float(a.mean() - b.mean()),
        "ci_low": float(boot.confidence_interval.low),
        "ci_high": float(boot.confidence_interval.high),
        "median_insiders": float(np.median(a)),
        "median_rest": float(np.median(b)),
    }


def out_of_time(revenue: pd.Series, features: pd.DataFrame,
                is_insider: pd.Series) -> pd.DataFrame:
    """Groups selected on the features of a past month, and what each bought after it:
    Insiders, the rest, and two plain rules of the same size (top customers by past revenue;
    top RFM score).

    Args:
        revenue: each customer's revenue after the selection (by ``customer_id``; the
            customers who bought nothing may be left out).
        features, is_insider: the month's features and Insiders.

    Returns:
        One row per group: customers, revenue after, revenue per customer, share of all
        revenue after the selection captured by the group.
    """
    total = float(revenue.sum())
    insiders = features.index[is_insider.reindex(features.index, fill_value=False).to_numpy()]
    n = len(insiders)
    groups = {
        INSIDERS: insiders,
        "Rest of the base": features.index.difference(insiders),
        **{label: rule(features, n) for label, rule in PLAIN_RULES.items()},
    }
    rows = []
    for name, members in groups.items():
        got = float(revenue.reindex(members, fill_value=0.0).sum())
        rows.append({"group": name, "customers": len(members), "revenue_after": got,
                     "revenue_per_customer": got / max(len(members), 1),
                     "share_of_revenue_after": got / total if total else np.nan})
    return pd.DataFrame(rows)


def map_coordinates(features: pd.DataFrame, embeddings: pd.DataFrame, space: str,
                     feature_names: list[str]) -> np.ndarray:
    """The customers' 2-D coordinates in the chosen space; for the features space, their
    features' percentile ranks."""
    columns = [f"{space}_x", f"{space}_y"]
    if space != "features" and set(columns) <= set(embeddings.columns):
        return embeddings.loc[features.index, columns].to_numpy()
    return features[feature_names].rank(pct=True).to_numpy()


# --- Q9 --------------------------------------------------------------------------------------
def actions(profiles: pd.DataFrame, base: pd.Series, rules: SegmentRules = RULES) -> pd.DataFrame:
    """Actions per segment derived from its figures against the whole base's means, with the
    thresholds the segment names use (:class:`insiders.rules.SegmentRules`)."""
    base_returns = return_rate(base["qty_returned"], base["n_items"])
    rows = []
    for p in profiles.itertuples():
        recency = over(p.mean_recency_days, base["recency_days"])
        value = over(p.mean_gross_revenue, base["gross_revenue"])
        frequency = over(p.mean_frequency, base["frequency"])
        returns = return_rate(p.mean_qty_returned, p.mean_n_items)
        todo = []
        if p.mostly_insiders:
            todo.append(f"retain: {share(p.share_revenue, 0)} of revenue from "
                        f"{share(p.share_customers, 0)} of customers; early access, free "
                        "shipping, a named contact")
        if rules.is_lapsed(recency):
            todo.append(f"win back: last purchase {days(p.mean_recency_days, 0)} ago on average "
                        f"({ratio(recency)} the base); a time-limited offer on past categories")
        elif rules.is_active(recency) and not p.mostly_insiders:
            todo.append(f"grow: active (last purchase {days(p.mean_recency_days, 0)} ago) but "
                        f"{ratio(value)} the base's revenue; cross-sell and bundles to lift basket")
        if frequency < rules.rare_frequency_ratio and not rules.is_lapsed(recency):
            todo.append(f"habit: buys rarely ({number(p.mean_frequency, 2)} invoices per 30 days); "
                        "reminders timed to their cycle")
        if rules.is_high_returns(returns, base_returns):
            todo.append(f"{RETURNS_ACTION}: {share(returns, 0)} of units come back "
                        f"({share(base_returns, 0)} in the base); check sizing/descriptions "
                        "before discounts")
        if value >= rules.upgrade_value_ratio and not p.mostly_insiders:
            todo.append(f"upgrade: {ratio(value)} the base's revenue; show the Insiders criteria "
                        "and what is missing")
        if not todo:
            todo.append(f"keep in the general newsletter ({share(p.share_revenue, 0)} of revenue); "
                        "low priority for spend")
        rows.append({"segment_id": p.segment_id, "segment_name": p.segment_name,
                     "customers": p.n_customers, "share_revenue": p.share_revenue,
                     "actions": "; ".join(todo)})
    return pd.DataFrame(rows)
