"""Other shops' exports (generated from the bundled data, see tests/exports.py) read through a
preset or a column map give the UCI file's lines, features and Insiders, customers keyed by
e-mail; the study's rules stay with the online_retail preset."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from insiders.config import RunConfig
from insiders.errors import InputError
from insiders.features import build_customer_features
from insiders.filters import filter_transactions
from insiders.ingest import IngestError, read_transactions
from insiders.membership import value_membership
from insiders.presets import suggest_preset
from insiders.schema import COLUMNS, customer_surrogates
from tests import exports

CUT = pd.Timestamp("2011-12-09")
SAME = ["invoice_date", "quantity", "customer_id"]


@pytest.fixture(scope="module")
def purchases(real_lines) -> pd.DataFrame:
    return exports.purchases(filter_transactions(real_lines).lines)


def by_email(lines: pd.DataFrame) -> pd.DataFrame:
    """UCI lines with the e-mail keys' customer ids, as an e-mail-keyed export reads."""
    return lines.assign(customer_id=customer_surrogates(exports.email(lines["customer_id"])))


def ordered(lines: pd.DataFrame) -> pd.DataFrame:
    columns = ["customer_id", "invoice_date", "quantity", "unit_price"]
    return lines.sort_values(columns, kind="stable").reset_index(drop=True)


def test_a_shopify_export_reads_as_the_uci_lines(tmp_path, purchases):
    refunded = "#" + str(purchases["invoice_no"].iloc[0])
    path = tmp_path / "orders_export.csv"
    exports.shopify_orders(purchases, refunded=refunded).to_csv(path, index=False)
    assert suggest_preset(list(pd.read_csv(path, nrows=0).columns)) == "shopify_orders"
    lines = read_transactions(path, preset="shopify_orders")
    # a refunded order is not a purchase; every other line is the UCI line, keyed by e-mail,
    # its order-level fields taken from the order's first line
    expected = by_email(purchases[purchases["invoice_no"] != refunded[1:]])
    got, want = ordered(lines), ordered(expected)
    pd.testing.assert_frame_equal(got[SAME], want[SAME])
    assert (got["invoice_no"] == "#" + want["invoice_no"]).all()
    assert (got["unit_price"] - want["unit_price"]).abs().max() < 1e-9
    assert (got["stock_code"] == want["stock_code"]).all()
    assert (got["country"] == want["country"]).all()


def test_the_platform_exports_give_the_uci_files_features_and_insiders(tmp_path, purchases):
    shopify, woo = tmp_path / "shopify.csv", tmp_path / "woo.csv"
    exports.shopify_orders(purchases).to_csv(shopify, index=False)
    exports.woocommerce_orders(purchases).to_csv(woo, index=False)
    uci = by_email(purchases)
    want = build_customer_features(uci, CUT)
    tier = value_membership(want, lines=uci, reference_date=CUT, previous=None)
    insiders = set(tier.index[tier["is_insider"]])
    for path, preset in ((shopify, "shopify_orders"), (woo, "woocommerce_orders")):
        lines = read_transactions(path, preset=preset)
        got = build_customer_features(lines, CUT)
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-6)
        theirs = value_membership(got, lines=lines, reference_date=CUT, previous=None)
        assert set(theirs.index[theirs["is_insider"]]) == insiders, preset


def test_a_transaction_log_with_a_column_map_gives_the_uci_revenue(tmp_path, real_lines):
    kept = filter_transactions(real_lines).lines[list(COLUMNS)]
    log = exports.transactions(kept).rename(columns={"customer": "Customer Email",
                                                     "date": "Order date"})
    log["Customer Email"] = exports.email(log["Customer Email"])
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    with pytest.raises(IngestError, match="no column for customer, date"):
        read_transactions(path, preset="transactions")
    lines = read_transactions(path, preset="transactions",
                              columns="customer=Customer Email,date=Order date")
    assert lines["stock_code"].isna().all() and lines["country"].isna().all()
    # one order per customer and timestamp, returns as negative quantities
    assert lines.groupby(["customer_id", "invoice_date"])["invoice_no"].nunique().max() == 1
    assert (lines["quantity"] < 0).sum() == (kept["quantity"] < 0).sum()
    got, want = (build_customer_features(x, CUT) for x in (lines, by_email(kept)))
    for column in ("gross_revenue", "recency_days", "n_items", "qty_returned"):
        pd.testing.assert_series_equal(got[column], want[column], check_exact=False, atol=0.01)


def test_the_studys_rules_stay_with_the_online_retail_preset():
    study, shop = RunConfig(), RunConfig.from_params({"preset": "transactions"})
    assert study.filters.excluded_customers == (16446,)
    assert shop.filters.excluded_customers == () and shop.filters.excluded_countries == ()
    assert shop.filters.non_product_code_pattern == "" and shop.filters.min_unit_price == 0
    assert (study.read.money_currency, shop.read.money_currency) == ("GBP", "")
    named = RunConfig.from_params({"preset": "transactions", "excluded_customers": [7],
                                   "currency": "EUR"})
    assert named.filters.excluded_customers == (7,) and named.read.money_currency == "EUR"


def test_a_general_shop_keeps_the_lines_the_study_dropped(real_lines):
    from insiders.filters import filter_transactions as run_filters

    shop = RunConfig.from_params({"preset": "transactions"}).filters
    kept = run_filters(real_lines, shop).lines
    assert 16446 in set(kept["customer_id"])
    assert kept["stock_code"].isin(["POST", "M"]).any()


def test_an_unknown_layout_names_the_presets_and_the_flag(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("client,when,paid\n1,2011-01-01,3.5\n")
    with pytest.raises(IngestError) as info:
        read_transactions(path, preset="transactions")
    message = str(info.value)
    assert "shopify_orders" in message and "--columns" in message
    lines = read_transactions(path, preset="transactions",
                              columns="customer=client,date=when,amount=paid")
    assert lines["unit_price"].tolist() == [3.5] and lines["quantity"].tolist() == [1]


def test_text_keys_are_kept_exactly_and_get_stable_ids(tmp_path):
    path = tmp_path / "keys.csv"
    path.write_text("customer,date,amount\n00042,2011-01-01,3\n42,2011-01-02,4\n"
                    "Ana@Shop.example ,2011-01-03,5\n00042,2011-02-01,6\n")
    lines = read_transactions(path, preset="transactions")
    assert lines["customer_key"].tolist() == ["00042", "42", "Ana@Shop.example", "00042"]
    ids = lines["customer_id"].tolist()
    assert ids[1] == 42 and ids[0] == ids[3] and len(set(ids)) == 3  # leading zeros: another key
    again = read_transactions(path, preset="transactions")  # the same ids in every run
    assert again["customer_id"].tolist() == ids


def test_the_exports_currency_column_names_the_runs_currency(tmp_path, purchases):
    from insiders import pipeline
    from insiders.config import ReadConfig

    orders = exports.shopify_orders(purchases.head(300)).assign(Currency="eur")
    orders.to_csv(tmp_path / "eur.csv", index=False)
    facts = pipeline.ingest(str(tmp_path / "eur.csv"), str(tmp_path / "run"),
                            ReadConfig(preset="shopify_orders"))
    assert facts["currency"] == "EUR" and facts["preset"] == "shopify_orders"
    told = pipeline.ingest(str(tmp_path / "eur.csv"), str(tmp_path / "run2"),
                           ReadConfig(preset="shopify_orders", currency="USD"))
    assert told["currency"] == "USD"  # the param says
    orders.loc[orders.index[-1], "Currency"] = "GBP"
    orders.to_csv(tmp_path / "two.csv", index=False)
    with pytest.raises(InputError, match="2 currencies"):
        pipeline.ingest(str(tmp_path / "two.csv"), str(tmp_path / "run"),
                        ReadConfig(preset="shopify_orders"))
    kept = json.loads((tmp_path / "run" / "facts.json").read_text())
    assert kept["currency"] == "EUR"  # refused before anything replaced the folder's lines


def test_insiders_run_on_a_transaction_log_says_what_it_lacked(tmp_path, real_lines):
    from insiders.cli import main

    kept = filter_transactions(real_lines).lines[list(COLUMNS)]
    log = exports.transactions(kept).rename(columns={"customer": "Client"})
    log["Client"] = exports.email(log["Client"])
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    out = tmp_path / "run"
    assert main(["-q", "run", str(path), "--preset", "transactions", "--columns",
                 "customer=Client", "--currency", "EUR", "--features", "gross_revenue",
                 "recency_days", "n_lines", "frequency", "qty_returned", "n_products",
                 "--spaces", "features", "umap", "--models", "kmeans", "ward",
                 "--out-dir", str(out)]) == 0
    facts = json.loads((out / "facts.json").read_text())
    assert set(facts["columns_absent"]) == {"invoice_no", "stock_code", "country", "description"}
    assert facts["features_skipped"] == {"n_products": "left out: the export has no product column"}
    insiders = pd.read_csv(out / "insiders.csv", dtype={"customer_key": str})
    assert insiders["customer_key"].str.endswith("@shop.example").all()
    report = (out / "report.md").read_text()
    assert "£" not in report and "€" in report and "`transactions` preset" in report
    assert "@shop.example |" not in report.replace("***@shop.example |", "")  # masked


def test_an_error_after_a_cancelled_order_names_the_row_as_read(tmp_path):
    path = tmp_path / "woo.csv"
    path.write_text("order_number,order_date,status,billing_email,item_quantity,item_total\n"
                    "1,2011-01-01 10:00:00,cancelled,a@x.org,0,0\n"  # not a purchase: never checked
                    "2,2011-01-02 10:00:00,completed,b@x.org,2,5\n"
                    "3,2011-01-03 10:00:00,completed,c@x.org,0,4\n")
    with pytest.raises(IngestError) as info:
        read_transactions(path, preset="woocommerce_orders")
    assert "row 3 " in str(info.value) and "a quantity of 0" in str(info.value)


def test_a_transaction_log_with_its_orders_and_products_mapped_gives_the_uci_insiders(
        tmp_path, real_lines):
    """What the minimal form lacks is its only loss: the same log with the optional order and
    product columns mapped gives the UCI file's features and Insiders exactly."""
    kept = filter_transactions(real_lines).lines[list(COLUMNS)]
    log = exports.transactions(kept).assign(order=kept["invoice_no"].to_numpy(),
                                            sku=kept["stock_code"].to_numpy())
    log["customer"] = exports.email(log["customer"])
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    lines = read_transactions(path, preset="transactions", columns="invoice=order,product=sku")
    uci = by_email(kept)
    got, want = (build_customer_features(x, CUT) for x in (lines, uci))
    pd.testing.assert_frame_equal(got, want, check_exact=False, atol=0.01)
    theirs, ours = (value_membership(f, lines=x, reference_date=CUT, previous=None)
                    for f, x in ((got, lines), (want, uci)))
    assert set(theirs.index[theirs["is_insider"]]) == set(ours.index[ours["is_insider"]])
