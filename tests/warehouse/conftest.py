"""Fixtures of the warehouse tests: real monthly runs of the pipeline to load."""

from __future__ import annotations

import pytest

from insiders import pipeline
from insiders.config import RunConfig
from tests.conftest import REAL_DATA

MONTHS = {"2011-11": "2011-11-14", "2011-12": "2011-12-14"}
#: Two spaces; density models leave k empty: the load must still type it as an integer.
CONFIG = RunConfig.from_params({"spaces": ["features", "umap"],
                                "models": ["kmeans", "ward", "dbscan", "hdbscan"]})


@pytest.fixture(scope="session")
def run_dirs(tmp_path_factory) -> dict[str, str]:
    """Two monthly runs of the real pipeline (UMAP + ward, k = 8), November then December."""
    out = {}
    for month, reference in MONTHS.items():
        run_dir = str(tmp_path_factory.mktemp(f"run-{month}"))
        previous = out.get("2011-11")
        pipeline.run_all(str(REAL_DATA), run_dir, CONFIG, stages=pipeline.stages_through("tier"),
                         reference_date=reference,
                         previous_segments=pipeline.path(previous, "segments") if previous else None)
        out[month] = run_dir
    return out
