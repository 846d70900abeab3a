"""The back-test stage: the run replayed over the months before it, its clusters refitted on
bootstrap samples, and its Insiders checked against plain rules on the months that have a
future in the data. The report reads these tables (:mod:`insiders.report`); nothing here
formats or plots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insiders import answers, backtest
from insiders.config import REPLAY_MONTHS, TierConfig
from insiders.history import Replay, monthly_reference_dates, replay
from insiders.models import Candidate, fit_labels
from insiders.options import DEFAULT_SEED, HORIZON_DAYS, STUDY_FEATURES
from insiders.parallel import side_by_side
from insiders.progress import stage
from insiders.ranking import (
    INSIDERS,
    PLAIN_RULES,
    decile_calibration,
    normalized_gini,
    top_n,
)
from insiders.select import cluster_values
from insiders.value import LineHistory

#: Months between the selection and the run for the forecast's own back-test.
FORECAST_MONTHS = 3


@dataclass
class Lookback:
    """The back-test stage's tables.

    Attributes:
        replayed: the replayed months' reference dates, oldest first (the run's not included).
        selected_then: the replayed month whose Insiders the forecast and the out-of-time
            check follow (:data:`FORECAST_MONTHS` before the run, the oldest when fewer; None
            when no month was replayed).
        tiers: the Insiders of every replayed month, one row per (``reference_date``,
            ``customer_id``).
        changes: per month, the run's included: ``insiders``, ``entered``, ``left``,
            ``stayed_share`` (:meth:`insiders.history.Replay.membership_changes`).
        exits: the customers who left from one month to the next, with the change of their
            features (``left_on``: the month they left).
        out_of_time: what each group chosen at ``selected_then`` bought after it
            (:func:`insiders.answers.out_of_time`); None without ``selected_then``.
        capture: the share of the next :data:`HORIZON_DAYS` days' revenue per rule and
            replayed month (:func:`capture_by_rule`).
        forecast_errors: the value model's forecast against what followed, per replayed month
            with its :data:`HORIZON_DAYS` days complete (:func:`forecast_errors`).
        ranking, calibration: the ranking judged at the last complete month, as the CLV field
            judges it (:func:`judge_ranking`): normalized Gini and decile calibration.
        stability: the clusters' bootstrap Jaccard indices (:func:`bootstrap_stability`).
    """

    replayed: list[pd.Timestamp]
    selected_then: pd.Timestamp | None
    tiers: pd.DataFrame
    changes: pd.DataFrame
    exits: pd.DataFrame
    out_of_time: pd.DataFrame | None
    capture: pd.DataFrame
    stability: dict[str, float]
    forecast_errors: pd.DataFrame
    ranking: dict[str, Any]
    calibration: pd.DataFrame

    def facts(self) -> dict[str, Any]:
        """The small facts (JSON): months replayed, the month selected then, stability."""
        return {"replayed": [d.date().isoformat() for d in self.replayed],
                "selected_then": None if self.selected_then is None
                else self.selected_then.date().isoformat(),
                "stability": self.stability, "ranking": self.ranking}


def look_back(
    lines: pd.DataFrame | LineHistory,
    features: pd.DataFrame,
    segments: pd.DataFrame,
    embeddings: pd.DataFrame,
    selection: dict[str, Any],
    facts: dict[str, Any],
    *,
    warmup: dict[pd.Timestamp, pd.DataFrame] | None = None,
    replay_months: int = REPLAY_MONTHS,
    stability_boot: int = 20,
    random_state: int = DEFAULT_SEED,
    stability_sample_size: int | None = None,
) -> Lookback:
    """Replay the run's months before (same features and model), beside the bootstrap refits
    of its clusters; then the out-of-time check and the rules' capture on the replays.

    Args:
        lines: the run's kept lines (:data:`insiders.value.VALUE_COLUMNS` and ``is_return``),
            or a :class:`~insiders.value.LineHistory` of them (with the features of the months
            the tier replayed kept in it: the replay uses them).
        features, segments, embeddings, selection, facts: the run folder's tables.
        warmup: the tier the run replayed itself (``tier`` with no last month), reused.
        replay_months: months replayed before the run.
        stability_boot: bootstrap resamples for cluster stability.
        random_state: seed of every random step.
        stability_sample_size: the bootstrap draws from a seeded sample of this many
            customers when there are more (None: from all of them).
    """
    reference = pd.Timestamp(facts["reference_date"])
    history = LineHistory.of(lines)  # the months' features and revenue, computed once
    dates = monthly_reference_dates(reference, replay_months,
                                    history.first_purchase_day(reference))[:-1]
    candidate = Candidate.from_row(selection["chosen"])  # exactly (a DBSCAN keeps its eps)
    feature_names = list(facts.get("features") or STUDY_FEATURES)
    history_job = _replay_job(history, dates, candidate, feature_names, selection, facts, warmup,
                              random_state)
    is_insider = segments["is_insider"].reindex(features.index, fill_value=False)
    main_cluster = int(segments.loc[features.index[is_insider.to_numpy()], "cluster"].mode().min())
    stability_job = (bootstrap_stability, (
        answers.map_coordinates(features, embeddings, candidate.space, feature_names),
        segments["cluster"].reindex(features.index).to_numpy(), main_cluster), dict(
        model=candidate.model, param=candidate.param, n_boot=stability_boot,
        random_state=random_state, max_n=stability_sample_size,
        sample_size=facts.get("cluster_sample_size")))
    with stage(f"replay {len(dates)} earlier months, beside {stability_boot} bootstrap refits"):
        replayed, stability = side_by_side([history_job, stability_job])
    tiers = _tiers(replayed)
    replayed.segments[reference] = segments
    replayed.features[reference] = features
    selected_then = ((dates[-FORECAST_MONTHS] if len(dates) >= FORECAST_MONTHS else dates[0])
                     if dates else None)
    oot = None
    if selected_then is not None:
        oot = answers.out_of_time(
            history.future_revenue(selected_then, (reference - selected_then).days),
            replayed.features[selected_then], replayed.segments[selected_then]["is_insider"])
    return Lookback(replayed=dates, selected_then=selected_then, tiers=tiers,
                    changes=replayed.membership_changes(), exits=replayed.exits(),
                    out_of_time=oot, capture=capture_by_rule(history, replayed, reference,
                                                             selection["policy"]["value_score"]),
                    stability=stability,
                    forecast_errors=forecast_errors(history, replayed, reference),
                    **judge_ranking(history, replayed, reference))


def _replay_job(lines: LineHistory, dates: list[pd.Timestamp], candidate: Candidate,
                feature_names: list[str], selection: dict[str, Any], facts: dict[str, Any],
                warmup: dict[pd.Timestamp, pd.DataFrame] | None, random_state: int) -> tuple:
    """The replay of ``dates`` with the run's chosen model and tier (for :func:`side_by_side`)."""
    tier = TierConfig.as_recorded(selection["membership"])
    return (replay, (lines, dates), dict(
        feature_names=feature_names, candidate=candidate,
        value_score=selection["policy"]["value_score"],
        insiders_rule=tier.rule, value_model=tier.value_model, membership=tier.membership,
        memberships=warmup, random_state=random_state,
        fit_sample_size=facts.get("fit_sample_size"),
        cluster_sample_size=facts.get("cluster_sample_size")))


def _tiers(history: Replay) -> pd.DataFrame:
    """The Insiders of every replayed month, long."""
    frames = [pd.DataFrame({"reference_date": day.date().isoformat(),
                            "customer_id": seg.index[seg["is_insider"]]})
              for day, seg in history.segments.items()]
    return (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame({"reference_date": pd.Series(dtype=str),
                               "customer_id": pd.Series(dtype="int64")}))


def capture_by_rule(lines: pd.DataFrame | LineHistory, history: Replay, reference: pd.Timestamp,
                    value_score: str, horizon_days: int = HORIZON_DAYS) -> pd.DataFrame:
    """The run's own back-test: at every replayed month with ``horizon_days`` of data after it,
    the share of that window's revenue brought by the month's Insiders, and by plain rules and
    the clusters' top segment of the same size (:func:`insiders.backtest.capture_table`).

    Returns one row per (rule, cut_date): ``rule``, ``cut_date`` (ISO), ``share``.
    """
    cuts = [d for d in sorted(history.segments) if d + pd.Timedelta(days=horizon_days) <= reference]
    if not cuts:
        return pd.DataFrame(columns=["rule", "cut_date", "share"])
    tiers, alone, top_cluster = {}, {}, {}
    for day in cuts:
        seg, feats = history.segments[day], history.features[day]
        tiers[day] = seg.index[seg["is_insider"]]
        size = len(tiers[day])
        if "expected_revenue" in seg and seg["expected_revenue"].notna().any():
            alone[day] = top_n(seg["expected_revenue"], size,
                               tiebreak=feats["gross_revenue"].reindex(seg.index))
        best = cluster_values(feats, seg["cluster"], value_score).index[0]
        top_cluster[day] = seg.index[seg["cluster"] == best]
    rules = {INSIDERS: backtest.precomputed(tiers),  # the plain rules on the replay's features
             **{label: backtest.precomputed({d: rule(history.features[d], len(tiers[d]))
                                             for d in cuts})
                for label, rule in PLAIN_RULES.items()}}
    if len(alone) == len(cuts):
        rules["Value model alone (no bars)"] = backtest.precomputed(alone)
    rules["Highest-value segment (any size)"] = backtest.precomputed(top_cluster)
    table = backtest.capture_table(lines, cuts, lambda past, cut: len(tiers[cut]), rules,
                                   horizon_days=horizon_days)
    table = table.assign(cut_date=table["cut_date"].dt.date.astype(str))
    return table[["rule", "cut_date", "share"]]


#: The groups whose expected revenue the report forecasts, by label.
FORECAST_GROUPS = (INSIDERS, "Everyone")


def forecast_errors(lines: LineHistory, history: Replay, reference: pd.Timestamp,
                    horizon_days: int = HORIZON_DAYS) -> pd.DataFrame:
    """The value model's forecasts measured: at every replayed month with ``horizon_days`` of
    data after it, the expected revenue of its Insiders and of every customer, beside what
    they then bought (``ratio`` = actual / forecast).

    Returns one row per (cut_date, group): ``cut_date`` (ISO), ``group``, ``forecast``,
    ``actual``, ``ratio``.
    """
    rows = []
    for day in _forecast_cuts(history, reference, horizon_days):
        segments = history.segments[day]
        actual = lines.future_revenue(day, horizon_days)
        groups = {INSIDERS: segments.index[segments["is_insider"].to_numpy(bool)],
                  "Everyone": segments.index}
        for group in FORECAST_GROUPS:
            members = groups[group]
            forecast = float(segments.loc[members, "expected_revenue"].sum())
            bought = float(actual.reindex(members, fill_value=0.0).sum())
            rows.append({"cut_date": day.date().isoformat(), "group": group,
                         "forecast": round(forecast, 2), "actual": round(bought, 2),
                         "ratio": round(bought / forecast, 4) if forecast > 0 else np.nan})
    return pd.DataFrame(rows, columns=["cut_date", "group", "forecast", "actual", "ratio"])


def _forecast_cuts(history: Replay, reference: pd.Timestamp,
                   horizon_days: int) -> list[pd.Timestamp]:
    """The replayed months, oldest first, with a value forecast and ``horizon_days`` of data
    after them: where a forecast can be measured."""
    return [day for day in sorted(history.segments)
            if day + pd.Timedelta(days=horizon_days) <= reference
            and "expected_revenue" in history.segments[day]
            and history.segments[day]["expected_revenue"].notna().any()]


def judge_ranking(lines: LineHistory, history: Replay, reference: pd.Timestamp,
                  horizon_days: int = HORIZON_DAYS) -> dict[str, Any]:
    """The value model's ranking at the last replayed month whose ``horizon_days`` are known:
    its normalized Gini against what followed, the plain rule's (past revenue), and the decile
    calibration (mean forecast and mean actual per tenth of forecast)."""
    known = _forecast_cuts(history, reference, horizon_days)
    if not known:
        return {"ranking": {}, "calibration": pd.DataFrame(
            columns=["decile", "customers", "mean_forecast", "mean_actual"])}
    day = known[-1]
    forecast = history.segments[day]["expected_revenue"].fillna(0.0)
    actual = lines.future_revenue(day, horizon_days).reindex(forecast.index, fill_value=0.0)
    past = history.features[day]["gross_revenue"].reindex(forecast.index, fill_value=0.0)
    return {"ranking": {"cut_date": day.date().isoformat(),
                        "normalized_gini_model": round(normalized_gini(actual, forecast), 4),
                        "normalized_gini_past_revenue": round(normalized_gini(actual, past), 4)},
            "calibration": decile_calibration(actual, forecast).assign(
                cut_date=day.date().isoformat())}


def bootstrap_stability(embedding: np.ndarray, labels: np.ndarray, insider_cluster: int, *,
                        model: str, param: float, n_boot: int = 20,
                        random_state: int = DEFAULT_SEED, max_n: int | None = None,
                        sample_size: int | None = None) -> dict[str, float]:
    """Stability of the clusters: refit the model on bootstrap resamples of the customers
    (on the fitted embedding) and compare, for each original cluster, its members with the
    best-matching bootstrap cluster (Jaccard index); reports Insiders' and the mean.

    With more than ``max_n`` customers, the resamples are drawn from a seeded sample of
    ``max_n`` of them (``n_sampled`` says how many). A refit of more than ``sample_size``
    customers is fitted on a seeded sample of them, as the run's
    (:func:`insiders.models.fit_labels`).
    """
    n_all = len(labels)
    if max_n is not None and n_all > max_n:
        keep = np.sort(np.random.default_rng([random_state, n_all]).choice(n_all, max_n,
                                                                           replace=False))
        embedding, labels = embedding[keep], labels[keep]
    rng = np.random.default_rng(random_state)
    n = len(labels)
    clusters = [c for c in np.unique(labels) if c >= 0]
    scores: dict[int, list[float]] = {c: [] for c in clusters}
    for _ in range(n_boot):
        idx = np.unique(rng.choice(n, n, replace=True))
        boot = fit_labels(embedding[idx], model, param, random_state=random_state,
                          sample_size=sample_size)
        original = labels[idx]
        for c in clusters:
            members = set(np.flatnonzero(original == c))
            if not members:
                continue
            best = max(
                len(members & set(np.flatnonzero(boot == b))) / len(members | set(np.flatnonzero(boot == b)))
                for b in np.unique(boot) if b >= 0
            )
            scores[c].append(best)
    means = {c: float(np.mean(v)) for c, v in scores.items() if v}
    return {"insiders_jaccard": means[insider_cluster],
            "mean_jaccard": float(np.mean(list(means.values()))),
            "min_jaccard": float(min(means.values())), "n_boot": n_boot, "n_sampled": n}
