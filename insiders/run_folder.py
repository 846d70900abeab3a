"""The run folder: one folder (path or URL) per run, its files named here.

A leaf module (it imports only :mod:`insiders.artifacts`), so the warehouse, the report and
the Airflow plugin can find a run's files without importing the pipeline's stages.

Run folder layout::

    raw_lines.parquet    every line read, in the one schema (ingest)
    lines.parquet        kept transaction lines            (filter)
    quarantine.csv       lines removed or flagged per rule (filter)
    features.parquet     one row per customer              (features)
    spaces.joblib        fitted scaler and spaces          (embed)
    embeddings.parquet   2-D coordinates of every space    (embed)
    model_scores.csv     the whole comparison table        (compare)
    model_labels.parquet every candidate's clusters        (compare)
    segments.parquet     segment, Insiders flag, value and reason (select)
    membership_warmup.parquet  the tier replayed over earlier months, with no last month (select)
    profiles.csv         per-segment profile               (select)
    selection.json       policy, chosen model, Insiders    (select)
    report.html, .md     the nine questions answered, plots/  (report)
    answers.csv          the answers' numbers               (report)
    forecasts.csv        expected revenue, next months      (report)
    insiders.csv         the Insiders: country, segment, status, since, value, reason (export)
    joined.csv, left.csv the month's add and remove lists, same columns   (export)
    facts.json           small facts of every stage so far (all stages)
"""

from __future__ import annotations

from typing import Any

from insiders import artifacts

__all__ = ["FILES", "path", "record_facts"]

FILES = {
    "raw_lines": "raw_lines.parquet",
    "lines": "lines.parquet",
    "quarantine": "quarantine.csv",
    "features": "features.parquet",
    "spaces": "spaces.joblib",
    "embeddings": "embeddings.parquet",
    "scores": "model_scores.csv",
    "labels": "model_labels.parquet",
    "segments": "segments.parquet",
    "warmup": "membership_warmup.parquet",
    "profiles": "profiles.csv",
    "selection": "selection.json",
    "facts": "facts.json",
    "insiders_csv": "insiders.csv",
    "joined": "joined.csv",
    "left": "left.csv",
    "report": "report.html",
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
