"""Embedding spaces: seeded, fit/transform, saved and reused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from insiders.spaces import (
    TreeLeafEmbedding,
    TSNEEmbedding,
    UMAPEmbedding,
    fit_spaces,
    load_spaces,
    make_scaler,
    save_spaces,
)

X, _ = make_blobs(n_samples=400, n_features=5, centers=3, random_state=1)
X = np.abs(X)
FEATURES = pd.DataFrame(
    X, columns=["gross_revenue", "recency_days", "n_lines", "frequency", "qty_returned"],
    index=pd.Index(np.arange(1000, 1400), name="customer_id"),
)


def test_umap_is_seeded_and_transforms_new_points():
    first = UMAPEmbedding(random_state=3).fit(X)
    second = UMAPEmbedding(random_state=3).fit(X)
    assert first.embedding_.shape == (400, 2)
    assert np.array_equal(first.embedding_, second.embedding_)
    # a training point keeps its coordinates; a moved one lands next to where it was
    assert np.array_equal(first.transform(X[:20]), first.embedding_[:20])
    moved = first.transform(X[:20] * 1.01)
    spread = first.embedding_.std(axis=0).mean()
    assert 0 < np.abs(moved - first.embedding_[:20]).mean() < 0.5 * spread


def test_umap_starts_from_the_bit_reproducible_principal_layout():
    """No epoch run: what UMAP optimises from is exactly the principal layout (in UMAP's
    float32 and 0-10 box), not its BLAS-dependent spectral layout."""
    from insiders.layout import principal_layout

    start = UMAPEmbedding(n_epochs=0).fit(X).embedding_
    layout = principal_layout(X, 2).astype(np.float32)
    expected = (10.0 * (layout - layout.min(0)) / (layout.max(0) - layout.min(0))).astype(np.float32)
    assert np.array_equal(start, expected)
    spectral = UMAPEmbedding(n_epochs=0, init="spectral").fit(X).embedding_
    assert not np.allclose(spectral, expected)
    with pytest.raises(ValueError, match="init must be"):
        UMAPEmbedding(init="pca").fit(X)


def test_umaps_numba_functions_are_compiled_once_to_the_disk_cache():
    """Without it every fresh process (each Airflow task) compiles UMAP again (~9 s)."""
    from insiders.spaces import import_umap

    umap = import_umap()
    UMAPEmbedding(random_state=3).fit(X)
    epoch = umap.layouts._nb_optimize_layout_euclidean_single_epoch  # seeded: single-threaded
    assert type(epoch._cache).__name__ == "FunctionCache"
    # the machine code UMAP's fit compiled is on disk for the next process
    assert epoch.overloads
    index = epoch._cache._cache_file._index_path
    import os

    assert os.path.exists(index), index


def test_tsne_is_seeded():
    a = TSNEEmbedding(random_state=3, n_iter=100).fit_transform(X)
    b = TSNEEmbedding(random_state=3, n_iter=100).fit_transform(X)
    assert a.shape == (400, 2) and np.array_equal(a, b)
    assert TSNEEmbedding(random_state=3, n_iter=100).fit(X).transform(X[:5]).shape == (5, 2)


def test_tsne_with_its_shorter_early_exaggeration_still_separates_the_groups():
    from sklearn.metrics import adjusted_rand_score

    from insiders.models import fit_labels

    _, blobs = make_blobs(n_samples=400, n_features=5, centers=3, random_state=1)
    model = TSNEEmbedding(random_state=3)
    assert model.early_exaggeration_iter < 250  # openTSNE's default
    coords = model.fit_transform(X)
    assert adjusted_rand_score(blobs, fit_labels(coords, "ward", 3)) > 0.9


def test_tsne_places_look_alike_customers_together_and_fits_their_distinct_rows():
    copies = np.vstack([X[:60], X[:60], X[:60], X[60:80]])  # most rows repeat an earlier one
    fitted = TSNEEmbedding(random_state=3, n_iter=100).fit(copies)
    assert fitted.embedding_.shape == (len(copies), 2)
    assert np.array_equal(fitted.embedding_[:60], fitted.embedding_[60:120])
    alone = TSNEEmbedding(random_state=3, n_iter=100).fit(X[:80])  # the distinct rows
    assert np.array_equal(fitted.embedding_[:60], alone.embedding_[:60])
    placed = fitted.transform(np.vstack([X[90:95], X[90:95]]))
    assert np.array_equal(placed[:5], placed[5:])


def test_tree_leaf_space_predicts_revenue_and_transforms():
    model = TreeLeafEmbedding(target_column=0, n_estimators=20, random_state=3).fit(X)
    assert model.embedding_.shape == (400, 2)
    assert model.forest_.n_features_in_ == 4  # revenue is the target, not an input
    assert model.transform(X[:7]).shape == (7, 2)


def test_fit_spaces_saves_and_reuses_the_fitted_objects(tmp_path):
    fitted = fit_spaces(FEATURES, spaces=("features", "umap"), random_state=5)
    assert list(fitted.embeddings) == ["features", "umap"]
    assert fitted.embeddings["features"].min() == 0 and fitted.embeddings["features"].max() == 1
    uri = save_spaces(fitted, tmp_path / "spaces.joblib")
    loaded = load_spaces(uri)
    assert np.array_equal(loaded.embeddings["umap"], fitted.embeddings["umap"])
    # next month: the saved scaler and spaces embed new customers without refitting
    next_month = FEATURES.iloc[:50] * 1.01
    reused = loaded.transform(next_month)
    assert reused["features"].shape == (50, 5) and reused["umap"].shape == (50, 2)
    assert np.allclose(reused["features"], loaded.scaler.transform(next_month.to_numpy()))


def test_bad_feature_choices_are_explained():
    with pytest.raises(ValueError, match="unknown feature"):
        fit_spaces(FEATURES, feature_names=["gross_revenue", "age"], spaces=("features",))
    with_nan = FEATURES.assign(avg_days=np.nan)
    with pytest.raises(ValueError, match="missing values"):
        fit_spaces(with_nan, feature_names=["gross_revenue", "avg_days"], spaces=("features",))
    with pytest.raises(ValueError, match="unknown scaler"):
        make_scaler("log")


def test_parallel_fit_gives_the_same_spaces():
    small = FEATURES.iloc[:300]
    one = fit_spaces(small, spaces=("features", "umap", "tree"), n_jobs=1)
    two = fit_spaces(small, spaces=("features", "umap", "tree"), n_jobs=2)
    assert list(two.embeddings) == ["features", "umap", "tree"]
    for name in one.embeddings:
        assert np.array_equal(one.embeddings[name], two.embeddings[name]), name


def test_the_space_registry_is_the_list_of_spaces():
    from insiders.options import SPACES
    from insiders.spaces import SPACE_FACTORIES, make_space

    assert tuple(SPACE_FACTORIES) == SPACES
    assert make_space("features", feature_names=["gross_revenue"]) is None
    tree = make_space("tree", feature_names=["recency_days", "gross_revenue"], random_state=5)
    assert tree.target_column == 1 and tree.random_state == 5
    with pytest.raises(ValueError, match="choose from features, umap"):
        make_space("pca", feature_names=["gross_revenue"])


def test_up_to_the_sample_size_every_customer_is_fitted_as_before():
    whole = fit_spaces(FEATURES, spaces=("features", "umap", "tsne"), random_state=5)
    at_size = fit_spaces(FEATURES, spaces=("features", "umap", "tsne"), random_state=5,
                         fit_sample_size=len(FEATURES))
    assert whole.fit_sample is None and at_size.fit_sample is None
    for name in whole.embeddings:
        assert np.array_equal(whole.embeddings[name], at_size.embeddings[name]), name


def test_beyond_the_sample_size_spaces_are_fitted_on_a_seeded_sample_and_place_everyone():
    spaces = ("features", "umap", "tsne", "tree")
    sampled = fit_spaces(FEATURES, spaces=spaces, random_state=5, fit_sample_size=150)
    again = fit_spaces(FEATURES, spaces=spaces, random_state=5, fit_sample_size=150)
    other_seed = fit_spaces(FEATURES, spaces=("umap",), random_state=6, fit_sample_size=150)
    sample = sampled.fit_sample
    assert len(sample) == len(np.unique(sample)) == 150 and sample.max() < len(FEATURES)
    assert np.array_equal(sample, again.fit_sample)
    assert not np.array_equal(sample, other_seed.fit_sample)
    assert np.array_equal(sampled.embeddings["features"],
                          fit_spaces(FEATURES, spaces=("features",)).embeddings["features"])
    for name in ("umap", "tsne", "tree"):
        coords = sampled.embeddings[name]
        assert coords.shape == (len(FEATURES), 2) and np.isfinite(coords).all(), name
        assert np.array_equal(coords, again.embeddings[name]), name
        # the sample keeps its fitted coordinates; the others come from the fitted transform
        model = sampled.transformers[name]
        assert np.array_equal(coords[sample], model.embedding_), name
        rest = np.setdiff1d(np.arange(len(FEATURES)), sample)
        scaled = sampled.scaler.transform(FEATURES.to_numpy())
        assert np.allclose(coords[rest], model.transform(scaled[rest])), name
    # placed customers land among their blob's fitted customers (ward on umap finds the blobs)
    from sklearn.metrics import adjusted_rand_score

    from insiders.models import fit_labels

    _, blobs = make_blobs(n_samples=400, n_features=5, centers=3, random_state=1)
    assert adjusted_rand_score(blobs, fit_labels(sampled.embeddings["umap"], "ward", 3)) > 0.9


def test_a_bounded_space_is_fitted_on_its_bound_and_the_others_are_not(monkeypatch):
    import insiders.spaces as spaces_module

    monkeypatch.setattr(spaces_module, "SPACE_FIT_MAX_N", {"tsne": 120})
    spaces = ("features", "umap", "tsne")
    bounded = fit_spaces(FEATURES, spaces=spaces, random_state=5, fit_sample_size=300)
    assert bounded.fit_sizes == {"features": 300, "umap": 300, "tsne": 120}
    # t-SNE is fitted on a seeded sample of its bound, as if fit_sample_size said so
    alone = fit_spaces(FEATURES, spaces=("tsne",), random_state=5, fit_sample_size=120)
    assert np.array_equal(bounded.embeddings["tsne"], alone.embeddings["tsne"])
    assert len(bounded.transformers["tsne"].embedding_) == 120
    # the other spaces are the same as with no bound at all
    monkeypatch.setattr(spaces_module, "SPACE_FIT_MAX_N", {})
    free = fit_spaces(FEATURES, spaces=spaces, random_state=5, fit_sample_size=300)
    for name in ("features", "umap"):
        assert np.array_equal(bounded.embeddings[name], free.embeddings[name]), name


def test_within_every_bound_nothing_is_sampled():
    from insiders.spaces import SPACE_FIT_MAX_N

    assert min(SPACE_FIT_MAX_N.values()) >= 4_329  # the bundled data is fitted whole
    whole = fit_spaces(FEATURES, spaces=("tsne", "tree"), random_state=5)
    assert whole.fit_sizes == {"tsne": len(FEATURES), "tree": len(FEATURES)}


def test_leaf_neighbours_are_the_brute_force_hamming_neighbours():
    """The same distances as scikit-learn's brute-force Hamming search, for the fitted points
    (each without itself) and for new points; the neighbours differ only among ties."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.neighbors import NearestNeighbors

    from insiders.spaces import LeafNeighbors

    forest = RandomForestRegressor(n_estimators=30, random_state=0).fit(X[:300, 1:], X[:300, 0])
    fitted, queries = forest.apply(X[:300, 1:]), forest.apply(X[300:, 1:])
    brute = NearestNeighbors(n_neighbors=15, metric="hamming").fit(fitted)
    ours = LeafNeighbors(n_neighbors=15, chunk=64).fit(fitted)
    for got, want in ((ours.kneighbors(None, 14), brute.kneighbors(None, 14)),
                      (ours.kneighbors(queries), brute.kneighbors(queries))):
        assert np.array_equal(got[0], want[0])
        for row in range(len(got[0])):  # the same points nearer than the last distance
            inner = got[0][row] < got[0][row, -1]
            assert set(got[1][row][inner]) == set(want[1][row][want[0][row] < want[0][row, -1]])
            assert len(set(got[1][row])) == got[1].shape[1]  # no point twice
    itself = ours.kneighbors(None, 14)[1]
    assert not (itself == np.arange(300)[:, None]).any()
    # a point with fewer partners than neighbours asked for: filled at distance 1
    lonely = LeafNeighbors(n_neighbors=3).fit(np.array([[0, 0], [0, 1], [1, 2], [2, 3]]))
    dist, idx = lonely.kneighbors(None, 3)
    assert dist[3].tolist() == [1.0, 1.0, 1.0] and sorted(idx[3]) == [0, 1, 2]
    assert dist[0].tolist() == [0.5, 1.0, 1.0] and idx[0, 0] == 1


def test_tree_leaf_space_at_size_uses_shared_leaves_seeded():
    brute = TreeLeafEmbedding(random_state=3, n_estimators=30).fit(X)
    leaves = TreeLeafEmbedding(random_state=3, n_estimators=30, brute_max_n=100).fit(X)
    again = TreeLeafEmbedding(random_state=3, n_estimators=30, brute_max_n=100).fit(X)
    assert brute.umap_.neighbors == "exact" and leaves.umap_.neighbors == "leaves"
    assert np.array_equal(leaves.embedding_, again.embedding_)
    assert np.array_equal(leaves.transform(X[:20]), leaves.embedding_[:20])
    from sklearn.metrics import adjusted_rand_score

    from insiders.models import fit_labels

    _, blobs = make_blobs(n_samples=400, n_features=5, centers=3, random_state=1)
    for space in (brute, leaves):
        assert adjusted_rand_score(blobs, fit_labels(space.embedding_, "ward", 3)) > 0.9


def test_the_embed_stage_says_what_it_sampled_and_left_out(tmp_path):
    from insiders import artifacts, pipeline
    from insiders.config import EmbedConfig
    from insiders.run_folder import path

    run_dir = str(tmp_path / "run")
    artifacts.save_frame(FEATURES, path(run_dir, "features"))
    facts = pipeline.embed(run_dir, EmbedConfig(spaces=("features", "umap", "tree"),
                                                fit_sample_size=250, tree_max_customers=300))
    assert facts["spaces"] == ["features", "umap"]
    assert "400 customers, more than 300 (tree_max_customers)" in facts["spaces_skipped"]["tree"]
    assert facts["fitted_on"] == 250 and facts["fit_sample_size"] == 250
    assert len(load_spaces(path(run_dir, "spaces")).embeddings["umap"]) == 400
    facts = pipeline.embed(run_dir, EmbedConfig(spaces=("features", "tree")))
    assert facts["spaces"] == ["features", "tree"] and facts["spaces_skipped"] == {}
    assert facts["fitted_on"] == 400


def test_every_scaler_named_in_the_options_can_be_made():
    from insiders.options import SCALERS
    from insiders.spaces import SCALER_MAKERS, make_scaler

    assert list(SCALER_MAKERS) == list(SCALERS)
    for name in SCALERS:
        assert hasattr(make_scaler(name), "fit_transform")
