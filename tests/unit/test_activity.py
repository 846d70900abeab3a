"""One activity window: the tier and the back-test's N count the same customers as active,
at the window's edge too (a last purchase exactly ``active_days`` before the cut)."""

from __future__ import annotations

import pandas as pd

from insiders.backtest import n_active_share
from insiders.config import MembershipPolicy
from insiders.features import build_customer_features
from insiders.filters import filter_transactions
from tests.conftest import make_lines

CUT = pd.Timestamp("2011-06-30")


def test_the_tier_and_the_backtest_agree_on_who_is_active_at_the_edge():
    policy = MembershipPolicy(active_days=30)
    edge, outside = CUT - pd.Timedelta(days=30), CUT - pd.Timedelta(days=31)
    lines = filter_transactions(make_lines([
        ("1", "X1", 1, f"{edge.date()} 23:59", 1.0, 1, "UK"),  # the edge: 30 days before
        ("2", "X1", 1, f"{outside.date()} 00:01", 1.0, 2, "UK"),  # a day beyond it
        ("3", "X1", 1, f"{CUT.date()} 08:00", 1.0, 3, "UK"),  # the cut's own day
        ("4", "X1", -1, f"{CUT.date()} 09:00", 1.0, 2, "UK"),  # a return does not make 2 active
    ])).lines
    recency = build_customer_features(lines, CUT)["recency_days"]
    tier_active = set(recency.index[policy.is_active(recency)])
    assert tier_active == {1, 3}
    # N = share x active customers: share 1.0 counts them
    assert n_active_share(1.0, days=policy.active_days)(lines, CUT) == len(tier_active)
