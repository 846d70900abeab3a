"""The choices of a run, as frozen dataclasses: filter rules, model grid, selection policy.

Light on purpose (no pandas or scikit-learn), so that the command line can show its defaults
and check its arguments at once; the stages take these objects as their configuration.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from insiders.models import REGISTRY
from insiders.options import ANONYMOUS_POLICIES, MODELS, RULES

__all__ = ["FilterConfig", "GridConfig", "SelectionPolicy"]

AnonymousPolicy = Literal["exclude", "synthetic"]
Rule = Literal["fixed", "best_silhouette"]


@dataclass(frozen=True)
class FilterConfig:
    """The study's filter rules, each a field so that a run records what it applied.

    Attributes:
        min_unit_price: lines priced below this are removed (the study: 0.04).
        non_product_code_pattern: stock codes matching this whole regex are not products
            (letters only: POST, D, DOT, M, S, AMAZONFEE, CRUK, ...: postage, fees, adjustments).
        excluded_countries: countries that name no country.
        excluded_customers: customers dropped on purpose (the study: 16446, an extreme outlier).
        anonymous: ``"exclude"`` drops lines without a customer (they cannot join a loyalty
            programme); ``"synthetic"`` makes one customer per anonymous invoice, as the study did.
        synthetic_id_start: the first made-up customer id; ids follow invoice order by date.
    """

    min_unit_price: float = 0.04
    non_product_code_pattern: str = r"[A-Za-z]+"
    excluded_countries: tuple[str, ...] = ("European Community", "Unspecified")
    excluded_customers: tuple[int, ...] = (16446,)
    anonymous: AnonymousPolicy = "exclude"
    synthetic_id_start: int = 19000

    def __post_init__(self) -> None:
        if self.anonymous not in ANONYMOUS_POLICIES:
            raise ValueError(f"anonymous policy must be one of {ANONYMOUS_POLICIES}, got {self.anonymous!r}")


@dataclass(frozen=True)
class GridConfig:
    """What the comparison tries.

    Attributes:
        models: names from :data:`MODELS`.
        k_values: numbers of clusters for K-Means, Gaussian mixture and ward.
        k_values_features: the same on the raw scaled features (the study: 2..7).
        dbscan_quantiles: DBSCAN's eps is taken at these quantiles of each customer's
            distance to its ``dbscan_min_samples``-th neighbour (so it follows the space's scale).
        dbscan_min_samples: DBSCAN's density threshold.
        hdbscan_min_cluster_sizes: HDBSCAN's smallest cluster sizes.
        silhouette_max_n: exact silhouette up to this many customers; beyond, a seeded sample.
        random_state: seed of every model and of the silhouette sample.
    """

    models: tuple[str, ...] = MODELS
    k_values: tuple[int, ...] = tuple(range(2, 15))
    k_values_features: tuple[int, ...] = tuple(range(2, 8))
    dbscan_quantiles: tuple[float, ...] = (0.90, 0.95, 0.99)
    dbscan_min_samples: int = 5
    hdbscan_min_cluster_sizes: tuple[int, ...] = (25, 50, 100, 200)
    silhouette_max_n: int = 10_000
    random_state: int = 42

    def __post_init__(self) -> None:
        unknown = set(self.models) - set(REGISTRY)
        if unknown:
            raise ValueError(f"unknown model(s) {sorted(unknown)}; choose from {', '.join(REGISTRY)}")


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
