"""``insiders synth --style``: real shops' exports as they come, each with its clean twin.

The quirks are counted here from the CSV text, independently of the generator, and the
export's sale lines, read with plain pandas, must be the clean twin's sales.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from insiders.cli import build_parser, main
from insiders.synth import exports
from tests.conftest import REAL_DATA

CUSTOMERS = 200
SEED = 7
UCI = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
       "CustomerID", "Country"]
#: style -> (separator, decimal mark, the amount column, the quantity column, the customer key)
LAYOUT = {
    "supermarket": (",", ".", "line_total", "qty", "card_number"),
    "pos": (";", ",", "Importe", "Cantidad", "Cliente"),
    "pos_stamp": (";", ",", "Importe", "Cantidad", "Cliente"),
    "seldom": (",", ".", "total", None, "customer_email"),
}


@pytest.fixture(scope="module")
def source() -> pd.DataFrame:
    return pd.read_parquet(REAL_DATA)


@pytest.fixture(scope="module")
def shops(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exports")
    for style in exports.STYLES:
        exports.write_export(style, source, out, customers=CUSTOMERS, seed=SEED)
    return out


def _rows(path: Path, sep: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline=""),
                           delimiter=sep))


def _number(text: str, decimal: str) -> float:
    return float(text.replace(decimal, ".")) if decimal != "." else float(text)


def _count_quirks(style: str, rows: list[list[str]]) -> dict[str, int]:
    """The quirks of an export, counted from its text."""
    _, decimal, amount, quantity, _ = LAYOUT[style]
    header, body = rows[0], rows[1:]
    counts = {"repeated_header": sum(row == header for row in body),
              "total_row": sum(row[0] == "TOTAL" for row in body)}
    lines = [dict(zip(header, row, strict=True)) for row in body
             if row != header and row[0] != "TOTAL"]
    money = [_number(line[amount], decimal) for line in lines]
    if style == "seldom":
        status = [line["status"] for line in lines]
        counts["cancelled_order"] = status.count("cancelled")
        counts["refunded_order"] = status.count("refunded")
        counts["zero_order"] = sum(s == "paid" and m == 0 for s, m in zip(status, money, strict=True))
        return counts
    flag = "line_type" if style == "supermarket" else "Tipo"
    sale, void, coupon = ("SALE", "VOID", "COUPON") if style == "supermarket" else (
        "VENTA", "ANULACION", "CUPON")
    qty = [int(line[quantity]) for line in lines]
    kind = [line[flag] for line in lines]
    both = list(zip(kind, qty, money, strict=True))
    counts["zero_line"] = sum(k == sale and q == 0 and m == 0 for k, q, m in both)
    counts["free_item"] = sum(k == sale and q >= 1 and m == 0 for k, q, m in both)
    counts["void_line"] = sum(k == void and q == 0 and m == 0 for k, q, m in both)
    counts["coupon_line"] = sum(k == coupon and m < 0 for k, q, m in both)
    if style != "supermarket":
        counts["return_line"] = sum(k == "DEVOLUCION" and q < 0 and m < 0 for k, q, m in both)
    assert sum(counts.values()) - 2 + sum(k == sale and q > 0 and m > 0 for k, q, m in both) \
        == len(lines), "a line of no known kind"
    return counts


@pytest.mark.parametrize("style", list(exports.STYLES))
def test_each_style_writes_its_export_twin_quirks_and_keys(shops, style):
    assert (shops / f"{style}.csv").stat().st_size > 0
    bundled = pq.read_schema(REAL_DATA)
    schema = pq.read_schema(shops / f"{style}.clean.parquet")
    assert [(x.name, x.type) for x in schema] == [(x.name, x.type) for x in bundled]
    has_keys = (shops / f"{style}.keys.csv").exists()
    assert has_keys == (style in ("supermarket", "seldom"))
    if has_keys:
        keys = pd.read_csv(shops / f"{style}.keys.csv", dtype={"customer_key": str})
        assert keys["customer_key"].is_unique and keys["CustomerID"].is_unique
        if style == "supermarket":
            assert keys["customer_key"].str.fullmatch(r"000\d{9}").all()


@pytest.mark.parametrize("style", list(exports.STYLES))
def test_every_quirk_is_there_as_often_as_quirks_json_says(shops, style):
    sep = LAYOUT[style][0]
    rows = _rows(shops / f"{style}.csv", sep)
    written = json.loads((shops / f"{style}.quirks.json").read_text())
    assert _count_quirks(style, rows) == written
    assert all(count >= 1 for count in written.values())
    lines = len(rows) - 3
    assert all(count < 0.03 * lines for count in written.values())
    assert rows[-1][0] == "TOTAL" and rows.index(rows[0], 1) > len(rows) // 5
    # the total row sums the amount column
    decimal, amount = LAYOUT[style][1], rows[0].index(LAYOUT[style][2])
    body = [r for r in rows[1:-1] if r != rows[0]]
    cents = sum(round(_number(r[amount], decimal) * 100) for r in body)
    assert round(_number(rows[-1][amount], decimal) * 100) == cents


def _export_sales(shops: Path, style: str) -> pd.DataFrame:
    """The export's sale lines read by plain pandas: customer, amount, quantity, date."""
    sep, decimal, amount, quantity, key = LAYOUT[style]
    raw = pd.read_csv(shops / f"{style}.csv", sep=sep, dtype=str, keep_default_na=False)
    first = raw.columns[0]
    raw = raw[(raw[first] != first) & (raw[first] != "TOTAL")]
    money = raw[amount].str.replace(decimal, ".", regex=False).astype(float)
    qty = raw[quantity].astype(int) if quantity else pd.Series(1, index=raw.index)
    if style == "seldom":
        sale = (raw["status"] == "paid") & (money > 0)
        date = pd.to_datetime(raw["order_date"], format="%Y-%m-%d")
    elif style == "supermarket":
        sale = (raw["line_type"] == "SALE") & (qty > 0) & (money > 0)
        date = pd.to_datetime(raw["ts"].astype("int64"), unit="ms")
    else:  # a sale, or a return (a line of the sales the twin keeps: negative quantity)
        sale = (((raw["Tipo"] == "VENTA") & (qty > 0) & (money > 0))
                | ((raw["Tipo"] == "DEVOLUCION") & (qty < 0) & (money < 0)))
        date = pd.to_datetime(raw["Fecha"], format="%Y%m%d%H%M%S" if style == "pos_stamp"
                              else "%Y%m%d")
    customer = raw[key]
    if (shops / f"{style}.keys.csv").exists():
        keys = pd.read_csv(shops / f"{style}.keys.csv", dtype={"customer_key": str})
        customer = customer.map(dict(zip(keys["customer_key"], keys["CustomerID"], strict=True)))
    return pd.DataFrame({"customer": customer.astype(float), "amount": money, "qty": qty,
                         "date": date, "ticket": raw[first]})[sale].reset_index(drop=True)


@pytest.mark.parametrize("style", list(exports.STYLES))
def test_the_clean_twin_holds_the_exports_sales_and_returns_and_only_them(shops, style):
    sales = _export_sales(shops, style)
    twin = pd.read_parquet(shops / f"{style}.clean.parquet")
    assert list(twin.columns) == UCI and len(twin) == len(sales)
    per_customer = sales.groupby("customer")["amount"].sum()
    twin_per_customer = (twin["Quantity"] * twin["UnitPrice"]).groupby(twin["CustomerID"]).sum()
    pd.testing.assert_series_equal(per_customer, twin_per_customer, check_names=False,
                                   rtol=0, atol=1e-9)
    # line by line: the same tickets, quantities and dates; unit price = amount / quantity
    assert (twin["InvoiceNo"].to_numpy() == sales["ticket"].to_numpy()).all()
    assert (twin["Quantity"].to_numpy() == sales["qty"].to_numpy()).all()
    assert (twin["InvoiceDate"].to_numpy() == sales["date"].to_numpy()).all()
    assert (twin["UnitPrice"].to_numpy() == (sales["amount"] / sales["qty"]).to_numpy()).all()
    # the study's rules leave it whole
    assert twin["StockCode"].str.match(r"^\d").all() and (twin["UnitPrice"] >= 0.04).all()
    assert not twin["Country"].isin(["Unspecified", "European Community"]).any()
    ids = twin["CustomerID"]
    assert (ids >= 100_000).all() and (ids == ids.round()).all() and not (ids == 16446).any()
    assert twin["CustomerID"].nunique() <= CUSTOMERS and twin["InvoiceDate"].dt.year.min() >= 2023


def test_dates_keep_the_exports_precision(shops):
    day = {s: pd.read_parquet(shops / f"{s}.clean.parquet")["InvoiceDate"] for s in exports.STYLES}
    assert (day["pos"] == day["pos"].dt.normalize()).all()
    assert (day["seldom"] == day["seldom"].dt.normalize()).all()
    assert (day["pos_stamp"].dt.microsecond == 0).all() and day["pos_stamp"].dt.second.nunique() > 30
    assert (day["supermarket"].dt.microsecond % 1000 == 0).all()
    assert day["supermarket"].dt.microsecond.nunique() > 100


def test_the_seldom_shop_has_customers_buying_once_or_twice_a_year_and_no_returns(shops):
    sales = _export_sales(shops, "seldom")
    per_year = sales.groupby(["customer", sales["date"].dt.year]).size()
    assert per_year.max() <= 2 and (per_year == 1).mean() > 0.5
    for style in ("supermarket", "seldom"):
        rows = _rows(shops / f"{style}.csv", ",")
        column = rows[0].index("qty" if style == "supermarket" else "total")
        assert not any(r[column].startswith("-") for r in rows[1:]
                       if r[0] != "TOTAL" and "COUPON" not in r)


def test_the_same_seed_writes_the_same_bytes_and_another_seed_other_files(shops, source,
                                                                          tmp_path):
    for style in exports.STYLES:
        exports.write_export(style, source, tmp_path / "same", customers=CUSTOMERS, seed=SEED)
        exports.write_export(style, source, tmp_path / "other", customers=CUSTOMERS, seed=SEED + 1)
    for path in sorted(shops.iterdir()):
        assert (tmp_path / "same" / path.name).read_bytes() == path.read_bytes(), path.name
        if path.suffix != ".json":
            assert (tmp_path / "other" / path.name).read_bytes() != path.read_bytes(), path.name


def test_the_synth_command_writes_an_export(tmp_path, capsys):
    out = tmp_path / "shop"
    assert main(["-q", "synth", "--style", "seldom", "--customers", "60", "--seed", "1",
                 "--out", str(out)]) == 0
    assert "60 customers" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "seldom.clean.parquet", "seldom.csv", "seldom.keys.csv", "seldom.quirks.json"]
    assert main(["-q", "synth", "--style", "pos", "--factor", "2", "--out", str(out)]) == 2
    assert main(["-q", "synth", "--style", "pos", "--customers", "0", "--out", str(out)]) == 2
    with pytest.raises(SystemExit):
        main(["synth", "--style", "nonesuch", "--out", str(out)])
    # the CLI names the styles itself (it stays light): the generator's, after copies
    synth_parser = build_parser()._subparsers._group_actions[0].choices["synth"]
    style = next(a for a in synth_parser._actions if a.dest == "style")
    assert tuple(style.choices) == ("copies", *exports.STYLES)
