"""The clustering models of the comparison, one registry entry each.

A model is a :class:`ModelSpec`: the name of its parameter, the values the grid tries on a
space, and how it clusters points with one value. Adding a model is one entry in
:data:`REGISTRY` (and its test); the grid, the selection policy, the report's refits, the
CLI's and the DAG's choices all read it. Light on purpose: scikit-learn, scipy, fastcluster
and hdbscan are imported when a model is fitted, so the DAG file can list the models at parse time.

A chosen model travels as a :class:`Candidate` (space, model, parameter), typed end to end:
the report refits exactly the model the policy chose (a DBSCAN keeps its eps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["REGISTRY", "Candidate", "ModelSpec", "fit_labels", "ward_tree"]

Grid = Callable[[Any, tuple[int, ...], Any], Iterator[tuple[float, str]]]
Fit = Callable[[Any, float, int, int], Any]


@dataclass(frozen=True)
class ModelSpec:
    """One clustering model.

    Attributes:
        name: as in the CLI, the DAG and the comparison table.
        param: the name of the one parameter the grid varies (``k``, ``eps``, ...).
        takes_k: the parameter is the number of clusters (the grid's k values apply).
        grid: ``(X, k_values, config) -> (value, description)`` for every value to try.
        fit: ``(X, value, random_state, min_samples) -> labels`` (-1 = noise).
        label: how the value is written in a candidate's id (``k=8``, ``eps=0.0123``).
    """

    name: str
    param: str
    takes_k: bool
    grid: Grid
    fit: Fit
    label: Callable[[float], str]


def _k_grid(X, ks: tuple[int, ...], config) -> Iterator[tuple[float, str]]:
    for k in ks:
        yield float(k), f"k={k}"


def _kmeans(X, k: float, random_state: int, min_samples: int):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=int(k), random_state=random_state).fit_predict(X)


def _gmm(X, k: float, random_state: int, min_samples: int):
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(n_components=int(k), random_state=random_state).fit(X).predict(X)


def ward_tree(X):
    """The exact ward tree of ``X`` (scipy's linkage matrix) in O(n) memory.

    :func:`fastcluster.linkage_vector` works on the points themselves (the nearest-neighbour
    chain on the vectors); scipy's ``linkage(X, "ward")`` builds the condensed distance matrix
    and copies it, about 8 n^2 bytes (15 GB at 43,000 customers). The tree is the same (the
    unit test compares the partitions with scipy's).
    """
    import fastcluster
    import numpy as np

    return fastcluster.linkage_vector(np.ascontiguousarray(X, dtype=np.float64), method="ward")


def _ward(X, k: float, random_state: int, min_samples: int):
    from scipy.cluster.hierarchy import fcluster

    return fcluster(ward_tree(X), int(k), criterion="maxclust") - 1


def _dbscan_grid(X, ks: tuple[int, ...], config) -> Iterator[tuple[float, str]]:
    """eps at quantiles of each point's distance to its ``min_samples``-th neighbour."""
    import numpy as np
    from sklearn.neighbors import NearestNeighbors

    reach = NearestNeighbors(n_neighbors=config.dbscan_min_samples).fit(X).kneighbors()[0][:, -1]
    for q in config.dbscan_quantiles:
        eps = float(np.quantile(reach, q))
        yield eps, f"eps={eps:.4g} (q{q:.2f}), min_samples={config.dbscan_min_samples}"


def _dbscan(X, eps: float, random_state: int, min_samples: int):
    from sklearn.cluster import DBSCAN

    return DBSCAN(eps=float(eps), min_samples=min_samples).fit_predict(X)


def _hdbscan_grid(X, ks: tuple[int, ...], config) -> Iterator[tuple[float, str]]:
    for size in config.hdbscan_min_cluster_sizes:
        yield float(size), f"min_cluster_size={size}"


def _hdbscan(X, size: float, random_state: int, min_samples: int):
    import hdbscan
    import numpy as np

    # a writable copy: hdbscan's Cython refuses read-only arrays, which is what joblib hands
    # a worker process for an array over 1 MB (a 2-D space of more than 62,500 customers)
    return hdbscan.HDBSCAN(min_cluster_size=int(size)).fit_predict(np.array(X, dtype=np.float64))


def _as_int(name: str) -> Callable[[float], str]:
    return lambda value: f"{name}={int(value)}"


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("kmeans", "k", True, _k_grid, _kmeans, _as_int("k")),
        ModelSpec("gmm", "k", True, _k_grid, _gmm, _as_int("k")),
        ModelSpec("ward", "k", True, _k_grid, _ward, _as_int("k")),
        ModelSpec("dbscan", "eps", False, _dbscan_grid, _dbscan, lambda eps: f"eps={eps:.4g}"),
        ModelSpec("hdbscan", "min_cluster_size", False, _hdbscan_grid, _hdbscan,
                  _as_int("min_cluster_size")),
    )
}


def spec(model: str) -> ModelSpec:
    """The registry entry of ``model``; ValueError naming the choices otherwise."""
    try:
        return REGISTRY[model]
    except KeyError:
        raise ValueError(f"unknown model {model!r}; choose from {', '.join(REGISTRY)}") from None


@dataclass(frozen=True)
class Candidate:
    """One model with one parameter value on one space: a row of the comparison."""

    space: str
    model: str
    param: float

    @property
    def id(self) -> str:
        """``space/model/param``, e.g. ``umap/ward/k=8``: the comparison table's key."""
        return f"{self.space}/{self.model}/{spec(self.model).label(self.param)}"

    @property
    def k(self) -> int | None:
        """The number of clusters asked for, for models that take one."""
        return int(self.param) if spec(self.model).takes_k else None

    @classmethod
    def from_row(cls, row: Any) -> Candidate:
        """From a comparison-table row or the chosen candidate's facts (``space``,
        ``model``, ``param``)."""
        return cls(str(row["space"]), str(row["model"]), float(row["param"]))

    def fit(self, X, *, random_state: int = 42, min_samples: int = 5):
        """Cluster ``X`` with this model and parameter."""
        return fit_labels(X, self.model, self.param, random_state=random_state,
                          min_samples=min_samples)


def fit_labels(X, model: str, param: float, *, random_state: int = 42, min_samples: int = 5):
    """Cluster ``X`` with one model and parameter value (k, eps or min_cluster_size)."""
    return spec(model).fit(X, param, random_state, min_samples)
