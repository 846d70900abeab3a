"""Dates as shops write them: compact ISO 8601 and epochs beside the text forms, never guessed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from insiders.ingest import IngestError, read_transactions

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"


def csv_of(tmp_path: Path, *dates: str) -> Path:
    path = tmp_path / "lines.csv"
    rows = [f"53636{i},85123A,MUG,6,{date},2.55,17850,United Kingdom" for i, date in enumerate(dates)]
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def dates_of(path: Path, **options) -> list[pd.Timestamp]:
    return read_transactions(path, **options)["invoice_date"].tolist()


def check(exc: IngestError, *parts: str) -> None:
    for part in parts:
        assert part in str(exc), f"{part!r} not in {exc}"


@pytest.mark.parametrize(("written", "expected"), [
    (("20240131", "20240229"), ("2024-01-31", "2024-02-29")),
    (("202401311205", "202402292359"), ("2024-01-31 12:05", "2024-02-29 23:59")),
    (("20240131120507", "20240229235959"), ("2024-01-31 12:05:07", "2024-02-29 23:59:59")),
    (("1706702707", "1709251199"), ("2024-01-31 12:05:07", "2024-02-29 23:59:59")),
    (("1706702707123", "1709251199000"), ("2024-01-31 12:05:07.123", "2024-02-29 23:59:59")),
])
def test_compact_iso_and_epochs_are_read_from_csv(tmp_path, written, expected):
    assert dates_of(csv_of(tmp_path, *written)) == [pd.Timestamp(e) for e in expected]


@pytest.mark.parametrize(("written", "expected"), [
    ("20000101", "2000-01-01"), ("20991231", "2099-12-31"),
    ("200001010000", "2000-01-01"), ("209912312359", "2099-12-31 23:59"),
    ("20000101000000", "2000-01-01"), ("20991231235959", "2099-12-31 23:59:59"),
    ("946684800", "2000-01-01"), ("4102444799", "2099-12-31 23:59:59"),
    ("946684800000", "2000-01-01"), ("999999999999", "2001-09-09 01:46:39.999"),
    ("4102444799999", "2099-12-31 23:59:59.999"),
])
def test_the_forms_do_not_overlap_at_the_edges_of_the_range(tmp_path, written, expected):
    """Every edge of every form is read one way: two readings would be refused."""
    assert dates_of(csv_of(tmp_path, written)) == [pd.Timestamp(expected)]


def test_parquet_and_excel_numbers_are_read(tmp_path):
    lines = read_transactions(csv_of(tmp_path, "20240131120507", "20240229235959"))
    expected = lines["invoice_date"].tolist()
    as_ms = lines.assign(invoice_date=lines["invoice_date"].astype("int64") // 10**6)
    assert as_ms["invoice_date"].dtype == "int64"
    as_ms.to_parquet(tmp_path / "ms.parquet", index=False)
    pd.testing.assert_frame_equal(read_transactions(tmp_path / "ms.parquet"), lines)
    as_seconds = lines.assign(invoice_date=lines["invoice_date"].astype("int64") / 10**9)  # floats
    as_seconds.to_parquet(tmp_path / "s.parquet", index=False)
    assert dates_of(tmp_path / "s.parquet") == expected
    compact = lines.assign(invoice_date=[20240131120507, 20240229235959])
    compact.to_excel(tmp_path / "compact.xlsx", index=False)
    assert dates_of(tmp_path / "compact.xlsx") == expected


def test_a_fractional_number_for_a_date_is_refused(tmp_path):
    lines = read_transactions(csv_of(tmp_path, "1706702707", "1709251199"))
    lines.assign(invoice_date=[1706702707.0, 1709251199.5]).to_parquet(tmp_path / "f.parquet", index=False)
    with pytest.raises(IngestError) as info:
        read_transactions(tmp_path / "f.parquet")
    check(info.value, "f.parquet", "a date written as a number that is not whole", "row 2",
          "column 'invoice_date'", "value 1709251199.5", "epoch_s")


def test_a_later_date_outside_the_range_is_refused_naming_the_form(tmp_path):
    path = csv_of(tmp_path, "20240131", "19991231")
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(info.value, str(path), "not a date in compact ISO 8601 (YYYYMMDD) between 2000-01-01 and "
          "2100-01-01, as the first date ('20240131') is", "row 2 (line 3 of the file)",
          "column 'InvoiceDate'", "value '19991231'", "date_format='%Y%m%d' (--date-format %Y%m%d)")
    assert dates_of(path, date_format="%Y%m%d") == [pd.Timestamp("2024-01-31"), pd.Timestamp("1999-12-31")]


def test_a_number_no_form_reads_is_refused_with_each_reading(tmp_path):
    path = csv_of(tmp_path, "5000000000", "1706702707")
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(info.value, "a number that is not a date between 2000-01-01 and 2100-01-01 in any form read",
          "as seconds since 1970-01-01 UTC it would be 2128-06-11", "row 1 (line 2 of the file)",
          "value '5000000000'", "compact ISO 8601 (YYYYMMDD", "'epoch_ms'")


def test_not_a_date_after_a_compact_one_is_refused(tmp_path):
    with pytest.raises(IngestError) as info:
        read_transactions(csv_of(tmp_path, "20240131", "20241301", "2024-02-01"))
    check(info.value, "not a date in compact ISO 8601 (YYYYMMDD)", "row 2", "value '20241301'")


def test_epochs_of_two_units_in_one_column_are_refused(tmp_path):
    with pytest.raises(IngestError) as info:
        read_transactions(csv_of(tmp_path, "1706702707", "1706702707123"))
    check(info.value, "not a date in seconds since 1970-01-01 UTC", "row 2", "value '1706702707123'",
          "as milliseconds since 1970-01-01 UTC it would be 2024-01-31 12:05:07.123",
          "date_format='epoch_ms' (--date-format epoch_ms)")


def test_the_epoch_unit_can_be_named_and_is_checked(tmp_path):
    seconds = csv_of(tmp_path, "1706702707", "1709251199")
    assert dates_of(seconds, date_format="epoch_s") == dates_of(seconds)
    with pytest.raises(IngestError) as info:
        read_transactions(seconds, date_format="epoch_ms")
    check(info.value, "not a date in milliseconds since 1970-01-01 UTC between 2000-01-01 and "
          "2100-01-01, as asked (date_format='epoch_ms')", "row 1", "value '1706702707'",
          "as seconds since 1970-01-01 UTC it would be 2024-01-31 12:05:07", "--date-format epoch_s")


def test_a_column_two_forms_read_is_refused_naming_both(tmp_path, monkeypatch):
    """No two forms overlap within the plausible years; were the range wider, 20240131 would
    also be seconds since 1970 (1970-08-23), and the column is refused rather than guessed."""
    monkeypatch.setattr("insiders.ingest.dates.PLAUSIBLE",
                        (pd.Timestamp("1970-01-01"), pd.Timestamp("2100-01-01")))
    path = csv_of(tmp_path, "20240131", "20240201")
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(info.value, "the dates can be read two ways", "2024-01-31 00:00:00 as compact ISO 8601 "
          "(YYYYMMDD)", "1970-08-23", "as seconds since 1970-01-01 UTC", "row 1", "value '20240131'",
          "date_format='%Y%m%d' or 'epoch_s' (--date-format %Y%m%d or epoch_s)")
    assert dates_of(path, date_format="%Y%m%d") == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-01")]


def test_an_unknown_numeric_date_suggests_the_number_forms(tmp_path):
    with pytest.raises(IngestError) as info:
        read_transactions(csv_of(tmp_path, "1706702707.5"))
    check(info.value, "not a date in any known format", "value '1706702707.5'", "--date-format",
          "YYYYMMDD", "date_format='epoch_s' or 'epoch_ms'")


def test_text_dates_are_read_as_before(tmp_path):
    written = ("29-Nov-16", "2016-11-30 10:00:00", "01/12/2016 08:26")
    assert dates_of(csv_of(tmp_path, written[0], "30-Nov-16")) == [pd.Timestamp("2016-11-29"),
                                                                     pd.Timestamp("2016-11-30")]
    assert dates_of(csv_of(tmp_path, written[1])) == [pd.Timestamp("2016-11-30 10:00")]
    with pytest.raises(IngestError):
        read_transactions(csv_of(tmp_path, written[2]))  # day or month first: not told
