"""Stable segment ids across months, readable names, profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insiders.segments import INSIDERS, assign_segments, name_segment, profile_segments

rng = np.random.default_rng(0)
N = 300
CLUSTER = np.repeat([0, 1, 2], N // 3)
FEATURES = pd.DataFrame(
    {
        "gross_revenue": np.choose(CLUSTER, [100.0, 5000.0, 800.0]) + rng.random(N),
        "recency_days": np.choose(CLUSTER, [300.0, 5.0, 40.0]) + rng.random(N),
        "n_lines": 10.0,
        "frequency": 0.1,
        "qty_returned": np.choose(CLUSTER, [0.0, 1.0, 0.0]),
        "n_items": 100.0,
    },
    index=pd.Index(np.arange(N) + 1, name="customer_id"),
)
LABELS = pd.Series(CLUSTER, index=FEATURES.index)


def test_first_month_numbers_segments_by_value_and_names_insiders():
    seg = assign_segments(FEATURES, LABELS)
    by_cluster = seg.groupby("cluster")[["segment_id", "segment_name", "is_insider"]].first()
    assert by_cluster.loc[1].tolist() == [1, INSIDERS, True]
    assert by_cluster.loc[2, "segment_id"] == 2 and by_cluster.loc[0, "segment_id"] == 3
    assert by_cluster.loc[0, "segment_name"] == "Low value, lapsed"
    assert seg["is_insider"].sum() == 100


def test_ids_and_names_survive_renumbered_and_perturbed_clusters():
    first = assign_segments(FEATURES, LABELS)
    # next month the model numbers clusters differently and 10 customers move
    renumbered = LABELS.map({0: 5, 1: 3, 2: 4}).copy()
    renumbered.iloc[:10] = 4
    second = assign_segments(FEATURES, renumbered, previous=first)
    kept = (second["segment_id"] == first["segment_id"]).mean()
    assert kept == pytest.approx(1 - 10 / N)
    assert second.loc[second["cluster"] == 3, "segment_name"].iloc[0] == INSIDERS
    names = first.groupby("segment_id")["segment_name"].first()
    assert (second.groupby("segment_id")["segment_name"].first() == names).all()


def test_a_new_cluster_gets_a_new_id_and_an_old_one_retires():
    first = assign_segments(FEATURES, LABELS)
    split = LABELS.copy()
    split[(LABELS == 0) & (FEATURES.index % 2 == 0)] = 7  # cluster 0 splits in two
    second = assign_segments(FEATURES, split, previous=first)
    assert set(second["segment_id"]) == {1, 2, 3, 4}
    new = second.loc[second["cluster"] == 7, "segment_id"].iloc[0]
    assert new in (3, 4) and second["segment_name"].nunique() == 4


def test_noise_is_its_own_segment_and_never_insiders():
    labels = LABELS.copy()
    labels.iloc[-5:] = -1
    seg = assign_segments(FEATURES, labels)
    assert (seg.loc[seg["cluster"] == -1, "segment_id"] == 0).all()
    assert not seg.loc[seg["cluster"] == -1, "is_insider"].any()


def test_profiles_add_up():
    seg = assign_segments(FEATURES, LABELS)
    prof = profile_segments(FEATURES, seg)
    assert prof["n_customers"].sum() == N
    assert prof["share_customers"].sum() == pytest.approx(1)
    assert prof["share_revenue"].sum() == pytest.approx(1)
    assert prof.iloc[0]["is_insider"] and prof.iloc[0]["segment_name"] == INSIDERS
    top = FEATURES.loc[LABELS == 1, "gross_revenue"]
    assert prof.iloc[0]["mean_gross_revenue"] == pytest.approx(top.mean())


def test_name_reads_the_profile():
    base = FEATURES.mean()
    assert name_segment(FEATURES[LABELS == 1].mean(), base, "gross_revenue") == "High value, active"
