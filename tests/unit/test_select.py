"""Selection policy and the Insiders cluster, found from the data."""

from __future__ import annotations

import pandas as pd
import pytest

from insiders.segments import assign_segments
from insiders.select import SelectionPolicy, choose_candidate

SCORES = pd.DataFrame({
    "candidate": ["umap/ward/k=8", "umap/kmeans/k=3", "tsne/gmm/k=6", "umap/dbscan/eps=1",
                  "features/kmeans/k=2"],
    "space": ["umap", "umap", "tsne", "umap", "features"],
    "model": ["ward", "kmeans", "gmm", "dbscan", "kmeans"],
    "k": [8, 3, 6, None, 2],
    "n_clusters": [8, 3, 6, 5, 2],
    "noise_share": [0, 0, 0, 0.3, 0],
    "silhouette": [0.45, 0.60, 0.50, 0.70, 0.68],
})


def test_default_policy_is_the_studys_choice():
    assert choose_candidate(SCORES, SelectionPolicy())["candidate"] == "umap/ward/k=8"


def test_best_silhouette_within_the_business_range_and_noise_limit():
    policy = SelectionPolicy(rule="best_silhouette", k_min=4, k_max=10)
    # dbscan scores higher but leaves 30% as noise; k=2 and k=3 are outside the range
    assert choose_candidate(SCORES, policy)["candidate"] == "tsne/gmm/k=6"


def test_policy_errors_say_what_to_change():
    with pytest.raises(ValueError, match="change the selection policy"):
        choose_candidate(SCORES, SelectionPolicy(k=12))
    with pytest.raises(ValueError, match="widen the range"):
        choose_candidate(SCORES, SelectionPolicy(rule="best_silhouette", k_min=11, k_max=12))
    with pytest.raises(ValueError, match="selection rule"):
        SelectionPolicy(rule="random")  # type: ignore[arg-type]
    assert "ward with k = 8 on the umap space" in SelectionPolicy().describe()


def test_insiders_is_found_from_the_data_whatever_the_cluster_numbers():
    """What production runs (assign_segments): the cluster with the highest mean value
    score is Insiders, whichever number the model gave it; noise is never Insiders."""
    features = pd.DataFrame({"gross_revenue": [10, 12, 500, 520, 50, 55, 9000]},
                            index=pd.Index(range(7), name="customer_id"))
    labels = pd.Series([0, 0, 1, 1, 2, 2, -1], index=features.index)
    insiders = assign_segments(features, labels)
    assert insiders.index[insiders["is_insider"]].tolist() == [2, 3]
    relabelled = labels.map({0: 2, 1: 0, 2: 1, -1: -1})
    assert assign_segments(features, relabelled)["is_insider"].equals(insiders["is_insider"])
    # another value score picks another cluster
    features["recency_days"] = [1, 1, 30, 30, 90, 90, 0]
    by_recency = assign_segments(features, labels, value_score="recency_days")
    assert by_recency.index[by_recency["is_insider"]].tolist() == [4, 5]
