"""Clustering beyond ``cluster_sample_size``: each model fitted on a seeded sample, every
customer assigned; up to it, nothing changes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

from insiders.compare import GridConfig, compare_models
from insiders.config import RunConfig
from insiders.models import REGISTRY, Candidate, cluster_sample, fit_labels

X, _ = make_blobs(n_samples=1_200, centers=[[0, 0], [4, 0], [0, 5], [6, 6]],
                  cluster_std=[0.5, 0.8, 0.6, 1.0], n_features=2, random_state=4)
IDS = np.arange(len(X))
SIZE = 300
PARAMS = {"kmeans": 4, "gmm": 4, "ward": 4, "dbscan": 0.4, "hdbscan": 25}


def _rest(sample: np.ndarray, n: int = len(X)) -> np.ndarray:
    rest = np.ones(n, dtype=bool)
    rest[sample] = False
    return rest


@pytest.mark.parametrize("model", list(REGISTRY))
def test_up_to_the_sample_size_every_point_is_fitted_as_before(model):
    before = fit_labels(X, model, PARAMS[model])
    for size in (len(X), len(X) + 1):
        assert np.array_equal(fit_labels(X, model, PARAMS[model], sample_size=size), before)
    assert cluster_sample(len(X), len(X), 42) is None and cluster_sample(len(X), None, 42) is None


def test_up_to_the_sample_size_the_comparison_is_identical():
    config = GridConfig(k_values=(3, 4))
    before = compare_models({"a": X, "b": X[:, ::-1]}, IDS, config)
    at_size = compare_models({"a": X, "b": X[:, ::-1]}, IDS,
                             GridConfig(k_values=(3, 4), cluster_sample_size=len(X)))
    assert before.labels.equals(at_size.labels)
    cols = [c for c in before.scores if c != "fit_seconds"]
    assert before.scores[cols].equals(at_size.scores[cols])


@pytest.mark.parametrize("model", list(REGISTRY))
def test_beyond_it_every_point_is_labelled_and_the_sample_keeps_its_fit(model):
    found = fit_labels(X, model, PARAMS[model], sample_size=SIZE)
    sample = cluster_sample(len(X), SIZE, 42)
    assert found.shape == (len(X),) and found.dtype == np.int64
    assert len(sample) == SIZE and np.all(np.diff(sample) > 0)
    # the sampled points keep the labels of the model fitted on them alone
    assert np.array_equal(found[sample], fit_labels(X[sample], model, PARAMS[model]))
    # every other point joins one of the sample's clusters (or noise for density models)
    assert set(np.unique(found[_rest(sample)])) <= set(np.unique(found[sample])) | {-1}
    if REGISTRY[model].takes_k:
        assert set(np.unique(found)) == set(range(PARAMS[model]))
    # deterministic: the same on a second run and with another thread count
    with threadpool_limits(1):
        again = fit_labels(X, model, PARAMS[model], sample_size=SIZE)
    assert np.array_equal(found, again)


def test_the_sample_is_seeded():
    a, b = cluster_sample(1_000, 100, 1), cluster_sample(1_000, 100, 1)
    assert np.array_equal(a, b) and not np.array_equal(a, cluster_sample(1_000, 100, 2))


def test_ward_assigns_the_others_to_the_nearest_centroid_of_the_samples_clusters():
    found = fit_labels(X, "ward", 4, sample_size=SIZE)
    sample = cluster_sample(len(X), SIZE, 42)
    centroids = np.stack([X[sample][found[sample] == c].mean(axis=0) for c in range(4)])
    rest = _rest(sample)
    assert np.array_equal(found[rest], cdist(X[rest], centroids).argmin(axis=1))


def test_dbscan_labels_a_far_point_noise_and_a_near_one_as_its_core_neighbour():
    far = np.array([[100.0, 100.0]])
    points = np.vstack([X, far])
    found = fit_labels(points, "dbscan", 0.4, sample_size=SIZE)
    assert found[-1] == -1  # far from every core sample
    sample = cluster_sample(len(points), SIZE, 42)
    from sklearn.cluster import DBSCAN

    model = DBSCAN(eps=0.4, min_samples=5).fit(points[sample])
    core = points[sample][model.core_sample_indices_]
    rest = np.flatnonzero(_rest(sample, len(points)))
    d = cdist(points[rest], core)
    near = d.min(axis=1) <= 0.4
    expected = np.where(near, model.labels_[model.core_sample_indices_][d.argmin(axis=1)], -1)
    assert np.array_equal(found[rest], expected)
    assert near.any() and (~near).any()


def test_hdbscan_gives_the_others_their_nearest_sampled_points_label():
    found = fit_labels(X, "hdbscan", 25, sample_size=SIZE)
    sample = cluster_sample(len(X), SIZE, 42)
    rest = _rest(sample)
    nearest = cdist(X[rest], X[sample]).argmin(axis=1)
    assert np.array_equal(found[rest], found[sample][nearest])


def test_the_comparison_beyond_it_is_what_the_reports_refits_give():
    """compare (one ward tree per space on the sample), the bootstrap and the replays all go
    through fit_labels with the same sample size: the same labels for every candidate."""
    config = GridConfig(k_values=(3, 4), cluster_sample_size=SIZE)
    grid = compare_models({"a": X}, IDS, config)
    again = compare_models({"a": X}, IDS, config)
    assert grid.labels.equals(again.labels)
    assert len(grid.scores) == 2 * 3 + 3 + 4
    for _, row in grid.scores.iterrows():
        labels = grid.labels[row["candidate"]].to_numpy()
        assert (labels >= -1).all()
        refit = Candidate("a", row["model"], row["param"]).fit(
            X, random_state=config.random_state, sample_size=SIZE)
        assert np.array_equal(refit, labels), row["candidate"]


def test_the_dbscan_grid_takes_eps_from_the_sample():
    """DBSCAN is fitted on the sample, so its eps comes from the sample's density."""
    full = compare_models({"a": X}, IDS, GridConfig(models=("dbscan",)))
    sampled = compare_models({"a": X}, IDS, GridConfig(models=("dbscan",),
                                                       cluster_sample_size=SIZE))
    assert (sampled.scores["param"].sort_values().to_numpy()
            > full.scores["param"].sort_values().to_numpy()).all()


def test_the_sample_size_is_a_run_param():
    config = RunConfig.from_params({"cluster_sample_size": 300})
    assert config.grid.cluster_sample_size == 300
    assert RunConfig().to_params()["cluster_sample_size"] == 50_000
    with pytest.raises(ValueError, match="cluster_sample_size"):
        GridConfig(cluster_sample_size=0)


def test_the_costly_models_are_fitted_on_at_most_their_bound_whatever_the_sample_size():
    from insiders.models import FIT_MAX_N

    bounded = {name for name, entry in REGISTRY.items() if entry.fit_max_n is not None}
    assert {"gmm", "dbscan", "hdbscan"} <= bounded and not {"ward", "kmeans"} & bounded
    for name, entry in REGISTRY.items():
        assert entry.fit_size(None) == (FIT_MAX_N if name in bounded else None)
        assert entry.fit_size(50) == 50  # a smaller sample_size still applies


@pytest.mark.parametrize("model", ["gmm", "dbscan", "hdbscan"])
def test_a_bounded_model_in_the_grid_is_fitted_as_its_refits_are(model, monkeypatch):
    from dataclasses import replace

    monkeypatch.setitem(REGISTRY, model, replace(REGISTRY[model], fit_max_n=SIZE))
    # beyond the bound, whatever sample_size says: fitted on the bound's sample, as with it
    assert np.array_equal(fit_labels(X, model, PARAMS[model], sample_size=None),
                          fit_labels(X, model, PARAMS[model], sample_size=SIZE))
    grid = compare_models({"a": X}, IDS, GridConfig(models=(model,), k_values=(4,),
                                                    cluster_sample_size=len(X)))
    for row in grid.scores.itertuples():  # the grid's labels are what a refit finds
        if not row.left_out:
            refit = Candidate("a", model, row.param).fit(X, sample_size=len(X))
            assert np.array_equal(grid.labels[row.candidate].to_numpy(), refit)
