"""Stable segment identity from month to month, readable segment names, and profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from insiders.features import FEATURE_DESCRIPTIONS
from insiders.rules import RULES, TIERS, SegmentRules, over, return_rate
from insiders.select import cluster_values

INSIDERS = "Insiders"
NOISE_SEGMENT = 0
NOISE_NAME = "Unassigned (noise)"


def overlaps(current: pd.Series, previous: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For every (current cluster, previous segment) pair, noise left out: the members they
    share, and the Jaccard index (shared members over all members)."""
    cur = current[current >= 0]
    prev = previous[previous != NOISE_SEGMENT]
    both = pd.crosstab(cur, prev.reindex(cur.index)).reindex(
        index=sorted(cur.unique()), columns=sorted(prev.unique()), fill_value=0
    )
    sizes_cur = cur.value_counts().reindex(both.index).to_numpy()[:, None]
    sizes_prev = prev.value_counts().reindex(both.columns).to_numpy()[None, :]
    return both, both / (sizes_cur + sizes_prev - both.to_numpy())


HIGH_RETURNS = "high returns"

#: How a segment's name says that its customers rank higher / lower on a feature than a
#: look-alike segment's ("High value, active, bigger baskets").
FEATURE_WORDS: dict[str, tuple[str, str]] = {
    "gross_revenue": ("more revenue", "less revenue"),
    "recency_days": ("less recent", "more recent"),
    "n_lines": ("more lines", "fewer lines"),
    "frequency": ("buys more often", "buys less often"),
    "frequency_study": ("buys more often", "buys less often"),
    "qty_returned": ("more units returned", "fewer units returned"),
    "n_invoices": ("more orders", "fewer orders"),
    "n_items": ("more units", "fewer units"),
    "n_products": ("wider range", "narrower range"),
    "avg_ticket": ("pricier lines", "cheaper lines"),
    "avg_basket_size": ("bigger baskets", "smaller baskets"),
    "avg_unique_basket_size": ("more varied baskets", "less varied baskets"),
    "avg_days_between_purchases": ("slower rhythm", "faster rhythm"),
    "n_returns": ("more return lines", "fewer return lines"),
    "value_returned": ("more value returned", "less value returned"),
}


def name_segment(
    profile: pd.Series, base: pd.Series, value_score: str, tier: str | None = None,
    rules: SegmentRules = RULES,
) -> str:
    """A readable name from a segment's means against the whole base's means.

    ``tier`` is the segment's value tier among the month's segments; without it, the tier
    comes from the segment's mean value against the base's (see :class:`SegmentRules`).
    """
    if tier is None:
        value = profile[value_score] / base[value_score] if base[value_score] else 1.0
        tier = rules.value_tier(value)
    parts = [tier]
    if "recency_days" in profile:
        parts.append(rules.recency_label(over(profile["recency_days"], base["recency_days"])))
    if "n_invoices" in profile and rules.is_one_off(profile["n_invoices"]):
        parts.append("one-off")
    if {"qty_returned", "n_items"} <= set(profile.index) and base["n_items"]:
        rate = return_rate(profile["qty_returned"], profile["n_items"])
        if rules.is_high_returns(rate, return_rate(base["qty_returned"], base["n_items"])):
            parts.append(HIGH_RETURNS)
    return ", ".join(parts)


def _told_apart(features: pd.DataFrame, labels: pd.Series, names: dict[int, str],
                fresh: list[int]) -> dict[int, str]:
    """New names for the ``fresh`` clusters whose name another cluster has too: the name plus
    what sets the cluster apart from the others of that name, the feature on which its
    customers' mean percentile rank differs most from theirs ("..., bigger baskets"); no two
    of them get the same words."""
    groups: dict[str, list[int]] = {}
    for cluster, name in names.items():
        groups.setdefault(name, []).append(cluster)
    shared = {name: clusters for name, clusters in groups.items() if len(clusters) > 1}
    if not shared:  # every name says it already: no ranks to compute
        return {}
    ranks = features.select_dtypes("number").rank(pct=True).groupby(labels).mean()
    out: dict[int, str] = {}
    taken = set(names.values())
    for name, clusters in shared.items():
        for cluster in (c for c in clusters if c in fresh):
            others = ranks.loc[[c for c in clusters if c != cluster]].mean()
            gap = (ranks.loc[cluster] - others).dropna()
            for feature in gap.abs().sort_values(ascending=False, kind="stable").index:
                higher, lower = FEATURE_WORDS.get(feature, (f"higher {feature}", f"lower {feature}"))
                told = f"{name}, {higher if gap[feature] > 0 else lower}"
                if told not in taken:
                    out[cluster] = told
                    taken.add(told)
                    break
    return out


def assign_segments(
    features: pd.DataFrame,
    labels: pd.Series,
    *,
    value_score: str = "gross_revenue",
    previous: pd.DataFrame | None = None,
    min_jaccard: float = 0.2,
    name_top: bool = True,
) -> pd.DataFrame:
    """Turn cluster numbers into segments that keep their id and name across months.

    The first month numbers segments 1, 2, ... by value, highest first. Later months match
    clusters to last month's segments so that most customers keep their segment (Hungarian
    algorithm on shared members; a match needs a Jaccard index of at least ``min_jaccard``,
    so a big cluster does not take a small segment's id for a handful of members); a matched
    cluster keeps that segment's id and name, an unmatched one gets a new id and a name
    from its profile. "Insiders" always names the segment with the highest value this month.

    Args:
        features: one row per customer (index ``customer_id``).
        labels: cluster per customer (-1 = noise), indexed like ``features``.
        value_score: the feature that ranks clusters by value.
        previous: last month's ``segment_id`` and ``segment_name`` per customer (index
            ``customer_id``), as returned by this function; None on the first month.
        min_jaccard: the least overlap for a cluster to inherit a segment.
        name_top: name the highest-value segment "Insiders" and flag its members (the study's
            rule); False when Insiders are chosen by value (:mod:`insiders.membership`) and
            every segment is a persona named from its profile.

    Returns:
        Per customer: ``cluster``, ``segment_id``, ``segment_name``, ``is_insider`` (the
        top segment's members; all False with ``name_top=False``).
    """
    labels = labels.reindex(features.index)
    order = list(cluster_values(features, labels, value_score).index)  # highest value first
    ids, names = _match_previous(labels, previous, min_jaccard)
    had = previous is not None and not previous.empty
    next_id = int(max(previous["segment_id"].max(), 0)) + 1 if had else 1
    for cluster in order:
        if cluster not in ids:
            ids[cluster], next_id = next_id, next_id + 1
    insider_cluster = order[0]
    names = _names(features, labels, order, names, value_score, name_top)
    out = pd.DataFrame({"cluster": labels.astype("int64")}, index=features.index)
    out["segment_id"] = out["cluster"].map(ids).fillna(NOISE_SEGMENT).astype("int64")
    out["segment_name"] = out["cluster"].map(names).fillna(NOISE_NAME)
    out["is_insider"] = (out["cluster"] == insider_cluster) & name_top
    return out


def _match_previous(labels: pd.Series, previous: pd.DataFrame | None,
                    min_jaccard: float) -> tuple[dict[int, int], dict[int, str]]:
    """The clusters that inherit last month's segments: the id and name of each (Hungarian
    algorithm on shared members, a match needing a Jaccard index of ``min_jaccard``)."""
    ids: dict[int, int] = {}
    names: dict[int, str] = {}
    if previous is None or previous.empty:
        return ids, names
    shared, overlap = overlaps(labels, previous["segment_id"])
    # most customers keeping their segment; Jaccard only decides if a pair may match
    rows, cols = linear_sum_assignment(shared.to_numpy(), maximize=True)
    prev_names = previous.groupby("segment_id")["segment_name"].first()
    for r, c in zip(rows, cols, strict=True):
        if overlap.iat[r, c] >= min_jaccard:
            cluster, seg = int(overlap.index[r]), int(overlap.columns[c])
            ids[cluster], names[cluster] = seg, prev_names[seg]
    return ids, names


def _names(features: pd.DataFrame, labels: pd.Series, order: list[int], inherited: dict[int, str],
           value_score: str, name_top: bool) -> dict[int, str]:
    """Every cluster's name: "Insiders" for the top one (``name_top``), else the inherited
    name, else one from its profile; no two the same (:func:`_told_apart`)."""
    names = dict(inherited)
    means = features.groupby(labels).mean(numeric_only=True)
    base = features.mean(numeric_only=True)
    insider_cluster = order[0]
    used = {INSIDERS}
    others = [c for c in order if c != insider_cluster] if name_top else list(order)
    fresh: list[int] = []  # clusters named from their profile this month
    for cluster in order:
        if cluster == insider_cluster and name_top:
            names[cluster] = INSIDERS
            continue
        name = names.get(cluster)
        if name in (None, INSIDERS) or name in used:
            # value tier by rank among the other segments: top third high, bottom third low
            rank = others.index(cluster)
            tier = TIERS[round(rank * 2 / (len(others) - 1))] if len(others) > 1 else TIERS[1]
            name = name_segment(means.loc[cluster], base, value_score, tier)
            fresh.append(cluster)
        names[cluster] = name
        used.add(name)
    names.update(_told_apart(features, labels, names, fresh))
    return names


def profile_segments(
    features: pd.DataFrame, segments: pd.DataFrame, *, value_score: str = "gross_revenue"
) -> pd.DataFrame:
    """The study's table: per segment its size, shares of customers and revenue, how many of
    its customers are Insiders, and the mean of every feature; highest value first.
    """
    joined = features.join(segments[["segment_id", "segment_name", "is_insider"]])
    grouped = joined.groupby(["segment_id", "segment_name"])
    profile = grouped.size().rename("n_customers").to_frame()
    profile["share_customers"] = profile["n_customers"] / len(joined)
    profile["revenue"] = grouped["gross_revenue"].sum()
    total = joined["gross_revenue"].sum()
    profile["share_revenue"] = profile["revenue"] / total if total else np.nan
    profile["n_insiders"] = grouped["is_insider"].sum().astype("int64")
    profile["share_insiders"] = profile["n_insiders"] / profile["n_customers"]
    # a segment made mostly of Insiders (the Insiders segment itself under the cluster rule)
    profile["mostly_insiders"] = profile["share_insiders"] >= 0.5
    feature_cols = [c for c in FEATURE_DESCRIPTIONS if c in features.columns]
    profile = profile.join(grouped[feature_cols].mean().add_prefix("mean_"))
    return (
        profile.reset_index()
        .sort_values(f"mean_{value_score}", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
