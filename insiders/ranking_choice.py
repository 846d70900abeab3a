"""Which ranking the tier follows, chosen by the run's own back-test (``value_model="auto"``).

Every month the customers are ranked by each candidate of :data:`RANKINGS`: the plain rule
(revenue so far) and the value models of one fit (:meth:`insiders.value.ValueModel.predict_parts`;
a model the month's data could not carry ranks as the one it steps down to). Once a month's
:data:`~insiders.options.HORIZON_DAYS` days are known, each candidate's *capture* there is
measured: the share of those days' revenue (of the customers known at the month) brought by
its top ``entry_share`` of the active customers, the customers the tier's entry bar takes.

The tier follows the ranking it followed last month (the plain rule at first) unless another
beat it at each of the last :data:`CHOICE_CUTS` measured months and by :data:`SWITCH_MARGIN` on
their mean: a rule against flapping, since a change of ranking moves members out. With no
measured month yet (a young shop), the plain rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from insiders.config import MembershipPolicy
from insiders.options import HORIZON_DAYS, HORIZON_WORDS, RANKINGS, REVENUE_SO_FAR
from insiders.ranking import top_n
from insiders.value import PAST_REVENUE, LineHistory

#: The measured months a choice looks at (the latest ones).
CHOICE_CUTS = 3
#: How much more (a share of the revenue: 0.01 is one point) a ranking must capture on the
#: mean of those months, beside winning at each of them, to replace last month's.
SWITCH_MARGIN = 0.01
#: Each ranking in words (the report, the reasons).
RANKING_WORDS: dict[str, str] = {
    REVENUE_SO_FAR: "revenue so far (the plain rule)",
    "bgnbd": "BG/NBD + Gamma-Gamma",
    "gbm": "the gradient-boosted model",
    "blend": "the blend of the value models",
}


def ranking_scores(parts: Mapping[str, pd.DataFrame],
                   features: pd.DataFrame) -> dict[str, pd.Series]:
    """Each ranking's score per customer of ``features``: ``gross_revenue`` for the plain rule,
    each model's ``expected_revenue`` (from one blend fit's parts) for the others; a model the
    fit stepped down from ranks as the model it stepped down to, as it would have."""
    stepped = parts.get("bgnbd", parts.get(PAST_REVENUE))
    scores = {REVENUE_SO_FAR: features["gross_revenue"].astype(float)}
    for name in RANKINGS[1:]:
        part = parts.get(name, stepped if name != "bgnbd" else parts.get(PAST_REVENUE))
        scores[name] = part["expected_revenue"].reindex(features.index).fillna(0.0)
    return scores


def capture_of(scores: Mapping[str, pd.Series], features: pd.DataFrame, future: pd.Series,
               policy: MembershipPolicy) -> dict[str, float]:
    """Each ranking's capture at one month: the share of ``future`` (revenue per customer
    after the month) of the customers of ``features`` brought by its top ``entry_share`` of
    the active ones (rounded to 1e-6, so float noise decides nothing)."""
    active = policy.is_active(features["recency_days"]).to_numpy(bool)
    n = max(round(policy.entry_share * int(active.sum())), 1)
    bought = future.reindex(features.index, fill_value=0.0).astype(float)
    total = float(bought.sum())
    tiebreak = features["gross_revenue"]
    return {name: round(float(bought.reindex(top_n(score[active], n, tiebreak=tiebreak)).sum())
                        / total, 6) if total > 0 else 0.0
            for name, score in scores.items()}


@dataclass(frozen=True)
class RankingChoice:
    """One month's choice.

    Attributes:
        ranking: the ranking the tier follows this month (one of :data:`RANKINGS`).
        previous: the one it followed last month (None: no last month known).
        cuts: the measured months the choice looked at (ISO dates, oldest first).
        capture: each ranking's capture at those months.
        reason: the choice in words.
    """

    ranking: str
    previous: str | None
    cuts: tuple[str, ...] = ()
    capture: dict[str, tuple[float, ...]] = field(default_factory=dict)
    reason: str = ""

    @property
    def switched(self) -> bool:
        """Whether the ranking changed from last month's."""
        return self.previous is not None and self.ranking != self.previous

    def facts(self) -> dict[str, Any]:
        """Plain values for ``selection.json`` and the report."""
        return {"ranked_by": self.ranking, "previous": self.previous, "switched": self.switched,
                "cuts": list(self.cuts), "capture": {k: list(v) for k, v in self.capture.items()},
                "reason": self.reason}


def choose_ranking(measured: Mapping[pd.Timestamp, Mapping[str, float]], previous: str | None,
                   *, cuts: int = CHOICE_CUTS, margin: float = SWITCH_MARGIN) -> RankingChoice:
    """This month's ranking from the captures of the measured months (see the module)."""
    incumbent = previous if previous in RANKINGS else REVENUE_SO_FAR
    days = sorted(measured)[-cuts:]
    if not days:
        return RankingChoice(REVENUE_SO_FAR, previous, reason=(
            f"no earlier month has its {HORIZON_WORDS} known yet, so the tier ranks by "
            f"{RANKING_WORDS[REVENUE_SO_FAR]}"))
    capture = {name: tuple(float(measured[d][name]) for d in days) for name in RANKINGS}
    mean = {name: round(float(np.mean(v)), 6) for name, v in capture.items()}
    best = max(RANKINGS, key=lambda name: (mean[name], -RANKINGS.index(name)))
    gap = (mean[best] - mean[incumbent]) * 100
    at = f"at the last {len(days)} month(s) measured ({', '.join(d.date().isoformat() for d in days)})"
    share = f"{mean[best]:.1%} of {HORIZON_WORDS}' revenue"
    wins_each = all(b > a for a, b in zip(capture[incumbent], capture[best], strict=True))
    if best == incumbent:
        runner = max((n for n in RANKINGS if n != best), key=lambda n: mean[n])
        reason = (f"{RANKING_WORDS[best]}: the best {at}, {share}; next "
                  f"{RANKING_WORDS[runner]}, {(mean[runner] - mean[best]) * 100:+.1f} points")
        ranking = best
    elif gap >= margin * 100 - 1e-9 and wins_each:
        reason = (f"{RANKING_WORDS[best]} replaces {RANKING_WORDS[incumbent]}: {share} {at}, "
                  f"{gap:+.1f} points, and better at each of them")
        ranking = best
    else:
        why = ("not at each of them" if gap >= margin * 100 - 1e-9
               else f"under the {margin * 100:.0f}-point margin")
        reason = (f"{RANKING_WORDS[incumbent]} kept: {RANKING_WORDS[best]} captured "
                  f"{gap:+.1f} points more on average {at}, {why}")
        ranking = incumbent
    return RankingChoice(ranking, previous, tuple(d.date().isoformat() for d in days),
                         capture, reason)


class RankingBackTest:
    """The rankings' captures month by month, measured as each month's future becomes known.

    ``add(day, scores, features)`` records a month's rankings; ``choose(day, previous)``
    measures every recorded month whose :data:`~insiders.options.HORIZON_DAYS` days end by
    ``day`` and chooses (:func:`choose_ranking`).
    """

    def __init__(self, lines: LineHistory, policy: MembershipPolicy | None = None,
                 horizon_days: int = HORIZON_DAYS) -> None:
        self.lines = lines
        self.policy = policy or MembershipPolicy()
        self.horizon_days = horizon_days
        self.measured: dict[pd.Timestamp, dict[str, float]] = {}
        self.last: RankingChoice | None = None  # the latest choice made with it
        self._pending: dict[pd.Timestamp, tuple[dict[str, pd.Series], pd.DataFrame]] = {}

    def add(self, day: pd.Timestamp, scores: dict[str, pd.Series], features: pd.DataFrame) -> None:
        """Record one month's rankings (measured later, once its future is known)."""
        self._pending[pd.Timestamp(day)] = (scores, features[["recency_days", "gross_revenue"]])

    def record_months(self, days: list[pd.Timestamp], random_state: int) -> None:
        """Fit the value model at each of ``days`` and record its rankings (a run that did not
        replay them itself: one with last month's members given)."""
        from insiders.value import ValueModel

        for day in days:
            features = self.lines.features(day)
            parts = ValueModel(random_state=random_state).fit(self.lines, day).predict_parts(
                self.lines, day)
            self.add(day, ranking_scores(parts, features), features)

    def choose(self, day: pd.Timestamp, previous: str | None = None) -> RankingChoice:
        """The ranking for ``day``, from the months recorded before it whose future is known;
        ``previous``: last month's ranking (default: the last one chosen here, if any)."""
        horizon = pd.Timedelta(days=self.horizon_days)
        for month in sorted(self._pending):
            if month + horizon <= day:
                scores, features = self._pending.pop(month)
                self.measured[month] = capture_of(
                    scores, features, self.lines.future_revenue(month, self.horizon_days),
                    self.policy)
        if previous is None and self.last is not None:
            previous = self.last.ranking
        self.last = choose_ranking({m: c for m, c in self.measured.items() if m + horizon <= day},
                                   previous)
        return self.last
