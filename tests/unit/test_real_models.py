"""Spaces, model comparison and Insiders on the real data (UMAP + ward, as the study chose)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insiders.compare import GridConfig, compare_models
from insiders.features import build_customer_features, last_purchase_date
from insiders.filters import filter_transactions
from insiders.segments import assign_segments, overlaps, profile_segments
from insiders.select import SelectionPolicy, choose_candidate
from insiders.spaces import fit_spaces

GRID = GridConfig(models=("kmeans", "ward"), k_values=tuple(range(2, 15)))
POLICY = SelectionPolicy()  # ward, k = 8, UMAP


def segment(features: pd.DataFrame, previous: pd.DataFrame | None = None):
    fitted = fit_spaces(features, spaces=("features", "umap"))
    grid = compare_models(fitted.embeddings, fitted.customer_ids, GRID)
    chosen = choose_candidate(grid.scores, POLICY)
    segments = assign_segments(features, grid.labels[chosen["candidate"]], previous=previous)
    return fitted, grid, chosen, segments


@pytest.fixture(scope="module")
def real_features(real_lines) -> pd.DataFrame:
    kept = filter_transactions(real_lines).lines
    return build_customer_features(kept, last_purchase_date(kept))


@pytest.fixture(scope="module")
def first_run(real_features):
    return segment(real_features)


def test_chosen_model_silhouette_is_in_a_sane_band(first_run):
    _, grid, chosen, _ = first_run
    assert chosen["candidate"] == "umap/ward/k=8"
    assert 0.30 <= chosen["silhouette"] <= 0.80  # the study reported 0.4786
    assert len(grid.scores) == 2 * 6 + 2 * 13  # k = 2..7 on the features, 2..14 on UMAP


def test_insiders_is_the_highest_revenue_segment_and_earns_more_than_its_share(
    real_features, first_run
):
    _, _, _, segments = first_run
    profiles = profile_segments(real_features, segments)
    insiders = profiles[profiles["mostly_insiders"]].iloc[0]
    assert insiders["mean_gross_revenue"] == profiles["mean_gross_revenue"].max()
    assert insiders["share_revenue"] > insiders["share_customers"]
    assert 0.05 <= insiders["share_customers"] <= 0.5


def test_same_input_and_config_give_identical_labels(real_features, first_run):
    fitted, grid, _, segments = first_run
    fitted2, grid2, _, segments2 = segment(real_features)
    assert np.array_equal(fitted.embeddings["umap"], fitted2.embeddings["umap"])
    pd.testing.assert_frame_equal(grid.labels, grid2.labels)
    pd.testing.assert_frame_equal(segments, segments2)


def perturb(features: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """A month where only ``n`` customers changed a little."""
    out = features.copy()
    few = out.sample(n, random_state=7).index
    out.loc[few, "gross_revenue"] *= 1.05
    out.loc[few, "recency_days"] += 1
    return out


def insiders_jaccard(a: pd.DataFrame, b: pd.DataFrame) -> float:
    before, after = set(a.index[a["is_insider"]]), set(b.index[b["is_insider"]])
    return len(before & after) / len(before | after)


def test_reused_spaces_keep_segments_when_data_barely_changes(real_features, first_run):
    fitted, _, _, segments = first_run
    reused = fitted.reuse(perturb(real_features))
    grid = compare_models(reused.embeddings, reused.customer_ids, GRID)
    labels = grid.labels[choose_candidate(grid.scores, POLICY)["candidate"]]
    again = assign_segments(perturb(real_features), labels, previous=segments)
    assert (again["segment_id"] == segments["segment_id"]).mean() >= 0.99
    assert insiders_jaccard(segments, again) >= 0.98
    assert (again.groupby("segment_id")["segment_name"].first()
            == segments.groupby("segment_id")["segment_name"].first()).all()


def test_refitted_spaces_still_match_segments_to_last_month(real_features, first_run):
    """A refit UMAP moves the ward cuts, but each segment keeps the id most members had.

    How far the cuts move is not a property of the product but of UMAP's chaotic
    optimisation (20 changed customers change the layout everywhere; reuse the spaces to keep
    segments, as the test above does). What the matching owes is ids as good as any
    one-to-one relabelling of this month's clusters could give.
    """
    from scipy.optimize import linear_sum_assignment

    _, _, _, segments = first_run
    _, _, _, again = segment(perturb(real_features), previous=segments)
    table = pd.crosstab(again["segment_id"], segments["segment_id"])
    for seg_id, row in table.iterrows():
        if seg_id in table.columns:  # matched: the plurality of its members came from it
            assert row.idxmax() == seg_id or row[seg_id] >= 0.3 * row.sum()
    clusters = pd.crosstab(again["cluster"], segments["segment_id"]).to_numpy()
    rows, cols = linear_sum_assignment(-clusters)
    best = clusters[rows, cols].sum() / len(segments)
    kept = (again["segment_id"] == segments["segment_id"]).mean()
    assert kept >= 0.95 * best
    # a cluster holding more than half of the union with a segment of last month must get
    # that segment's id (no other one-to-one matching shares as many members), whichever
    # way this CPU's layout cut the customers
    _, jaccard = overlaps(again["cluster"], segments["segment_id"])
    pairs = [(c, s) for c in jaccard.index for s in jaccard.columns if jaccard.at[c, s] > 0.5]
    ids = again.groupby("cluster")["segment_id"].first()
    assert pairs, "no cluster kept most of a segment: the refit moved everything"
    assert all(ids[c] == s for c, s in pairs)
    # ids are one-to-one: no two clusters share one
    assert ids.is_unique
