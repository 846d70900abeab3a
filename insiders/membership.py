"""Membership of a loyalty tier with hysteresis: an entry bar, a lower exit bar, a grace period.

A loyalty programme promises status: members stay unless their value really falls (as in
airline tiers). Customers are ranked by expected value (:mod:`insiders.value`) among the
active ones; a customer enters when ranked within the entry bar (the top ``entry_share``),
and a member leaves only after ``grace_months`` consecutive months below the exit bar (the top
``exit_share``, a lower bar), or when no longer active. Business rules are passed in as data
(:class:`MembershipPolicy`); last month's membership comes in as a frame (the CLI's
``--previous``, the warehouse in the DAG).

Ranks, not raw values, decide: values are rounded before ranking and ties go to the higher
past revenue, then the lower customer id (:func:`insiders.value.rank_scores`), so float noise
in the value model cannot move a customer across a bar.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from insiders.formats import count, money
from insiders.value import rank_scores

__all__ = ["STATUSES", "MembershipPolicy", "decide_membership"]

#: What happened to each customer this month.
STATUSES = ("new", "stayed", "left", "out")


@dataclass(frozen=True)
class MembershipPolicy:
    """The tier's rules.

    The defaults were chosen by ``bench/bench_membership.py`` (2011-04..09, chained monthly):
    of exit bars 25% / 30% and grace 0 / 1 month, top 30% without grace kept the most future
    revenue among those keeping >= 90% of members each month (93-96%).

    Attributes:
        entry_share: enter when ranked within this share of the active customers.
        exit_share: members stay while ranked within this (larger) share.
        grace_months: months in a row below the exit bar a member is kept before leaving
            (0: leave in the first month below it).
        active_days: a customer is active when their last purchase is at most this old;
            the bars are shares of the active customers, and an inactive member leaves.
    """

    entry_share: float = 0.20
    exit_share: float = 0.30
    grace_months: int = 0
    active_days: int = 365

    def __post_init__(self) -> None:
        if not 0 < self.entry_share <= self.exit_share <= 1:
            raise ValueError(
                f"need 0 < entry_share ({self.entry_share}) <= exit_share ({self.exit_share}) <= 1"
            )
        if self.grace_months < 0 or self.active_days < 1:
            raise ValueError("grace_months must be >= 0 and active_days >= 1")

    def describe(self) -> str:
        """The rules in one sentence, for the report."""
        grace = (f" for {self.grace_months + 1} months in a row" if self.grace_months
                 else "")
        return (f"Customers enter Insiders when their expected revenue ranks in the top "
                f"{self.entry_share:.0%} of active customers (a purchase in the last "
                f"{self.active_days} days); members leave when they rank below the top "
                f"{self.exit_share:.0%}{grace}, or stop being active.")

    def to_dict(self) -> dict:
        """Plain values, for JSON and the warehouse."""
        return asdict(self)


def decide_membership(
    values: pd.DataFrame,
    policy: MembershipPolicy | None = None,
    *,
    previous: pd.DataFrame | None = None,
    month: str | pd.Timestamp,
    currency: str = "GBP",
) -> pd.DataFrame:
    """This month's Insiders from each customer's expected value and last month's membership.

    Args:
        values: one row per customer (index ``customer_id``) with ``expected_revenue``,
            ``recency_days`` and ``gross_revenue`` (the tie-break).
        policy: the tier's rules (defaults: :class:`MembershipPolicy`).
        previous: last month's output of this function (``is_insider``, ``member_since``,
            ``months_below``), or None on a first month.
        month: the run month (``member_since`` of those who enter now).
        currency: for the reasons' amounts.

    Returns:
        Per customer of ``values`` (and last month's members no longer in it, as ``left``):
        ``value_rank`` (1 = best among the active; NaN if inactive), ``is_insider``,
        ``status`` (new, stayed, left, out), ``member_since``, ``months_below`` and a
        ``reason`` in words.
    """
    policy = policy or MembershipPolicy()
    month = pd.Timestamp(month).to_period("M").to_timestamp()
    active = values["recency_days"] <= policy.active_days
    n_active = int(active.sum())
    entry_n = max(round(policy.entry_share * n_active), 1) if n_active else 0
    exit_n = max(round(policy.exit_share * n_active), entry_n)
    order = rank_scores(values.loc[active, "expected_revenue"],
                        tiebreak=values.loc[active, "gross_revenue"])
    rank = pd.Series(np.nan, index=values.index)
    rank.loc[order] = np.arange(1, len(order) + 1)

    was = pd.Series(False, index=values.index)
    since = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    below = pd.Series(0, index=values.index)
    if previous is not None and not previous.empty:
        prev = previous.reindex(values.index)
        was = prev["is_insider"].fillna(False).astype(bool)
        since = pd.to_datetime(prev["member_since"])
        below = prev["months_below"].fillna(0).astype(int)

    in_entry = rank <= entry_n
    in_exit = rank <= exit_n
    still_below = was & active & ~in_exit
    below_now = (below + 1).where(still_below, 0)
    keep = was & active & (in_exit | (below_now <= policy.grace_months))
    enter = ~was & in_entry
    is_insider = keep | enter

    out = pd.DataFrame(index=values.index)
    out["value_rank"] = rank
    out["is_insider"] = is_insider
    out["status"] = np.select([enter, keep, was & ~keep], ["new", "stayed", "left"], "out")
    out["member_since"] = since.where(keep, pd.Timestamp(month)).where(is_insider)
    out["months_below"] = below_now.where(keep, 0).astype(int)
    bars = f"entry bar: top {count(entry_n)}, exit bar: top {count(exit_n)} of {count(n_active)} active"
    reasons = []
    for cid, row in out.iterrows():
        expected = money(values.at[cid, "expected_revenue"], currency)
        r = "" if np.isnan(row["value_rank"]) else f"rank {int(row['value_rank']):d}"
        if row["status"] == "new":
            reasons.append(f"entered: expected {expected} over the next 3 months, {r} ({bars})")
        elif row["status"] == "stayed" and row["months_below"] == 0:
            reasons.append(f"kept: expected {expected}, {r}, above the exit bar ({bars})")
        elif row["status"] == "stayed":
            reasons.append(f"kept for now: {r}, below the exit bar for {row['months_below']} "
                           f"month(s) of {policy.grace_months} allowed ({bars})")
        elif row["status"] == "left" and not active[cid]:
            reasons.append(f"left: no purchase in the last {policy.active_days} days")
        elif row["status"] == "left":
            reasons.append(f"left: {r}, below the exit bar for more than {policy.grace_months} "
                           f"month(s) ({bars})")
        else:
            reasons.append("")
    out["reason"] = reasons
    return out
