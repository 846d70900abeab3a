"""The answers' building blocks on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insiders import answers, lookback
from insiders.filters import filter_transactions
from insiders.history import monthly_reference_dates
from insiders.ranking import rfm_score
from insiders.value import future_revenue
from tests.conftest import make_lines

rng = np.random.default_rng(0)
N = 400
FEATURES = pd.DataFrame(
    {
        "gross_revenue": np.r_[rng.uniform(2000, 5000, 100), rng.uniform(10, 500, 300)],
        "recency_days": np.r_[rng.uniform(0, 20, 100), rng.uniform(30, 300, 300)],
        "n_invoices": np.r_[rng.integers(5, 20, 100), rng.integers(1, 4, 300)],
        "frequency": rng.uniform(0, 1, N),
    },
    index=pd.Index(np.arange(N), name="customer_id"),
)
IS_INSIDER = pd.Series(np.arange(N) < 100, index=FEATURES.index)


def test_profile_vs_rest_quartiles():
    table = answers.profile_vs_rest(FEATURES, IS_INSIDER, ["gross_revenue", "recency_days"])
    assert table.loc["gross_revenue", "insiders_median"] == pytest.approx(
        FEATURES["gross_revenue"][:100].median())
    assert table.loc["recency_days", "rest_q3"] == pytest.approx(
        FEATURES["recency_days"][100:].quantile(0.75))
    assert table.loc["gross_revenue", "median_ratio"] > 5


def test_rules_reproduce_a_separable_membership():
    rules = answers.membership_rules(FEATURES, IS_INSIDER, ["gross_revenue", "recency_days"])
    assert rules.precision == 1.0 and rules.recall == 1.0
    assert any("gross_revenue >" in r for r in rules.enter)
    assert any("gross_revenue <=" in r for r in rules.leave)


def test_revenue_test_finds_the_difference():
    result = answers.revenue_test(FEATURES, IS_INSIDER, n_resamples=500)
    assert result["p_value"] < 1e-10
    assert result["ci_low"] < result["mean_difference"] < result["ci_high"]
    assert result["ci_low"] > 0


def test_revenue_test_resamples_in_batches_past_its_memory_bound(monkeypatch):
    whole = answers.revenue_test(FEATURES, IS_INSIDER, n_resamples=500)
    monkeypatch.setattr(answers, "BOOTSTRAP_VALUES", 10 * N)  # 10 resamples per batch
    batched = answers.revenue_test(FEATURES, IS_INSIDER, n_resamples=500)
    assert batched["mann_whitney_u"] == whole["mann_whitney_u"]
    assert batched["ci_low"] != whole["ci_low"]  # other draws, the same interval within noise
    width = whole["ci_high"] - whole["ci_low"]
    for end in ("ci_low", "ci_high"):
        assert batched[end] == pytest.approx(whole[end], abs=0.1 * width)


def test_rfm_score_ranges_and_orders():
    score = rfm_score(FEATURES)
    assert score.between(3, 15).all()
    assert score[:100].mean() > score[100:].mean()


LINES = filter_transactions(make_lines([
    ("A", "X1", 10, "2011-01-10", 10.0, 1, "UK"),   # customer 1: 100 in Jan
    ("B", "X1", 5, "2011-02-10", 10.0, 1, "UK"),    # 50 in Feb
    ("C", "X1", 1, "2011-02-10", 10.0, 2, "UK"),    # customer 2: 10 in Feb
    ("D", "X1", 2, "2011-03-20", 10.0, 1, "UK"),    # 20 in Mar, after the selection
    ("E", "X1", 3, "2011-03-21", 10.0, 2, "UK"),    # 30 in Mar
    ("CF", "X1", -1, "2011-03-22", 10.0, 1, "UK"),  # a return: not revenue
    ("G", "X1", 1, "2011-04-02", 10.0, 3, "UK"),    # after the window
])).lines


def test_monthly_revenue_of_a_group():
    series = answers.monthly_revenue(LINES, pd.Index([1]), pd.Timestamp("2011-03-31"))
    assert series.to_dict() == {pd.Period("2011-02", "M"): 50.0, pd.Period("2011-03", "M"): 20.0}


def test_out_of_time_measures_after_the_selection():
    feats = pd.DataFrame({"gross_revenue": [150.0, 10.0], "recency_days": [5, 10],
                          "n_invoices": [2, 1]}, index=pd.Index([1, 2], name="customer_id"))
    revenue = future_revenue(LINES, "2011-03-01", 30)  # up to 2011-03-31
    table = answers.out_of_time(revenue, feats, pd.Series([True, False], index=[1, 2]))
    by = table.set_index("group")
    assert by.loc["Insiders", "revenue_after"] == 20.0
    assert by.loc["Rest of the base", "revenue_after"] == 30.0
    assert by.loc["Insiders", "share_of_revenue_after"] == pytest.approx(0.4)
    assert by.loc["Top N by past revenue", "customers"] == 1


def test_monthly_reference_dates_are_the_14ths_before():
    dates = monthly_reference_dates(pd.Timestamp("2011-12-14"), 3)
    assert [d.date().isoformat() for d in dates] == ["2011-09-14", "2011-10-14", "2011-11-14",
                                                     "2011-12-14"]
    dates = monthly_reference_dates(pd.Timestamp("2011-12-09"), 2)
    assert [d.date().isoformat() for d in dates] == ["2011-09-14", "2011-10-14", "2011-11-14",
                                                     "2011-12-09"]
    # a young shop: none before its first purchase day (which itself may be one)
    dates = monthly_reference_dates(pd.Timestamp("2011-02-14"), 5, pd.Timestamp("2010-12-14"))
    assert [d.date().isoformat() for d in dates] == ["2010-12-14", "2011-01-14", "2011-02-14"]


def test_actions_follow_the_figures():
    profiles = pd.DataFrame({
        "segment_id": [1, 2], "segment_name": ["Insiders", "Low value, lapsed"],
        "mostly_insiders": [True, False], "n_customers": [100, 300], "share_customers": [0.25, 0.75],
        "share_revenue": [0.8, 0.2], "mean_gross_revenue": [3500.0, 250.0],
        "mean_recency_days": [10.0, 200.0], "mean_frequency": [0.3, 0.05],
        "mean_qty_returned": [1.0, 0.0], "mean_n_items": [100.0, 10.0],
    })
    base = pd.Series({"recency_days": 120.0, "gross_revenue": 1000.0, "frequency": 0.1,
                      "qty_returned": 0.5, "n_items": 30.0})
    todo = answers.actions(profiles, base).set_index("segment_id")["actions"]
    assert todo[1].startswith("retain: 80% of revenue from 25% of customers")
    assert "win back: last purchase 200 days ago" in todo[2]


def test_bootstrap_stability_of_clear_blobs():
    from sklearn.datasets import make_blobs

    X, truth = make_blobs(n_samples=300, centers=3, cluster_std=0.5, random_state=0)
    one = lookback.bootstrap_stability(X, truth, 0, model="ward", param=3, n_boot=6)
    assert one == lookback.bootstrap_stability(X, truth, 0, model="ward", param=3, n_boot=6)
    assert one["insiders_jaccard"] > 0.95 and one["min_jaccard"] > 0.95 and one["n_boot"] == 6
    # three blobs cut in five: the pieces are not stable
    split = lookback.bootstrap_stability(X, truth, 0, model="kmeans", param=5, n_boot=6)
    assert split["min_jaccard"] < 0.9


def test_bootstrap_stability_draws_from_a_seeded_sample_beyond_its_size():
    from sklearn.datasets import make_blobs

    X, truth = make_blobs(n_samples=300, centers=3, cluster_std=0.5, random_state=0)
    whole = lookback.bootstrap_stability(X, truth, 0, model="ward", param=3, n_boot=4)
    assert whole["n_sampled"] == 300
    assert lookback.bootstrap_stability(X, truth, 0, model="ward", param=3, n_boot=4,
                                       max_n=300) == whole  # up to the size: as before
    sampled = lookback.bootstrap_stability(X, truth, 0, model="ward", param=3, n_boot=4,
                                          max_n=120)
    assert sampled["n_sampled"] == 120 and sampled != whole
    assert sampled == lookback.bootstrap_stability(X, truth, 0, model="ward", param=3, n_boot=4,
                                                  max_n=120)
    assert sampled["insiders_jaccard"] > 0.95  # clear blobs stay stable on a sample
