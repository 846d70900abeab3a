"""The purchase lines and what the value models read from them per day, computed once."""

from __future__ import annotations

import itertools
import logging
from datetime import date, datetime

import numpy as np
import pandas as pd

from insiders.feature_sql import INTEGER_FEATURES, MIN_TENURE_DAYS, day_number
from insiders.features import as_date, build_customer_features
from insiders.options import FEATURE_DESCRIPTIONS, HORIZON_DAYS
from insiders.progress import stage
from insiders.schema import is_return

logger = logging.getLogger(__name__)

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
                 memory_limit: str | None = None, one_pass: bool = True) -> None:
        self.lines = _by_day(_coded(lines))  # coded first: the sort copies no strings
        self.max_days = max_days
        self.memory_limit = memory_limit
        self.one_pass = one_pass
        self._feature_days: FeatureDays | None = None
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
        """:func:`insiders.features.build_customer_features` as of ``day``: read from
        :class:`FeatureDays`, built on first use from one pass over the lines (the SQL's
        features exactly); the SQL itself, per day, for lines the pass does not read
        (:meth:`FeatureDays.of`) or with ``one_pass=False``."""
        ref = as_date(day)
        return self._table(("features", ref), lambda: self._features(ref))

    def _features(self, ref: pd.Timestamp) -> pd.DataFrame:
        if self.one_pass and self._feature_days is None:
            with stage(f"the features of every day, one pass over {len(self.lines):,} lines"):
                self._feature_days = FeatureDays.of(self.lines)
            if self._feature_days is None:
                self.one_pass = False
                logger.info("features per day by the SQL: the lines are not read exactly "
                            "without it")
        if self._feature_days is not None:
            return self._feature_days.at(ref)
        return build_customer_features(self.lines_upto(ref), ref, memory_limit=self.memory_limit)

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

# --- the customer features at any day, from one pass over the lines ------------------------
class FeatureDays:
    """The customer features (:func:`insiders.features.build_customer_features`) at any day,
    from one pass over the lines: the SQL's, column for column and bit for bit.

    The pass sums the purchase lines per (customer, day) in exact integers (amounts in units
    of 1e-8: the SQL's decimals) and notes the day each (customer, product), (customer,
    invoice) and (customer, invoice, product) is first seen; running sums of these along each
    customer's days give every count and sum as of any day, read at the customer's last
    purchase day on or before it (one binary search per customer). Returns likewise. The
    doubles are the SQL's own expressions in the same IEEE operations, and sums of amounts are
    made doubles by DuckDB's cast of the ``DECIMAL(38, 8)`` the query sums to. :meth:`of` is
    None for lines it does not read exactly as the SQL does (times with a time zone, missing
    dates, customers or invoice numbers, fractional quantities, sums past 64-bit integers):
    the SQL answers then.
    """

    def __init__(self, customers: np.ndarray, buys: dict[str, np.ndarray],
                 returns: dict[str, np.ndarray], first_day: int, span: int) -> None:
        self.customers = customers  # the customer ids, sorted; the tables hold positions
        self.buys, self.returns = buys, returns
        self.first_day, self.span = first_day, span
        self._who = np.unique(buys["key"] // span)  # the customers with a purchase

    @classmethod
    def of(cls, lines: pd.DataFrame, *, block_lines: int = 2_000_000) -> FeatureDays | None:
        """The tables of ``lines`` (filtered lines, as :func:`build_customer_features` takes
        them), or None when only the SQL reads them exactly. The lines are taken a block of
        customers at a time, about ``block_lines`` lines each (memory: a block's lines)."""
        read = _exact_columns(lines)
        if read is None:
            return None
        customer, day, ret, qty, price_at, price_units, invoice, product = read
        codes, ids = pd.factorize(customer)  # the customers' positions in sorted order
        customers = np.sort(np.asarray(ids, dtype=np.int64))
        rank = np.empty(len(ids), np.int32)
        rank[np.argsort(np.asarray(ids, dtype=np.int64))] = np.arange(len(ids), dtype=np.int32)
        position = rank[codes]
        del codes
        first_day = int(day.min())
        span = int(day.max()) - first_day + 1
        if len(customers) * span >= 2**62:
            return None
        ends = np.cumsum(np.bincount(position, minlength=len(customers)))
        bounds = np.unique(np.r_[0, np.searchsorted(ends, np.arange(block_lines, ends[-1],
                                                                    block_lines)) + 1,
                                 len(customers)])
        buys, returns, total = [], [], 0.0
        for lo, hi in itertools.pairwise(bounds):
            rows = np.flatnonzero((position >= lo) & (position < hi))
            units = _amounts(qty[rows], price_units[price_at[rows]])
            if units is None:
                return None
            total += float(np.abs(units).sum(dtype=np.float64))
            if total >= 2.0**62:  # a running sum would overflow
                return None
            key = position[rows].astype(np.int64) * span + (day[rows] - first_day)
            back = ret[rows]
            buys.append(_daily(key[~back], span, qty[rows][~back], units[~back],
                               invoice[rows][~back], product[rows][~back]))
            returns.append(_daily(key[back], span, qty[rows][back], units[back]))
        return cls(customers, _running(buys), _running(returns), first_day, span)

    def _rows(self, table: dict, who: np.ndarray, upto: int) -> tuple[np.ndarray, np.ndarray]:
        """Each customer's first row in ``table`` and the row after its last one on or before
        day ``upto`` (as many as the first: none)."""
        start = np.searchsorted(table["key"], who * self.span, "left")
        end = np.searchsorted(table["key"], who * self.span + upto, "right")
        return start, np.maximum(start, end)

    def at(self, day: DateLike) -> pd.DataFrame:
        """The features as of ``day``: the frame the SQL returns (same customers, columns,
        dtypes and values)."""
        ref = day_number(day)
        upto = min(ref - self.first_day, self.span - 1)  # below 0: no line yet
        buys, rets = self.buys, self.returns
        start, end = self._rows(buys, self._who, upto)
        bought = end > start
        who, start, end = self._who[bought], start[bought], end[bought]
        r_start, r_end = self._rows(rets, who, upto)

        def total(name: str, table: dict = buys, lo=start, hi=end) -> np.ndarray:
            return table[name][hi] - table[name][lo]  # running sums with a leading 0

        first = buys["key"][start] % self.span + self.first_day
        latest = buys["key"][end - 1] % self.span + self.first_day
        n_lines, n_items, n_invoices = total("lines"), total("qty"), total("invoices")
        n_days = end - start
        has_returns = r_end > r_start
        gross, returned = _decimal_doubles(
            total("units"), total("units", rets, r_start, r_end)[has_returns])
        value_returned = np.zeros(len(who))
        value_returned[has_returns] = returned
        with np.errstate(divide="ignore", invalid="ignore"):
            frame = pd.DataFrame({
                "gross_revenue": gross,
                "recency_days": ref - latest,
                "n_lines": n_lines,
                "frequency": (n_invoices.astype(np.float64)
                              / np.maximum(ref - first + 1, MIN_TENURE_DAYS) * 30),
                "frequency_study": n_invoices.astype(np.float64) / (latest - first + 1),
                "qty_returned": -total("qty", rets, r_start, r_end),
                "n_invoices": n_invoices,
                "n_items": n_items,
                "n_products": total("products"),
                "avg_ticket": gross / n_lines,
                "avg_basket_size": n_items.astype(np.float64) / n_invoices,
                "avg_unique_basket_size": total("codes").astype(np.float64) / n_invoices,
                "avg_days_between_purchases": np.where(
                    n_days > 1, (latest - first).astype(np.float64) / (n_days - 1), np.nan),
                "n_returns": total("lines", rets, r_start, r_end),
                "value_returned": 0.0 - value_returned,
            }, index=pd.Index(self.customers[who], name="customer_id"))
        for name in FEATURE_DESCRIPTIONS:
            frame[name] = frame[name].astype("int64" if name in INTEGER_FEATURES else "float64")
        return frame[list(FEATURE_DESCRIPTIONS)]


def _exact_columns(lines: pd.DataFrame) -> tuple[np.ndarray, ...] | None:
    """The lines as the SQL reads them: customer (int64), day number (int32), return or not,
    quantity (int64), price code and each price in units of 1e-8 (the SQL's
    ``DECIMAL(18, 8)``, exactly), invoice and product codes (-1: no product); None when they
    cannot be read so here."""
    if not len(lines) or not {"unit_price", "stock_code", "invoice_no"} <= set(lines):
        return None
    dates, quantity = lines["invoice_date"], lines["quantity"]
    if (not pd.api.types.is_datetime64_dtype(dates) or isinstance(dates.dtype, pd.DatetimeTZDtype)
            or dates.isna().any()):
        return None
    customer, qty = _whole(lines["customer_id"]), _whole(quantity)
    invoice, product = _codes(lines["invoice_no"]), _codes(lines["stock_code"])
    if customer is None or qty is None or (invoice < 0).any():
        return None  # no customer: the SQL refuses; no invoice number: NULLs it counts apart
    price_at, prices = pd.factorize(lines["unit_price"], use_na_sentinel=True)
    units = _price_units(np.asarray(prices)) if (price_at >= 0).all() else None
    if units is None:
        return None
    day = dates.to_numpy().astype("datetime64[D]").astype(np.int64).astype(np.int32)
    return (customer, day, is_return(lines).to_numpy(bool), qty,
            price_at.astype(np.int32 if len(prices) < 2**31 else np.int64), units, invoice,
            product)


def _amounts(qty: np.ndarray, price_units: np.ndarray) -> np.ndarray | None:
    """Each line's amount in units of 1e-8 (the SQL's ``DECIMAL(18, 8)`` product), or None
    past it (the query fails there) or past 64-bit integers."""
    if len(qty) and (np.abs(qty.astype(np.float64))
                     * np.abs(price_units.astype(np.float64))).max() >= 2.0**62:
        return None
    units = qty * price_units
    return None if np.abs(units).max(initial=0) >= 10**18 else units


def _codes(column: pd.Series) -> np.ndarray:
    """Int64 codes telling the values apart, -1 where missing: the values themselves when
    they are non-negative integers already (:func:`_coded`'s codes)."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iu" \
            and column.min() >= 0 and column.max() < 2**62:
        return column.to_numpy().astype(np.int64, copy=False)
    return pd.factorize(column, use_na_sentinel=True)[0].astype(np.int64)


def _whole(column: pd.Series) -> np.ndarray | None:
    """The values as int64, as the SQL's ``CAST(... AS BIGINT)`` reads them when they are
    whole numbers; None when some are not, or are missing."""
    if not pd.api.types.is_numeric_dtype(column) or column.hasnans:
        return None
    values = column.to_numpy()
    if values.dtype.kind == "f" and ((values != np.floor(values)).any()
                                     or np.abs(values).max(initial=0) >= 2**63):
        return None
    return values.astype(np.int64, copy=False)


def _price_units(prices: np.ndarray) -> np.ndarray | None:
    """Each price as the SQL's ``CAST(unit_price AS DECIMAL(18, 8))``, in units of 1e-8 (None
    when DuckDB refuses one, as the query would)."""
    import duckdb

    try:
        text = _in_order("CAST(CAST(value AS DECIMAL(18, 8)) AS VARCHAR)", prices)
    except duckdb.Error:
        return None
    if any(t is None for t in text):
        return None
    return np.array([int(t.replace(".", "")) for t in text], dtype=np.int64)


def _decimal_doubles(*units: np.ndarray) -> list[np.ndarray]:
    """Sums of amounts in units of 1e-8 made doubles as the SQL makes its ``DECIMAL(38, 8)``
    sums doubles: by DuckDB's own cast."""
    values = np.concatenate(units)
    doubles = _in_order("CAST(CAST(value AS DECIMAL(38, 0)) * CAST('0.00000001' AS "
                        "DECIMAL(9, 8)) AS DOUBLE)", values)
    return np.split(np.asarray(doubles, dtype=np.float64), np.cumsum([len(u) for u in units])[:-1])


def _in_order(expression: str, values: np.ndarray) -> np.ndarray:
    """DuckDB's ``expression`` of each of ``values`` (as ``value``), in their order."""
    import duckdb

    frame = pd.DataFrame({"row": np.arange(len(values)), "value": values})
    with duckdb.connect(":memory:") as con:
        con.execute("SET enable_progress_bar = false")
        con.register("input", frame)
        return con.execute(f"SELECT {expression} AS out FROM input ORDER BY row").fetchnumpy()["out"]


def _daily(key: np.ndarray, span: int, qty: np.ndarray, units: np.ndarray,
           invoice: np.ndarray | None = None, product: np.ndarray | None = None) -> dict:
    """One row per (customer, day) of the lines given (``key``: customer position x span +
    day), sorted, with the lines, quantity and amount of that day and, given invoices and
    products, the (customer, product), (customer, invoice) and (customer, invoice, product)
    first seen that day (a product that is missing counts in none)."""
    order = np.argsort(key)  # a day's lines in any order: what is first seen is seen that day
    key = key[order]
    new = np.ones(len(key), bool)
    np.not_equal(key[1:], key[:-1], out=new[1:])
    starts = np.flatnonzero(new)

    def per_row(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, starts) if len(starts) else values[:0]

    table = {"key": key[starts], "lines": np.diff(np.append(starts, len(key))),
             "qty": per_row(qty[order]), "units": per_row(units[order])}
    if invoice is None or product is None:
        return table
    row = np.cumsum(new) - 1  # each line's (customer, day) row
    customer = key // span  # sorted by customer, then day: the first time seen is the first day
    del key, new
    invoice, product = invoice[order], product[order]
    has_product = product >= 0
    receipt = _pair_codes(customer, invoice)  # (customer, invoice)
    for name, pair, counts in (("products", _pair_codes(customer, product), has_product),
                               ("invoices", receipt, None),
                               ("codes", _pair_codes(receipt, product), has_product)):
        first = ~pd.Series(pair).duplicated().to_numpy()
        if counts is not None:
            first &= counts
        table[name] = np.bincount(row[first], minlength=len(starts))
    return table


def _running(blocks: list[dict]) -> dict:
    """The blocks' rows together (blocks of customers in order: still sorted), every column
    but ``key`` as running sums with a leading 0."""
    out = {}
    for name in blocks[0]:
        values = np.concatenate([block[name] for block in blocks])
        out[name] = values if name == "key" else np.concatenate(
            [np.zeros(1, np.int64), np.cumsum(values, dtype=np.int64)])
    return out


def _pair_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """An int64 code per (a, b) pair of non-negative codes (-1 in ``b``: as any other)."""
    b = b + 1
    width = int(b.max(initial=0)) + 1
    if int(a.max(initial=0)) + 1 <= (2**62) // width:
        return a * width + b
    return pd.factorize(pd.MultiIndex.from_arrays([a, b]))[0].astype(np.int64)


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
