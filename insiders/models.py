"""The clustering models of the comparison, one registry entry each.

A model is a :class:`ModelSpec`: the name of its parameter, the values the grid tries on a
space, and how it clusters points with one value. Adding a model is one entry in
:data:`REGISTRY` (and its test); the grid, the selection policy, the report's refits, the
CLI's and the DAG's choices all read it. Light on purpose: scikit-learn, scipy, fastcluster
and hdbscan are imported when a model is fitted, so the DAG file can list the models at parse time.

A chosen model travels as a :class:`Candidate` (space, model, parameter), typed end to end:
the report refits exactly the model the policy chose (a DBSCAN keeps its eps).

Beyond ``sample_size`` points (:func:`fit_labels`), a model is fitted on a seeded sample
(:func:`cluster_sample`) and every other point is assigned by the model's ``assign`` rule:
K-Means and the Gaussian mixture by their ``predict``, ward by the nearest centroid of the
sample's clusters, DBSCAN by the nearest core sample within eps (else noise), HDBSCAN (and a
model without a rule) by the label of the nearest sampled point. The sample's own labels are
the fit's. The mixture and the density models are fitted on at most :data:`FIT_MAX_N` points
whatever ``sample_size`` says (``ModelSpec.fit_max_n``). Ward's and the density models'
distances are computed point by point (a KD-tree or numpy, no BLAS product), so their
assignment does not hinge on a kernel's rounding. The comparison, the report's bootstrap and
the replays all go through here, so they agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from insiders.errors import InputError

__all__ = ["FIT_MAX_N", "REGISTRY", "Candidate", "ModelSpec", "assign_rest", "cluster_sample", "fit_labels",
           "nearest_centroid", "ward_tree"]

Grid = Callable[[Any, tuple[int, ...], Any], Iterator[tuple[float, str]]]
Fit = Callable[[Any, float, int, int], Any]
#: ``(X_sample, X_rest, value, random_state, min_samples) -> (sample labels, rest labels)``
Assign = Callable[[Any, Any, float, int, int], tuple[Any, Any]]


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
        assign: fit on a sample and label the other points (see :func:`fit_labels`); None:
            ``fit`` on the sample, the others take their nearest sampled point's label.
        assign_rule: how the other points are assigned, in words (for the report).
        fit_max_n: the most points the model is fitted on, whatever ``sample_size`` says
            (None: ``sample_size`` alone bounds it); see :data:`FIT_MAX_N`.
    """

    name: str
    param: str
    takes_k: bool
    grid: Grid
    fit: Fit
    label: Callable[[float], str]
    assign: Assign | None = None
    assign_rule: str = "the segment of the nearest sampled customer (noise if it is noise)"
    fit_max_n: int | None = None

    def fit_size(self, sample_size: int | None) -> int | None:
        """The size of the sample this model is fitted on: ``sample_size`` within
        :attr:`fit_max_n` (None: every point)."""
        sizes = [s for s in (sample_size, self.fit_max_n) if s is not None]
        return min(sizes) if sizes else None


def _k_grid(X, ks: tuple[int, ...], config) -> Iterator[tuple[float, str]]:
    for k in ks:
        yield float(k), f"k={k}"


def _kmeans(X, k: float, random_state: int, min_samples: int):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=int(k), random_state=random_state).fit_predict(X)


def _kmeans_assign(X, rest, k: float, random_state: int, min_samples: int):
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=int(k), random_state=random_state).fit(X)
    return model.labels_, model.predict(rest)


def _gmm(X, k: float, random_state: int, min_samples: int):
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(n_components=int(k), random_state=random_state).fit(X).predict(X)


def _gmm_assign(X, rest, k: float, random_state: int, min_samples: int):
    from sklearn.mixture import GaussianMixture

    model = GaussianMixture(n_components=int(k), random_state=random_state).fit(X)
    return model.predict(X), model.predict(rest)


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


def _ward_assign(X, rest, k: float, random_state: int, min_samples: int):
    labels = _ward(X, k, random_state, min_samples)
    return labels, nearest_centroid(X, labels, rest)


def nearest_centroid(X, labels, rest):
    """For each row of ``rest``, the cluster (of ``labels`` >= 0 on ``X``) whose centroid is
    nearest; squared distances point by point (no BLAS), ties to the lowest cluster."""
    import numpy as np

    X, rest, labels = np.asarray(X, np.float64), np.asarray(rest, np.float64), np.asarray(labels)
    clusters = np.unique(labels[labels >= 0])
    centroids = np.stack([X[labels == c].mean(axis=0) for c in clusters])
    out = np.empty(len(rest), dtype=np.int64)
    for start in range(0, len(rest), 65_536):  # a chunk x k x dims at a time
        chunk = rest[start:start + 65_536]
        d2 = ((chunk[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        out[start:start + len(chunk)] = clusters[np.argmin(d2, axis=1)]
    return out


def _nearest(points, queries):
    """Distance and position of each query's nearest point (an exact KD-tree query)."""
    import numpy as np
    from sklearn.neighbors import KDTree

    dist, idx = KDTree(np.asarray(points, np.float64)).query(np.asarray(queries, np.float64), k=1)
    return dist[:, 0], idx[:, 0]


def _nearest_label(X, labels, rest):
    """Each row of ``rest`` takes the label (noise included) of its nearest row of ``X``."""
    import numpy as np

    return np.asarray(labels)[_nearest(X, rest)[1]]


def _dbscan_grid(X, ks: tuple[int, ...], config) -> Iterator[tuple[float, str]]:
    """eps at quantiles of each point's distance to its ``min_samples``-th neighbour."""
    import numpy as np
    from sklearn.neighbors import NearestNeighbors

    reach = NearestNeighbors(n_neighbors=config.dbscan_min_samples).fit(X).kneighbors()[0][:, -1]
    for q in config.dbscan_quantiles:
        eps = float(np.quantile(reach, q))
        yield eps, f"eps={eps:.4g} (q{q:.2f}), min_samples={config.dbscan_min_samples}"


class Unfittable(ValueError):
    """A candidate of the grid that cannot be fitted on this data (the reason says why); the
    comparison leaves it out and goes on."""


def _checked_eps(eps: float, min_samples: int) -> float:
    if not eps > 0:
        raise Unfittable(
            f"eps is {eps:g}: at that quantile customers have {min_samples} identical "
            "neighbours (look-alike customers), and DBSCAN needs eps above 0")
    return float(eps)


def _dbscan(X, eps: float, random_state: int, min_samples: int):
    from sklearn.cluster import DBSCAN

    return DBSCAN(eps=_checked_eps(eps, min_samples), min_samples=min_samples).fit_predict(X)


def _dbscan_assign(X, rest, eps: float, random_state: int, min_samples: int):
    """DBSCAN on the sample; another point joins the cluster of its nearest core sample when
    that is within eps (as a border point would), else it is noise."""
    import numpy as np
    from sklearn.cluster import DBSCAN

    model = DBSCAN(eps=_checked_eps(eps, min_samples), min_samples=min_samples).fit(X)
    labels = model.labels_
    out = np.full(len(rest), -1, dtype=np.int64)
    core = model.core_sample_indices_
    if len(core) and len(rest):
        dist, idx = _nearest(X[core], rest)
        near = dist <= eps
        out[near] = labels[core][idx[near]]
    return labels, out


def _hdbscan_grid(X, ks: tuple[int, ...], config) -> Iterator[tuple[float, str]]:
    for size in config.hdbscan_min_cluster_sizes:
        yield float(size), f"min_cluster_size={size}"


def _hdbscan(X, size: float, random_state: int, min_samples: int):
    import hdbscan
    import numpy as np

    # a writable copy: hdbscan's Cython refuses read-only arrays, which is what joblib hands
    # a worker process for an array over 1 MB (a 2-D space of more than 62,500 customers)
    return hdbscan.HDBSCAN(min_cluster_size=int(size)).fit_predict(np.array(X, dtype=np.float64))


#: The most customers the Gaussian mixture, DBSCAN and HDBSCAN are fitted on (issue 33): their
#: fits grow faster than their assignment (a mixture's EM, a density model's neighbourhoods)
#: and they were most of the grid's time at 30,000 customers (53 of 55 s of fits), while they
#: decide nothing under the default fixed policy (ward). Beyond it, they are fitted on the
#: seeded sample of :func:`cluster_sample` and the others assigned by their rule, as beyond
#: ``cluster_sample_size``; ward and K-Means (seconds at 50,000) keep ``cluster_sample_size``.
#: Up to it (the bundled data's 4,329 customers), nothing changes.
FIT_MAX_N = 10_000


def _as_int(name: str) -> Callable[[float], str]:
    return lambda value: f"{name}={int(value)}"


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("kmeans", "k", True, _k_grid, _kmeans, _as_int("k"), _kmeans_assign,
                  "the nearest K-Means centre (its predict)"),
        ModelSpec("gmm", "k", True, _k_grid, _gmm, _as_int("k"), _gmm_assign,
                  "the most likely mixture component (its predict)", FIT_MAX_N),
        ModelSpec("ward", "k", True, _k_grid, _ward, _as_int("k"), _ward_assign,
                  "the segment with the nearest centroid"),
        ModelSpec("dbscan", "eps", False, _dbscan_grid, _dbscan, lambda eps: f"eps={eps:.4g}",
                  _dbscan_assign, "the segment of the nearest core customer within eps, "
                  "else to noise", FIT_MAX_N),
        # the nearest sampled point's label (the default rule), not hdbscan.approximate_predict:
        # no prediction data to build at every fit, one exact KD-tree query, and a customer
        # whose nearest sampled customer is noise is noise too
        ModelSpec("hdbscan", "min_cluster_size", False, _hdbscan_grid, _hdbscan,
                  _as_int("min_cluster_size"), fit_max_n=FIT_MAX_N),
    )
}


def spec(model: str) -> ModelSpec:
    """The registry entry of ``model``; ValueError naming the choices otherwise."""
    try:
        return REGISTRY[model]
    except KeyError:
        raise InputError(f"unknown model {model!r}; choose from {', '.join(REGISTRY)}") from None


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

    def fit(self, X, *, random_state: int = 42, min_samples: int = 5,
            sample_size: int | None = None):
        """Cluster ``X`` with this model and parameter (see :func:`fit_labels`)."""
        return fit_labels(X, self.model, self.param, random_state=random_state,
                          min_samples=min_samples, sample_size=sample_size)


def cluster_sample(n: int, size: int | None, random_state: int):
    """The sorted positions of the ``size`` points (of ``n``) a model is fitted on; None when
    there are not more than ``size`` (or no size): every point is fitted. Seeded by
    ``random_state``, ``n`` and ``size`` only, so every model and space of a run shares it."""
    if size is None or n <= size:
        return None
    import numpy as np

    return np.sort(np.random.default_rng([random_state, n, size]).choice(n, size, replace=False))


def assign_rest(n: int, sample, sample_labels, rest_labels):
    """Every point's label from the sample's and the others' (in their order)."""
    import numpy as np

    out = np.empty(n, dtype=np.int64)
    rest = np.ones(n, dtype=bool)
    rest[sample] = False
    out[sample] = sample_labels
    out[rest] = rest_labels
    return out


def fit_labels(X, model: str, param: float, *, random_state: int = 42, min_samples: int = 5,
               sample_size: int | None = None):
    """Cluster ``X`` with one model and parameter value (k, eps or min_cluster_size).

    Up to ``sample_size`` points (or with None), the model is fitted on them all. Beyond,
    on the seeded sample of :func:`cluster_sample`, and every other point is assigned by the
    model's rule (see the module's docstring). A model with a ``fit_max_n`` (the mixture and
    the density models) is fitted on at most that many, whatever ``sample_size`` says.
    """
    entry = spec(model)
    sample = cluster_sample(len(X), entry.fit_size(sample_size), random_state)
    if sample is None:
        return entry.fit(X, param, random_state, min_samples)
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    rest = np.ones(len(X), dtype=bool)
    rest[sample] = False
    if entry.assign is not None:
        found, others = entry.assign(X[sample], X[rest], param, random_state, min_samples)
    else:
        found = entry.fit(X[sample], param, random_state, min_samples)
        others = _nearest_label(X[sample], found, X[rest])
    return assign_rest(len(X), sample, found, others)
