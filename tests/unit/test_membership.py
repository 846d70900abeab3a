"""The loyalty tier's hysteresis on hand-made values: enter above the entry bar, leave only
after the grace period below the lower exit bar, or when inactive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insiders.membership import MembershipPolicy, decide_membership

POLICY = MembershipPolicy(entry_share=0.2, exit_share=0.4, grace_months=1, active_days=365)


def values(expected: list[float], recency: list[int] | None = None) -> pd.DataFrame:
    """Ten customers (ids 1..10) with these expected revenues."""
    n = len(expected)
    return pd.DataFrame({
        "expected_revenue": expected,
        "gross_revenue": np.linspace(100, 10, n),
        "recency_days": recency or [10] * n,
    }, index=pd.Index(range(1, n + 1), name="customer_id"))


def members(frame: pd.DataFrame) -> list[int]:
    return frame.index[frame["is_insider"]].tolist()


def test_a_first_month_takes_the_top_of_the_entry_bar():
    first = decide_membership(values([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]), POLICY, month="2011-05-15")
    assert members(first) == [1, 2]  # 20% of 10 active customers
    assert first.loc[[1, 2], "status"].tolist() == ["new", "new"]
    assert (first.loc[[1, 2], "member_since"] == pd.Timestamp("2011-05-01")).all()
    assert first.loc[3, "status"] == "out" and pd.isna(first.loc[3, "member_since"])
    assert first.loc[1, "value_rank"] == 1 and first.loc[10, "value_rank"] == 10
    assert first.loc[1, "reason"].startswith("entered: expected £9.00 over the next 3 months, rank 1")


def test_members_stay_between_the_bars_and_leave_after_the_grace_period():
    may = decide_membership(values([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]), POLICY, month="2011-05-15")
    # customer 2 drops to rank 4: below the entry bar (2), above the exit bar (4): stays
    june = decide_membership(values([9, 6, 8, 7, 5, 4, 3, 2, 1, 0]), POLICY, previous=may,
                             month="2011-06-15")
    assert members(june) == [1, 2, 3]  # 3 enters (rank 2); 2 is kept
    assert june.loc[2, "status"] == "stayed" and june.loc[2, "months_below"] == 0
    assert june.loc[2, "member_since"] == pd.Timestamp("2011-05-01")
    assert june.loc[2, "reason"].startswith("kept: expected £6.00, rank 4, above the exit bar")
    # 2 falls to rank 7, below the exit bar: one month of grace, then out
    july = decide_membership(values([9, 2, 8, 7, 6, 5, 4, 3, 1, 0]), POLICY, previous=june,
                             month="2011-07-15")
    assert 2 in members(july) and july.loc[2, "months_below"] == 1
    assert july.loc[2, "reason"].startswith("kept for now: rank 8, below the exit bar for 1")
    august = decide_membership(values([9, 2, 8, 7, 6, 5, 4, 3, 1, 0]), POLICY, previous=july,
                               month="2011-08-15")
    assert 2 not in members(august) and august.loc[2, "status"] == "left"
    assert august.loc[2, "reason"].startswith("left: rank 8, below the exit bar for more than 1")
    # climbing back above the exit bar resets the count
    back = decide_membership(values([9, 6.5, 8, 7, 6, 5, 4, 3, 1, 0]), POLICY, previous=july,
                             month="2011-08-15")
    assert 2 in members(back) and back.loc[2, "months_below"] == 0


def test_without_grace_a_member_leaves_in_the_first_month_below_the_exit_bar():
    strict = MembershipPolicy(entry_share=0.2, exit_share=0.4, grace_months=0)
    may = decide_membership(values([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]), strict, month="2011-05-15")
    june = decide_membership(values([9, 2, 8, 7, 6, 5, 4, 3, 1, 0]), strict, previous=may,
                             month="2011-06-15")
    assert june.loc[2, "status"] == "left" and members(june) == [1, 3]


def test_an_inactive_member_leaves_whatever_their_value():
    may = decide_membership(values([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]), POLICY, month="2011-05-15")
    june = decide_membership(values([9, 8, 7, 6, 5, 4, 3, 2, 1, 0], [10, 400] + [10] * 8),
                             POLICY, previous=may, month="2011-06-15")
    assert june.loc[2, "status"] == "left" and np.isnan(june.loc[2, "value_rank"])
    assert june.loc[2, "reason"] == "left: no purchase in the last 365 days"
    assert 3 in members(june)  # 9 active customers: top 2 are 1 and 3


def test_float_noise_in_the_values_moves_nobody():
    base = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    first = decide_membership(values(base), POLICY, month="2011-05-15")
    noisy = decide_membership(values([v * (1 + 1e-13) for v in base]), POLICY, month="2011-05-15")
    pd.testing.assert_frame_equal(first.drop(columns="reason"), noisy.drop(columns="reason"))
    # equal values: the higher past revenue ranks first, whatever the float dust
    tied = decide_membership(values([5, 5 + 1e-12, 5 - 1e-12, 1, 1, 1, 1, 1, 1, 1]), POLICY,
                             month="2011-05-15")
    assert members(tied) == [1, 2]


def test_the_policy_refuses_bars_in_the_wrong_order():
    with pytest.raises(ValueError, match="entry_share"):
        MembershipPolicy(entry_share=0.3, exit_share=0.2)
    assert "top 20% of active customers" in MembershipPolicy().describe()
    # the default: out in the first month below the exit bar (bench_membership, issue 32)
    assert "below the top 24%, or stop" in MembershipPolicy().describe()


def test_a_models_score_is_smoothed_with_last_months_of_the_same_ranking_only():
    from insiders.membership import smoothed

    ids = pd.Index([1, 2, 3], name="customer_id")
    now = pd.Series([10.0, 0.0, 4.0], index=ids)
    policy = MembershipPolicy(smoothing=0.25)
    last = pd.DataFrame({"score": [2.0, 8.0], "ranked_by": ["blend", "blend"]},
                        index=pd.Index([1, 2], name="customer_id"))
    # a dip of one month (customer 2) does not take the score to this month's alone
    assert smoothed(now, "blend", last, policy).tolist() == [0.25 * 10 + 0.75 * 2,
                                                            0.75 * 8, 4.0]  # 3: new, as it is
    # another ranking last month, revenue so far, or smoothing 1: this month's score as it is
    assert smoothed(now, "gbm", last, policy).equals(now)
    assert smoothed(now, "revenue_so_far", last.assign(ranked_by="revenue_so_far"),
                    policy).equals(now)
    assert smoothed(now, "blend", last, MembershipPolicy(smoothing=1.0)).equals(now)
    with pytest.raises(ValueError, match="smoothing"):
        MembershipPolicy(smoothing=0.0)
