"""The run folder: one folder (path or URL) per run, its files named here.

A leaf module (it imports only :mod:`insiders.artifacts`), so the warehouse, the report and
the Airflow plugin can find a run's files without importing the pipeline's stages.

Run folder layout::

    raw_lines.parquet    every line read, in the one schema (ingest)
    quality.csv          lines per data-quality rule, thresholds, actions (check_quality)
    quality_lines.parquet the quarantined lines, with their rule (check_quality)
    kept_lines.parquet   the kept lines as positions in raw_lines, with their customer id
                         (filter; :func:`insiders.kept_lines.load_lines` reads the lines)
    quarantine.csv       lines removed or flagged per rule (filter)
    features.parquet     one row per customer              (features)
    spaces.joblib        fitted scaler and spaces          (embed)
    embeddings.parquet   2-D coordinates of every space    (embed)
    model_scores.csv     the whole comparison table        (compare)
    model_labels.parquet every candidate's clusters        (compare)
    segments.parquet     segment per customer (segments); Insiders flag, value, reason (tier)
    membership_warmup.parquet  the tier replayed over earlier months, with no last month (tier)
    warmup_features.parquet    those months' customer features (tier; the back-test's replay)
    profiles.csv         per-segment profile               (tier)
    selection.json       policy, chosen model (segments); Insiders, membership (tier)
    backtest.json        months replayed, the month the forecast follows, cluster stability
                         (backtest)
    replayed_insiders.csv the Insiders of every replayed month   (backtest)
    membership_changes.csv Insiders, joined, left per month      (backtest)
    membership_exits.parquet who left, with the change of their features (backtest)
    out_of_time.csv      what the groups chosen months ago bought since   (backtest)
    rule_capture.csv     next-91-day revenue share per rule and month     (backtest)
    forecast_errors.csv  the value model's forecast beside what followed, per month (backtest)
    calibration.csv      mean forecast and mean actual per decile, last complete month (backtest)
    report.html, .md     the nine questions answered, plots/*.png  (report)
    answers.csv          the answers' numbers               (report)
    forecasts.csv        expected revenue, next months      (report)
    insiders.csv         the Insiders: country, segment, status, since, value, reason (export)
    joined.csv, left.csv the month's add and remove lists, same columns   (export)
    facts.json           small facts of every stage so far (all stages)
    manifest.json        the run attempt and, per file, the stage, attempt and SHA-256

A run folder belongs to one run attempt at a time: ``ingest`` starts a new attempt
(:func:`begin_attempt`), and every stage seals the files it wrote with that attempt and their
digests (:func:`seal`). Files are written beside and renamed over (:mod:`insiders.artifacts`),
so a failed stage leaves the previous complete files; a failed rerun can still leave the
folder mixed (new lines, old segments), and :func:`check_one_attempt` refuses such a folder,
so the warehouse never loads one.
"""

from __future__ import annotations

import uuid
from typing import Any

from insiders import artifacts
from insiders.errors import RunFolderError

__all__ = ["FILES", "STAGE_FILES", "begin_attempt", "check_one_attempt", "path", "record_facts",
           "seal"]

FILES = {
    "raw_lines": "raw_lines.parquet",
    "quality": "quality.csv",
    "quality_lines": "quality_lines.parquet",
    "kept_lines": "kept_lines.parquet",
    "quarantine": "quarantine.csv",
    "features": "features.parquet",
    "spaces": "spaces.joblib",
    "embeddings": "embeddings.parquet",
    "scores": "model_scores.csv",
    "labels": "model_labels.parquet",
    "segments": "segments.parquet",
    "warmup": "membership_warmup.parquet",
    "warmup_features": "warmup_features.parquet",
    "profiles": "profiles.csv",
    "selection": "selection.json",
    "facts": "facts.json",
    "manifest": "manifest.json",
    "insiders_csv": "insiders.csv",
    "joined": "joined.csv",
    "left": "left.csv",
    "backtest": "backtest.json",
    "replayed_insiders": "replayed_insiders.csv",
    "membership_changes": "membership_changes.csv",
    "membership_exits": "membership_exits.parquet",
    "out_of_time": "out_of_time.csv",
    "rule_capture": "rule_capture.csv",
    "forecast_errors": "forecast_errors.csv",
    "calibration": "calibration.csv",
    "report": "report.html",
    "report_md": "report.md",
    "plot_embedding": "plots/embedding.png",
    "plot_features": "plots/features_by_segment.png",
    "plot_shares": "plots/shares.png",
    "plot_forecast": "plots/forecast.png",
    "plot_membership": "plots/membership.png",
    "plot_calibration": "plots/calibration.png",
    "answers": "answers.csv",
    "forecasts": "forecasts.csv",
}


def path(run_dir: str, name: str) -> str:
    """The URI of one of a run's files (see :data:`FILES`)."""
    return artifacts.join(run_dir, FILES[name])


def record_facts(run_dir: str, stage_facts: dict[str, Any]) -> dict[str, Any]:
    """Merge one stage's facts into the run's ``facts.json`` and return the stage's facts."""
    uri = path(run_dir, "facts")
    try:
        facts = artifacts.load_json(uri)
    except FileNotFoundError:
        facts = {}
    facts.update(stage_facts)
    artifacts.save_json(facts, uri)
    return stage_facts


#: The files each stage writes (those that exist are sealed; facts.json is every stage's).
STAGE_FILES: dict[str, tuple[str, ...]] = {
    "ingest": ("raw_lines",),
    "check_quality": ("quality", "quality_lines"),
    "filter_lines": ("kept_lines", "quarantine"),
    "features": ("features",),
    "embed": ("spaces", "embeddings"),
    "compare": ("scores", "labels"),
    "segments": ("segments", "selection"),
    "tier": ("segments", "profiles", "selection", "warmup", "warmup_features"),
    "backtest": ("backtest", "replayed_insiders", "membership_changes", "membership_exits",
                 "out_of_time", "rule_capture", "forecast_errors",
                 "calibration"),
    "report": ("report", "report_md", "answers", "forecasts", "plot_embedding", "plot_features",
               "plot_shares", "plot_forecast", "plot_membership",
               "plot_calibration"),
    "export_insiders": ("insiders_csv", "joined", "left"),
}


def _manifest(run_dir: str) -> dict[str, Any] | None:
    try:
        return artifacts.load_json(path(run_dir, "manifest"))
    except FileNotFoundError:
        return None


def begin_attempt(run_dir: str, run_id: str | None = None) -> str:
    """Start a new attempt of the run in its folder (the ``ingest`` stage); return its id."""
    attempt = f"{run_id or 'run'}:{uuid.uuid4().hex[:12]}"
    earlier = (_manifest(run_dir) or {}).get("files", {})  # kept: they say which attempt they are
    artifacts.save_json({"attempt": attempt, "run_id": run_id, "files": earlier},
                        path(run_dir, "manifest"))
    return attempt


def seal(run_dir: str, stage: str) -> None:
    """Record the files ``stage`` wrote: the current attempt and each file's SHA-256."""
    manifest = _manifest(run_dir)
    if manifest is None:
        raise RunFolderError(f"{run_dir}: no manifest.json, so no run attempt to record the "
                             f"{stage} stage's files under: run the month from ingest")
    files = manifest["files"]
    for name in STAGE_FILES.get(stage, ()):
        uri = path(run_dir, name)
        try:
            digest = artifacts.file_digest(uri)
        except FileNotFoundError:
            files.pop(name, None)
            continue
        files[name] = {"stage": stage, "attempt": manifest["attempt"], "sha256": digest}
    artifacts.save_json(manifest, path(run_dir, "manifest"))


def check_one_attempt(run_dir: str, names: tuple[str, ...], optional: tuple[str, ...] = ()) -> str:
    """Check that the files ``names`` (and ``optional`` ones, when present) were all written by
    the folder's current attempt and are unchanged since; return the attempt id.

    Raises:
        RunFolderError: a file is missing, from an earlier attempt (a rerun that failed before
            rewriting it) or changed since its stage ended; the message says which and what to do.
    """
    manifest = _manifest(run_dir)
    if manifest is None:
        raise RunFolderError(f"{run_dir}: no manifest.json: nothing says that its files belong to "
                             "one run. Rerun the month from ingest")
    attempt, files = manifest["attempt"], manifest["files"]
    problems = []
    for name in (*names, *optional):
        entry = files.get(name)
        if entry is None:
            if name in names:
                problems.append(f"{FILES[name]} was not written by the current attempt {attempt}")
            continue
        if entry["attempt"] != attempt:
            problems.append(f"{FILES[name]} is from the earlier attempt {entry['attempt']} "
                            f"(stage {entry['stage']} has not rerun since)")
        elif artifacts.file_digest(path(run_dir, name)) != entry["sha256"]:
            problems.append(f"{FILES[name]} changed after its stage {entry['stage']} ended")
    if problems:
        raise RunFolderError(f"{run_dir}: the files do not belong to one run: " + "; ".join(problems)
                             + ". Rerun the month from the first stage named (in Airflow: clear "
                             "that task and its downstream tasks)")
    return attempt
