"""The purchase lines and what the value models read from them per day, computed once."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from insiders.features import as_date, build_customer_features
from insiders.options import HORIZON_DAYS
from insiders.schema import is_return

DateLike = date | datetime | str | pd.Timestamp


#: The kept lines' columns the value model reads.
VALUE_COLUMNS = ("customer_id", "invoice_no", "stock_code", "invoice_date", "quantity", "unit_price",
                 "is_return")


# --- helpers on lines ------------------------------------------------------------------------
def _purchases(lines: pd.DataFrame) -> pd.DataFrame:
    """Purchase lines as (customer_id, invoice_no, day, revenue), sorted by day (a stable sort:
    lines of one day keep their order), so that a run of days is a slice (:func:`_days`);
    ``invoice_no`` as an integer code per invoice number (counts of distinct invoices only,
    without a string per line)."""
    day = lines["invoice_date"].dt.normalize().to_numpy()
    rows = np.flatnonzero(~is_return(lines).to_numpy(bool))  # the purchases, then by day
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


def value_features(kept_lines: pd.DataFrame, reference_date: DateLike) -> pd.DataFrame:
    """The customer features (:func:`insiders.features.build_customer_features`) plus cheap
    ones for the value model, all as of the reference date (later lines do not count).

    Added columns: ``tenure_days`` (first purchase to the reference date), ``n_days``
    (distinct purchase days), ``revenue_30d``/``revenue_90d`` and ``invoices_90d`` (purchases
    in the last 30/90 days, the reference day included) and ``revenue_per_30d`` (revenue per
    30 days of tenure, as the features' ``frequency`` counts invoices: ``gross_revenue`` x
    ``frequency`` / ``n_invoices``).
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
    out["revenue_per_30d"] = out["gross_revenue"] * out["frequency"] / out["n_invoices"]
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
