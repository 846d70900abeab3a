"""The stated policy that picks one model from the comparison, and the Insiders cluster in it."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Literal

import pandas as pd

from insiders.options import RULES

logger = logging.getLogger(__name__)

Rule = Literal["fixed", "best_silhouette"]


@dataclass(frozen=True)
class SelectionPolicy:
    """How the model is chosen and how the Insiders cluster is found.

    Attributes:
        rule: ``"fixed"`` takes ``model`` with ``k`` clusters on ``space`` (default: the
            study's choice, ward with k = 8 on UMAP); ``"best_silhouette"`` takes the best
            silhouette among models whose cluster count lies in ``[k_min, k_max]`` (a range
            marketing can work with) and whose noise share is at most ``max_noise_share``.
        value_score: the feature whose cluster mean ranks clusters by value; Insiders is
            the cluster where it is highest.
    """

    rule: Rule = "fixed"
    space: str = "umap"
    model: str = "ward"
    k: int = 8
    k_min: int = 4
    k_max: int = 10
    max_noise_share: float = 0.10
    value_score: str = "gross_revenue"

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"selection rule must be one of {RULES}, got {self.rule!r}")
        if self.k_min > self.k_max:
            raise ValueError(f"k_min ({self.k_min}) is above k_max ({self.k_max})")

    def describe(self) -> str:
        """The policy in one sentence, for reports and logs."""
        if self.rule == "fixed":
            choice = f"{self.model} with k = {self.k} on the {self.space} space (fixed)"
        else:
            choice = (
                f"the best silhouette with {self.k_min} to {self.k_max} clusters "
                f"and at most {self.max_noise_share:.0%} noise"
            )
        return f"{choice}; Insiders = the cluster with the highest mean {self.value_score}"

    def to_dict(self) -> dict:
        """Plain values, for JSON and the warehouse."""
        return asdict(self)


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
            raise ValueError(
                f"the comparison has no {policy.model} with k = {policy.k} on {policy.space}; "
                "include it in the grid or change the selection policy"
            )
        return hit.iloc[0]
    ok = scores[
        scores["n_clusters"].between(policy.k_min, policy.k_max)
        & (scores["noise_share"] <= policy.max_noise_share)
        & scores["silhouette"].notna()
    ]
    if ok.empty:
        raise ValueError(
            f"no candidate has {policy.k_min}-{policy.k_max} clusters with at most "
            f"{policy.max_noise_share:.0%} noise; widen the range"
        )
    return ok.sort_values("silhouette", ascending=False, kind="stable").iloc[0]


def cluster_values(features: pd.DataFrame, labels: pd.Series, value_score: str) -> pd.Series:
    """Mean value score per cluster (noise, -1, left out), highest first."""
    if value_score not in features.columns:
        raise ValueError(f"value score {value_score!r} is not a feature: {list(features.columns)}")
    joined = features[value_score].groupby(labels.reindex(features.index)).mean()
    return joined[joined.index >= 0].sort_values(ascending=False, kind="stable")


def find_insiders(features: pd.DataFrame, labels: pd.Series, value_score: str) -> int:
    """The cluster with the highest mean value score: found from the data, never fixed."""
    return int(cluster_values(features, labels, value_score).index[0])
