"""The features' one SQL definition: on DuckDB it gives the former pandas features to 1e-9 on
the bundled data, and Spark (local mode) gives DuckDB's."""

from __future__ import annotations

import pandas as pd
import pytest

from insiders import feature_sql
from insiders.feature_sql import customer_features, feature_query, lines_summary
from insiders.features import build_customer_features, last_purchase_date
from insiders.filters import FilterConfig, filter_transactions
from tests.conftest import make_lines
from tests.reference_features import pandas_customer_features

#: Two reference days: the data's last purchase, and one mid-year (lines after it ignored).
REFERENCES = (None, "2011-06-30")
TOLERANCE = {"check_exact": False, "rtol": 1e-9, "atol": 1e-9}


@pytest.fixture(scope="module")
def kept_lines(real_lines) -> pd.DataFrame:
    return filter_transactions(real_lines, FilterConfig()).lines


@pytest.fixture(scope="module")
def kept_parquet(kept_lines, tmp_path_factory) -> str:
    """The bundled data after the filter stage, as the run folder holds it."""
    path = tmp_path_factory.mktemp("lines") / "lines.parquet"
    kept_lines.to_parquet(path, index=False)
    return str(path)


@pytest.mark.parametrize("reference", REFERENCES)
def test_duckdb_gives_the_pandas_features_on_the_bundled_data(kept_lines, kept_parquet, reference):
    reference = reference or last_purchase_date(kept_lines)
    expected = pandas_customer_features(kept_lines, reference)
    from_frame = build_customer_features(kept_lines, reference)
    from_file = customer_features(kept_parquet, reference, memory_limit="1GB")
    assert len(expected) > 2_000  # thousands of customers, not a handful
    pd.testing.assert_frame_equal(from_frame, expected, **TOLERANCE)
    pd.testing.assert_frame_equal(from_file, expected, **TOLERANCE)
    pd.testing.assert_frame_equal(from_file, from_frame)  # in place or in memory: identical


def test_synthetic_customers_and_study_count(real_lines):
    kept = filter_transactions(real_lines, FilterConfig(anonymous="synthetic")).lines
    reference = last_purchase_date(kept)
    got = build_customer_features(kept, reference)
    assert len(got) == 5_695
    pd.testing.assert_frame_equal(got, pandas_customer_features(kept, reference), **TOLERANCE)


def test_duckdb_features_do_not_depend_on_line_order(kept_lines):
    reference = last_purchase_date(kept_lines)
    shuffled = kept_lines.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(build_customer_features(shuffled, reference),
                                  build_customer_features(kept_lines, reference))


@pytest.fixture(scope="module")
def spark():
    session = feature_sql.spark_session("local[1]")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_local_gives_duckdb_features_on_the_bundled_data(spark, kept_lines, kept_parquet):
    for reference in REFERENCES:
        reference = reference or last_purchase_date(kept_lines)
        on_duckdb = customer_features(kept_parquet, reference)
        on_spark = customer_features(kept_parquet, reference, engine="spark",
                                     spark_master="local[1]")
        pd.testing.assert_frame_equal(on_spark, on_duckdb, **TOLERANCE)
    assert lines_summary(kept_parquet, engine="spark", spark_master="local[1]") == \
        lines_summary(kept_parquet)


# -- hand-made lines: quick ----------------------------------------------------------------

LINES = filter_transactions(make_lines([
    ("A", "X1", 2, "2011-01-01 09:00", 1.5, 1, "UK"),
    ("A", "Y1", 1, "2011-01-01 09:00", 10.0, 1, "UK"),
    ("B", "X1", 3, "2011-01-05 23:59", 2.0, 1, "UK"),
    ("CC", "X1", -1, "2011-01-06 08:00", 2.0, 1, "UK"),
    ("D", "Z1", 5, "2011-01-09 12:00", 1.0, 2, "UK"),
    ("E", "Z1", 1, "2011-02-09 12:00", 1.0, 2, "UK"),
])).lines


def test_the_dialects_differ_in_the_day_number_only():
    duck = feature_query("t", "2011-01-10", dialect="duckdb").splitlines()
    spark = feature_query("t", "2011-01-10", dialect="spark").splitlines()
    differ = [(a, b) for a, b in zip(duck, spark, strict=True) if a != b]
    assert len(differ) == 1
    assert "date_diff" in differ[0][0] and "unix_date" in differ[0][1]
    with pytest.raises(ValueError, match="unknown SQL dialect"):
        feature_query("t", "2011-01-10", dialect="postgres")


def test_parts_in_a_folder_or_a_glob_give_the_frames_features(tmp_path):
    folder = tmp_path / "lines.parquet"
    folder.mkdir()
    for month, part in LINES.groupby(LINES["invoice_date"].dt.month):
        part.to_parquet(folder / f"part-{month}.parquet", index=False)
    expected = build_customer_features(LINES, "2011-03-01")
    pd.testing.assert_frame_equal(customer_features(str(folder), "2011-03-01"), expected)
    pd.testing.assert_frame_equal(customer_features(f"{folder}/part-*.parquet", "2011-03-01"),
                                  expected)
    pd.testing.assert_frame_equal(customer_features(f"file://{folder}", "2011-03-01"), expected)


def test_a_url_is_read_through_fsspec():
    import fsspec

    fs = fsspec.filesystem("memory")
    with fs.open("/engine-test/lines.parquet", "wb") as handle:
        LINES.to_parquet(handle, index=False)
    got = customer_features("memory://engine-test/lines.parquet", "2011-01-10")
    pd.testing.assert_frame_equal(got, build_customer_features(LINES, "2011-01-10"))
    summary = lines_summary("memory://engine-test/lines.parquet")
    assert summary == {"lines": 6, "first_day": pd.Timestamp("2011-01-01"),
                       "last_purchase_day": pd.Timestamp("2011-02-09")}


def test_a_run_folder_at_a_url_joins_the_lines_read_and_the_kept_index():
    """Both files on one fsspec file system (registered with DuckDB once), as on S3."""
    import fsspec

    raw = LINES.drop(columns=["is_synthetic_customer", "is_return"])
    fs = fsspec.filesystem("memory")
    with fs.open("/engine-run/raw_lines.parquet", "wb") as handle:
        raw.to_parquet(handle, index=False)
    with fs.open("/engine-run/kept_lines.parquet", "wb") as handle:
        filter_transactions(raw).kept.iloc[1:].to_parquet(handle, index=False)  # one line less
    where = {"kept": "memory://engine-run/kept_lines.parquet"}
    got = customer_features("memory://engine-run/raw_lines.parquet", "2011-01-10", **where)
    pd.testing.assert_frame_equal(got, build_customer_features(LINES.iloc[1:], "2011-01-10"))
    assert lines_summary("memory://engine-run/raw_lines.parquet", **where)["lines"] == 5


def test_memory_limit_and_engine_are_checked():
    with pytest.raises(ValueError, match="memory limit must look like"):
        customer_features(LINES, "2011-01-10", memory_limit="3GB'; DROP")
    with pytest.raises(ValueError, match="unknown feature engine"):
        customer_features(LINES, "2011-01-10", engine="polars")
    from insiders.config import RunConfig

    with pytest.raises(ValueError, match="feature_engine must be one of"):
        RunConfig.from_params({"feature_engine": "pandas"})
    with pytest.raises(ValueError, match="duckdb_memory_limit must look like"):
        RunConfig.from_params({"duckdb_memory_limit": "lots"})


def test_features_stage_reads_the_run_folders_lines_in_place(tmp_path):
    from insiders import artifacts, pipeline
    from insiders.config import FeatureEngineConfig
    from insiders.run_folder import path

    run_dir = str(tmp_path / "run")
    raw = LINES.drop(columns=["is_synthetic_customer", "is_return"])
    result = filter_transactions(raw)
    artifacts.save_frame(raw, path(run_dir, "raw_lines"), index=False)
    artifacts.save_frame(result.kept, path(run_dir, "kept_lines"), index=False)
    facts = pipeline.features(run_dir, "2011-01-10",
                              engine=FeatureEngineConfig(memory_limit="200MB"))
    assert facts["customers"] == 2 and facts["feature_engine"] == "duckdb"
    pd.testing.assert_frame_equal(artifacts.load_frame(path(run_dir, "features")),
                                  pandas_customer_features(LINES, "2011-01-10"), **TOLERANCE)
    with pytest.raises(ValueError, match="days before the reference date"):
        pipeline.features(run_dir, "2011-06-01")


def test_features_stage_on_spark_writes_duckdbs_features(spark, real_lines, kept_lines, tmp_path):
    """The stage reads the lines read and the filter's index into them (the bundled data, the
    synthetic policy: ids made up for anonymous lines), joined in the engine."""
    from insiders import artifacts, pipeline
    from insiders.config import FeatureEngineConfig
    from insiders.run_folder import path

    result = filter_transactions(real_lines, FilterConfig(anonymous="synthetic"))
    folders = {engine: str(tmp_path / engine) for engine in ("duckdb", "spark")}
    for engine, run_dir in folders.items():
        artifacts.save_frame(real_lines, path(run_dir, "raw_lines"), index=False)
        artifacts.save_frame(result.kept, path(run_dir, "kept_lines"), index=False)
        facts = pipeline.features(run_dir, "2011-12-09", engine=FeatureEngineConfig(engine),
                                  spark_master="local[1]")
        assert facts["feature_engine"] == engine
    tables = {e: artifacts.load_frame(path(d, "features")) for e, d in folders.items()}
    pd.testing.assert_frame_equal(tables["spark"], tables["duckdb"], **TOLERANCE)
    pd.testing.assert_frame_equal(tables["duckdb"], build_customer_features(result.lines, "2011-12-09"))
    assert (tables["duckdb"].index >= FilterConfig().synthetic_id_start).sum() > 1_000
