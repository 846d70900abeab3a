"""Model comparison: every space x clustering model x k, scored by silhouette and more."""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, pairwise_distances
from threadpoolctl import threadpool_limits

from insiders.config import GridConfig
from insiders.models import Candidate, assign_rest, cluster_sample, nearest_centroid, spec, ward_tree
from insiders.progress import progress, stage

logger = logging.getLogger(__name__)


@dataclass
class ModelGrid:
    """Output of :func:`compare_models`.

    Attributes:
        scores: one row per candidate: ``candidate``, ``space``, ``model``, ``k`` (asked for,
            NaN for density models), ``params``, ``n_clusters``, ``noise_share``,
            ``silhouette``, ``davies_bouldin``, ``calinski_harabasz``, ``silhouette_sampled``,
            ``fit_seconds``; sorted by silhouette, best first.
        labels: customers x candidates; cluster numbers, -1 for noise.
    """

    scores: pd.DataFrame
    labels: pd.DataFrame = field(repr=False)


def silhouette_scores(distances: np.ndarray, labelings: list[np.ndarray]) -> list[float]:
    """Mean silhouette of many labellings of the same points; noise (-1) left out.

    Equal to :func:`sklearn.metrics.silhouette_score` for each labelling, but every
    labelling's per-cluster distance sums come from one product of the distance matrix with
    all their one-hot matrices side by side: the matrix is read once for a whole grid.
    """
    return silhouettes_of(labelings, lambda onehots: distances @ onehots, distances.dtype)


def silhouettes_of(labelings: list[np.ndarray],
                   cluster_sums: Callable[[np.ndarray], np.ndarray],
                   dtype: np.dtype | type = np.float64) -> list[float]:
    """:func:`silhouette_scores` given ``cluster_sums``, which takes every labelling's one-hot
    matrices side by side (points x clusters) and returns each point's summed distance to
    each cluster's members: the distance matrix times them, or that product a block of rows
    at a time when the matrix would not fit (``bench/bench_silhouette.py``)."""
    metas: list[tuple[int, np.ndarray, np.ndarray, int] | None] = []
    blocks: list[np.ndarray] = []
    offset = 0
    for labels in labelings:
        labels = np.asarray(labels)
        member = labels >= 0
        clusters, inverse = np.unique(labels[member], return_inverse=True)
        k = len(clusters)
        if not 2 <= k <= int(member.sum()) - 1:
            metas.append(None)
            continue
        onehot = np.zeros((len(labels), k), dtype=dtype)
        onehot[np.flatnonzero(member), inverse] = 1.0
        metas.append((offset, member, inverse, k))
        blocks.append(onehot)
        offset += k
    all_sums = cluster_sums(np.hstack(blocks)) if blocks else None
    out = []
    for meta in metas:
        if meta is None:
            out.append(float("nan"))
            continue
        start, member, inverse, k = meta
        sums = all_sums[member, start : start + k]
        counts = np.bincount(inverse, minlength=k).astype(float)
        rows = np.arange(len(inverse))
        own_count = counts[inverse] - 1
        a = sums[rows, inverse] / np.maximum(own_count, 1)
        means = sums / counts
        means[rows, inverse] = np.inf
        b = means.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (b - a) / np.maximum(a, b)
        s = np.nan_to_num(s)
        s[own_count == 0] = 0.0  # a lone point scores 0, as in scikit-learn
        out.append(float(s.mean()))
    return out


def silhouette_from_distances(distances: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of one labelling, given all pairwise distances (see
    :func:`silhouette_scores`)."""
    return silhouette_scores(distances, [labels])[0]


def score_labels(X: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Davies-Bouldin, Calinski-Harabasz, cluster count and noise share (the silhouette is
    computed for a whole space at once, by :func:`silhouette_scores`)."""
    member = labels >= 0
    n_clusters = len(np.unique(labels[member]))
    out = {
        "n_clusters": n_clusters,
        "noise_share": float(1 - member.mean()),
        "davies_bouldin": float("nan"),
        "calinski_harabasz": float("nan"),
    }
    if 2 <= n_clusters < member.sum():
        out["davies_bouldin"] = float(davies_bouldin_score(X[member], labels[member]))
        out["calinski_harabasz"] = float(calinski_harabasz_score(X[member], labels[member]))
    return out


def _candidates(space: str, X: np.ndarray, config: GridConfig) -> Iterator[tuple[Candidate, str]]:
    """Every (candidate, description) the grid tries on one space, from the model registry;
    a model's values (DBSCAN's eps) are found on the customers it is fitted on."""
    ks = config.k_values_features if space == "features" else config.k_values
    for model in config.models:
        fitted_on = cluster_sample(len(X), spec(model).fit_size(config.cluster_sample_size),
                                   config.random_state)
        for param, params in spec(model).grid(X if fitted_on is None else X[fitted_on], ks, config):
            yield Candidate(space, model, param), params


def compare_models(
    embeddings: dict[str, np.ndarray],
    customer_ids: np.ndarray,
    config: GridConfig | None = None,
    *,
    n_jobs: int = 1,
) -> ModelGrid:
    """Fit and score every model on every space.

    Per space, the pairwise distances (for the silhouette) and the ward tree are computed
    once and shared by all candidates. Beyond ``config.cluster_sample_size`` customers (the
    mixture and the density models: beyond :data:`insiders.models.FIT_MAX_N`), every model is
    fitted on one seeded sample and the others are assigned
    (:func:`insiders.models.fit_labels`; ward: the sample's tree, nearest centroid).

    Args:
        embeddings: space name -> coordinates, rows in the order of ``customer_ids``.
        customer_ids: the customers.
        config: the grid; :class:`GridConfig` defaults otherwise.
        n_jobs: processes scoring spaces side by side; every fit is seeded and a space's
            silhouette sample depends only on its name, so the result does not depend on it.
    """
    config = config or GridConfig()
    spaces = list(embeddings)
    if n_jobs > 1 and len(spaces) > 1:
        import joblib

        # the slowest spaces first, so the others fill the second process
        order = sorted(spaces, key=lambda name: -_SPACE_COST.get(name, 1.0))
        results = dict(zip(order, joblib.Parallel(n_jobs=min(n_jobs, len(order)), backend="loky")(
            joblib.delayed(_score_space)(name, embeddings[name], config) for name in order
        ), strict=True))
    else:
        results = {name: _score_space(name, embeddings[name], config) for name in spaces}
    rows = [row for name in spaces for row in results[name][0]]
    labels = {cand: found for name in spaces for cand, found in results[name][1].items()}
    scores = pd.DataFrame(rows).sort_values("silhouette", ascending=False, kind="stable")
    frame = pd.DataFrame(labels, index=pd.Index(customer_ids, name="customer_id"))
    logger.info("scored %d candidates on %d spaces", len(scores), len(embeddings))
    return ModelGrid(scores=scores.reset_index(drop=True), labels=frame)


#: Relative time of a space's grid on the bundled data (t-SNE's spread clusters cost most).
_SPACE_COST = {"tsne": 5.1, "features": 4.2, "umap": 4.0, "tree": 3.6}


def _score_space(
    space: str, X: np.ndarray, config: GridConfig
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Every candidate of one space: its score rows and labellings."""
    # one BLAS/OpenMP thread: these fits are small, and on 2 cores threads mostly wait on
    # each other (K-Means went from 0.8 s to 0.04 s a fit on the real data)
    with threadpool_limits(1):
        return _score_space_1thread(space, X, config)


def _fit_candidate(candidate: Candidate, X: np.ndarray, X_fit: np.ndarray, tree, fitted_on,
                   rest, config: GridConfig) -> np.ndarray:
    """One candidate's labels for every customer (ward: the space's one tree, cut at k)."""
    if candidate.model == "ward":
        found = fcluster(tree, int(candidate.param), criterion="maxclust") - 1
        if fitted_on is not None:  # the others: the nearest centroid, as fit_labels
            found = assign_rest(len(X), fitted_on, found, nearest_centroid(X_fit, found, X[rest]))
        return found
    return candidate.fit(X, random_state=config.random_state,
                         min_samples=config.dbscan_min_samples,
                         sample_size=config.cluster_sample_size)


def _score_space_1thread(
    space: str, X: np.ndarray, config: GridConfig
) -> tuple[list[dict], dict[str, np.ndarray]]:
    labels: dict[str, np.ndarray] = {}
    X = np.asarray(X, dtype=np.float64)
    sampled = len(X) > config.silhouette_max_n
    rng = np.random.default_rng([config.random_state, zlib.crc32(space.encode())])
    sample = (
        np.sort(rng.choice(len(X), config.silhouette_max_n, replace=False)) if sampled else slice(None)
    )
    distances = pairwise_distances(X[sample])
    # beyond cluster_sample_size, the models are fitted on this sample (the grid's eps too)
    fitted_on = cluster_sample(len(X), config.cluster_sample_size, config.random_state)
    X_fit = X if fitted_on is None else X[fitted_on]
    rest = None if fitted_on is None else np.setdiff1d(np.arange(len(X)), fitted_on)
    tree = ward_tree(X_fit) if "ward" in config.models else None
    candidates = list(_candidates(space, X, config))
    space_rows: list[dict] = []
    sizes = sorted({min(len(X), spec(m).fit_size(config.cluster_sample_size) or len(X))
                    for m in config.models})
    desc = f"{len(candidates)} models on {space}" + (
        "" if sizes == [len(X)] else f", fitted on {' or '.join(f'{s:,}' for s in sizes)}")
    for candidate, params in progress(candidates, desc=desc):
        start = time.perf_counter()
        try:
            found = _fit_candidate(candidate, X, X_fit, tree, fitted_on, rest, config)
            left_out = ""
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            # a model that cannot be fitted on this data (DBSCAN's eps of 0 among look-alike
            # customers, a degenerate space) is left out with its reason, never fails the run
            left_out = f"{type(exc).__name__}: {exc}"
            logger.warning("%s left out: %s", candidate.id, left_out)
            found = np.full(len(X), -1)
        found = np.asarray(found, dtype=np.int64)
        labels[candidate.id] = found
        space_rows.append(
            {
                "candidate": candidate.id,
                "space": space,
                "model": candidate.model,
                "k": np.nan if candidate.k is None else candidate.k,
                "param": candidate.param,
                "params": params,
                **score_labels(X[sample], found[sample]),
                "silhouette_sampled": sampled,
                "left_out": left_out,
                "fit_seconds": time.perf_counter() - start,
            }
        )
    with stage(f"silhouettes of {len(space_rows)} models on {space}"):
        silhouettes = silhouette_scores(
            distances, [labels[r["candidate"]][sample] for r in space_rows]
        )
    for row, silhouette in zip(space_rows, silhouettes, strict=True):
        row["silhouette"] = silhouette
    return space_rows, labels
