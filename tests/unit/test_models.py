"""The model registry: one entry per model, candidates typed end to end."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from insiders import models
from insiders.compare import GridConfig, compare_models
from insiders.config import SelectionPolicy
from insiders.models import REGISTRY, Candidate, ModelSpec, fit_labels
from insiders.options import MODELS
from insiders.select import choose_candidate

X, _ = make_blobs(n_samples=300, centers=4, n_features=2, cluster_std=0.6, random_state=3)
IDS = np.arange(300)


def test_the_registry_is_the_list_of_models():
    assert tuple(REGISTRY) == MODELS == ("kmeans", "gmm", "ward", "dbscan", "hdbscan")
    assert {m for m, s in REGISTRY.items() if s.takes_k} == {"kmeans", "gmm", "ward"}
    with pytest.raises(ValueError, match="choose from kmeans"):
        fit_labels(X, "spectral", 3)


def test_candidate_ids_and_parameters():
    assert Candidate("umap", "ward", 8).id == "umap/ward/k=8"
    assert Candidate("umap", "ward", 8).k == 8
    assert Candidate("tsne", "dbscan", 0.38312).id == "tsne/dbscan/eps=0.3831"
    assert Candidate("tsne", "dbscan", 0.38312).k is None
    assert Candidate("tree", "hdbscan", 50).id == "tree/hdbscan/min_cluster_size=50"


def test_a_chosen_density_model_is_refitted_with_its_own_parameter():
    """The report refits the chosen candidate: a DBSCAN must keep its eps, not take its
    cluster count as eps (which gave another clustering)."""
    grid = compare_models({"space": X}, IDS, GridConfig(models=("dbscan", "kmeans")))
    policy = SelectionPolicy(rule="fixed", space="space", model="dbscan", k=2)
    rows = grid.scores[grid.scores["model"] == "dbscan"]
    assert len(rows) == 3
    for _, row in rows.iterrows():
        candidate = Candidate.from_row(row)
        assert candidate.id == row["candidate"]
        assert np.array_equal(candidate.fit(X), grid.labels[row["candidate"]])
        assert not np.array_equal(fit_labels(X, "dbscan", row["n_clusters"]),
                                  grid.labels[row["candidate"]])
    with pytest.raises(ValueError):  # a fixed rule needs a k: density models are chosen by score
        choose_candidate(grid.scores, policy)


def test_adding_a_model_is_one_registry_entry(monkeypatch):
    def two_halves(points, k, random_state, min_samples):
        return (points[:, 0] > np.median(points[:, 0])).astype(int)

    def one_value(points, ks, config):
        yield 2.0, "halves"

    entry = ModelSpec("halves", "k", False, one_value, two_halves, lambda v: "split")
    monkeypatch.setitem(models.REGISTRY, "halves", entry)
    grid = compare_models({"space": X}, IDS, GridConfig(models=("halves", "ward"), k_values=(4,)))
    assert set(grid.scores["candidate"]) == {"space/halves/split", "space/ward/k=4"}
    row = grid.scores.set_index("candidate").loc["space/halves/split"]
    assert row["n_clusters"] == 2 and np.isnan(row["k"])
    assert np.array_equal(Candidate.from_row(row.to_dict() | {"space": "space"}).fit(X),
                          grid.labels["space/halves/split"])


def test_ward_in_linear_memory_gives_scipys_partitions():
    """fastcluster's ward on the vectors (no distance matrix) cuts into the same clusters as
    scipy's linkage on the condensed distances, at every k, on uneven blobs."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import adjusted_rand_score

    points, _ = make_blobs(n_samples=600, centers=[[0, 0], [3, 0], [0, 4], [6, 5], [9, 1]],
                           cluster_std=[0.5, 1.0, 0.7, 1.5, 0.3], n_features=2, random_state=7)
    reference = linkage(points, "ward")
    for k in range(2, 12):
        ours = fit_labels(points, "ward", k)
        theirs = fcluster(reference, k, criterion="maxclust") - 1
        assert len(np.unique(ours)) == k
        assert adjusted_rand_score(theirs, ours) == 1.0
    assert np.allclose(models.ward_tree(points)[:, 2], reference[:, 2])  # the same heights


def test_every_model_fits_a_read_only_array():
    """joblib gives worker processes read-only memory maps of arrays over 1 MB (a space of
    more than 62,500 customers); hdbscan's Cython refused them."""
    frozen = X.copy()
    frozen.setflags(write=False)
    for name, model in REGISTRY.items():
        param = 4 if model.takes_k else next(iter(model.grid(frozen, (4,), GridConfig())))[0]
        assert len(fit_labels(frozen, name, param)) == len(X), name
