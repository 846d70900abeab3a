"""Features of hand-made customers, checked against values computed by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from insiders.features import FEATURE_DESCRIPTIONS, build_customer_features
from insiders.filters import filter_transactions
from tests.conftest import make_lines

LINES = filter_transactions(
    make_lines(
        [
            # customer 1: two invoices four days apart, then a return
            ("A", "X1", 2, "2011-01-01 09:00", 1.5, 1, "UK"),
            ("A", "Y1", 1, "2011-01-01 09:00", 10.0, 1, "UK"),
            ("B", "X1", 3, "2011-01-05 23:59", 2.0, 1, "UK"),
            ("CC", "X1", -1, "2011-01-06 08:00", 2.0, 1, "UK"),
            # customer 2: one purchase the day before the reference date
            ("D", "Z1", 5, "2011-01-09 12:00", 1.0, 2, "UK"),
            # customer 3: only a return, so not a customer of the period
            ("CE", "Z1", -2, "2011-01-03 12:00", 1.0, 3, "UK"),
            # customer 4: buys only after the reference date
            ("F", "Z1", 1, "2011-01-11 12:00", 1.0, 4, "UK"),
            # customer 2 again, after the reference date: ignored
            ("G", "Z1", 100, "2011-01-12 12:00", 1.0, 2, "UK"),
        ]
    )
).lines


@pytest.fixture
def features() -> pd.DataFrame:
    return build_customer_features(LINES, "2011-01-10")


def test_one_row_per_customer_with_a_purchase(features):
    assert features.index.tolist() == [1, 2]
    assert list(features.columns) == list(FEATURE_DESCRIPTIONS)


def test_customer_1_by_hand(features):
    c = features.loc[1]
    assert c["gross_revenue"] == pytest.approx(2 * 1.5 + 10.0 + 3 * 2.0)  # 19.0
    assert c["recency_days"] == 5  # 10 Jan - 5 Jan
    assert c["n_lines"] == 3
    assert c["n_invoices"] == 2
    assert c["frequency"] == pytest.approx(2 / 30 * 30)  # 2 invoices, 10 days of tenure -> 30
    assert c["frequency_study"] == pytest.approx(2 / (4 + 1))  # 2 invoices over 5 days
    assert c["qty_returned"] == 1
    assert c["n_items"] == 6
    assert c["n_products"] == 2
    assert c["avg_ticket"] == pytest.approx(19.0 / 3)
    assert c["avg_basket_size"] == pytest.approx(3.0)
    assert c["avg_unique_basket_size"] == pytest.approx((2 + 1) / 2)
    assert c["avg_days_between_purchases"] == pytest.approx(4.0)
    assert c["n_returns"] == 1
    assert c["value_returned"] == pytest.approx(2.0)


def test_customer_2_by_hand(features):
    c = features.loc[2]
    assert c["gross_revenue"] == pytest.approx(5.0)
    assert c["recency_days"] == 1
    assert c["frequency"] == pytest.approx(1.0)  # one invoice in (at least) 30 days
    assert c["frequency_study"] == pytest.approx(1.0)  # the study's: one-off buyer = 1.0
    assert c["qty_returned"] == 0
    assert pd.isna(c["avg_days_between_purchases"])


def test_reference_date_moves_the_window():
    later = build_customer_features(LINES, "2011-01-12")
    assert later.index.tolist() == [1, 2, 4]
    assert later.loc[2, "gross_revenue"] == pytest.approx(105.0)
    assert later.loc[1, "recency_days"] == 7


def test_deterministic_and_input_untouched():
    before = LINES.copy()
    first = build_customer_features(LINES, "2011-01-10")
    pd.testing.assert_frame_equal(first, build_customer_features(LINES, "2011-01-10"))
    pd.testing.assert_frame_equal(LINES, before)


def test_anonymous_lines_must_be_filtered_first():
    raw = make_lines([("A", "X1", 1, "2011-01-01", 1.0, None, "UK")])
    with pytest.raises(ValueError, match="anonymous policy"):
        build_customer_features(raw, "2011-01-10")


def test_a_reference_date_outside_the_data_is_refused_with_its_dates():
    import pytest

    from insiders.features import check_reference_date, last_purchase_date

    def checked_reference_date(lines, day, max_staleness_days=45):
        return check_reference_date(lines["invoice_date"].min(), last_purchase_date(lines), day,
                                    max_staleness_days)

    lines = make_lines([
        ("1", "A", 1, "2011-01-10 09:00", 2.0, 1, "UK"),
        ("2", "A", 1, "2011-03-01 09:00", 2.0, 2, "UK"),
    ])
    assert checked_reference_date(lines, None) == pd.Timestamp("2011-03-01")
    assert checked_reference_date(lines, "2011-04-15") == pd.Timestamp("2011-04-15")  # 45 days
    with pytest.raises(ValueError, match=r"last purchase is 2011-03-01, 46 days before .* 2011-04-16"):
        checked_reference_date(lines, "2011-04-16")
    with pytest.raises(ValueError, match=r"before the data's first purchase \(2011-01-10\)"):
        checked_reference_date(lines, "2010-12-31")
    assert checked_reference_date(lines, "2026-12-02", max_staleness_days=10_000).year == 2026


def test_frequency_grows_with_buying_and_a_one_off_buyer_is_not_frequent():
    rows = [("A1", "X1", 1, "2011-01-01 09:00", 1.0, 1, "UK")]  # one-off, long ago
    rows += [(f"B{m}", "X1", 1, f"2011-{m:02d}-01 09:00", 1.0, 2, "UK") for m in range(1, 7)]
    rows += [("C1", "X1", 1, "2011-06-25 09:00", 1.0, 3, "UK")]  # one-off, last week
    feats = build_customer_features(filter_transactions(make_lines(rows)).lines, "2011-07-01")
    assert feats.loc[2, "frequency"] == pytest.approx(6 / 182 * 30)  # monthly: ~1 per 30 days
    assert feats.loc[1, "frequency"] == pytest.approx(1 / 182 * 30)
    assert feats.loc[3, "frequency"] == pytest.approx(1.0)  # counted over at least 30 days
    assert feats.loc[2, "frequency"] > feats.loc[1, "frequency"]
    # the study's definition reads backwards: both one-off buyers "buy every day"
    assert feats.loc[1, "frequency_study"] == feats.loc[3, "frequency_study"] == 1.0
    assert feats.loc[2, "frequency_study"] < 1.0
