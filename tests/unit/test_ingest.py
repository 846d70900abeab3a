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


def _yearly_workbook(tmp_path: Path, second_header: dict | None = None) -> tuple[Path, pd.DataFrame]:
    """Online Retail II's layout: one sheet per year, the same header on each (or, with
    ``second_header``, the second sheet's columns renamed)."""
    raw = pd.read_csv(csv_with(tmp_path, *GOOD_ROWS), dtype={"InvoiceNo": str})
    raw["InvoiceDate"] = pd.to_datetime(raw["InvoiceDate"], format="%d-%b-%y")
    later = raw.assign(InvoiceDate=raw["InvoiceDate"] + pd.DateOffset(years=1))
    path = tmp_path / "online_retail_II.xlsx"
    with pd.ExcelWriter(path) as book:
        raw.to_excel(book, sheet_name="Year 2010-2011", index=False)
        later.rename(columns=second_header or {}).to_excel(book, sheet_name="Year 2011-2012",
                                                           index=False)
        pd.DataFrame().to_excel(book, sheet_name="Notes", index=False)  # empty: skipped
    return path, raw


def test_a_workbook_of_yearly_sheets_is_read_whole(tmp_path):
    path, raw = _yearly_workbook(tmp_path)
    lines = read_transactions(path)
    assert len(lines) == 2 * len(raw)  # never the first sheet alone
    assert lines["invoice_date"].dt.year.value_counts().sort_index().tolist() == [3, 3]
    one = read_transactions(path, sheet="Year 2011-2012")
    assert len(one) == len(raw) and (one["invoice_date"].dt.year == 2011).all()


def test_a_workbook_whose_sheets_differ_is_refused_naming_them(tmp_path):
    path, _ = _yearly_workbook(tmp_path, second_header={"UnitPrice": "Price each"})
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(info.value, "'Year 2010-2011'", "'Year 2011-2012'", "do not share one header", "--sheet")
    with pytest.raises(IngestError) as info:
        read_transactions(path, sheet="Year 2012")
    check(info.value, "has no sheet 'Year 2012'", "'Year 2010-2011'", "'sheet'")
    assert len(read_transactions(path, sheet="Year 2010-2011")) == 3


def test_an_error_in_a_later_sheet_names_the_sheet(tmp_path):
    raw = pd.read_csv(csv_with(tmp_path, *GOOD_ROWS), dtype={"InvoiceNo": str})
    bad = raw.assign(InvoiceDate=["01-Dec-10", "not a date", "01-Dec-10"])
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path) as book:
        raw.to_excel(book, sheet_name="2010", index=False)
        bad.to_excel(book, sheet_name="2011", index=False)
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(info.value, "row 2 (sheet '2011' row 3)", "column 'InvoiceDate'", "'not a date'")


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


# --- numbers: decimal and thousands separators are read by rule, never stripped ---


def line(quantity: str = "6", date: str = "01-Dec-10", price: str = "2.55", customer: str = "17850") -> str:
    """One CSV line with the given number and date texts (quoted, so commas stay inside)."""
    return f'536365,85123A,MUG,"{quantity}",{date},"{price}","{customer}",United Kingdom'


def test_decimal_comma_is_detected(tmp_path):
    lines = read_transactions(csv_with(tmp_path, line(price="6,45"), line(price="1.234,50")))
    assert lines["unit_price"].tolist() == [6.45, 1234.5]
    assert lines["quantity"].tolist() == [6, 6]


def test_thousands_comma_is_detected_beside_a_decimal_point(tmp_path):
    rows = [line(price="1,234.56"), line(quantity="1,000", price="2.55"), line(customer="12,346")]
    lines = read_transactions(csv_with(tmp_path, *rows))
    assert lines["unit_price"].tolist() == [1234.56, 2.55, 2.55]
    assert lines["quantity"].tolist() == [6, 1000, 6]
    assert lines["customer_id"].tolist() == [17850, 17850, 12346]


def test_thousands_dot_is_detected_beside_a_decimal_comma(tmp_path):
    lines = read_transactions(csv_with(tmp_path, line(price="6,45"), line(quantity="2.000", price="1.234")))
    assert lines["unit_price"].tolist() == [6.45, 1234.0]
    assert lines["quantity"].tolist() == [6, 2000]


@pytest.mark.parametrize("price", ["1,234", "1.234"])
def test_separator_that_could_be_either_is_refused(tmp_path, price):
    path = csv_with(tmp_path, line(price="2"), line(price=price))
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(
        info.value,
        str(path),
        "could be 1.234 or 1234",
        "row 2 (line 3 of the file)",
        "column 'UnitPrice'",
        f"value {price!r}",
        "decimal=',' if it means",
        "decimal='.' if it means",
    )


@pytest.mark.parametrize(
    ("decimal", "price", "expected"),
    [(",", "1,234", 1.234), (".", "1,234", 1234.0), (".", "1.234", 1.234), (",", "1.234", 1234.0)],
)
def test_separator_that_could_be_either_is_read_as_told(tmp_path, decimal, price, expected):
    lines = read_transactions(csv_with(tmp_path, line(price=price)), decimal=decimal)
    assert lines["unit_price"].tolist() == [expected]


def test_decimal_point_and_comma_in_one_file_are_refused(tmp_path):
    path = csv_with(tmp_path, line(price="2.55"), line(price="1.85"), line(price="6,45"))
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(
        info.value,
        str(path),
        "both with a decimal comma",
        "'2.55' in row 1 (line 2 of the file)",
        "row 3 (line 4 of the file)",
        "column 'UnitPrice'",
        "value '6,45'",
        "decimal='.' or decimal=','",
    )
    with pytest.raises(IngestError) as info:
        read_transactions(path, decimal=".")
    check(info.value, "not a number", "row 3 (line 4 of the file)", "value '6,45'", "decimal=")


def test_whole_number_that_a_decimal_comma_would_shrink_is_refused(tmp_path):
    path = csv_with(tmp_path, line(price="6,45"), line(quantity="1,000", price="6,45"))
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(
        info.value,
        str(path),
        "could be 1000",
        "reads it as 1.000",
        "row 2 (line 3 of the file)",
        "column 'Quantity'",
        "value '1,000'",
        "decimal=','",
    )
    assert read_transactions(path, decimal=",")["quantity"].tolist() == [6, 1]


def test_explicit_separators(tmp_path):
    path = csv_with(tmp_path, line(quantity="1 200", price="1 234,50"))
    lines = read_transactions(path, decimal=",", thousands=" ")
    assert lines["unit_price"].tolist() == [1234.5]
    assert lines["quantity"].tolist() == [1200]
    with pytest.raises(IngestError) as info:
        read_transactions(csv_with(tmp_path, line(price="1,234.50")), thousands=None)
    check(info.value, "not a number", "row 1 (line 2 of the file)", "value '1,234.50'", "thousands=")
    only_thousands = read_transactions(csv_with(tmp_path, line(price="1.234")), thousands=".")
    assert only_thousands["unit_price"].tolist() == [1234.0]
    with pytest.raises(IngestError, match="decimal must be"):
        read_transactions(path, decimal=";")
    with pytest.raises(IngestError, match="thousands must be"):
        read_transactions(path, decimal=",", thousands=",")


def test_plain_numbers_need_no_separator_options(tmp_path):
    rows = [line(quantity="-12", price="0.125"), line(quantity="+3", price=".5"), line(price="1e2")]
    lines = read_transactions(csv_with(tmp_path, *rows))
    assert lines["quantity"].tolist() == [-12, 3, 6]
    assert lines["unit_price"].tolist() == [0.125, 0.5, 100.0]


# --- numbers: only finite values in the int64 / float64 range, whole quantities ---


@pytest.mark.parametrize(
    ("column", "text", "problem"),
    [
        ("Quantity", "1e19", "outside the whole-number (int64) range"),
        ("Quantity", "9223372036854775808", "outside the whole-number (int64) range"),
        ("Quantity", "-9223372036854775809", "outside the whole-number (int64) range"),
        ("CustomerID", "1e19", "outside the whole-number (int64) range"),
        ("Quantity", "nan", "not a finite number"),
        ("Quantity", "-inf", "not a finite number"),
        ("UnitPrice", "inf", "not a finite number"),
        ("UnitPrice", "-Infinity", "not a finite number"),
        ("UnitPrice", "NaN", "not a finite number"),
        ("UnitPrice", "1e400", "outside the range of a number (float64)"),
        ("Quantity", "2.5", "not a whole number"),
        ("Quantity", "2,5", "not a whole number"),
    ],
)
def test_unrepresentable_numbers_are_refused(tmp_path, column, text, problem):
    field = {"Quantity": "quantity", "UnitPrice": "price", "CustomerID": "customer"}[column]
    price = "6,45" if text == "2,5" else "2"  # a decimal comma file for 2,5
    path = csv_with(tmp_path, line(price=price), line(**{"price": price, field: text}))
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(
        info.value, str(path), problem, "row 2 (line 3 of the file)", f"column '{column}'", f"value {text!r}"
    )


def test_int64_limits_are_read_exactly(tmp_path):
    rows = [line(quantity="9223372036854775807"), line(quantity="-9223372036854775808")]
    assert read_transactions(csv_with(tmp_path, *rows))["quantity"].tolist() == [2**63 - 1, -(2**63)]


def test_parquet_with_infinite_price_or_huge_quantity_is_refused(tmp_path):
    good = read_transactions(csv_with(tmp_path, *GOOD_ROWS))
    for column, value, problem in [
        ("unit_price", float("inf"), "not a finite number"),
        ("quantity", 1e19, "outside the whole-number (int64) range"),
    ]:
        raw = good.astype({"quantity": "float64"})
        raw.loc[1, column] = value
        raw.to_parquet(tmp_path / "bad.parquet", index=False)
        with pytest.raises(IngestError) as info:
            read_transactions(tmp_path / "bad.parquet")
        check(info.value, "bad.parquet", problem, "row 2", f"column '{column}'", f"value {value!r}")


# --- dates: day-first or month-first is told from the whole column ---


@pytest.mark.parametrize("written", [
    ("01/12/2010 08:26", "13/12/2010 08:26", "2/1/2011 10:00"),  # a day above 12: day first
    ("12/1/2010 8:26", "12/13/2010 8:26", "1/2/2011 10:00"),     # a month above 12: month first
])
def test_day_or_month_first_is_detected_from_the_column(tmp_path, written):
    dates = read_transactions(csv_with(tmp_path, *(line(date=d) for d in written)))["invoice_date"]
    assert dates.tolist() == [
        pd.Timestamp("2010-12-01 08:26"),
        pd.Timestamp("2010-12-13 08:26"),
        pd.Timestamp("2011-01-02 10:00"),
    ]


def test_dotted_day_first_dates_without_time(tmp_path):
    dates = read_transactions(csv_with(tmp_path, line(date="01.12.2010"), line(date="31.12.2010")))
    assert dates["invoice_date"].tolist() == [pd.Timestamp("2010-12-01"), pd.Timestamp("2010-12-31")]


def test_dates_that_could_be_either_order_are_refused(tmp_path):
    path = csv_with(tmp_path, line(date="01/01/2010 08:26"), line(date="01/12/2010 08:26"))
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(
        info.value,
        str(path),
        "cannot be told apart",
        "row 2 (line 3 of the file)",
        "column 'InvoiceDate'",
        "value '01/12/2010 08:26'",
        "date_format='%d/%m/%Y %H:%M' (--date-format) if '01/12/2010 08:26' has the day first",
        "date_format='%m/%d/%Y %H:%M' if it has the month first",
    )
    dates = read_transactions(path, date_format="%d/%m/%Y %H:%M")["invoice_date"]
    assert dates.tolist() == [pd.Timestamp("2010-01-01 08:26"), pd.Timestamp("2010-12-01 08:26")]


def test_dates_whose_day_always_equals_the_month_are_read(tmp_path):
    dates = read_transactions(
        csv_with(tmp_path, line(date="01/01/2011 08:26"), line(date="02/02/2011 08:26"))
    )
    assert dates["invoice_date"].tolist() == [
        pd.Timestamp("2011-01-01 08:26"),
        pd.Timestamp("2011-02-02 08:26"),
    ]


def test_unreadable_date_after_a_numeric_one_is_named(tmp_path):
    path = csv_with(tmp_path, line(date="01/01/2011 08:26"), line(date="31-Foo-10"))
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(info.value, "not a date in the file's format '%m/%d/%Y %H:%M'", "row 2", "value '31-Foo-10'")


def test_dates_in_both_orders_are_refused(tmp_path):
    rows = [line(date="13/12/2010 08:26"), line(date="01/01/2011 08:26"), line(date="12/13/2010 08:26")]
    path = csv_with(tmp_path, *rows)
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(
        info.value,
        str(path),
        "day first and with the month first",
        "'13/12/2010 08:26' has the day first",
        "row 3 (line 4 of the file)",
        "column 'InvoiceDate'",
        "value '12/13/2010 08:26'",
        "date_format='%d/%m/%Y %H:%M' or '%m/%d/%Y %H:%M' (--date-format)",
    )


# --- encodings: cp1252 is read as cp1252, never as Latin-1 control characters ---

CP1252_ROW = "536365,85123A,MUG \u20ac5 \u201cBEST\u201d,6,01-Dec-10,2.55,17850,United Kingdom\n"


def test_cp1252_euro_and_curly_quotes_are_decoded(tmp_path):
    path = tmp_path / "windows.csv"
    path.write_bytes((UCI_HEADER + "\n" + CP1252_ROW).encode("cp1252"))
    assert b"\x80" in path.read_bytes() and b"\x93" in path.read_bytes()
    assert read_transactions(path)["description"].tolist() == ["MUG €5 “BEST”"]
    assert read_transactions(path, encoding="cp1252")["description"].tolist() == ["MUG €5 “BEST”"]


def test_cp1252_read_as_latin1_is_refused(tmp_path):
    path = tmp_path / "windows.csv"
    path.write_bytes((UCI_HEADER + "\n" + GOOD_ROWS[0] + "\n" + CP1252_ROW).encode("cp1252"))
    with pytest.raises(IngestError) as info:
        read_transactions(path, encoding="latin-1")
    check(
        info.value,
        str(path),
        "control character U+0080",
        "row 2 (line 3 of the file)",
        "column 'Description'",
        "value 'MUG \\x805",
        "encoding='cp1252'",
    )


def test_bytes_undefined_in_cp1252_are_refused(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(
        (UCI_HEADER + "\n" + GOOD_ROWS[0] + "\n").encode() + b"1,A,CAF\xc9 \x81,1,01-Dec-10,1,1,France\n"
    )
    with pytest.raises(IngestError) as info:
        read_transactions(path)
    check(
        info.value,
        str(path),
        "neither UTF-8 nor cp1252",
        "U+0081",
        "row 2 (line 3 of the file)",
        "column 'Description'",
        "value 'CAFÉ \\x81'",
        "encoding=",
    )


def test_utf8_is_still_read_as_utf8(tmp_path):
    text = UCI_HEADER + "\n536365,85123A,CAFÉ €,6,01-Dec-10,2.55,17850,United Kingdom\n"
    assert read_transactions(write(tmp_path, "utf8.csv", text))["description"].tolist() == ["CAFÉ €"]
