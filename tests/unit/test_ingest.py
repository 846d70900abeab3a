"""Ingest: both column vocabularies, the shop's CSV export, and every bad-input message."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from insiders.ingest import IngestError, read_transactions
from insiders.schema import COLUMNS

UCI_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
GOOD_ROWS = [
    "536365,85123A,WHITE HANGING HEART,6,01-Dec-10,2.55,17850,United Kingdom",
    "536366,22633,HAND WARMER,6,01-Dec-10,1.85,,United Kingdom",
    "C536379,D,Discount,-1,01-Dec-10,27.5,14527,United Kingdom",
]


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def csv_with(tmp_path: Path, *rows: str, header: str = UCI_HEADER) -> Path:
    return write(tmp_path, "lines.csv", "\n".join([header, *rows]) + "\n")


def test_uci_csv_maps_onto_the_typed_schema(tmp_path):
    lines = read_transactions(csv_with(tmp_path, *GOOD_ROWS))
    assert list(lines.columns) == list(COLUMNS)
    assert lines["quantity"].dtype == "int64"
    assert lines["unit_price"].dtype == "float64"
    assert str(lines["customer_id"].dtype) == "Int64"
    assert lines["invoice_date"].iloc[0] == pd.Timestamp("2010-12-01")
    assert lines["customer_id"].isna().tolist() == [False, True, False]
    assert lines["quantity"].tolist() == [6, 6, -1]


def test_online_retail_ii_names_give_the_same_lines(tmp_path):
    uci = read_transactions(csv_with(tmp_path, *GOOD_ROWS))
    header_ii = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country"
    path_ii = write(tmp_path, "ii.csv", "\n".join([header_ii, *GOOD_ROWS]) + "\n")
    pd.testing.assert_frame_equal(read_transactions(path_ii), uci)


def test_shop_export_latin1_with_trailing_empty_column(tmp_path):
    text = UCI_HEADER + ",\n536365,85123A,CAFÉ CRÈME MUG,6,29-Nov-16,2.55,17850,United Kingdom,\n"
    lines = read_transactions(write(tmp_path, "Ecommerce.csv", text, encoding="latin-1"))
    assert list(lines.columns) == list(COLUMNS)
    assert lines["description"].iloc[0] == "CAFÉ CRÈME MUG"
    assert lines["invoice_date"].iloc[0] == pd.Timestamp("2016-11-29")


def test_excel_and_parquet_read_like_csv(tmp_path):
    from_csv = read_transactions(csv_with(tmp_path, *GOOD_ROWS))
    raw = pd.read_csv(csv_with(tmp_path, *GOOD_ROWS), dtype={"InvoiceNo": str})
    raw["InvoiceDate"] = pd.to_datetime(raw["InvoiceDate"], format="%d-%b-%y")
    raw.to_excel(tmp_path / "lines.xlsx", index=False)
    raw.to_parquet(tmp_path / "lines.parquet", index=False)
    pd.testing.assert_frame_equal(read_transactions(tmp_path / "lines.xlsx"), from_csv)
    pd.testing.assert_frame_equal(read_transactions(tmp_path / "lines.parquet"), from_csv)


def test_file_url_is_read_through_fsspec(tmp_path):
    path = csv_with(tmp_path, *GOOD_ROWS)
    assert len(read_transactions(f"file://{path}")) == 3


def check(exc: IngestError, *parts: str) -> None:
    message = str(exc)
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


def test_unknown_column_is_named(tmp_path):
    path = csv_with(tmp_path, *(r + ",5%" for r in GOOD_ROWS), header=UCI_HEADER + ",Discount")
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(info.value, str(path), "unknown column", "column 'Discount'", "Rename it")


def test_missing_column_is_named(tmp_path):
    header = UCI_HEADER.replace(",Country", "")
    path = csv_with(tmp_path, *(r.rsplit(",", 1)[0] for r in GOOD_ROWS), header=header)
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(info.value, str(path), "missing column(s) country")


def test_bad_date_names_row_column_and_value(tmp_path):
    rows = [*GOOD_ROWS, "536367,22632,HAND WARMER,6,31-Foo-10,1.85,13047,France"]
    path = csv_with(tmp_path, *rows)
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(
        info.value,
        str(path),
        "not a date",
        "row 4 (line 5 of the file)",
        "column 'InvoiceDate'",
        "value '31-Foo-10'",
        "--date-format",
    )
    assert info.value.column == "InvoiceDate"


def test_bad_number_names_row_column_and_value(tmp_path):
    rows = [GOOD_ROWS[0], "536367,22632,HAND WARMER,two,01-Dec-10,1.85,13047,France"]
    with pytest.raises(IngestError) as info:
        read_transactions(csv_with(tmp_path, *rows))
    check(info.value, "not a number", "row 2 (line 3 of the file)", "column 'Quantity'", "value 'two'")


def test_fractional_quantity_is_rejected(tmp_path):
    rows = [GOOD_ROWS[0], "536367,22632,HAND WARMER,1.5,01-Dec-10,1.85,13047,France"]
    with pytest.raises(IngestError) as info:
        read_transactions(csv_with(tmp_path, *rows))
    check(info.value, "not a whole number", "row 2", "column 'Quantity'")


def test_empty_required_value_is_named(tmp_path):
    rows = [GOOD_ROWS[0], "536367,,HAND WARMER,1,01-Dec-10,1.85,13047,France"]
    with pytest.raises(IngestError) as info:
        read_transactions(csv_with(tmp_path, *rows))
    check(info.value, "empty value in a required column", "row 2", "column 'StockCode'")


def test_wrong_explicit_encoding_names_the_line(tmp_path):
    text = UCI_HEADER + "\n" + "\n".join(GOOD_ROWS) + "\n536368,1,CAFÉ,1,01-Dec-10,1,1,France\n"
    path = write(tmp_path, "latin.csv", text, encoding="latin-1")
    with pytest.raises(IngestError) as info:
        read_transactions(path, encoding="utf-8")
    check(info.value, "cannot be decoded as utf-8", "line 5", "--encoding latin-1")


def test_utf16_file_is_called_out(tmp_path):
    path = write(tmp_path, "utf16.csv", UCI_HEADER + "\n" + GOOD_ROWS[0] + "\n", encoding="utf-16")
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(info.value, "NUL bytes", "UTF-16")


@pytest.mark.parametrize("content", ["", "\n\n", UCI_HEADER + "\n"])
def test_empty_file_or_header_only(tmp_path, content):
    path = write(tmp_path, "empty.csv", content)
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(info.value, str(path), "no lines" if content.startswith("Inv") else "empty")


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(IngestError, match="file not found"):
        read_transactions(tmp_path / "nope.csv")
    with pytest.raises(IngestError, match="unknown file type"):
        read_transactions(write(tmp_path, "lines.json", "{}"))


def test_corrupt_parquet(tmp_path):
    path = write(tmp_path, "broken.parquet", "this is not parquet")
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(info.value, str(path), "cannot be read as Parquet")


def test_excel_error_names_the_sheet_row(tmp_path):
    raw = pd.DataFrame(
        {
            "InvoiceNo": ["1", "2"],
            "StockCode": ["A1", "A2"],
            "Description": ["a", "b"],
            "Quantity": [1, 2],
            "InvoiceDate": ["2011-01-01", "not a date"],
            "UnitPrice": [1.0, 2.0],
            "CustomerID": [1, 2],
            "Country": ["France", "France"],
        }
    )
    raw.to_excel(tmp_path / "bad.xlsx", index=False)
    with pytest.raises(IngestError) as info:
        read_transactions(tmp_path / "bad.xlsx")
    check(info.value, "row 2 (sheet row 3)", "column 'InvoiceDate'", "'not a date'")
