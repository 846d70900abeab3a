"""Fixtures of the warehouse tests: real monthly runs of the pipeline to load."""

from __future__ import annotations

import pytest

from insiders import pipeline
from insiders.compare import GridConfig
from tests.conftest import REAL_DATA

MONTHS = {"2011-11": "2011-11-14", "2011-12": "2011-12-14"}


@pytest.fixture(scope="session")
def run_dirs(tmp_path_factory) -> dict[str, str]:
    """Two monthly runs of the real pipeline (UMAP + ward, k = 8), November then December."""
    out = {}
    for month, reference in MONTHS.items():
        run_dir = str(tmp_path_factory.mktemp(f"run-{month}"))
        pipeline.ingest(str(REAL_DATA), run_dir)
        pipeline.filter_lines(run_dir)
        pipeline.features(run_dir, reference)
        pipeline.embed(run_dir, spaces=("features", "umap"))
        # density models leave k empty: the load must still type it as an integer
        pipeline.compare(run_dir, GridConfig(models=("kmeans", "ward", "dbscan", "hdbscan")))
        previous = out.get("2011-11")
        pipeline.select(run_dir, previous_segments=pipeline.path(previous, "segments") if previous else None)
        out[month] = run_dir
    return out
