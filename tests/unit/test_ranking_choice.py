"""The tier's ranking chosen by the run's own back-test (``value_model="auto"``): the rule
against flapping on hand-made captures, the capture itself, and the choice on the bundled data
(a young shop's months, a month with last month's run folder given)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from insiders import pipeline
from insiders.config import MembershipPolicy, TierConfig
from insiders.filters import filter_transactions
from insiders.membership import decide_membership, warm_start
from insiders.options import HORIZON_DAYS, RANKINGS, REVENUE_SO_FAR
from insiders.ranking_choice import (
    CHOICE_CUTS,
    SWITCH_MARGIN,
    RankingBackTest,
    RankingChoice,
    capture_of,
    choose_ranking,
)
from insiders.value import LineHistory

DAYS = [pd.Timestamp(d) for d in ("2011-03-14", "2011-04-14", "2011-05-14", "2011-06-14")]


def measured(**by_ranking: list[float]) -> dict[pd.Timestamp, dict[str, float]]:
    """Captures per month: the rankings named get these, the others 0.5."""
    return {day: {name: by_ranking.get(name, [0.5] * len(DAYS))[i] for name in RANKINGS}
            for i, day in enumerate(DAYS)}


def test_without_a_measured_month_the_plain_rule_ranks():
    choice = choose_ranking({}, None)
    assert choice.ranking == REVENUE_SO_FAR and not choice.switched and choice.cuts == ()
    assert "known yet" in choice.reason


def test_a_ranking_that_wins_at_each_month_by_the_margin_replaces_last_months():
    step = SWITCH_MARGIN * 1.5
    captures = measured(revenue_so_far=[0.6] * 4, blend=[0.6 + step] * 4)
    choice = choose_ranking(captures, REVENUE_SO_FAR)
    assert choice.ranking == "blend" and choice.switched
    assert choice.cuts == tuple(d.date().isoformat() for d in DAYS[-CHOICE_CUTS:])
    assert "replaces" in choice.reason
    # with no last month known, the plain rule is the one to beat
    assert choose_ranking(captures, None).ranking == "blend"


def test_a_win_on_the_mean_alone_or_under_the_margin_changes_nothing():
    # better on the mean by far, but not at one of the months: last month's stays
    uneven = measured(revenue_so_far=[0.6] * 4, gbm=[0.7, 0.7, 0.7, 0.59])
    kept = choose_ranking(uneven, REVENUE_SO_FAR)
    assert kept.ranking == REVENUE_SO_FAR and not kept.switched
    assert "not at each of them" in kept.reason
    # better at each month, but by less than the margin
    close = measured(revenue_so_far=[0.6] * 4, gbm=[0.6 + SWITCH_MARGIN / 2] * 4)
    assert choose_ranking(close, REVENUE_SO_FAR).ranking == REVENUE_SO_FAR
    # and the ranking followed stays while it is the best, whichever it is
    assert choose_ranking(measured(bgnbd=[0.9] * 4), "bgnbd").ranking == "bgnbd"


def test_the_capture_is_the_share_of_the_future_brought_by_the_entry_bar():
    ids = pd.Index(range(1, 11), name="customer_id")
    features = pd.DataFrame({"gross_revenue": np.arange(10.0, 0.0, -1.0),
                             "recency_days": [10] * 9 + [400]}, index=ids)
    future = pd.Series([0, 0, 5, 0, 0, 0, 0, 0, 0, 95.0], index=ids)
    scores = {"past": features["gross_revenue"], "oracle": future.astype(float),
              "reverse": -features["gross_revenue"]}
    shares = capture_of(scores, features, future, MembershipPolicy(entry_share=0.2))
    # 9 active customers: the top 2 of each ranking; customer 10 is inactive, never taken
    assert shares == {"past": 0.0, "oracle": 0.05, "reverse": 0.0}
    assert all(0.0 <= s <= 1.0 for s in shares.values())


def test_a_member_who_leaves_because_the_ranking_changed_is_told_so():
    policy = MembershipPolicy(entry_share=0.2, exit_share=0.2, grace_months=0)
    ids = pd.Index(range(1, 11), name="customer_id")
    values = pd.DataFrame({"expected_revenue": np.arange(10.0), "gross_revenue": np.arange(10.0),
                           "recency_days": [10] * 10}, index=ids)
    before = decide_membership(values.assign(score=values["gross_revenue"]), policy,
                               month="2011-05-14")
    switch = RankingChoice("blend", REVENUE_SO_FAR, reason="the blend won")
    after = decide_membership(values.assign(score=-values["gross_revenue"]), policy,
                              previous=before, month="2011-06-14", choice=switch)
    left = after[after["status"] == "left"]
    assert not left.empty
    assert left["reason"].str.contains("the ranking changed this month from revenue so far").all()
    assert after.loc[after["status"] == "new", "reason"].str.contains(
        "by the blend of the value models").all()


@pytest.fixture(scope="module")
def history(real_lines: pd.DataFrame) -> LineHistory:
    return LineHistory(filter_transactions(real_lines).lines)


def test_a_young_shop_ranks_by_revenue_so_far(history: LineHistory):
    days = [pd.Timestamp(d) for d in ("2011-01-14", "2011-02-14")]  # no month with 91 days known
    chain = warm_start(history, days, policy=MembershipPolicy())
    for month in chain.values():
        assert (month["ranked_by"] == REVENUE_SO_FAR).all()
    first = chain[days[0]]
    features = history.features(days[0])
    n = round(0.2 * int((features["recency_days"] <= 365).sum()))
    top = features["gross_revenue"].sort_values(ascending=False, kind="stable").index[:n]
    assert set(first.index[first["is_insider"]]) == set(top)


def test_with_last_months_folder_the_choice_starts_from_its_ranking(history: LineHistory,
                                                                     tmp_path):
    last_month = tmp_path / "2011-11"
    last_month.mkdir()
    (last_month / "selection.json").write_text(json.dumps(
        {"membership": {"ranking": {"ranked_by": "gbm"}}}))
    reference = "2011-09-30"
    rankings = RankingBackTest(history, MembershipPolicy())
    choice = pipeline._choose_ranking(rankings, history, reference, TierConfig(), {},
                                      str(last_month / "segments.parquet"))
    assert choice.previous == "gbm"
    assert len(choice.cuts) == CHOICE_CUTS
    assert all(pd.Timestamp(c) + pd.Timedelta(days=HORIZON_DAYS) <= pd.Timestamp(reference)
               for c in choice.cuts)
    if choice.ranking != "gbm":  # replaced only by a ranking better at each month, by the margin
        won, was = choice.capture[choice.ranking], choice.capture["gbm"]
        assert all(a > b for a, b in zip(won, was, strict=True))
        assert np.mean(won) - np.mean(was) >= SWITCH_MARGIN - 1e-9
