"""`insiders run` on the platforms' exports (generated from the bundled data, see
tests/exports.py) with only a preset gives the Insiders the package's own wiring gives on the
UCI file's lines: the same customers, keyed by their e-mails."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from insiders.cli import main
from insiders.features import build_customer_features
from insiders.filters import filter_transactions
from insiders.history import monthly_reference_dates
from insiders.membership import value_membership, warm_start
from insiders.schema import COLUMNS, customer_surrogates
from insiders.value import LineHistory
from tests import exports

#: A small grid: the segments do not decide the Insiders, the value model does.
SMALL = ["--features", "gross_revenue", "recency_days", "n_invoices", "n_products",
         "--spaces", "features", "--models", "kmeans", "--k-max", "4",
         "--rule", "fixed", "--space", "features", "--model", "kmeans", "--k", "4"]


@pytest.fixture(scope="module")
def purchases(real_lines) -> pd.DataFrame:
    return exports.purchases(filter_transactions(real_lines).lines)


def uci_insiders(purchases: pd.DataFrame, reference_date: str) -> set[str]:
    """The tier the monthly run chooses on the UCI lines with no last month: the lines its
    data-quality stage keeps (a line equal to an earlier one in every column is dropped), the
    tier replayed over the five months before, then this month (the default ``replay_months``)."""
    ref = pd.Timestamp(reference_date)
    purchases = purchases.drop_duplicates(list(COLUMNS), ignore_index=True)
    keys = exports.email(purchases["customer_id"])
    purchases = purchases.assign(customer_id=customer_surrogates(keys))  # as the exports key them
    named = dict(zip(purchases["customer_id"], keys, strict=True))
    lines = LineHistory(purchases)
    dates = monthly_reference_dates(ref, 5, lines.first_purchase_day(ref))[:-1]
    chain = warm_start(lines, dates, random_state=42)
    tier = value_membership(build_customer_features(purchases, ref), lines=lines,
                            reference_date=ref, previous=chain[max(chain)], random_state=42)
    return {named[c] for c in tier.index[tier["is_insider"]]}


@pytest.mark.parametrize("preset, write", [("shopify_orders", exports.shopify_orders),
                                           ("woocommerce_orders", exports.woocommerce_orders)])
def test_insiders_run_on_a_platform_export_gives_the_uci_insiders(tmp_path, purchases, preset,
                                                                   write):
    source = tmp_path / f"{preset}.csv"
    write(purchases).to_csv(source, index=False)
    out = tmp_path / "run"
    assert main(["-q", "run", str(source), "--preset", preset, *SMALL,
                 "--out-dir", str(out)]) == 0
    facts = json.loads((out / "facts.json").read_text())
    got = pd.read_csv(out / "insiders.csv", dtype={"customer_key": str})
    assert set(got["customer_key"]) == uci_insiders(purchases, facts["reference_date"])
    assert facts["preset"] == preset and facts["currency"] == "GBP"
