"""The stated policy that picks one model from the comparison, and the Insiders cluster in it."""

from __future__ import annotations

import pandas as pd

from insiders.config import SelectionPolicy
from insiders.errors import InputError


def choose_candidate(scores: pd.DataFrame, policy: SelectionPolicy) -> pd.Series:
    """The row of the comparison table that the policy picks.

    Raises:
        ValueError: no candidate satisfies the policy (the message says which one to change).
    """
    if policy.rule == "fixed":
        hit = scores[
            (scores["space"] == policy.space) & (scores["model"] == policy.model) & (scores["k"] == policy.k)
        ]
        if hit.empty:
            raise InputError(
                f"the comparison has no {policy.model} with k = {policy.k} on {policy.space}; "
                "include it in the grid or change the selection policy"
            )
        why = hit.iloc[0].get("left_out")
        if isinstance(why, str) and why:
            raise InputError(
                f"the selection policy's model {hit.iloc[0]['candidate']} could not be fitted on "
                f"this data ({why}); choose another model in the selection policy")
        return hit.iloc[0]
    ok = scores[
        scores["n_clusters"].between(policy.k_min, policy.k_max)
        & (scores["noise_share"] <= policy.max_noise_share)
        & scores["silhouette"].notna()
    ]
    if ok.empty:
        raise InputError(
            f"no candidate has {policy.k_min}-{policy.k_max} clusters with at most "
            f"{policy.max_noise_share:.0%} noise; widen the range"
        )
    return ok.sort_values("silhouette", ascending=False, kind="stable").iloc[0]


def cluster_values(features: pd.DataFrame, labels: pd.Series, value_score: str) -> pd.Series:
    """Mean value score per cluster (noise, -1, left out), highest first."""
    if value_score not in features.columns:
        raise InputError(f"value score {value_score!r} is not a feature: {list(features.columns)}")
    joined = features[value_score].groupby(labels.reindex(features.index)).mean()
    return joined[joined.index >= 0].sort_values(ascending=False, kind="stable")
