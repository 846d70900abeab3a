"""The bundled UCI data: its known figures, the study's customer count, the shop's export."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from insiders.features import build_customer_features, last_purchase_date
from insiders.filters import FilterConfig, filter_transactions
from insiders.ingest import iter_transactions, read_transactions
from tests.conftest import EXPORT_SHIFT_DAYS, REAL_DATA


def test_bundled_file_is_the_published_one():
    digest = hashlib.sha256(REAL_DATA.read_bytes()).hexdigest()
    assert digest == "4134886d9055fc8235d498b6eec06533ebd57ceb466e08487c1faee4b1277f3b"


def test_known_figures(real_lines):
    # the published file's figures
    raw = pd.read_parquet(REAL_DATA)
    assert len(raw) == 541_909
    assert raw["CustomerID"].nunique() == 4_372
    assert raw["InvoiceNo"].nunique() == 25_900
    assert raw["Country"].nunique() == 38
    assert (raw["Quantity"] * raw["UnitPrice"]).sum() == pytest.approx(9_747_747.934, abs=1e-3)
    # read, its lines that sell nothing are set aside and counted, the rest kept as they are:
    # the zero prices (free items, stock adjustments) and the two "Adjust bad debt" lines
    found: dict = {}
    read = pd.concat(iter_transactions(REAL_DATA, found=found))
    aside = {rule: n["lines"] for rule, n in found["set_aside"].items()}
    assert aside == {"zero_price": int((raw["UnitPrice"] == 0).sum()),
                     "discount_line": int(((raw["UnitPrice"] < 0) & (raw["Quantity"] > 0)).sum())}
    assert len(read) + sum(aside.values()) == len(raw) and len(read) == len(real_lines)
    revenue = (read["quantity"] * read["unit_price"]).sum()
    set_aside = sum(n["revenue"] for n in found["set_aside"].values())
    assert revenue + set_aside == pytest.approx(9_747_747.934, abs=1e-3)


def test_study_filters_with_synthetic_customers_give_the_studys_5695(real_lines):
    result = filter_transactions(real_lines, FilterConfig(anonymous="synthetic"))
    features = build_customer_features(result.lines, last_purchase_date(result.lines))
    synthetic = result.lines.groupby("customer_id")["is_synthetic_customer"].first()
    assert len(features) == 5_695
    assert int((~synthetic.reindex(features.index)).sum()) == 4_329
    assert int(synthetic.reindex(features.index).sum()) == 1_366
    assert 16446 not in features.index


def test_quarantine_counts_on_real_data(real_lines):
    q = filter_transactions(real_lines).quarantine.set_index("rule")
    # the study's 2,525 lines priced below 0.04: those priced 0 or below are set aside when read
    raw = pd.read_parquet(REAL_DATA)
    assert q.loc["unit_price_below_min", "lines_removed"] == 2_525 - int((raw["UnitPrice"] <= 0).sum())
    assert q.loc["non_product_stock_code", "lines_removed"] == 2_737
    assert q.loc["anonymous_line", "lines_removed"] == 131_425
    kept = len(real_lines) - q["lines_removed"].sum()
    assert kept == len(filter_transactions(real_lines).lines)


def test_shop_csv_export_gives_identical_features(real_lines, shop_export):
    from_export = read_transactions(shop_export)
    assert len(from_export) == len(real_lines)
    assert from_export["invoice_date"].min() == pd.Timestamp("2016-11-29")
    config = FilterConfig(anonymous="synthetic")
    reference = pd.Timestamp("2011-12-09")
    expected = build_customer_features(filter_transactions(real_lines, config).lines, reference)
    got = build_customer_features(
        filter_transactions(from_export, config).lines,
        reference + pd.Timedelta(days=EXPORT_SHIFT_DAYS),
    )
    pd.testing.assert_frame_equal(got, expected)
