"""Membership of a loyalty tier with hysteresis: an entry bar, a lower exit bar, a grace period.

A loyalty programme promises status: members stay unless their value really falls (as in
airline tiers). Customers are ranked by expected value (:mod:`insiders.value`) among the
active ones; a customer enters when ranked within the entry bar (the top ``entry_share``),
and a member leaves only after ``grace_months`` consecutive months below the exit bar (the top
``exit_share``, a lower bar), or when no longer active. Business rules are passed in as data
(:class:`MembershipPolicy`); last month's membership comes in as a frame (the CLI's
``--previous``, the warehouse in the DAG).

Ranks, not raw values, decide: values are rounded before ranking and ties go to the higher
past revenue, then the lower customer id (:func:`insiders.ranking.rank_scores`), so float noise
in the value model cannot move a customer across a bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insiders.config import MembershipPolicy
from insiders.formats import DEFAULT_CURRENCY, count, money
from insiders.options import (
    AUTO_RANKING,
    DEFAULT_SEED,
    HORIZON_WORDS,
    REVENUE_SO_FAR,
    VALUE_MODELS,
)
from insiders.progress import stage
from insiders.ranking import rank_scores
from insiders.ranking_choice import (
    RANKING_WORDS,
    RankingBackTest,
    RankingChoice,
    ranking_scores,
)
from insiders.schema import TIER_COLUMNS
from insiders.value import LineHistory, forecast_of

__all__ = [
    "STATUSES",
    "TIER_COLUMNS",
    "MembershipPolicy",
    "decide_membership",
    "tier_members",
    "value_membership",
    "warm_start",
]

#: What happened to each customer this month.
STATUSES = ("new", "stayed", "left", "out")


def decide_membership(
    values: pd.DataFrame,
    policy: MembershipPolicy | None = None,
    *,
    previous: pd.DataFrame | None = None,
    month: str | pd.Timestamp,
    currency: str = DEFAULT_CURRENCY,
    choice: RankingChoice | None = None,
) -> pd.DataFrame:
    """This month's Insiders from each customer's expected value and last month's membership.

    Args:
        values: one row per customer (index ``customer_id``) with ``expected_revenue``,
            ``recency_days`` and ``gross_revenue`` (the tie-break); and ``score`` when the
            tier ranks by another score than ``expected_revenue`` (``choice`` says which).
        policy: the tier's rules (defaults: :class:`MembershipPolicy`).
        previous: last month's output of this function (``is_insider``, ``member_since``,
            ``months_below``), or None on a first month.
        month: the run month (``member_since`` of those who enter now).
        currency: for the reasons' amounts.
        choice: the ranking chosen this month (:mod:`insiders.ranking_choice`), for the
            reasons (a member who leaves because it changed is told so); None: by
            ``expected_revenue``.

    Returns:
        Per customer of ``values`` (last month's members missing from it are not listed):
        ``value_rank`` (1 = best among the active; NaN if inactive), ``is_insider``,
        ``status`` (new, stayed, left, out), ``member_since``, ``months_below`` and a
        ``reason`` in words.
    """
    policy = policy or MembershipPolicy()
    month = pd.Timestamp(month).to_period("M").to_timestamp()
    active = policy.is_active(values["recency_days"])
    n_active = int(active.sum())
    entry_n = max(round(policy.entry_share * n_active), 1) if n_active else 0
    exit_n = max(round(policy.exit_share * n_active), entry_n)
    score = values["score"] if "score" in values else values["expected_revenue"]
    order = rank_scores(score[active], tiebreak=values.loc[active, "gross_revenue"])
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
    is_insider = keep | (~was & in_entry)

    out = pd.DataFrame(index=values.index)
    out["value_rank"] = rank
    out["is_insider"] = is_insider
    out["status"], out["member_since"] = _transitions(is_insider, was, since, month)
    out["months_below"] = below_now.where(keep, 0).astype(int)
    by = "" if choice is None else f" by {RANKING_WORDS[choice.ranking]}"
    bars = (f"entry bar: top {count(entry_n)}, exit bar: top {count(exit_n)} of "
            f"{count(n_active)} active{by}")
    out["reason"] = _reasons(out, values["expected_revenue"], active, bars, policy, currency,
                             choice)
    return out


def _reasons(out: pd.DataFrame, expected_revenue: pd.Series, active: pd.Series, bars: str,
             policy: MembershipPolicy, currency: str,
             choice: RankingChoice | None = None) -> list[str]:
    """Why each customer in the tier (or just out of it) is where they are, in words; the
    customers out of the tier have none."""
    changed = ("" if choice is None or not choice.switched else
               f"; the ranking changed this month from {RANKING_WORDS[choice.previous]} to "
               f"{RANKING_WORDS[choice.ranking]} ({choice.reason})")
    reasons = [""] * len(out)
    listed = np.flatnonzero(out["status"].to_numpy() != "out")
    for i, value_rank, status, months_below, revenue, is_active in zip(
            listed, out["value_rank"].to_numpy()[listed], out["status"].to_numpy()[listed],
            out["months_below"].to_numpy()[listed], expected_revenue.to_numpy()[listed],
            active.to_numpy()[listed], strict=True):
        expected = money(revenue, currency)
        r = "" if np.isnan(value_rank) else f"rank {int(value_rank):d}"
        if status == "new":
            reasons[i] = f"entered: expected {expected} over {HORIZON_WORDS}, {r} ({bars})"
        elif status == "stayed" and months_below == 0:
            reasons[i] = f"kept: expected {expected}, {r}, above the exit bar ({bars})"
        elif status == "stayed":
            reasons[i] = (f"kept for now: {r}, below the exit bar for {months_below} "
                          f"month(s) of {policy.grace_months} allowed ({bars})")
        elif status == "left" and not is_active:
            reasons[i] = f"left: no purchase in the last {policy.active_days} days"
        elif status == "left":
            reasons[i] = (f"left: {r}, below the exit bar for more than {policy.grace_months} "
                          f"month(s) ({bars}){changed}")
    return reasons


def _transitions(now: pd.Series, was: pd.Series, since: pd.Series,
                 month: pd.Timestamp) -> tuple[np.ndarray, pd.Series]:
    """Each customer's status (new, stayed, left, out) and member-since date, from whether they
    are a member now and were one last month (``since``: last month's member-since)."""
    status = np.select([now & ~was, now & was, ~now & was], ["new", "stayed", "left"], "out")
    return status, since.where(now & was, month.to_period("M").to_timestamp()).where(now)


def previous_members(previous: pd.DataFrame | None) -> pd.DataFrame | None:
    """Last month's membership from its segments (older runs lack the tier's columns)."""
    if previous is None or previous.empty:
        return None
    out = previous[["is_insider"]].copy()
    out["member_since"] = (pd.to_datetime(previous["member_since"]) if "member_since" in previous
                           else pd.NaT)
    out["months_below"] = previous.get("months_below", 0)
    for carried in ("score", "ranked_by"):  # the smoothed score (older runs lack them)
        if carried in previous:
            out[carried] = previous[carried]
    return out


def tier_members(
    features: pd.DataFrame,
    segments: pd.DataFrame,
    *,
    lines: pd.DataFrame | LineHistory,
    reference_date: str | pd.Timestamp,
    previous: pd.DataFrame | None = None,
    rule: str = "value",
    value_model: str = AUTO_RANKING,
    policy: MembershipPolicy | None = None,
    random_state: int = DEFAULT_SEED,
    currency: str = DEFAULT_CURRENCY,
    model_used: dict | None = None,
    choice: RankingChoice | None = None,
) -> pd.DataFrame:
    """``segments`` with this month's Insiders and the tier's columns (:data:`TIER_COLUMNS`).

    Args:
        features: the month's customer features (``recency_days``, ``gross_revenue``).
        segments: from :func:`insiders.segments.assign_segments` (its ``is_insider`` is the
            top segment's members: kept as the Insiders under ``rule="cluster"``).
        lines: the filtered lines (the value model's input; only lines up to the reference
            date are used).
        reference_date: the run's "as of" day.
        previous: last month's segments (with its tier columns), or None.
        rule: ``"value"`` (expected value with hysteresis) or ``"cluster"`` (the study's).
        value_model: what ranks the customers (:data:`insiders.options.VALUE_MODEL_CHOICES`):
            a value model, the plain rule, or ``"auto"``, ``choice``'s ranking.
        policy: the bars (``rule="value"``).
        random_state: the value model's seed.
        currency: for the reasons.
        model_used: filled with the value model actually fitted (``method``) and why it
            stepped down from ``value_model`` (``reason``, None if it did not).
        choice: this month's ranking under ``value_model="auto"``
            (:class:`insiders.ranking_choice.RankingBackTest`); None: the plain rule.
    """
    month = pd.Timestamp(reference_date)
    out = segments.copy()
    prev = previous_members(previous)
    if rule == "cluster":
        was = (prev["is_insider"].reindex(out.index, fill_value=False).astype(bool)
               if prev is not None else pd.Series(False, index=out.index))
        since = (prev["member_since"].reindex(out.index) if prev is not None
                 else pd.Series(pd.NaT, index=out.index))
        now = out["is_insider"]
        out["expected_revenue"] = np.nan
        out["p_active"] = np.nan
        out["value_rank"] = np.nan
        out["status"], out["member_since"] = _transitions(now, was, since, month)
        out["months_below"] = 0
        out["reason"] = np.where(now, "in the highest-value segment of the clustering",
                                 np.where(was, "left the highest-value segment", ""))
        return out
    decided = value_membership(features, lines=lines, reference_date=month, previous=prev,
                               value_model=value_model, policy=policy,
                               random_state=random_state, currency=currency,
                               model_used=model_used, choice=choice)
    return out.drop(columns=["is_insider"]).join(decided)


def value_membership(
    features: pd.DataFrame,
    *,
    lines: pd.DataFrame | LineHistory,
    reference_date: str | pd.Timestamp,
    previous: pd.DataFrame | None,
    value_model: str = AUTO_RANKING,
    policy: MembershipPolicy | None = None,
    random_state: int = DEFAULT_SEED,
    currency: str = DEFAULT_CURRENCY,
    model_used: dict | None = None,
    choice: RankingChoice | None = None,
    scores_out: dict | None = None,
) -> pd.DataFrame:
    """One month's value model and tier decision: ``expected_revenue``, ``p_active`` and the
    columns of :func:`decide_membership`, per customer of ``features`` (``value_model``,
    ``model_used``, ``choice``: as in :func:`tier_members`).

    The forecast (``expected_revenue``) is the fitted value model's: ``value_model`` when it
    names one, else the blend. The tier ranks by ``value_model``, or by ``choice``'s ranking
    under ``"auto"`` (the plain rule without a choice). ``scores_out``, when given, is filled
    with every ranking's scores (:func:`insiders.ranking_choice.ranking_scores`) for the
    back-test of the rankings.
    """
    from insiders.value import ValueModel

    month = pd.Timestamp(reference_date)
    lines = LineHistory.of(lines)
    fitted = value_model if value_model in VALUE_MODELS else "blend"
    model = ValueModel(method=fitted, random_state=random_state).fit(lines, month)
    if model_used is not None:
        model_used.update(method=model.method_, reason=model.fallback_reason_)
    parts = model.predict_parts(lines, month)
    values = forecast_of(parts).reindex(features.index)
    values = values.fillna({"expected_revenue": 0.0, "p_active": 0.0})
    values = values.join(features[["recency_days", "gross_revenue"]])
    if value_model in VALUE_MODELS:
        choice, ranking = None, value_model  # a model named: it ranks, as it forecasts
        score = values["expected_revenue"]
    else:
        scores = ranking_scores(parts, features)
        if scores_out is not None:
            scores_out.update(scores)
        if choice is None:
            choice = RankingChoice(REVENUE_SO_FAR if value_model == AUTO_RANKING else value_model,
                                   None, reason="named by the run's value_model")
        ranking, score = choice.ranking, scores[choice.ranking]
    values["score"] = smoothed(score, ranking, previous, policy or MembershipPolicy())
    decided = decide_membership(values, policy, previous=previous, month=month, currency=currency,
                                choice=choice)
    return values[["expected_revenue", "p_active", "score"]].join(decided).assign(
        ranked_by=ranking)


def smoothed(score: pd.Series, ranking: str, previous: pd.DataFrame | None,
             policy: MembershipPolicy) -> pd.Series:
    """The score the tier ranks by: a value model's, smoothed with last month's score of the
    same ranking (:attr:`MembershipPolicy.smoothing`); revenue so far as it is, and a customer
    with no score last month (new, or the ranking changed) by this month's alone."""
    if (ranking == REVENUE_SO_FAR or policy.smoothing >= 1 or previous is None
            or "score" not in previous or "ranked_by" not in previous):
        return score
    last = previous["score"].where(previous["ranked_by"] == ranking).reindex(score.index)
    return (policy.smoothing * score + (1 - policy.smoothing) * last).fillna(score)


def warm_start(
    lines: pd.DataFrame | LineHistory,
    dates: list[pd.Timestamp],
    *,
    value_model: str = AUTO_RANKING,
    policy: MembershipPolicy | None = None,
    random_state: int = DEFAULT_SEED,
    features_out: dict[pd.Timestamp, pd.DataFrame] | None = None,
    rankings: RankingBackTest | None = None,
) -> dict[pd.Timestamp, pd.DataFrame]:
    """The tier as if the programme had run every month of ``dates`` (oldest first, none before
    the data's first purchase; the first with no previous members), each month on the data up
    to it, with the ``value_model`` that month used (column ``value_model``) and, under
    ``"auto"``, the ranking it chose (column ``ranked_by``).

    A run with no last month (a first run, or the CLI without ``--previous``) starts from the
    last of these instead of from nothing, so its members, joins and exits are those of a
    programme that has been running (a first month alone would put every member at the entry
    bar, and the report's replayed months would disagree with it).

    ``features_out``, when given, is filled with each month's customer features;
    ``rankings`` (``"auto"``), with each month's rankings, so the month after ``dates`` can
    choose on from them (:meth:`RankingBackTest.choose`, which starts from its last choice).
    """
    history = LineHistory.of(lines)
    if rankings is None:
        rankings = RankingBackTest(history, policy)
    chain: dict[pd.Timestamp, pd.DataFrame] = {}
    previous = None
    for day in dates:
        day = pd.Timestamp(day)
        with stage(f"the tier as of {day.date()}"):
            previous = chain[day] = _warm_month(history, day, previous, rankings, value_model,
                                                policy, random_state, features_out)
    return chain


def _warm_month(history: LineHistory, day: pd.Timestamp, previous: pd.DataFrame | None,
                rankings: RankingBackTest, value_model: str, policy: MembershipPolicy | None,
                random_state: int, features_out: dict | None) -> pd.DataFrame:
    """One month of :func:`warm_start`: its features, its value model and its tier."""
    features = history.features(day)
    if features_out is not None:
        features_out[day] = features
    used: dict = {}
    scores: dict = {}
    choice = rankings.choose(day) if value_model == AUTO_RANKING else None
    month = value_membership(
        features, lines=history, reference_date=day, previous=previous,
        value_model=value_model, policy=policy, random_state=random_state,
        model_used=used, choice=choice, scores_out=scores).assign(value_model=used["method"])
    if choice is not None:
        rankings.add(day, scores, features)
    return month
