"""The run folder holds the lines once: the filter writes an index into the lines read, and every
reader (pandas, DuckDB, Spark) gets the filter's kept lines back from it."""

from __future__ import annotations

import pandas as pd
import pytest

from insiders import artifacts, pipeline
from insiders.config import FilterConfig
from insiders.filters import filter_transactions
from insiders.kept_lines import load_lines
from insiders.quality import drop_lines
from insiders.run_folder import FILES, path
from tests.conftest import REAL_DATA


@pytest.fixture(scope="module", params=["exclude", "synthetic"])
def run_dir(request, tmp_path_factory) -> tuple[str, str]:
    """The bundled data through ingest, the quality checks and the filter, under a policy."""
    folder = str(tmp_path_factory.mktemp(f"run-{request.param}"))
    pipeline.ingest(str(REAL_DATA), folder)
    pipeline.check_quality(folder)
    pipeline.filter_lines(folder, FilterConfig(anonymous=request.param))
    return folder, request.param


def expected_lines(folder: str, anonymous: str) -> pd.DataFrame:
    """The filter's kept lines, computed again from the lines read."""
    raw = artifacts.load_frame(path(folder, "raw_lines"))
    passed = drop_lines(raw, artifacts.load_frame(path(folder, "quality_lines")))
    return filter_transactions(passed, FilterConfig(anonymous=anonymous)).lines


def test_the_folder_holds_an_index_not_a_second_copy(run_dir):
    folder, _ = run_dir
    kept = pd.read_parquet(path(folder, "kept_lines"))
    assert list(kept.columns) == ["line_index", "customer_id"]
    assert kept["line_index"].is_monotonic_increasing and kept["line_index"].is_unique
    parquet = sorted(p for p in FILES.values() if p.endswith(".parquet") and "lines" in p)
    assert parquet == ["kept_lines.parquet", "quality_lines.parquet", "raw_lines.parquet"]


def test_load_lines_gives_the_filters_lines(run_dir):
    folder, anonymous = run_dir
    expected = expected_lines(folder, anonymous)
    assert len(expected) > 300_000
    pd.testing.assert_frame_equal(load_lines(folder), expected)
    columns = ["customer_id", "invoice_date", "is_return"]
    pd.testing.assert_frame_equal(load_lines(folder, columns), expected[columns])
    if anonymous == "synthetic":
        assert expected["is_synthetic_customer"].sum() > 100_000
        assert expected["customer_id"].notna().all()


def test_load_lines_across_row_groups(tmp_path):
    """A folder of months is written a file at a time (a row group or more each): the kept
    lines are taken group by group and still equal the filter's."""
    import numpy as np
    import pyarrow.parquet as pq

    raw = pd.read_parquet(REAL_DATA)
    months = tmp_path / "months"
    months.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(raw)), 3)):
        raw.iloc[part].to_parquet(months / f"part-{i}.parquet")
    folder = str(tmp_path / "run")
    pipeline.ingest(str(months), folder)
    pipeline.check_quality(folder)
    pipeline.filter_lines(folder, FilterConfig(anonymous="synthetic"))
    assert pq.ParquetFile(path(folder, "raw_lines")).num_row_groups == 3
    expected = expected_lines(folder, "synthetic")
    pd.testing.assert_frame_equal(load_lines(folder), expected)
    pd.testing.assert_frame_equal(load_lines(folder, ["quantity"]), expected[["quantity"]])


def test_quality_and_filter_on_the_file_equal_them_on_the_frame(run_dir):
    """The run folder's stages run the rules in DuckDB over raw_lines.parquet in place; the
    same rules on the lines as a frame give the same counts, quarantine and index."""
    from insiders.filters import filter_index
    from insiders.quality import check_lines

    folder, anonymous = run_dir
    raw = artifacts.load_frame(path(folder, "raw_lines"))
    on_frame = check_lines(raw)
    on_file = check_lines(path(folder, "raw_lines"), memory_limit="500MB")
    pd.testing.assert_frame_equal(on_file.counts, on_frame.counts)
    pd.testing.assert_frame_equal(on_file.quarantined, on_frame.quarantined)
    pd.testing.assert_frame_equal(on_file.quarantined,
                                  artifacts.load_frame(path(folder, "quality_lines")))
    config = FilterConfig(anonymous=anonymous)
    kept, summary = filter_index(drop_lines(raw, on_frame.quarantined), config)
    passed = pd.Series(raw.index).drop(on_frame.quarantined["line_index"]).to_numpy()
    kept = kept.assign(line_index=passed[kept["line_index"].to_numpy()])
    pd.testing.assert_frame_equal(kept, artifacts.load_frame(path(folder, "kept_lines")))
    # the quarantine summary: the lines the reader set aside as not sales, then the filter's
    from insiders.filters import non_sale_counts

    written = artifacts.load_frame(path(folder, "quarantine"))
    set_aside = non_sale_counts(artifacts.load_json(path(folder, "facts"))["set_aside"])
    pd.testing.assert_frame_equal(written, pd.concat([set_aside, summary], ignore_index=True))


def test_features_read_in_place_equal_features_of_the_loaded_lines(run_dir):
    from insiders.features import build_customer_features

    folder, anonymous = run_dir
    facts = pipeline.features(folder, "2011-12-09")
    got = artifacts.load_frame(path(folder, "features"))
    assert facts["customers"] == len(got) > 4_000
    pd.testing.assert_frame_equal(got, build_customer_features(expected_lines(folder, anonymous),
                                                               "2011-12-09"))
