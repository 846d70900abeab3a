"""Every forecast with its error, measured (issue 32 item 2): at the replayed months whose 91
days are known, the value model's expected revenue beside what followed; the report's range."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insiders.filters import filter_transactions
from insiders.history import Replay
from insiders.lookback import forecast_errors
from insiders.report import forecast_ranges
from insiders.value import LineHistory
from tests.conftest import make_lines


def test_forecast_errors_set_each_months_forecast_beside_what_followed():
    lines = filter_transactions(make_lines([
        ("1", "X1", 1, "2011-01-05 10:00", 10.0, 1, "UK"),
        ("2", "X1", 1, "2011-01-06 10:00", 10.0, 2, "UK"),
        ("3", "X1", 2, "2011-02-10 10:00", 10.0, 1, "UK"),  # after the first cut: 20 for 1
        ("4", "X1", 3, "2011-03-01 10:00", 10.0, 2, "UK"),  # 30 for 2
        ("5", "X1", 5, "2011-06-01 10:00", 10.0, 1, "UK"),  # beyond 91 days of the first cut
    ])).lines
    cuts = [pd.Timestamp("2011-01-31"), pd.Timestamp("2011-02-28"), pd.Timestamp("2011-05-31")]
    replay = Replay()
    for cut in cuts:
        replay.segments[cut] = pd.DataFrame({"is_insider": [True, False],
                                             "expected_revenue": [40.0, 10.0]},
                                            index=pd.Index([1, 2], name="customer_id"))
    reference = pd.Timestamp("2011-06-01")
    table = forecast_errors(LineHistory.of(lines), replay, reference)
    # the cuts whose 91 days end by the reference date: the first two
    assert sorted(set(table["cut_date"])) == ["2011-01-31", "2011-02-28"]
    first = table[table["cut_date"] == "2011-01-31"].set_index("group")
    assert first.loc["Insiders", "forecast"] == 40.0 and first.loc["Insiders", "actual"] == 20.0
    assert first.loc["Everyone", "forecast"] == 50.0 and first.loc["Everyone", "actual"] == 50.0
    assert first.loc["Insiders", "ratio"] == pytest.approx(0.5)
    second = table[table["cut_date"] == "2011-02-28"].set_index("group")
    assert second.loc["Insiders", "actual"] == 0.0  # June is more than 91 days after it
    assert second.loc["Everyone", "actual"] == 30.0


def test_the_reports_range_is_the_lowest_and_highest_ratio():
    errors = pd.DataFrame({"cut_date": ["a", "b", "c", "a"],
                           "group": ["Insiders", "Insiders", "Insiders", "Everyone"],
                           "forecast": [1.0, 1.0, 0.0, 1.0], "actual": [1.2, 0.9, 1.0, 1.1],
                           "ratio": [1.2, 0.9, np.nan, 1.1]})  # no forecast: no ratio
    assert forecast_ranges(errors) == {"Insiders": (0.9, 1.2, 2), "Everyone": (1.1, 1.1, 1)}
    assert forecast_ranges(None) == {} == forecast_ranges(errors.iloc[:0])


def test_the_normalized_gini_is_one_for_the_perfect_order_and_falls_with_worse_ones():
    from insiders.ranking import normalized_gini

    rng = np.random.default_rng(0)
    actual = pd.Series(rng.gamma(0.5, 100.0, 500), index=pd.RangeIndex(500, name="customer_id"))
    assert normalized_gini(actual, actual) == pytest.approx(1.0)
    assert normalized_gini(actual, actual * 3 + 7) == pytest.approx(1.0)  # only the order counts
    noisy = actual + rng.normal(0, actual.std(), len(actual))
    assert 0 < normalized_gini(actual, noisy) < 1
    assert normalized_gini(actual, -actual) < 0  # the worst order
    assert np.isnan(normalized_gini(actual * 0, actual))  # nothing bought: nothing to judge


def test_decile_calibration_puts_the_highest_forecasts_first():
    from insiders.ranking import decile_calibration

    index = pd.RangeIndex(95, name="customer_id")
    forecast = pd.Series(np.arange(95, dtype=float), index=index)
    table = decile_calibration(forecast * 2, forecast)
    assert list(table["decile"]) == list(range(1, 11)) and table["customers"].sum() == 95
    assert table["mean_forecast"].is_monotonic_decreasing
    assert (table["mean_actual"] == 2 * table["mean_forecast"]).all()


def test_the_ratio_interval_covers_the_next_ratio_as_often_as_it_says():
    from insiders.answers import INTERVAL_LEVEL, ratio_interval

    assert ratio_interval([1.2]) is None and ratio_interval([]) is None
    assert ratio_interval([1.2, 0.0]) is None  # a ratio of 0 has no log-normal
    rng = np.random.default_rng(0)
    for cuts in (2, 4, 8):
        hits = 0
        for _ in range(4000):
            draws = np.exp(rng.normal(0.3, 0.2, cuts + 1))
            low, high = ratio_interval(draws[:-1])
            hits += low <= draws[-1] <= high
        assert abs(hits / 4000 - INTERVAL_LEVEL) < 0.02, cuts  # the stated level, at any count
    # fewer cuts of the same spread: a wider interval; it is centred on their geometric mean
    few, many = ratio_interval([1.1, 1.3]), ratio_interval([1.1, 1.3] * 4)
    assert few[1] / few[0] > many[1] / many[0]
    assert np.isclose(np.sqrt(few[0] * few[1]), np.sqrt(1.1 * 1.3))
