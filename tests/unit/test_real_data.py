"""The bundled UCI data: its known figures, the study's customer count, the shop's export."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from insiders.features import build_customer_features, last_purchase_date
from insiders.filters import FilterConfig, filter_transactions
from insiders.ingest import read_transactions
from tests.conftest import EXPORT_SHIFT_DAYS, REAL_DATA


def test_bundled_file_is_the_published_one():
    digest = hashlib.sha256(REAL_DATA.read_bytes()).hexdigest()
    assert digest == "4134886d9055fc8235d498b6eec06533ebd57ceb466e08487c1faee4b1277f3b"


def test_known_figures(real_lines):
    assert len(real_lines) == 541_909
    assert real_lines["customer_id"].nunique() == 4_372
    assert real_lines["invoice_no"].nunique() == 25_900
    assert real_lines["country"].nunique() == 38
    revenue = (real_lines["quantity"] * real_lines["unit_price"]).sum()
    assert revenue == pytest.approx(9_747_747.934, abs=1e-3)


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
    assert q.loc["unit_price_below_min", "lines_removed"] == 2_525
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
