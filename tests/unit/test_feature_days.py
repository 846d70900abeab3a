"""The customer features of any day from one pass over the lines (:class:`FeatureDays`, read by
:meth:`LineHistory.features`) are the SQL's (:func:`build_customer_features`): the same
customers, columns and dtypes, every double bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insiders.features import build_customer_features
from insiders.filters import filter_transactions
from insiders.ingest import read_transactions
from insiders.synth import exports
from insiders.value.lines import FeatureDays, LineHistory, _decimal_doubles
from tests.conftest import REAL_DATA, make_lines


def assert_same_features(got: pd.DataFrame, sql: pd.DataFrame) -> None:
    """Equal frames (index, columns, dtypes, values), and the doubles equal bit for bit (NaN
    where the SQL has NULL)."""
    pd.testing.assert_frame_equal(got, sql, check_exact=True)
    for name in sql.columns[sql.dtypes == "float64"]:
        a, b = got[name].to_numpy(), sql[name].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), name
        assert np.array_equal(a[~np.isnan(a)].view(np.int64), b[~np.isnan(b)].view(np.int64)), name


@pytest.fixture(scope="module")
def kept(real_lines) -> pd.DataFrame:
    return filter_transactions(real_lines).lines


def test_every_kind_of_day_of_the_bundled_data_gives_the_sqls_features(kept):
    history = LineHistory(kept)
    days = kept["invoice_date"].dt.normalize()
    first, last = days.min(), days.max()
    closed = pd.Timestamp("2010-12-25")  # a day without a line, inside the data
    assert not (days == closed).any() and first < closed < last
    month_end = pd.Timestamp("2011-05-31")
    assert (days == month_end).any()
    for day in (first - pd.Timedelta(days=1), first, closed, month_end, pd.Timestamp("2011-09-09"),
                last, last + pd.Timedelta(days=30)):
        got = history.features(day)
        assert_same_features(got, build_customer_features(kept, day))
    assert history._feature_days is not None  # read from the one pass, not the query
    blocks = FeatureDays.of(history.lines, block_lines=30_000)  # customers a block at a time
    assert_same_features(blocks.at(month_end), build_customer_features(kept, month_end))
    assert history.features(first - pd.Timedelta(days=1)).empty


def test_the_value_features_read_the_one_pass_and_equal_the_sqls(kept):
    day = pd.Timestamp("2011-08-31")
    by_pass = LineHistory(kept).value_features(day)
    by_sql = LineHistory(kept, one_pass=False).value_features(day)
    pd.testing.assert_frame_equal(by_pass, by_sql, check_exact=True)


@pytest.fixture(scope="module")
def shops(tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("shops")
    source = pd.read_parquet(REAL_DATA)
    files = {style: exports.write_export(style, source, out, customers=150, seed=3)
             for style in exports.STYLES}
    return {style: filter_transactions(read_transactions(f.export, preset="auto")).lines
            for style, f in files.items()}


@pytest.mark.parametrize("style", list(exports.STYLES))
def test_each_shop_style_gives_the_sqls_features(shops, style):
    lines = shops[style]
    history = LineHistory(lines)
    days = lines["invoice_date"].dt.normalize()
    ends = pd.date_range(days.min(), days.max(), freq="ME")
    for day in (days.min(), days.min() + pd.Timedelta(days=45), ends[len(ends) // 2], days.max()):
        assert_same_features(history.features(day), build_customer_features(lines, day))
    assert history._feature_days is not None


def awkward_lines() -> pd.DataFrame:
    """Lines the definitions are easy to get wrong on: a return before the first purchase, a
    customer with returns only, one invoice number on two days and for two customers, a
    product bought twice on one invoice, lines without a product, amounts of many digits,
    times of day, and the lines in no order."""
    rows = [
        ("R1", "A", -2, "2011-01-02 09:00", 3.3333333333, 1, "UK"),  # a return first
        ("I1", "A", 3, "2011-01-03 10:00", 3.3333333333, 1, "UK"),
        ("I1", "A", 1, "2011-01-03 10:00", 3.3333333333, 1, "UK"),  # the same product again
        ("I1", "B", 5, "2011-01-04 23:59", 0.1, 1, "UK"),  # the invoice on a second day
        ("I1", "C", 1, "2011-01-05 08:00", 1e6 + 0.07, 2, "UK"),  # and for another customer
        ("I2", None, 7, "2011-01-05 12:00", 0.29, 2, "UK"),  # no product
        ("I3", None, 2, "2011-02-28 12:00", 12.5, 2, "UK"),
        ("R2", "C", -1, "2011-03-01 12:00", 1e6 + 0.07, 2, "UK"),
        ("R3", "D", -4, "2011-01-10 12:00", 2.5, 3, "UK"),  # returns only
        ("I4", "E", 100000, "2011-03-31 18:00", 0.00999999, 4, "UK"),
        ("I5", "A", 1, "2011-03-31 18:00", 0.1, 1, "UK"),
    ]
    lines = make_lines(rows)
    return lines.sample(frac=1.0, random_state=1)


@pytest.mark.parametrize("day", ["2011-01-01", "2011-01-02", "2011-01-03", "2011-01-05",
                                 "2011-01-31", "2011-02-28", "2011-03-31", "2012-01-01"])
def test_awkward_lines_give_the_sqls_features(day):
    lines = awkward_lines()
    sql = build_customer_features(lines, day)
    days = FeatureDays.of(lines)
    assert days is not None
    assert_same_features(days.at(day), sql)
    history = LineHistory(lines)  # invoices and products as codes, a missing product as NaN
    assert_same_features(history.features(day), sql)
    assert history._feature_days is not None
    floats = lines.assign(customer_id=lines["customer_id"].astype("float64"))  # as UCI's ids
    assert_same_features(FeatureDays.of(floats).at(day), sql)


def test_lines_the_pass_does_not_read_exactly_are_left_to_the_sql():
    lines = awkward_lines()
    aware = lines.assign(invoice_date=lines["invoice_date"].dt.tz_localize("Europe/London"))
    fractional = lines.assign(quantity=lines["quantity"] + 0.5)
    huge = lines.assign(unit_price=lines["unit_price"] * 1e5)  # past the query's decimals
    for odd in (aware, fractional, huge):
        assert FeatureDays.of(odd) is None
    history = LineHistory(fractional)
    day = pd.Timestamp("2011-03-31")
    pd.testing.assert_frame_equal(history.features(day), build_customer_features(fractional, day))
    assert history._feature_days is None and not history.one_pass


def test_amounts_come_back_from_duckdb_in_their_order():
    """The casts DuckDB makes for the pass keep the order of what they are given, past one
    of its row groups (where a parallel scan could reorder them)."""
    units = np.arange(300_000, dtype=np.int64) * 7
    head, tail = _decimal_doubles(units[:1000], units[1000:])
    doubles = np.concatenate([head, tail])
    assert len(head) == 1000 and np.all(np.diff(doubles) > 0)
    assert doubles[0] == 0.0 and doubles[100] == 7e-6
