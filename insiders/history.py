"""Replay of monthly runs on one file: cut the lines at each month's 15th and segment again,
so that membership history (entries, exits) and out-of-time checks exist for the report."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insiders.config import MembershipPolicy
from insiders.membership import tier_members, warm_start
from insiders.models import Candidate
from insiders.options import AUTO_RANKING, DEFAULT_SEED
from insiders.progress import stage
from insiders.segments import assign_segments
from insiders.spaces import fit_spaces
from insiders.value import LineHistory


@dataclass
class Replay:
    """Segments of every replayed month, oldest first.

    Attributes:
        segments: reference date -> per-customer ``segment_id``, ``segment_name``,
            ``is_insider`` (as :func:`insiders.segments.assign_segments` returns).
        features: reference date -> the features the month was segmented on.
    """

    segments: dict[pd.Timestamp, pd.DataFrame] = field(default_factory=dict)
    features: dict[pd.Timestamp, pd.DataFrame] = field(default_factory=dict)

    def membership_changes(self) -> pd.DataFrame:
        """Per replayed month: Insiders, entered, left, and the stayers' share."""
        rows = []
        previous: set | None = None
        for ref, seg in self.segments.items():
            now = set(seg.index[seg["is_insider"]])
            entered = len(now - previous) if previous is not None else len(now)
            left = len(previous - now) if previous is not None else 0
            rows.append({
                "reference_date": ref.date(),
                "insiders": len(now),
                "entered": entered,
                "left": left,
                "stayed_share": (len(now & previous) / len(previous)) if previous else np.nan,
            })
            previous = now
        return pd.DataFrame(rows)

    def exits(self) -> pd.DataFrame:
        """Customers who left Insiders from one replayed month to the next, with the change
        in their features between the two months (why they left)."""
        frames = []
        months = list(self.segments)
        for before, after in itertools.pairwise(months):
            was = self.segments[before]
            now = self.segments[after]
            gone = was.index[was["is_insider"]].difference(now.index[now["is_insider"]])
            f0, f1 = self.features[before], self.features[after]
            both = gone.intersection(f1.index)
            if both.empty:
                continue
            delta = f1.loc[both] - f0.loc[both]
            frames.append(delta.assign(left_on=after.date()))
        return pd.concat(frames) if frames else pd.DataFrame()


def monthly_reference_dates(reference_date: pd.Timestamp, months: int,
                            first_day: pd.Timestamp | None = None) -> list[pd.Timestamp]:
    """The 14th (the day before each run on the 15th) of the ``months`` months before the
    reference date's, oldest first, then the reference date itself; with ``first_day`` (the
    data's first purchase day), none before it (a young shop replays the months it has)."""
    ref = pd.Timestamp(reference_date).normalize()
    anchor = ref.replace(day=14) if ref.day >= 14 else (ref - pd.DateOffset(months=1)).replace(day=14)
    earlier = [anchor - pd.DateOffset(months=m) for m in range(months, 0, -1)]
    if anchor != ref:
        earlier.append(anchor)
    return [pd.Timestamp(d) for d in earlier
            if d < ref and (first_day is None or d >= first_day)] + [ref]


def replay(
    lines: pd.DataFrame | LineHistory,
    reference_dates: list[pd.Timestamp],
    *,
    feature_names: list[str],
    candidate: Candidate,
    value_score: str = "gross_revenue",
    insiders_rule: str = "value",
    value_model: str = AUTO_RANKING,
    membership: MembershipPolicy | None = None,
    memberships: dict[pd.Timestamp, pd.DataFrame] | None = None,
    random_state: int = DEFAULT_SEED,
    fit_sample_size: int | None = None,
    cluster_sample_size: int | None = None,
) -> Replay:
    """Segment the customers as of each reference date (oldest first) with the run's chosen
    features and ``candidate`` (space, model, parameter), carrying segment ids from month to
    month, and choose each month's Insiders as the run does.

    The space is fitted once, on the oldest month (on a seeded sample of ``fit_sample_size``),
    and every later month's customers are embedded in it (as a run with ``reuse_spaces`` is),
    then clustered again (on a sample of ``cluster_sample_size``, the rest assigned). So each
    month sees only its own past (the out-of-time checks stay honest), and segments move where
    customers changed, not where a refit moved the layout.

    ``lines`` may be a :class:`~insiders.value.LineHistory` (the months' features are its).
    ``value_score`` ranks the clusters; ``insiders_rule``, ``value_model`` and ``membership``
    choose the Insiders (:func:`insiders.membership.tier_members`, each month after the one
    before), except on the dates of ``memberships``, the tier the run itself replayed
    (:func:`insiders.membership.warm_start`), used as it is.
    """
    out, previous, fitted = Replay(), None, None
    lines = LineHistory.of(lines)
    tier = dict(rule=insiders_rule, value_model=value_model, policy=membership,
                random_state=random_state)
    if insiders_rule == "value" and value_model == AUTO_RANKING:
        # the ranking each month chooses depends on the months before: the tier's own chain
        missing = [d for d in reference_dates if memberships is None or d not in memberships]
        if missing:
            memberships = {**(memberships or {}), **warm_start(
                lines, missing, value_model=value_model, policy=membership,
                random_state=random_state)}
    for ref in reference_dates:
        with stage(f"replay as of {ref.date()}"):
            features = lines.features(ref)  # counts lines up to ref only
            if fitted is None:
                fitted = fit_spaces(features, feature_names=feature_names,
                                    spaces=(candidate.space,), random_state=random_state,
                                    fit_sample_size=fit_sample_size)
                X = fitted.embeddings[candidate.space]
            else:
                X = fitted.transform(features)[candidate.space]
            labels = pd.Series(candidate.fit(X, random_state=random_state,
                                             sample_size=cluster_sample_size),
                               index=features.index)
            segments = assign_segments(features, labels, value_score=value_score,
                                       previous=previous, name_top=insiders_rule == "cluster")
            if memberships is not None and ref in memberships:  # decided by the run itself
                segments = segments.drop(columns="is_insider").join(memberships[ref])
            else:
                segments = tier_members(features, segments, lines=lines, reference_date=ref,
                                        previous=previous, **tier)
        out.segments[ref] = segments
        out.features[ref] = features
        previous = segments
    return out
