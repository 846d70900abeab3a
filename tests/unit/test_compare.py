"""Model comparison: the shared-distance silhouette, the grid's table and labels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import pairwise_distances, silhouette_score

from insiders.compare import GridConfig, compare_models, silhouette_from_distances
from insiders.errors import InputError
from insiders.models import fit_labels

X, TRUTH = make_blobs(n_samples=300, centers=4, cluster_std=0.6, random_state=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_silhouette_equals_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 5, size=len(X))
    labels[:3] = 7  # a small cluster
    labels[3] = 9  # a lone point scores 0
    expected = silhouette_score(X, labels)
    assert silhouette_from_distances(pairwise_distances(X), labels) == pytest.approx(expected, abs=1e-12)


def test_silhouette_leaves_noise_out():
    labels = TRUTH.copy()
    labels[::7] = -1
    member = labels >= 0
    expected = silhouette_score(X[member], labels[member])
    assert silhouette_from_distances(pairwise_distances(X), labels) == pytest.approx(expected, abs=1e-12)


def test_silhouette_of_one_cluster_is_nan():
    assert np.isnan(silhouette_from_distances(pairwise_distances(X), np.zeros(len(X), int)))


def test_grid_table_and_labels():
    config = GridConfig(k_values=(2, 3, 4, 5), k_values_features=(2, 3), hdbscan_min_cluster_sizes=(10,))
    grid = compare_models({"features": X, "umap": X * 2}, np.arange(len(X)) + 100, config)
    s = grid.scores
    # features: 3 models x 2 k; umap: 3 models x 4 k; DBSCAN 3 eps and HDBSCAN 1 on each
    assert len(s) == 3 * 2 + 3 * 4 + 2 * (3 + 1)
    assert set(s.columns) >= {"candidate", "space", "model", "k", "n_clusters", "noise_share",
                              "silhouette", "davies_bouldin", "calinski_harabasz",
                              "silhouette_sampled"}
    assert s["silhouette"].dropna().is_monotonic_decreasing
    assert set(grid.labels.columns) == set(s["candidate"])
    assert grid.labels.index[0] == 100
    best = s.iloc[0]
    assert best["n_clusters"] == 4  # the four blobs win
    row = s[s["candidate"] == "umap/kmeans/k=4"].iloc[0]
    assert row["silhouette"] == pytest.approx(silhouette_score(X, grid.labels["umap/kmeans/k=4"]))


def test_ward_from_the_shared_tree_equals_a_fresh_fit():
    grid = compare_models({"umap": X}, np.arange(len(X)), GridConfig(models=("ward",)))
    for k in (2, 5, 9):
        assert np.array_equal(grid.labels[f"umap/ward/k={k}"], fit_labels(X, "ward", k))


def test_sampled_silhouette_is_flagged_and_seeded():
    config = GridConfig(models=("kmeans",), k_values=(4,), silhouette_max_n=100)
    first = compare_models({"umap": X}, np.arange(len(X)), config).scores
    second = compare_models({"umap": X}, np.arange(len(X)), config).scores
    assert first["silhouette_sampled"].all()
    assert first["silhouette"].tolist() == second["silhouette"].tolist()


def test_the_sampled_silhouette_is_near_the_exact_one():
    from sklearn.metrics import silhouette_score

    config = GridConfig(models=("kmeans", "ward"), k_values=(2, 3, 4, 6), silhouette_max_n=150)
    assert len(X) > config.silhouette_max_n
    grid = compare_models({"umap": X}, np.arange(len(X)), config)
    for row in grid.scores.itertuples():
        exact = silhouette_score(X, grid.labels[row.candidate])
        assert abs(row.silhouette - exact) < 0.05, row.candidate


def test_two_processes_give_the_one_process_result():
    config = GridConfig(k_values=(2, 3, 4), k_values_features=(2, 3), hdbscan_min_cluster_sizes=(10,),
                        silhouette_max_n=200)
    spaces = {"features": X, "umap": X * 2, "tsne": X[:, ::-1]}
    one = compare_models(spaces, np.arange(len(X)), config)
    two = compare_models(spaces, np.arange(len(X)), config, n_jobs=2)
    columns = [c for c in one.scores.columns if c != "fit_seconds"]
    assert one.scores[columns].equals(two.scores[columns])
    assert one.labels.equals(two.labels)
    # a space's silhouette sample depends on its name only, not on the other spaces
    alone = compare_models({"umap": X * 2}, np.arange(len(X)), config).scores
    assert alone.set_index("candidate")["silhouette"].equals(
        one.scores[one.scores["space"] == "umap"].set_index("candidate")["silhouette"])


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="unknown model"):
        GridConfig(models=("kmeans", "spectral"))


def test_look_alike_customers_leave_dbscan_out_with_its_reason_and_the_rest_fitted():
    """Almost every customer identical: DBSCAN's eps (a quantile of the distance to the 5th
    neighbour) is 0, which DBSCAN refuses; the candidate is kept, left out with its reason,
    never chosen, and the other models are fitted (issue 25)."""
    from insiders.config import SelectionPolicy
    from insiders.select import choose_candidate

    rng = np.random.default_rng(0)
    X = np.vstack([np.zeros((960, 2)), rng.normal(size=(40, 2)) + 3])  # 96% identical
    grid = compare_models({"features": X}, np.arange(len(X)),
                          GridConfig(models=("kmeans", "dbscan"), k_values_features=(2, 3)))
    scores = grid.scores.set_index("candidate")
    left = scores[scores["left_out"].astype(bool)]
    assert len(left) >= 1 and set(left["model"]) == {"dbscan"}
    assert left["left_out"].str.contains("eps is 0").all()
    assert left["silhouette"].isna().all() and (left["n_clusters"] == 0).all()
    assert scores.loc[scores["model"] == "kmeans", "silhouette"].notna().all()
    assert (grid.labels[left.index] == -1).all().all()
    best = choose_candidate(grid.scores, SelectionPolicy(rule="best_silhouette", k_min=2, k_max=3))
    assert best["candidate"] not in left.index
    eps = float(left["param"].iloc[0])
    with pytest.raises(InputError, match="could not be fitted"):  # a policy naming it is told so
        choose_candidate(grid.scores.assign(k=grid.scores["param"]),
                         SelectionPolicy(rule="fixed", space="features", model="dbscan", k=eps))
