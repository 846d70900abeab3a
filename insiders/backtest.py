"""Out-of-time back-test of selection rules: select N customers on the lines up to a cut date,
measure the share of the next ``horizon_days``' revenue they bring.

A *selection* is a callable ``(lines_up_to_cut, cut_date, n) -> customer ids``; the back-test
hands it only the lines dated on or before the cut, so no rule can look ahead. The oracle (the
N who really spent most in the window) is added by :func:`capture_table` itself.

The share's denominator is the window's revenue of the customers known at the cut (a purchase
on or before it): customers first seen in the window cannot be selected by anyone. The share of
all the window's revenue (new customers included) is reported beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

from insiders.config import MembershipPolicy
from insiders.features import as_date, build_customer_features
from insiders.ranking import top_by_past_revenue, top_by_rfm, top_n
from insiders.value import HORIZON_DAYS, DateLike, LineHistory, ValueModel

__all__ = [
    "Selection",
    "capture_table",
    "n_active_share",
    "precomputed",
    "retention",
    "select_rfm",
    "select_top_revenue",
    "select_value_model",
]

#: ``(lines up to the cut, cut date, n) -> the selected customer ids``.
Selection = Callable[[pd.DataFrame, pd.Timestamp, int], Iterable[int]]


def select_top_revenue(lines: pd.DataFrame, cut: pd.Timestamp, n: int) -> pd.Index:
    """The N customers with the highest gross revenue up to the cut."""
    return top_by_past_revenue(build_customer_features(lines, cut), n)


def select_rfm(lines: pd.DataFrame, cut: pd.Timestamp, n: int) -> pd.Index:
    """The N customers with the highest RFM score, ties broken by gross revenue."""
    return top_by_rfm(build_customer_features(lines, cut), n)


def select_value_model(model_factory: Callable[[], ValueModel], *,
                       store: dict[pd.Timestamp, pd.DataFrame] | None = None) -> Selection:
    """A selection by a value model's ``expected_revenue`` (ties: past revenue), fitted at each cut.

    Args:
        model_factory: makes a fresh, unfitted :class:`~insiders.value.ValueModel`.
        store: if given, each cut's predictions are kept there (for retention or inspection).
    """
    def select(lines: pd.DataFrame, cut: pd.Timestamp, n: int) -> pd.Index:
        scores = model_factory().fit(lines, cut).predict(lines)
        if store is not None:
            store[cut] = scores
        past = build_customer_features(lines, cut)["gross_revenue"]
        return top_n(scores["expected_revenue"], n, tiebreak=past)

    return select


def precomputed(sets: Mapping[DateLike, Iterable[int]]) -> Selection:
    """A selection made elsewhere (clusters, the stated policy), given per cut date.

    The precomputed set is used as it is (its own size, not ``n``): compare it at equal N by
    passing its size as ``n``.
    """
    by_day = {as_date(day): list(ids) for day, ids in sets.items()}

    def select(lines: pd.DataFrame, cut: pd.Timestamp, n: int) -> list[int]:
        if cut not in by_day:
            raise KeyError(f"no precomputed selection for {cut.date()}")
        return by_day[cut]

    return select


def n_active_share(share: float = 0.2, *, days: int = MembershipPolicy.active_days
                   ) -> Callable[[pd.DataFrame, pd.Timestamp], int]:
    """N as a share of the customers active at the cut, by the tier's own window
    (:meth:`insiders.config.MembershipPolicy.is_active`; ``days``: its ``active_days``)."""
    window = MembershipPolicy(active_days=days)

    def n_of(lines: pd.DataFrame, cut: pd.Timestamp) -> int:
        day = lines["invoice_date"].dt.normalize()
        bought = day[~lines["is_return"] & (day <= cut)].groupby(lines["customer_id"]).max()
        return round(share * int(window.is_active((cut - bought).dt.days).sum()))

    return n_of


def capture_table(
    kept_lines: pd.DataFrame | LineHistory,
    cut_dates: Sequence[DateLike],
    n: int | Callable[[pd.DataFrame, pd.Timestamp], int],
    selections: Mapping[str, Selection],
    *,
    horizon_days: int = HORIZON_DAYS,
    oracle: bool = True,
) -> pd.DataFrame:
    """Share of the next ``horizon_days``' revenue captured by each selection, per cut date.

    Args:
        kept_lines: filtered lines (all of them: the table truncates them at each cut), or a
            :class:`~insiders.value.LineHistory` of them.
        cut_dates: the selection days.
        n: the number of customers to select, or a function of (lines up to the cut, cut).
        selections: name -> :data:`Selection`.
        horizon_days: the measurement window after each cut.
        oracle: add the row ``"oracle"``: the N who really spent most in the window.

    Returns:
        One row per (cut_date, rule): ``n`` (the size asked), ``selected`` (the size got),
        ``revenue`` (their window revenue), ``share`` (of the known customers' window revenue),
        ``share_all`` (of all the window's revenue, new customers included).
    """
    history = LineHistory.of(kept_lines)
    rows = []
    for day in cut_dates:
        cut = as_date(day)
        past = history.lines_upto(cut)
        size = n(past, cut) if callable(n) else int(n)
        known = history.customers(cut)
        future_all = history.future_revenue(cut, horizon_days)
        future = future_all.reindex(known, fill_value=0.0)
        total, total_all = float(future.sum()), float(future_all.sum())
        chosen: dict[str, Iterable[int]] = {name: rule(past, cut, size) for name, rule in selections.items()}
        if oracle:
            chosen["oracle"] = top_n(future, size)
        for name, ids in chosen.items():
            ids = pd.Index(list(ids)).unique()
            got = float(future_all.reindex(ids, fill_value=0.0).sum())
            rows.append({"cut_date": cut, "rule": name, "n": size, "selected": len(ids), "revenue": got,
                         "share": got / total if total else np.nan,
                         "share_all": got / total_all if total_all else np.nan})
    return pd.DataFrame(rows)


def retention(selections_by_month: Mapping[DateLike, Iterable[int]]) -> pd.Series:
    """Share of the previous month's selection still selected, per month (from the second).

    Args:
        selections_by_month: selection day -> customer ids, any order (sorted by day here).

    Returns:
        A series indexed by the later day of each consecutive pair; NaN if the earlier set is empty.
    """
    days = sorted(selections_by_month, key=as_date)
    out = {}
    for before, after in pairwise(days):
        previous, current = set(selections_by_month[before]), set(selections_by_month[after])
        out[as_date(after)] = len(previous & current) / len(previous) if previous else np.nan
    return pd.Series(out, name="retention", dtype="float64")
