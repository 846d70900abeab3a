"""The real report's run folder, built once per session and shared by the report's tests."""

from __future__ import annotations

import pytest

from insiders import pipeline
from insiders.config import RunConfig
from tests.conftest import REAL_DATA


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A whole run on the bundled data as of 2011-12-14 (two spaces, two models, three
    replayed months): its folder, with report.md, report.html and plots/."""
    out = str(tmp_path_factory.mktemp("report-run"))
    config = RunConfig.from_params({"spaces": ["features", "umap"], "models": ["kmeans", "ward"],
                                    "replay_months": 3})
    pipeline.run_all(str(REAL_DATA), out, config, reference_date="2011-12-14")
    return out
