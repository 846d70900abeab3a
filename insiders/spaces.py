"""Embedding spaces of the customer features: scaled features, UMAP, t-SNE and tree leaves.

Every space is a scikit-learn style transformer, seeded, that can be saved with the run
(:func:`save_spaces`) and reused on a later month (``transform``).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import fsspec
import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, RobustScaler, StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted

from insiders import artifacts, numba_target
from insiders.errors import InputError
from insiders.layout import principal_layout
from insiders.options import SCALERS, SPACES, STUDY_FEATURES
from insiders.parallel import side_by_side
from insiders.progress import note, stage

logger = logging.getLogger(__name__)

#: How each scaler of :data:`insiders.options.SCALERS` (the names, declared there) is made.
SCALER_MAKERS = {
    "minmax": MinMaxScaler,
    "standard": StandardScaler,
    "robust": RobustScaler,
    "quantile": lambda: QuantileTransformer(output_distribution="uniform", random_state=0),
}


def make_scaler(kind: str = "minmax") -> TransformerMixin:
    """A fresh scaler: ``minmax`` (the study's), ``standard``, ``robust`` or ``quantile``."""
    try:
        return SCALER_MAKERS[kind]()
    except KeyError:
        raise InputError(f"unknown scaler {kind!r}; choose one of {', '.join(SCALERS)}") from None


def import_umap():
    """Import umap with its numba functions compiled to the on-disk cache.

    umap marks one of its ~100 numba functions ``cache=True``; the rest are compiled again
    in every fresh process: about 9 s for a UMAP fit and 20 s with the Hamming tree space,
    paid by each Airflow task, each worker process and each replayed month. Turning numba's
    own cache on for them (``Dispatcher.enable_caching``, what ``cache=True`` does) makes
    every process after the first load the machine code instead (NUMBA_CACHE_DIR or
    ``__pycache__`` beside umap's files).
    """
    import sys

    import umap
    from numba.core.registry import CPUDispatcher

    numba_target.check()  # the pinned target, or a clear error if numba compiled before us
    global _UMAP_CACHED
    if not _UMAP_CACHED:
        for name, module in list(sys.modules.items()):
            if name != "umap" and not name.startswith("umap."):
                continue
            for attr, obj in list(vars(module).items()):
                if isinstance(obj, CPUDispatcher) and type(obj._cache).__name__ == "NullCache":
                    try:
                        obj.enable_caching()
                    except RuntimeError as error:  # a function numba cannot cache
                        logger.debug("numba cache off for %s.%s: %s", name, attr, error)
        _UMAP_CACHED = True
    return umap


_UMAP_CACHED = False


def _exact_knn(nn: NearestNeighbors | LeafNeighbors, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """Each training point's exact nearest neighbours, itself first (as UMAP requires)."""
    dist, idx = nn.kneighbors(None, n_neighbors=n_neighbors - 1)  # excludes each point itself
    n = idx.shape[0]
    return (
        np.hstack([np.arange(n)[:, None], idx]),
        np.hstack([np.zeros((n, 1)), dist]),
    )


class LeafNeighbors:
    """Exact nearest neighbours under the Hamming distance of leaf indices, found from the
    leaves points share instead of from every pair.

    Two customers' Hamming distance over T trees' leaf indices is (T - s) / T, with s the
    trees in which they land in the same leaf. The one-hot matrix of (tree, leaf) gives every
    pair's s at once by a sparse product, which holds only the pairs that share a leaf (tens
    per customer, not n): the brute-force search costs about n^2 T (235 s at 43,000 customers),
    this about n times the partners. Pairs that share no leaf are all at distance 1; when a
    point has fewer partners than neighbours asked for, the rest are the lowest-numbered other
    points at distance 1 (any of them is as near). Ties are broken by position, so the result
    is one exact neighbour set, the same on every machine (integer counts, no BLAS).

    The same interface as :class:`sklearn.neighbors.NearestNeighbors` as far as
    :class:`UMAPEmbedding` uses it: ``fit(leaves)``, ``kneighbors(None, n)`` (each fitted
    point's neighbours, itself left out) and ``kneighbors(queries)``.
    """

    def __init__(self, n_neighbors: int = 15, *, chunk: int = 20_000) -> None:
        self.n_neighbors = n_neighbors
        self.chunk = chunk

    def _onehot(self, leaves: np.ndarray):
        import scipy.sparse as sp

        leaves = np.asarray(leaves, dtype=np.int64)
        n, trees = leaves.shape
        known = leaves < self.widths_  # a leaf no fitted point is in shares with none
        columns = np.where(known, leaves + self.offsets_, self.offsets_[-1] + self.widths_[-1])
        return sp.csr_matrix(
            (np.ones(n * trees, dtype=np.float32), (np.repeat(np.arange(n), trees), columns.ravel())),
            shape=(n, int(self.offsets_[-1] + self.widths_[-1] + 1)),
        )

    def fit(self, leaves: np.ndarray) -> LeafNeighbors:
        """Index the fitted points' leaves (one row per point, one column per tree)."""
        leaves = np.asarray(leaves, dtype=np.int64)
        self.widths_ = leaves.max(axis=0) + 1
        self.offsets_ = np.concatenate([[0], np.cumsum(self.widths_)[:-1]])
        self.n_trees_ = leaves.shape[1]
        self.fitted_ = self._onehot(leaves)
        self.fitted_t_ = self.fitted_.T.tocsr()
        return self

    def kneighbors(self, X: np.ndarray | None = None, n_neighbors: int | None = None,
                   return_distance: bool = True):
        """``(distances, indices)`` of each point's nearest fitted points, nearest first;
        ``X=None``: the fitted points themselves, each without itself."""
        k = n_neighbors or self.n_neighbors
        itself = X is None
        n = self.fitted_.shape[0] if itself else len(X)
        dist = np.empty((n, k), dtype=np.float64)
        idx = np.empty((n, k), dtype=np.int64)
        for start in range(0, n, self.chunk):
            stop = min(start + self.chunk, n)
            rows = self.fitted_[start:stop] if itself else self._onehot(np.asarray(X)[start:stop])
            shared = (rows @ self.fitted_t_).tocoo()
            row, col, count = shared.row, shared.col, shared.data.astype(np.int64)
            if itself:  # a point is not its own neighbour
                keep = col != row + start
                row, col, count = row[keep], col[keep], count[keep]
            order = np.lexsort((col, -count, row))  # per row: most shared leaves, then position
            row, col, count = row[order], col[order], count[order]
            first = np.searchsorted(row, np.arange(stop - start))
            rank = np.arange(len(row)) - first[row]
            take = rank < k
            block_d = np.ones((stop - start, k))
            block_i = np.full((stop - start, k), -1, dtype=np.int64)
            block_d[row[take], rank[take]] = (self.n_trees_ - count[take]) / self.n_trees_
            block_i[row[take], rank[take]] = col[take]
            for r in np.flatnonzero(block_i[:, -1] < 0):  # fewer partners than k: fill at 1
                have = block_i[r][block_i[r] >= 0]
                banned = set(have.tolist()) | ({start + r} if itself else set())
                fill = [c for c in range(len(banned) + k) if c not in banned][: k - len(have)]
                block_i[r, len(have):] = fill
            dist[start:stop], idx[start:stop] = block_d, block_i
        return (dist, idx) if return_distance else idx


class _Embedding(TransformerMixin, BaseEstimator):
    """What the embeddings share: ``fit`` sets ``embedding_``, the fitted points' coordinates."""

    def fit(self, X: np.ndarray, y: None = None) -> _Embedding:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit_transform(self, X: np.ndarray, y: None = None) -> np.ndarray:
        """Fit and return the embedding of ``X``."""
        return self.fit(X).embedding_


class UMAPEmbedding(_Embedding):
    """UMAP on exact nearest neighbours from scikit-learn, from a bit-reproducible start.

    Exact neighbours cost milliseconds at this size and spare the 30 s of numba compiling
    that UMAP's approximate search (pynndescent) costs in every fresh process (an Airflow
    task is one). ``transform`` places new points at the weighted mean of their nearest
    training points' coordinates, the start UMAP's own transform uses; a point equal to a
    training point keeps that point's coordinates.

    The optimisation starts from :func:`insiders.layout.principal_layout` of ``X`` (or of the
    ``init_layout`` given to :meth:`fit`), not from UMAP's spectral layout: the spectral
    start depends on the CPU's BLAS kernel, and UMAP's seeded optimisation amplifies any
    difference in its start into other clusters (see :mod:`insiders.layout`). With the
    neighbours, the graph (numba, no BLAS) and this start identical, the layout is too.

    Parameters:
        n_components: dimensions of the embedding.
        n_neighbors, min_dist, metric: as in :class:`umap.UMAP`.
        n_epochs: optimisation epochs (UMAP's default for large data sets, 200).
        init: ``"principal"`` (the default, see above) or ``"spectral"`` (UMAP's own start;
            kept to measure the difference, it is not reproducible across CPUs).
        random_state: seed; a seeded UMAP runs on one thread and repeats exactly.
        neighbors: ``"exact"`` (scikit-learn's search with ``metric``) or ``"leaves"``
            (:class:`LeafNeighbors`, for Hamming distances of leaf indices at size).
    """

    def __init__(
        self,
        *,
        n_components: int = 2,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        metric: str = "euclidean",
        n_epochs: int = 200,
        init: str = "principal",
        random_state: int = 42,
        neighbors: str = "exact",
    ) -> None:
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.n_epochs = n_epochs
        self.init = init
        self.random_state = random_state
        self.neighbors = neighbors

    def fit(
        self, X: np.ndarray, y: None = None, *, init_layout: np.ndarray | None = None
    ) -> UMAPEmbedding:
        """Fit the embedding; sets ``embedding_``.

        Args:
            X: the points.
            y: ignored.
            init_layout: the starting layout, one row per point, when the principal layout
                of ``X`` itself means little (the tree space's leaf indices).
        """
        import warnings

        umap = import_umap()  # heavy import (numba): only when a UMAP is fitted

        X = check_array(X)
        if self.init not in ("principal", "spectral"):
            raise InputError(f"init must be 'principal' or 'spectral', got {self.init!r}")
        if init_layout is not None:
            start = check_array(init_layout, dtype=np.float64)
        elif self.init == "principal":
            start = principal_layout(X, self.n_components, random_state=self.random_state)
        else:
            start = "spectral"
        if self.neighbors == "leaves":
            self.nn_ = LeafNeighbors(n_neighbors=self.n_neighbors).fit(X)
        elif self.neighbors == "exact":
            self.nn_ = NearestNeighbors(n_neighbors=self.n_neighbors, metric=self.metric).fit(X)
        else:
            raise InputError(f"neighbors must be 'exact' or 'leaves', got {self.neighbors!r}")
        idx, dist = _exact_knn(self.nn_, self.n_neighbors)
        with warnings.catch_warnings():
            # known and intended: seeded UMAP runs on one thread; with exact neighbours
            # UMAP's own transform is off (ours is below); Hamming has no inverse_transform
            for message in (".*random_state.*", ".*knn_search_index.*", ".*gradient function.*"):
                warnings.filterwarnings("ignore", message=message, category=UserWarning)
            self.umap_ = umap.UMAP(
                n_components=self.n_components,
                n_neighbors=self.n_neighbors,
                min_dist=self.min_dist,
                metric=self.metric,
                n_epochs=self.n_epochs,
                init=start,
                random_state=self.random_state,
                precomputed_knn=(idx, dist, None),
            ).fit(X)
        self.embedding_ = np.asarray(self.umap_.embedding_, dtype=np.float64)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Embed new points next to their nearest training points."""
        check_is_fitted(self, "embedding_")
        dist, idx = self.nn_.kneighbors(check_array(X))
        weights = np.exp(-(dist - dist[:, :1]) / np.maximum(dist.std(axis=1, keepdims=True), 1e-12))
        weights /= weights.sum(axis=1, keepdims=True)
        placed = np.einsum("nk,nkd->nd", weights, self.embedding_[idx])
        same = dist[:, 0] == 0.0  # unchanged points keep their coordinates
        placed[same] = self.embedding_[idx[same, 0]]
        return placed


def distinct_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``X`` in the order they first appear, and for each row of ``X``
    the position of its distinct row (``distinct[rows]`` is ``X``)."""
    _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    return X[first[order]], np.argsort(order)[inverse.ravel()]


class TSNEEmbedding(_Embedding):
    """t-SNE (openTSNE, which can also place new points into a fitted embedding).

    It starts from :func:`insiders.layout.principal_layout` at openTSNE's scale (standard
    deviation 1e-4), the same bits on every machine; openTSNE's own PCA start goes through
    BLAS and, like UMAP's, moves with the CPU's kernel.

    Parameters:
        perplexity: as in t-SNE.
        n_iter: optimisation iterations after the 250 of early exaggeration (openTSNE's
            default 500).
        early_exaggeration_iter: iterations of early exaggeration (openTSNE's default 250).
            125 (issue 33): on 4,329 customers of a 30,000-customer shop, 5.7 s of CPU instead
            of 7.3 s, for a final KL divergence of 0.73 against 0.70; at 20,000 (FFT
            gradients), 19 s instead of 29 s, KL 1.18 against 1.14.
        theta: Barnes-Hut's accuracy (0 exact; openTSNE's default 0.5).
            t-SNE is one candidate space among four and its fit was the longest step of the
            monthly DAG: on the bundled data, theta 0.8 and 300 iterations take about half
            the time of openTSNE's defaults, for a final KL divergence of 0.49 against 0.44
            and a ward k=8 silhouette of 0.375 against 0.388.
        random_state: seed.
        n_jobs: threads (results repeat exactly for a given seed and thread count).
        deduplicate: fit on the distinct rows only, and give identical customers the
            coordinates of their row (a shop of look-alike customers holds thousands of
            identical rows, on whose zero distances t-SNE's perplexity search is slow);
            identical inputs get identical places either way.
    """

    def __init__(
        self,
        *,
        perplexity: float = 30.0,
        n_iter: int = 300,
        early_exaggeration_iter: int = 125,
        theta: float = 0.8,
        random_state: int = 42,
        n_jobs: int = 1,
        deduplicate: bool = True,
    ) -> None:
        self.perplexity = perplexity
        self.n_iter = n_iter
        self.early_exaggeration_iter = early_exaggeration_iter
        self.theta = theta
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.deduplicate = deduplicate

    def fit(self, X: np.ndarray, y: None = None) -> TSNEEmbedding:
        """Fit the embedding; sets ``embedding_`` (one row per row of ``X``)."""
        import openTSNE

        X = check_array(X)
        self.rows_ = None
        if self.deduplicate:
            X, self.rows_ = distinct_rows(X)
        start = principal_layout(X, 2, random_state=self.random_state)
        start *= 1e-4 / np.std(start[:, 0])  # openTSNE's scale for a PCA start
        self.tsne_ = openTSNE.TSNE(
            perplexity=self.perplexity,
            n_iter=self.n_iter,
            early_exaggeration_iter=self.early_exaggeration_iter,
            theta=self.theta,
            neighbors="exact",  # scikit-learn's exact search: ms here, Annoy took 5 s
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        ).fit(X, initialization=start)
        self.embedding_ = self._fitted_rows()
        return self

    def _fitted_rows(self) -> np.ndarray:
        """The fitted embedding, one row per row fitted (distinct rows expanded)."""
        embedding = np.asarray(self.tsne_, dtype=np.float64)
        return embedding if getattr(self, "rows_", None) is None else embedding[self.rows_]

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Place new points into the fitted embedding (openTSNE's ``transform``).

        openTSNE first centres the fitted embedding in place (a translation), and places the
        new points in that frame; ``embedding_`` follows it, so fitted and placed points share
        one frame.
        """
        check_is_fitted(self, "embedding_")
        X = check_array(X)
        if self.deduplicate:  # identical new customers are placed once
            distinct, rows = distinct_rows(X)
            placed = np.asarray(self.tsne_.transform(distinct), dtype=np.float64)[rows]
        else:
            placed = np.asarray(self.tsne_.transform(X), dtype=np.float64)
        self.embedding_ = self._fitted_rows()
        return placed


class TreeLeafEmbedding(_Embedding):
    """The study's tree-leaf space: a random forest predicts revenue from the other features;
    customers that land in the same leaves are close (Hamming distance on leaf indices),
    and UMAP lays that out in two dimensions, starting from the principal layout of the
    forest's inputs (leaf numbers have no geometry of their own).

    Parameters:
        target_column: index of the column the forest predicts (gross revenue) in ``X``.
        n_estimators, min_samples_leaf: of the forest.
        random_state: seed of the forest and the UMAP.
        brute_max_n: up to this many fitted customers, neighbours come from scikit-learn's
            brute-force Hamming search (as always: the bundled data's layout is unchanged);
            beyond, from the leaves customers share (:class:`LeafNeighbors`: the same
            distances, ties broken by position), which needs no pass over every pair.
    """

    def __init__(
        self,
        *,
        target_column: int = 0,
        n_estimators: int = 100,
        min_samples_leaf: int = 1,
        n_epochs: int = 200,
        random_state: int = 42,
        brute_max_n: int = 5_000,
    ) -> None:
        self.target_column = target_column
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.n_epochs = n_epochs
        self.random_state = random_state
        self.brute_max_n = brute_max_n

    def _split(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = check_array(X)
        return np.delete(X, self.target_column, axis=1), X[:, self.target_column]

    def fit(self, X: np.ndarray, y: None = None) -> TreeLeafEmbedding:
        """Fit the forest and the UMAP of its leaves; sets ``embedding_``."""
        inputs, target = self._split(X)
        self.forest_ = RandomForestRegressor(
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            random_state=self.random_state,
            n_jobs=-1,
        ).fit(inputs, target)
        self.umap_ = UMAPEmbedding(
            metric="hamming", n_epochs=self.n_epochs, random_state=self.random_state,
            neighbors="exact" if len(inputs) <= self.brute_max_n else "leaves",
        ).fit(
            self.forest_.apply(inputs),
            init_layout=principal_layout(inputs, 2, random_state=self.random_state),
        )
        self.embedding_ = self.umap_.embedding_
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Embed new customers through their leaves."""
        check_is_fitted(self, "embedding_")
        inputs, _ = self._split(X)
        return self.umap_.transform(self.forest_.apply(inputs))


@dataclass
class FittedSpaces:
    """The spaces of one run: the fitted scaler and transformers, and the embeddings.

    Attributes:
        feature_names: the feature columns the spaces were built from, in order.
        customer_ids: the customers, in the order of every embedding's rows.
        scaler: fitted once per run, on these features.
        transformers: space name -> fitted transformer (None for ``features``).
        embeddings: space name -> coordinates (rows follow ``customer_ids``).
        fit_seconds: space name -> time its fit took.
        fit_sample: positions (in ``customer_ids``) of the customers the spaces were fitted
            on, when they were fitted on a sample (see :func:`fit_spaces`); None: on all. A
            space of :data:`SPACE_FIT_MAX_N` may be fitted on fewer (``fit_sizes``).
        fit_sizes: space name -> how many customers it was fitted on.
    """

    feature_names: list[str]
    customer_ids: np.ndarray
    scaler: TransformerMixin
    transformers: dict[str, TransformerMixin | None] = field(default_factory=dict)
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    fit_seconds: dict[str, float] = field(default_factory=dict)
    fit_sample: np.ndarray | None = None
    fit_sizes: dict[str, int] = field(default_factory=dict)

    def transform(self, features: pd.DataFrame) -> dict[str, np.ndarray]:
        """Embed another month's customers with the fitted scaler and spaces (no refit)."""
        scaled = self.scaler.transform(features[self.feature_names].to_numpy(dtype=float))
        return {
            name: scaled if model is None else model.transform(scaled)
            for name, model in self.transformers.items()
        }

    def reuse(self, features: pd.DataFrame) -> FittedSpaces:
        """The same fitted scaler and spaces, with ``features``' customers embedded in them.

        A later month reuses last month's spaces this way: customers who did not change keep
        their coordinates, so segments move only where customers did.
        """
        import time

        start = time.perf_counter()
        with stage(f"embed {len(features):,} customers in the saved spaces"):
            embeddings = self.transform(features)
        seconds = (time.perf_counter() - start) / max(len(embeddings), 1)
        return FittedSpaces(
            feature_names=list(self.feature_names),
            customer_ids=features.index.to_numpy(),
            scaler=self.scaler,
            transformers=dict(self.transformers),
            embeddings=embeddings,
            fit_seconds={name: seconds for name in embeddings},
        )


def _revenue_column(feature_names: Sequence[str]) -> int:
    names = list(feature_names)
    return names.index("gross_revenue") if "gross_revenue" in names else 0


#: The spaces, one entry each: name -> (feature names, seed) -> a fresh transformer (None:
#: the scaled features themselves). Adding a space is one entry here, its name in
#: :data:`insiders.options.SPACES` (what the DAG lists without importing this module) and
#: its test.
SPACE_FACTORIES: dict[str, Callable[[Sequence[str], int], TransformerMixin | None]] = {
    "features": lambda names, seed: None,
    "umap": lambda names, seed: UMAPEmbedding(random_state=seed),
    "tsne": lambda names, seed: TSNEEmbedding(random_state=seed),
    "tree": lambda names, seed: TreeLeafEmbedding(target_column=_revenue_column(names),
                                                  random_state=seed),
}

#: The most customers a space is fitted on, whatever ``fit_sample_size`` says (issue 33): the
#: t-SNE and tree-leaf spaces decide nothing under the default fixed policy (ward on UMAP) and
#: were most of the embed stage at 30,000 customers (t-SNE 51 s, the tree 20 s, UMAP 16 s, as
#: fitted on 20,000). Beyond its bound a space is fitted on a seeded sample of that many
#: (:func:`fit_sample`) and the others are placed by its ``transform``, as beyond
#: ``fit_sample_size``. t-SNE's bound keeps Barnes-Hut (faster than FFT gradients below 10,000
#: points); the tree space's keeps the leaf-sharing neighbour search (its brute-force search,
#: up to 5,000 fitted points, places others slowly). Up to the bound (the bundled data's 4,329
#: customers), nothing changes; UMAP and the scaled features keep ``fit_sample_size`` alone.
SPACE_FIT_MAX_N: dict[str, int] = {"tsne": 5_000, "tree": 10_000}

#: Relative cost of fitting a space (the costliest fits in this process, the rest beside it).
_FIT_COST = {"tsne": 3.0, "umap": 2.0, "tree": 1.5, "features": 0.0}


def make_space(name: str, *, feature_names: Sequence[str], random_state: int = 42):
    """A fresh transformer for a named space (``None`` for the scaled features)."""
    try:
        factory = SPACE_FACTORIES[name]
    except KeyError:
        raise InputError(f"unknown space {name!r}; choose from {', '.join(SPACE_FACTORIES)}") from None
    return factory(feature_names, random_state)


def fit_spaces(
    features: pd.DataFrame,
    *,
    feature_names: Sequence[str] = STUDY_FEATURES,
    spaces: Sequence[str] = SPACES,
    scaler: str = "minmax",
    random_state: int = 42,
    n_jobs: int = 1,
    fit_sample_size: int | None = None,
) -> FittedSpaces:
    """Scale the features once and fit every requested space on them.

    Beyond ``fit_sample_size`` customers, each space is fitted on the same seeded sample of
    that many customers and every other customer is placed in it by the fitted space's
    ``transform`` (as :meth:`FittedSpaces.reuse` places a later month's); the sampled
    customers keep the coordinates of the fit. A space of :data:`SPACE_FIT_MAX_N` is fitted
    on at most its bound (a seeded sample of that many), whatever ``fit_sample_size`` says;
    ``fit_sizes`` records how many each space was fitted on. The scaler is fitted on every
    customer.

    Args:
        features: one row per customer (index ``customer_id``), from
            :func:`insiders.features.build_customer_features`.
        feature_names: the columns to use (the study's five by default).
        spaces: names from :data:`SPACES`.
        scaler: see :func:`make_scaler`.
        random_state: seed of every space.
        n_jobs: processes fitting spaces side by side (t-SNE in this one while UMAP and the
            tree space fit in another); each fit is seeded, so the result does not depend on it.
        fit_sample_size: fit on a seeded sample of this many customers when there are more
            (None: always on every customer).
    """
    names = list(feature_names)
    missing = [c for c in names if c not in features.columns]
    if missing:
        raise InputError(f"unknown feature(s) {missing}; features have {list(features.columns)}")
    values = features[names].to_numpy(dtype=float)
    if np.isnan(values).any():
        bad = [c for c in names if features[c].isna().any()]
        raise InputError(f"feature(s) {bad} have missing values; leave them out of the spaces")
    fitted = FittedSpaces(names, features.index.to_numpy(), make_scaler(scaler).fit(values))
    scaled = fitted.scaler.transform(values)
    if fit_sample_size is not None and len(scaled) > fit_sample_size:
        fitted.fit_sample = fit_sample(len(scaled), fit_sample_size, random_state)
    # the slowest first: it fits in this process while the others share worker processes
    # (a worker needs seconds to start; this process is ready now)
    order = sorted(spaces, key=lambda n: -_FIT_COST.get(n, 1.0))
    jobs = [(name, scaled, names, random_state,
             _space_sample(name, len(scaled), fit_sample_size, random_state)) for name in order]
    parallel = n_jobs > 1 and sum(n != "features" for n in order) > 1
    if parallel:  # a worker's own log lines do not reach this process: said here
        note("» spaces %s, in worker processes beside %s ...", ", ".join(order[1:]), order[0])
    results = side_by_side([(_fit_space, job, {}) for job in jobs], n_jobs if parallel else 1)
    by_name = {r[0]: r for r in results}
    if parallel:
        for name in order[1:]:
            note("  space %s (worker): done in %.1f s", name, by_name[name][3])
    for name in spaces:  # in the order asked for
        _, model, embedding, seconds = by_name[name]
        fitted.transformers[name] = model
        fitted.embeddings[name] = embedding
        fitted.fit_seconds[name] = seconds
        fitted.fit_sizes[name] = int(min(len(scaled), _space_bound(name, fit_sample_size)
                                         or len(scaled)))
    return fitted


def _space_bound(name: str, fit_sample_size: int | None) -> int | None:
    """The most customers space ``name`` is fitted on (None: every one)."""
    sizes = [s for s in (fit_sample_size, SPACE_FIT_MAX_N.get(name)) if s is not None]
    return min(sizes) if sizes else None


def _space_sample(name: str, n: int, fit_sample_size: int | None,
                  random_state: int) -> np.ndarray | None:
    """The positions space ``name`` is fitted on among ``n`` customers (None: all of them)."""
    bound = _space_bound(name, fit_sample_size)
    return None if bound is None or n <= bound else fit_sample(n, bound, random_state)


def fit_sample(n: int, size: int, random_state: int) -> np.ndarray:
    """The sorted positions of the ``size`` customers (of ``n``) the spaces are fitted on:
    seeded, the same for every space of a run."""
    rng = np.random.default_rng([random_state, n])
    return np.sort(rng.choice(n, size, replace=False))


def _fit_space(
    name: str, scaled: np.ndarray, names: list[str], random_state: int,
    sample: np.ndarray | None = None,
) -> tuple[str, TransformerMixin | None, np.ndarray, float]:
    import time

    with stage(f"space {name}" if sample is None else
               f"space {name}: fitted on {len(sample):,}, {len(scaled) - len(sample):,} placed"):
        start = time.perf_counter()
        model = make_space(name, feature_names=names, random_state=random_state)
        if model is None:
            embedding = scaled
        elif sample is None:
            embedding = model.fit_transform(scaled)
        else:
            model.fit(scaled[sample])
            rest = np.ones(len(scaled), dtype=bool)
            rest[sample] = False
            placed = model.transform(scaled[rest])
            embedding = np.empty((len(scaled), placed.shape[1]), dtype=np.float64)
            embedding[rest] = placed
            embedding[sample] = model.embedding_  # after transform: t-SNE's frame moves
    return name, model, embedding, time.perf_counter() - start


def save_spaces(fitted: FittedSpaces, uri: str | Path) -> str:
    """Save the fitted spaces (scaler, transformers, embeddings) in one file (path or URL)."""
    buffer = io.BytesIO()
    joblib.dump(fitted, buffer, compress=1)  # level 3 loads 7x slower
    return artifacts.write_bytes(uri, buffer.getvalue())


def load_spaces(uri: str | Path) -> FittedSpaces:
    """Load spaces saved by :func:`save_spaces`."""
    with fsspec.open(str(uri), "rb") as handle:
        return joblib.load(handle)


def embeddings_frame(fitted: FittedSpaces) -> pd.DataFrame:
    """All 2-D embeddings in one frame (``umap_x``, ``umap_y``, ...) indexed by customer."""
    columns = {}
    for name, coords in fitted.embeddings.items():
        if name == "features":
            continue
        columns[f"{name}_x"], columns[f"{name}_y"] = coords[:, 0], coords[:, 1]
    return pd.DataFrame(columns, index=pd.Index(fitted.customer_ids, name="customer_id"))
