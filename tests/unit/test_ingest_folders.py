"""Sources that are a folder or a glob of monthly files, as shops export them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from insiders.ingest import IngestError, read_transactions
from tests.conftest import REAL_DATA

UCI_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
JANUARY = ["536365,85123A,WHITE HANGING HEART,6,01-Jan-11,2.55,17850,United Kingdom",
           "536366,22633,HAND WARMER,6,02-Jan-11,1.85,,United Kingdom"]
FEBRUARY = ["536400,22633,HAND WARMER,2,01-Feb-11,1.85,17850,United Kingdom",
            "C536401,22633,HAND WARMER,-1,03-Feb-11,1.85,17850,United Kingdom"]


def write_csv(path: Path, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([UCI_HEADER, *rows]) + "\n")
    return path


def split_by_month(raw: pd.DataFrame, folder: Path, suffix: str = "parquet") -> Path:
    """The raw file as one file per month, named like shops' exports (2011-01.parquet)."""
    folder.mkdir(parents=True)
    month = raw["InvoiceDate"].dt.strftime("%Y-%m")
    for name, part in raw.groupby(month, sort=True):
        part.to_parquet(folder / f"{name}.{suffix}", index=False)
    return folder


def test_bundled_data_as_monthly_files_reads_like_the_single_file(tmp_path, real_lines):
    raw = pd.read_parquet(REAL_DATA)
    folder = split_by_month(raw, tmp_path / "exports")
    assert len(list(folder.iterdir())) == 13
    from_folder = read_transactions(folder)
    from_glob = read_transactions(f"{folder}/2011-*.parquet")
    # months in order of their names: the same lines in the same order as the one file
    pd.testing.assert_frame_equal(from_folder, real_lines)
    expected_2011 = real_lines[real_lines["invoice_date"] >= "2011-01-01"].reset_index(drop=True)
    pd.testing.assert_frame_equal(from_glob, expected_2011)


def test_csv_months_in_a_folder_and_a_glob(tmp_path):
    write_csv(tmp_path / "shop" / "2011-01.csv", JANUARY)
    write_csv(tmp_path / "shop" / "2011-02.csv", FEBRUARY)
    (tmp_path / "shop" / "_SUCCESS").write_text("")
    (tmp_path / "shop" / ".2011-02.csv.crc").write_text("x")
    one = write_csv(tmp_path / "one.csv", JANUARY + FEBRUARY)
    expected = read_transactions(one)
    pd.testing.assert_frame_equal(read_transactions(tmp_path / "shop"), expected)
    pd.testing.assert_frame_equal(read_transactions(f"{tmp_path}/shop/*.csv"), expected)
    pd.testing.assert_frame_equal(read_transactions(f"file://{tmp_path}/shop"), expected)


def test_a_spark_style_parquet_folder_of_parts(tmp_path):
    lines = read_transactions(write_csv(tmp_path / "one.csv", JANUARY + FEBRUARY))
    folder = tmp_path / "lines.parquet"
    folder.mkdir()
    lines.iloc[:2].to_parquet(folder / "part-00000.snappy.parquet", index=False)
    lines.iloc[2:].to_parquet(folder / "part-00001.snappy.parquet", index=False)
    (folder / "_SUCCESS").write_text("")
    pd.testing.assert_frame_equal(read_transactions(folder), lines)


def test_a_folder_on_an_fsspec_url():
    import fsspec

    fs = fsspec.filesystem("memory")
    for name, rows in (("2011-01.csv", JANUARY), ("2011-02.csv", FEBRUARY)):
        with fs.open(f"/ingest-folders/{name}", "w") as handle:
            handle.write("\n".join([UCI_HEADER, *rows]) + "\n")
    got = read_transactions("memory://ingest-folders")
    assert len(got) == 4
    assert got["invoice_date"].dt.month.tolist() == [1, 1, 2, 2]


def test_a_bad_value_names_the_file_in_the_folder_and_its_row(tmp_path):
    write_csv(tmp_path / "shop" / "2011-01.csv", JANUARY)
    bad = write_csv(tmp_path / "shop" / "2011-02.csv",
                    [FEBRUARY[0], FEBRUARY[1].replace("-1,", "-1.5,")])
    with pytest.raises(IngestError) as info:
        read_transactions(tmp_path / "shop")
    assert info.value.source == str(bad)
    assert info.value.column == "Quantity" and info.value.row == "row 2 (line 3 of the file)"
    assert str(bad) in str(info.value)


def test_empty_folder_and_glob_without_match_are_named(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.json").write_text("{}")
    with pytest.raises(IngestError, match="is a folder, not a file, and holds no data file"):
        read_transactions(tmp_path / "empty")
    with pytest.raises(IngestError, match="no file matches the pattern"):
        read_transactions(f"{tmp_path}/empty/*.parquet")
