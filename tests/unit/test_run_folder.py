"""The run folder holds one run attempt: a failed rerun never leaves a folder that loads."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from insiders import artifacts, pipeline, run_folder
from insiders.config import RunConfig
from insiders.errors import InputError, RunFolderError
from insiders.warehouse import LOADED_FILES
from tests.conftest import REAL_DATA

#: One light configuration: the raw features, K-Means, the cluster rule.
CONFIG = RunConfig.from_params({"spaces": ["features"], "models": ["kmeans"], "space": "features",
                                "model": "kmeans", "k": 4, "k_max_tried": 5,
                                "insiders_rule": "cluster"})
LOADED = LOADED_FILES  # what a warehouse load checks


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """Two months of the bundled data, and the same with one more month."""
    raw = pd.read_parquet(REAL_DATA)
    folder = tmp_path_factory.mktemp("sources")
    out = {}
    for name, end in (("short", "2011-03-01"), ("long", "2011-04-01")):
        part = raw[(raw["InvoiceDate"] >= "2011-01-01") & (raw["InvoiceDate"] < end)]
        out[name] = folder / f"{name}.parquet"
        part.to_parquet(out[name])
    bad = folder / "bad.csv"
    bad.write_text("InvoiceNo,Oops\n1,2\n")
    out["bad"] = bad
    return out


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _run(source: Path, run_dir: Path, **inputs) -> None:
    pipeline.run_all(str(source), str(run_dir), CONFIG, stages=pipeline.stages_through("tier"),
                     **inputs)


def test_a_complete_run_is_one_attempt(sources, tmp_path):
    _run(sources["short"], tmp_path)
    attempt = run_folder.check_one_attempt(str(tmp_path), LOADED)
    manifest = artifacts.load_json(tmp_path / "manifest.json")
    assert {entry["attempt"] for entry in manifest["files"].values()} == {attempt}
    assert manifest["files"]["features"]["stage"] == "features"
    assert not list(tmp_path.glob("*.partial"))


def test_bad_input_on_a_rerun_leaves_the_folder_as_it_was(sources, tmp_path):
    _run(sources["short"], tmp_path)
    before = _digests(tmp_path)
    with pytest.raises(InputError, match="unknown column"):
        pipeline.run_stage("ingest", str(tmp_path), CONFIG, source=str(sources["bad"]))
    assert _digests(tmp_path) == before
    run_folder.check_one_attempt(str(tmp_path), LOADED)  # still the last good run, loadable


def test_a_bad_file_late_in_a_folder_leaves_the_folder_as_it_was(sources, tmp_path):
    """Ingest writes a folder's files one at a time: the good ones before the bad one are
    written beside and thrown away, the run folder untouched."""
    run_dir, months = tmp_path / "run", tmp_path / "months"
    _run(sources["short"], run_dir)
    before = _digests(run_dir)
    months.mkdir()
    (months / "2011-01.parquet").write_bytes(sources["short"].read_bytes())
    (months / "2011-02.csv").write_text(sources["bad"].read_text())
    with pytest.raises(InputError, match=r"2011-02\.csv.*unknown column"):
        pipeline.run_stage("ingest", str(run_dir), CONFIG, source=str(months))
    assert _digests(run_dir) == before and not list(run_dir.glob("*.partial"))
    run_folder.check_one_attempt(str(run_dir), LOADED)


def test_a_rerun_that_fails_half_way_is_refused_by_the_load_check(sources, tmp_path):
    _run(sources["short"], tmp_path)
    old_features = (tmp_path / "features.parquet").read_bytes()
    # a new attempt reads newer data, then fails in features (a reference date far after it)
    with pytest.raises(InputError, match="days before the reference date"):
        _run(sources["long"], tmp_path, reference_date="2012-06-01")
    assert (tmp_path / "features.parquet").read_bytes() == old_features  # previous file intact
    with pytest.raises(RunFolderError) as refused:
        run_folder.check_one_attempt(str(tmp_path), LOADED)
    message = str(refused.value)
    assert "features.parquet is from the earlier attempt" in message
    assert "segments.parquet is from the earlier attempt" in message
    assert "Rerun the month" in message
    _run(sources["long"], tmp_path)  # the whole rerun makes it one attempt again
    run_folder.check_one_attempt(str(tmp_path), LOADED)


def test_a_file_changed_after_its_stage_is_refused(sources, tmp_path):
    _run(sources["short"], tmp_path)
    segments = pd.read_parquet(tmp_path / "segments.parquet")
    segments.iloc[:10].to_parquet(tmp_path / "segments.parquet")
    with pytest.raises(RunFolderError, match=r"segments\.parquet changed after its stage tier"):
        run_folder.check_one_attempt(str(tmp_path), LOADED)


def test_a_folder_without_a_manifest_is_refused(tmp_path):
    with pytest.raises(RunFolderError, match=r"no manifest\.json"):
        run_folder.check_one_attempt(str(tmp_path), LOADED)


def test_a_write_that_fails_leaves_the_previous_file(tmp_path):
    uri = tmp_path / "t.parquet"
    artifacts.save_frame(pd.DataFrame({"a": [1, 2]}), uri)
    before = uri.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - any failure of the writer
        artifacts.save_frame(pd.DataFrame({"a": [object(), 2]}), uri)
    assert uri.read_bytes() == before and not list(tmp_path.glob("*.partial"))
