"""The stages wired to files: each reads its inputs from a run folder (path or URL), writes its
outputs there and returns small facts. The CLI and the Airflow DAG both call these.

The run folder's files are named in :mod:`insiders.run_folder`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insiders import artifacts
from insiders.compare import compare_models
from insiders.config import (
    EmbedConfig,
    FeatureEngineConfig,
    FilterConfig,
    GridConfig,
    QualityConfig,
    ReadConfig,
    RunConfig,
    TierConfig,
)
from insiders.errors import InputError
from insiders.feature_sql import customer_features, lines_summary
from insiders.features import check_reference_date
from insiders.filters import filter_index, non_sale_counts
from insiders.handoff import CRM_COLUMNS, crm_table, hand_off
from insiders.history import monthly_reference_dates
from insiders.ingest import iter_transactions
from insiders.kept_lines import customer_keys, kept_index, load_lines
from insiders.membership import tier_members, warm_start
from insiders.models import spec
from insiders.options import AUTO_RANKING, DEFAULT_SEED, HORIZON_DAYS
from insiders.parallel import cores
from insiders.progress import stage
from insiders.quality import check_lines, check_non_sales
from insiders.ranking_choice import CHOICE_CUTS, RankingBackTest, RankingChoice
from insiders.run_folder import begin_attempt, path, record_facts, seal
from insiders.schema import CUSTOMER_KEY, FILTERED_EXTRA, PRODUCT_FEATURES, key_column
from insiders.segments import assign_segments, profile_segments
from insiders.select import SelectionPolicy, choose_candidate
from insiders.spaces import embeddings_frame, fit_spaces, load_spaces, save_spaces
from insiders.value import VALUE_COLUMNS, LineHistory

logger = logging.getLogger(__name__)


def ingest(
    source: str,
    run_dir: str,
    read: ReadConfig | None = None,
    *,
    storage_options: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Read the source (validated, one schema) and write it to the run folder, as a new
    attempt of the run (:func:`insiders.run_folder.begin_attempt`); input that cannot be read
    leaves the folder as it was."""
    read = read or ReadConfig()
    seen: dict[str, Any] = {"first": None, "last": None}
    found: dict[str, set[str]] = {}  # the schema's columns the export lacks, its currencies
    attempt: list[str] = []

    def checked(frames):  # one file's lines at a time: the first and last day, as they pass
        for frame in frames:
            dates = frame["invoice_date"]
            for key, day, pick in (("first", dates.min(), min), ("last", dates.max(), max)):
                seen[key] = day if seen[key] is None else pick(seen[key], day)
            _data_currency(found.get("currencies", set()), source)  # one, before any is kept
            yield frame

    with stage(f"ingest {source}"):
        frames = iter_transactions(source, read, storage_options=storage_options, found=found)
        # every file is read and checked before the new attempt begins and the lines replace
        # the folder's: input that cannot be read leaves the folder as it was
        n_lines = artifacts.save_frames(
            checked(frames), path(run_dir, "raw_lines"),
            before_rename=lambda: attempt.append(begin_attempt(run_dir, run_id)))
    facts = {
        "attempt": attempt[0],
        "source": as_given(source),
        "lines_read": n_lines,
        "first_line": str(seen["first"].date()),
        "last_line": str(seen["last"].date()),
        "preset": found.get("layout", {}).get("preset", read.preset),
        "columns": found.get("layout", {}).get("columns", read.columns),
        "layout_proposed": found.get("layout", {}).get("flags"),  # --preset auto's choice
        "currency": read.currency or _data_currency(found.get("currencies", set()), source)
        or read.money_currency,
        "columns_absent": sorted(found.get("absent", ())),
        "set_aside": {rule: {"lines": n["lines"], "revenue": round(n["revenue"], 2)}
                      for rule, n in found.get("set_aside", {}).items()},
    }
    artifacts.save_json(facts, path(run_dir, "facts"))  # a new attempt: no earlier stage's facts
    return facts


def adopt_kept_lines(kept: str, run_dir: str, *, run_id: str | None = None) -> dict[str, Any]:
    """Start a new attempt of the run folder from kept lines (``insiders filter -o``) instead of
    the ``ingest`` to ``filter_lines`` stages: the lines read are those lines and every one is
    kept, with its id (anonymous lines: read without one, as the filter found them)."""
    lines = artifacts.load_frame(kept)
    raw = lines.drop(columns=list(FILTERED_EXTRA))
    raw["customer_id"] = raw["customer_id"].astype("Int64").mask(lines["is_synthetic_customer"])
    attempt = begin_attempt(run_dir, run_id)
    artifacts.save_frame(raw, path(run_dir, "raw_lines"), index=False)
    artifacts.save_frame(kept_index(np.arange(len(lines)), lines["customer_id"]),
                         path(run_dir, "kept_lines"), index=False)
    dates = lines["invoice_date"]
    facts = {"attempt": attempt, "source": as_given(kept), "lines_read": len(lines),
             "lines_kept": len(lines), "first_line": str(dates.min().date()),
             "last_line": str(dates.max().date()), "columns_absent": []}
    artifacts.save_json(facts, path(run_dir, "facts"))
    for stage_name in ("ingest", "filter_lines"):
        seal(run_dir, stage_name)
    return facts


#: The project's folder: its bundled files are named relative to it.
PROJECT = Path(__file__).resolve().parent.parent


def as_given(source: str) -> str:
    """The source as a user names it: a file of this project (its bundled data) relative to
    the project (``data/online_retail.parquet``), anything else as it was given."""
    local = Path(source[7:] if source.startswith("file://") else source)
    if local.is_absolute() and local.is_relative_to(PROJECT):
        return str(local.relative_to(PROJECT))
    return source


def _data_currency(codes: set[str], source: str) -> str | None:
    """The one currency an export's currency column names (None: it has none)."""
    if len(codes) > 1:
        raise InputError(f"{source}: the amounts are in {len(codes)} currencies "
                         f"({', '.join(sorted(codes))}); the product compares amounts as one. "
                         "Export one currency's orders, or convert them to one")
    return next(iter(codes), None)


def check_quality(
    run_dir: str, config: QualityConfig | None = None, reference_date: str | None = None,
    *, memory_limit: str | None = None,
) -> dict[str, Any]:
    """Check the plausibility rules on the lines read (in place, by DuckDB within
    ``memory_limit``); write the counts and the quarantined lines. A broken file rule refuses
    the run (:class:`insiders.quality.QualityError`)."""
    config = config or QualityConfig()
    facts = artifacts.load_json(path(run_dir, "facts"))
    source = facts.get("source", "the data")
    check_non_sales(facts, config, source)
    # equal lines may be two items of one order when the export names no invoice or product
    duplicates = not {"invoice_no", "stock_code"} & set(facts.get("columns_absent", ()))
    with stage("data quality"):
        result = check_lines(path(run_dir, "raw_lines"), config, source=source,
                             reference_date=reference_date, memory_limit=memory_limit,
                             duplicates=duplicates)
    artifacts.save_frame(result.counts, path(run_dir, "quality"), index=False)
    artifacts.save_frame(result.quarantined, path(run_dir, "quality_lines"), index=False)
    line_rules = result.counts[result.counts["kind"] == "line"]
    return record_facts(run_dir, {
        "lines_quarantined": len(result.quarantined),
        "quality": dict(zip(line_rules["rule"], line_rules["lines"].tolist(), strict=True)),
        "quality_config": config.to_dict(),
    })


def filter_lines(run_dir: str, config: FilterConfig | None = None, *,
                 memory_limit: str | None = None) -> dict[str, Any]:
    """Apply the filter rules to the lines the quality checks passed (in place, by DuckDB
    within ``memory_limit``); write the kept lines (as positions in the lines read,
    :mod:`insiders.kept_lines`) and the quarantine summary."""
    config = config or FilterConfig()
    with stage(f"filter (anonymous lines: {config.anonymous})"):
        kept, quarantine = filter_index(path(run_dir, "raw_lines"), config,
                                        quarantined=path(run_dir, "quality_lines"),
                                        memory_limit=memory_limit)
    facts = artifacts.load_json(path(run_dir, "facts"))
    quarantine = pd.concat([non_sale_counts(facts.get("set_aside", {})), quarantine],
                           ignore_index=True)
    artifacts.save_frame(kept, path(run_dir, "kept_lines"), index=False)
    artifacts.save_frame(quarantine, path(run_dir, "quarantine"), index=False)
    return record_facts(
        run_dir,
        {
            "lines_kept": len(kept),
            "removed": dict(
                zip(quarantine["rule"], quarantine["lines_removed"].tolist(), strict=True)
            ),
            "filter_config": asdict(config),
        },
    )


def features(
    run_dir: str,
    reference_date: str | None = None,
    *,
    max_staleness_days: int = RunConfig.max_staleness_days,
    engine: FeatureEngineConfig | None = None,
    spark_master: str | None = None,
) -> dict[str, Any]:
    """Build the customer features as of the reference date (default: last purchase day).

    The features' SQL (:mod:`insiders.feature_sql`) reads the run folder's lines in place (the
    lines read and the filter's index into them, joined in the engine), on
    DuckDB (default, within its memory limit) or on Spark (``spark_master``, ``local[*]`` when
    None): the lines are not loaded into this process.

    A reference date before the first purchase, or more than ``max_staleness_days`` after the
    last one (stale data, or a run date the data never reached), is refused: the month's
    answer would be meaningless.
    """
    engine = engine or FeatureEngineConfig()
    lines = path(run_dir, "raw_lines")
    where = {"engine": engine.engine, "memory_limit": engine.memory_limit,
             "spark_master": spark_master, "kept": path(run_dir, "kept_lines")}
    summary = lines_summary(lines, **where)
    reference = check_reference_date(summary["first_day"], summary["last_purchase_day"],
                                     reference_date, max_staleness_days)
    with stage(f"features as of {reference.date()} ({engine.engine})"):
        table = customer_features(lines, reference, **where)
    if table.empty:
        raise InputError(f"no customer bought anything on or before {reference.date()}")
    artifacts.save_frame(table, path(run_dir, "features"))
    return record_facts(
        run_dir,
        {
            "reference_date": str(reference.date()),
            "customers": len(table),
            "revenue": round(float(table["gross_revenue"].sum()), 2),
            "feature_engine": engine.engine,
        },
    )


def embed(
    run_dir: str, config: EmbedConfig | None = None, *, reuse_spaces: str | None = None
) -> dict[str, Any]:
    """Fit the scaler once and every space, or reuse a earlier run's; save them with the run.

    Args:
        run_dir: the run folder.
        config: features, spaces, scaler and seed (ignored when reusing).
        reuse_spaces: an earlier run's ``spaces.joblib``: embed this month's customers in
            those fitted spaces instead of refitting them (stable segments month to month).
    """
    config = config or EmbedConfig()
    table = artifacts.load_frame(path(run_dir, "features"))
    skipped: dict[str, str] = {}
    features_skipped: dict[str, str] = {}
    names = list(config.features)
    try:
        absent = artifacts.load_json(path(run_dir, "facts")).get("columns_absent", [])
    except FileNotFoundError:  # features made outside a run
        absent = []
    if "stock_code" in absent and set(names) - set(PRODUCT_FEATURES):
        for name in (n for n in names if n in PRODUCT_FEATURES):
            features_skipped[name] = "left out: the export has no product column"
            logger.warning("feature %s %s", name, features_skipped[name])
        names = [n for n in names if n not in PRODUCT_FEATURES]
    if reuse_spaces:
        fitted = load_spaces(reuse_spaces).reuse(table)
    else:
        spaces = list(config.spaces)
        if "tree" in spaces and len(table) > config.tree_max_customers and len(spaces) > 1:
            spaces.remove("tree")
            skipped["tree"] = (f"left out: {len(table):,} customers, more than "
                               f"{config.tree_max_customers:,} (tree_max_customers), to keep "
                               "the run's time in bounds")
            logger.warning("tree-leaf space %s", skipped["tree"])
        fitted = fit_spaces(
            table,
            feature_names=names,
            spaces=spaces,
            scaler=config.scaler,
            random_state=config.random_state,
            n_jobs=cores(),
            fit_sample_size=config.fit_sample_size,
        )
    save_spaces(fitted, path(run_dir, "spaces"))
    artifacts.save_frame(embeddings_frame(fitted), path(run_dir, "embeddings"))
    sample = fitted.fit_sample
    return record_facts(run_dir, {
        "spaces": list(fitted.embeddings),
        "spaces_skipped": skipped,
        "features_skipped": features_skipped,
        "fit_sample_size": config.fit_sample_size,
        "fitted_on": len(table) if sample is None else len(sample),
        "fitted_on_by_space": dict(fitted.fit_sizes),  # t-SNE and the tree: fewer (issue 33)
        "reused_from": reuse_spaces,
        "scaler": type(fitted.scaler).__name__,
        "features": list(fitted.feature_names),
        "fit_seconds": {k: round(v, 2) for k, v in fitted.fit_seconds.items()},
    })


def compare(run_dir: str, config: GridConfig | None = None) -> dict[str, Any]:
    """Score every model on every space; write the whole table and every labelling."""
    config = config or GridConfig()
    fitted = load_spaces(path(run_dir, "spaces"))
    grid = compare_models(fitted.embeddings, fitted.customer_ids, config,
                          n_jobs=cores())
    artifacts.save_frame(grid.scores, path(run_dir, "scores"), index=False)
    artifacts.save_frame(grid.labels, path(run_dir, "labels"))
    n = len(fitted.customer_ids)
    record_facts(run_dir, {  # the report's refits (bootstrap, replays) fit as these did
        "cluster_sample_size": config.cluster_sample_size,
        "clustered_on": min(n, config.cluster_sample_size),
    })
    best = grid.scores.iloc[0]
    return {
        "candidates": len(grid.scores),
        "best": {"candidate": best["candidate"], "silhouette": round(float(best["silhouette"]), 4)},
        "silhouette_sampled": bool(grid.scores["silhouette_sampled"].any()),
    }


def segments(
    run_dir: str,
    policy: SelectionPolicy | None = None,
    previous_segments: str | None = None,
    *,
    name_top: bool = False,
) -> dict[str, Any]:
    """Pick the model by policy and give its clusters segment ids and names that stay from
    month to month (``segments.parquet``, the tier's columns not yet in; ``selection.json``).

    Args:
        run_dir: the run folder.
        policy: the selection policy of the segments (the study's choice by default).
        previous_segments: last month's ``segments.parquet`` (or None on a first month).
        name_top: name the highest-value segment "Insiders" (the study's cluster rule).
    """
    policy = policy or SelectionPolicy()
    table = artifacts.load_frame(path(run_dir, "features"))
    chosen = choose_candidate(artifacts.load_frame(path(run_dir, "scores")), policy)
    previous = artifacts.load_frame(previous_segments) if previous_segments else None
    labels = artifacts.load_frame(path(run_dir, "labels"))[chosen["candidate"]]
    found = assign_segments(table, labels, value_score=policy.value_score, previous=previous,
                            name_top=name_top)
    artifacts.save_frame(found, path(run_dir, "segments"))
    facts = {
        "policy": policy.to_dict(),
        "policy_text": policy.describe(),
        "chosen": {k: _plain(chosen[k]) for k in CHOSEN_FACTS}
        | {"assign_rule": spec(str(chosen["model"])).assign_rule},
        "segments": int(found["segment_id"].nunique()),
        "matched_previous": previous_segments is not None,
    }
    artifacts.save_json(facts, path(run_dir, "selection"))
    return facts


#: The chosen candidate's columns kept in ``selection.json``.
CHOSEN_FACTS = ("candidate", "space", "model", "k", "param", "params", "n_clusters",
                "silhouette", "davies_bouldin", "calinski_harabasz", "noise_share")


def tier(run_dir: str, config: TierConfig | None = None,
         previous_segments: str | None = None, *,
         memory_limit: str | None = None) -> dict[str, Any]:
    """Choose this month's Insiders on the segments (:mod:`insiders.membership`), with last
    month's members; with no last month, the tier is first replayed over earlier months
    (``membership_warmup``). Adds the tier's columns to ``segments.parquet``, writes
    ``profiles.csv`` and the Insiders' facts into ``selection.json``.

    Args:
        run_dir: the run folder (after :func:`segments`).
        config: the rule, the value model, the bars, the warm start (defaults: the product's).
        previous_segments: last month's ``segments.parquet`` (or None on a first month).
        memory_limit: DuckDB's, for the months' features (None: DuckDB's default).
    """
    config = config or TierConfig()
    table = artifacts.load_frame(path(run_dir, "features"))
    found = artifacts.load_frame(path(run_dir, "segments"))[SEGMENT_COLUMNS]  # a rerun: anew
    selection = artifacts.load_json(path(run_dir, "selection"))
    previous = artifacts.load_frame(previous_segments) if previous_segments else None
    facts_so_far = artifacts.load_json(path(run_dir, "facts"))
    reference, currency = facts_so_far["reference_date"], facts_so_far.get("currency", "")
    lines = LineHistory(load_lines(run_dir, VALUE_COLUMNS),  # shared by every fit
                        memory_limit=memory_limit)
    rankings = RankingBackTest(lines, config.membership)
    chain = _warm_start(run_dir, lines, reference, config, rankings) if previous is None else {}
    last_month = chain[max(chain)] if chain else previous
    choice = _choose_ranking(rankings, lines, reference, config, chain, previous_segments)
    label = f"Insiders by {config.rule}" + (f" ({config.value_model} model)"
                                            if config.rule == "value" else "")
    model_used: dict = {"method": None, "reason": None}
    with stage(label):
        found = tier_members(
            table, found, lines=lines, reference_date=reference, previous=last_month,
            rule=config.rule, value_model=config.value_model, policy=config.membership,
            random_state=config.random_state, currency=currency, model_used=model_used,
            choice=choice,
        )
    found[CUSTOMER_KEY] = key_column(found.index, customer_keys(run_dir))
    profiles = profile_segments(table, found, value_score=selection["policy"]["value_score"])
    artifacts.save_frame(found, path(run_dir, "segments"))
    artifacts.save_frame(profiles, path(run_dir, "profiles"), index=False)
    selection.update(_tier_facts(table, found, config, model_used, warmed=len(chain)))
    selection["membership"]["ranking"] = choice.facts() if choice is not None else None
    artifacts.save_json(selection, path(run_dir, "selection"))
    return selection


def _tier_facts(table: pd.DataFrame, found: pd.DataFrame, config: TierConfig,
                model_used: dict[str, Any], warmed: int) -> dict[str, Any]:
    """``selection.json``'s Insiders and membership facts."""
    members = found["is_insider"].reindex(table.index, fill_value=False)
    revenue = table["gross_revenue"]
    status = found["status"].value_counts()
    membership = config.membership
    return {
        "insiders": {
            "segment_id": int(found.loc[members, "segment_id"].mode().min()) if members.any() else None,
            "customers": int(members.sum()),
            "share_customers": round(float(members.mean()), 4),
            "share_revenue": round(float(revenue[members].sum() / revenue.sum()), 4),
            "mean_revenue": round(float(revenue[members].mean()), 2),
            "mean_recency_days": round(float(table.loc[members, "recency_days"].mean()), 2),
        },
        "membership": {
            "rule": config.rule,
            "warmup": bool(warmed),
            "value_model": config.value_model if config.rule == "value" else None,
            "value_model_used": model_used["method"],
            "value_model_reason": model_used["reason"],
            "warmup_months": warmed,
            "policy": membership.to_dict(),
            "policy_text": membership.describe() if config.rule == "value" else
            "Insiders are the customers of the highest-value segment (the study's rule).",
            **{name: int(status.get(name, 0)) for name in ("new", "stayed", "left")},
        },
    }


#: The segments stage's columns of ``segments.parquet`` (the tier stage adds its own).
SEGMENT_COLUMNS = ["cluster", "segment_id", "segment_name", "is_insider"]


def _choose_ranking(rankings: RankingBackTest, lines: LineHistory, reference: str,
                    config: TierConfig, chain: dict[pd.Timestamp, pd.DataFrame],
                    previous_segments: str | None) -> RankingChoice | None:
    """Under ``value_model="auto"``, the run month's ranking (:mod:`insiders.ranking_choice`):
    from the months the tier replayed, or, with last month's members given, from the last
    months whose future is known, fitted here, and last month's ranking (its
    ``selection.json``, beside its segments)."""
    if config.rule != "value" or config.value_model != AUTO_RANKING:
        return None
    day = pd.Timestamp(reference)
    if chain:
        return rankings.choose(day)  # on from the chain's last month
    horizon = pd.Timedelta(days=HORIZON_DAYS)
    back = CHOICE_CUTS + HORIZON_DAYS // 28 + 1  # months back enough for CHOICE_CUTS known ones
    known = [d for d in monthly_reference_dates(day, back, lines.first_purchase_day(reference))[:-1]
             if d + horizon <= day][-CHOICE_CUTS:]
    with stage(f"the rankings measured at {len(known)} earlier month(s)"):
        rankings.record_months(known, config.random_state)
    before = None
    if previous_segments:  # last month's folder: a path or a URI
        facts = path(str(previous_segments).rsplit("/", 1)[0], "selection")
        if artifacts.exists(facts):
            before = ((artifacts.load_json(facts).get("membership") or {})
                      .get("ranking") or {}).get("ranked_by")
    return rankings.choose(day, before)


def _warm_start(run_dir: str, lines: LineHistory, reference: str,
                config: TierConfig, rankings: RankingBackTest | None = None
                ) -> dict[pd.Timestamp, pd.DataFrame]:
    """With no last month: the tier replayed over the months before (value rule only), saved
    as ``membership_warmup`` with those months' features (``warmup_features``, which the
    back-test replays on); an empty dict when there is none."""
    if config.rule != "value" or not config.warmup_months:
        return {}
    dates = monthly_reference_dates(pd.Timestamp(reference), config.warmup_months,
                                    lines.first_purchase_day(reference))[:-1]
    with stage(f"Insiders: no last month given, the tier replayed over {len(dates)} months"):
        features: dict[pd.Timestamp, pd.DataFrame] = {}
        chain = warm_start(lines, dates, value_model=config.value_model,
                           policy=config.membership, random_state=config.random_state,
                           features_out=features, rankings=rankings)
    if chain:
        for name, by_day in (("warmup", chain), ("warmup_features", features)):
            artifacts.save_frame(
                pd.concat({d.date().isoformat(): m for d, m in by_day.items()},
                          names=["reference_date"]).reset_index(), path(run_dir, name),
                index=False)
    return chain


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar: numpy numbers to Python, NaN to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def export_insiders(run_dir: str) -> str:
    """Write the hand-off files (:mod:`insiders.handoff`): ``insiders.csv`` (every Insider),
    ``joined.csv`` and ``left.csv`` (the month's add and remove lists); return the first's URI."""
    table = crm_table(artifacts.load_frame(path(run_dir, "features")),
                      artifacts.load_frame(path(run_dir, "segments")),
                      load_lines(run_dir, CRM_COLUMNS),
                      artifacts.load_json(path(run_dir, "facts"))["reference_date"])
    files = hand_off(table)
    for name, frame in files.items():
        artifacts.save_frame(frame, path(run_dir, name), index=False)
    uri = path(run_dir, "insiders_csv")
    record_facts(run_dir, {"insiders_csv": uri, "insiders_exported": len(files["insiders_csv"]),
                           "joined": len(files["joined"]), "left": len(files["left"])})
    return uri


def backtest(run_dir: str, *, replay_months: int = RunConfig.replay_months,
             random_state: int = DEFAULT_SEED,
             stability_sample_size: int = RunConfig.stability_sample_size,
             memory_limit: str | None = None) -> dict[str, Any]:
    """Replay the run over the months before it, refit its clusters on bootstrap samples and
    check its Insiders against plain rules (:mod:`insiders.lookback`); write the tables the
    report reads (``backtest.json``, ``replayed_insiders.csv``, ``membership_changes.csv``,
    ``membership_exits.parquet``, ``out_of_time.csv``, ``rule_capture.csv``,
    ``forecast_errors.csv``, ``calibration.csv``)."""
    from insiders.lookback import look_back

    selection = artifacts.load_json(path(run_dir, "selection"))
    lines = LineHistory(load_lines(run_dir, VALUE_COLUMNS), memory_limit=memory_limit)
    warmup = None
    if selection.get("membership", {}).get("warmup"):  # the tier's months, replayed once
        warmup = _by_month(artifacts.load_frame(path(run_dir, "warmup")))
        for day, features in _by_month(artifacts.load_frame(path(run_dir, "warmup_features"))).items():
            lines.keep_features(day, features)
    found = look_back(
        lines, artifacts.load_frame(path(run_dir, "features")),
        artifacts.load_frame(path(run_dir, "segments")),
        artifacts.load_frame(path(run_dir, "embeddings")), selection,
        artifacts.load_json(path(run_dir, "facts")), warmup=warmup, replay_months=replay_months,
        random_state=random_state, stability_sample_size=stability_sample_size)
    artifacts.save_json(found.facts(), path(run_dir, "backtest"))
    artifacts.save_frame(found.tiers, path(run_dir, "replayed_insiders"), index=False)
    artifacts.save_frame(found.changes, path(run_dir, "membership_changes"), index=False)
    artifacts.save_frame(found.exits, path(run_dir, "membership_exits"))
    if found.out_of_time is not None:
        artifacts.save_frame(found.out_of_time, path(run_dir, "out_of_time"), index=False)
    artifacts.save_frame(found.capture, path(run_dir, "rule_capture"), index=False)
    artifacts.save_frame(found.forecast_errors, path(run_dir, "forecast_errors"), index=False)
    artifacts.save_frame(found.calibration, path(run_dir, "calibration"), index=False)
    return record_facts(run_dir, {"backtest_months": len(found.replayed)})


def _by_month(long: pd.DataFrame) -> dict[pd.Timestamp, pd.DataFrame]:
    """A long table of months (``reference_date``, ``customer_id``, ...) as one frame per month."""
    return {pd.Timestamp(day): part.drop(columns="reference_date").set_index("customer_id")
            for day, part in long.groupby("reference_date")}


def report(run_dir: str, *, random_state: int = DEFAULT_SEED) -> dict[str, Any]:
    """Answer the nine questions from the run folder: report.html, report.md, plots/,
    answers.csv, forecasts.csv."""
    from insiders.report import build_report, load_inputs, write_report

    with stage("report: the nine questions"):
        built = build_report(load_inputs(run_dir), random_state=random_state)
        written = write_report(built, run_dir)
    return record_facts(run_dir, {"report": written["report_html"], "answers": len(built.answers)})


#: The stages, in order: each reads the run folder the ones before it wrote.
STAGES: tuple[str, ...] = (
    "ingest", "check_quality", "filter_lines", "features", "embed", "compare", "segments",
    "tier", "backtest", "report", "export_insiders",
)


def stages_through(last: str) -> tuple[str, ...]:
    """The stages from the first up to ``last`` included."""
    return STAGES[: STAGES.index(last) + 1]


def run_stage(
    name: str,
    run_dir: str,
    config: RunConfig | None = None,
    *,
    source: str | None = None,
    reference_date: str | None = None,
    previous_segments: str | None = None,
    reuse_spaces: str | None = None,
    storage_options: dict[str, Any] | None = None,
    run_id: str | None = None,
    spark_master: str | None = None,
) -> Any:
    """Run one stage with its part of the run configuration: the one wiring the CLI, the
    Airflow DAG and the tests share.

    Args:
        name: one of :data:`STAGES`.
        run_dir: the run folder.
        config: every choice of the run (defaults: the study's).
        source: the transactions (``ingest`` only).
        reference_date: features as of this day (``check_quality``, ``features``; default:
            the last purchase).
        previous_segments: last month's ``segments.parquet`` (``segments``, ``tier``).
        reuse_spaces: last month's ``spaces.joblib`` to embed in (``embed``).
        storage_options: fsspec options of the source (``ingest``).
        run_id: the orchestrator's run id (``ingest`` starts a new attempt of the run folder
            under it; every stage seals its files with that attempt, see
            :mod:`insiders.run_folder`).
        spark_master: the Spark master URL when the feature engine is Spark (``features``;
            default ``local[*]``).
    """
    config = config or RunConfig()
    stages: dict[str, Any] = {
        "ingest": lambda: ingest(source, run_dir, config.read, storage_options=storage_options,
                                 run_id=run_id),
        "check_quality": lambda: check_quality(run_dir, config.quality, reference_date,
                                               memory_limit=config.engine.memory_limit),
        "filter_lines": lambda: filter_lines(run_dir, config.filters,
                                             memory_limit=config.engine.memory_limit),
        "features": lambda: features(run_dir, reference_date,
                                     max_staleness_days=config.max_staleness_days,
                                     engine=config.engine, spark_master=spark_master),
        "embed": lambda: embed(run_dir, config.embed, reuse_spaces=reuse_spaces),
        "compare": lambda: compare(run_dir, config.grid),
        "segments": lambda: segments(run_dir, config.policy, previous_segments,
                                     name_top=config.insiders_rule == "cluster"),
        "tier": lambda: tier(run_dir, config.tier, previous_segments,
                             memory_limit=config.engine.memory_limit),
        "backtest": lambda: backtest(run_dir, replay_months=config.replay_months,
                                     random_state=config.embed.random_state,
                                     stability_sample_size=config.stability_sample_size,
                                     memory_limit=config.engine.memory_limit),
        "report": lambda: report(run_dir, random_state=config.embed.random_state),
        "export_insiders": lambda: export_insiders(run_dir),
    }
    if name not in stages:
        raise InputError(f"unknown stage {name!r}; the stages are {', '.join(STAGES)}")
    if name == "ingest" and not source:
        raise InputError("the ingest stage needs a source")
    start = time.perf_counter()
    with stage(name) if name not in LOGS_ITSELF else contextlib.nullcontext():
        facts = stages[name]()
    seal(run_dir, name)
    _record_cost(run_dir, name, time.perf_counter() - start)
    return facts


#: The stages whose own steps log their start and end (the others are logged as a whole).
LOGS_ITSELF = frozenset({"ingest", "check_quality", "filter_lines", "features", "tier",
                         "backtest", "report"})


def _record_cost(run_dir: str, name: str, seconds: float) -> None:
    """The stage's seconds and the peak memory so far (this process's, and its worker
    processes') in ``facts.json``'s ``stage_costs``: where a run's time and memory go."""
    import resource

    def peak_mb(who: int) -> float:  # ru_maxrss is in KiB on Linux
        return round(resource.getrusage(who).ru_maxrss / 1024, 1)

    costs = artifacts.load_json(path(run_dir, "facts")).get("stage_costs", {})
    costs[name] = {"seconds": round(seconds, 2), "peak_rss_mb": peak_mb(resource.RUSAGE_SELF),
                   "workers_peak_rss_mb": peak_mb(resource.RUSAGE_CHILDREN)}
    record_facts(run_dir, {"stage_costs": costs})


def run_all(
    source: str,
    run_dir: str,
    config: RunConfig | None = None,
    *,
    stages: Sequence[str] = STAGES,
    **inputs: Any,
) -> dict[str, Any]:
    """Run the stages in order into one run folder; returns each stage's facts by name.

    ``inputs`` are :func:`run_stage`'s keyword arguments (``reference_date``,
    ``previous_segments``, ``reuse_spaces``, ``storage_options``, ``spark_master``).
    """
    return {name: run_stage(name, run_dir, config, source=source, **inputs) for name in stages}
