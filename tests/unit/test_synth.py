"""The generator of bigger shops: seeded, new ids, unique invoices, no two customers alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from insiders import synth
from insiders.cli import main
from insiders.ingest import read_transactions
from tests.conftest import REAL_DATA


def _shop(customers: int = 30, seed: int = 1) -> pd.DataFrame:
    """Lines in the bundled file's columns: a few invoices per customer over a year, some
    cancellations, two anonymous invoices, and customer 16446 (dropped on purpose)."""
    rng = np.random.default_rng(seed)
    rows = []
    number = 536_365
    start = pd.Timestamp("2010-12-01 08:00")
    for customer in [*range(12_346, 12_346 + customers), 16446, None]:
        for _ in range(int(rng.integers(1, 5))):
            number += 1
            when = start + pd.Timedelta(minutes=int(rng.integers(0, 370 * 24 * 60)))
            cancel = customer is not None and rng.random() < 0.1
            for _ in range(int(rng.integers(1, 6))):
                code = str(int(rng.integers(20_000, 20_040)))
                rows.append((f"C{number}" if cancel else str(number), code, f"item {code}",
                             int(rng.integers(1, 13)) * (-1 if cancel else 1), when,
                             float(rng.choice([0.85, 1.25, 2.1, 4.95])),
                             np.nan if customer is None else float(customer), "United Kingdom"))
    return pd.DataFrame(rows, columns=["InvoiceNo", "StockCode", "Description", "Quantity",
                                       "InvoiceDate", "UnitPrice", "CustomerID", "Country"])


SHOP = _shop()
SOURCE = synth.prepare_source(SHOP)


def _all(factor: int, seed: int = 0) -> pd.DataFrame:
    return pd.concat(list(synth.synthesize(SOURCE, factor, seed=seed)), ignore_index=True)


def test_the_same_seed_gives_the_same_shop_and_another_seed_another():
    one = _all(3, seed=4)
    pd.testing.assert_frame_equal(one, _all(3, seed=4))
    other = _all(3, seed=5)
    assert not one[["InvoiceDate", "Quantity", "UnitPrice"]].equals(
        other[["InvoiceDate", "Quantity", "UnitPrice"]])
    # a copy depends on (seed, copy) only: made alone, it is the same
    pd.testing.assert_frame_equal(synth.synthesize_copy(SOURCE, 2, seed=4),
                                  one[one["InvoiceNo"].str.lstrip("C").str[0] == "3"]
                                  .reset_index(drop=True))


def test_factor_scales_customers_with_new_ids_and_drops_the_excluded_one():
    known = SHOP.loc[SHOP["CustomerID"] != 16446, "CustomerID"].dropna().nunique()
    anonymous = SHOP.loc[SHOP["CustomerID"].isna(), "InvoiceNo"].nunique()
    for factor in (1, 4):
        shop = _all(factor)
        assert shop["CustomerID"].nunique() == factor * known
        assert not set(shop["CustomerID"].dropna()) & set(SHOP["CustomerID"].dropna())
        assert shop.loc[shop["CustomerID"].isna(), "InvoiceNo"].nunique() == factor * anonymous
        assert shop["InvoiceNo"].nunique() == factor * SOURCE.invoice_group.size


def test_invoices_are_unique_and_belong_to_one_customer():
    shop = _all(4)
    per_invoice = shop.groupby("InvoiceNo").agg(customers=("CustomerID", "nunique"),
                                                dates=("InvoiceDate", "nunique"))
    assert per_invoice["customers"].max() <= 1 and per_invoice["dates"].max() == 1
    assert not set(shop["InvoiceNo"]) & set(SHOP["InvoiceNo"])
    cancelled = shop["InvoiceNo"].str.startswith("C")
    assert (shop.loc[cancelled, "Quantity"] < 0).all() and (shop.loc[~cancelled, "Quantity"] > 0).all()


def test_no_two_customers_are_alike_and_dates_stay_in_the_data():
    shop = _all(5)
    known = shop.dropna(subset=["CustomerID"]).sort_values(["InvoiceDate", "StockCode"])
    signatures = known.groupby("CustomerID").apply(
        lambda lines: tuple(map(tuple, lines[["InvoiceDate", "StockCode", "Quantity",
                                              "UnitPrice"]].astype(str).to_numpy())),
        include_groups=False)
    assert signatures.nunique() == len(signatures)
    # the copies' baskets moved but stay near the original's (a few lines dropped or swapped)
    assert 0.85 * 5 * len(SHOP) < len(shop) < 5 * len(SHOP)
    assert shop["InvoiceDate"].min() >= SHOP["InvoiceDate"].min()
    assert shop["InvoiceDate"].max() <= SHOP["InvoiceDate"].max()
    assert (shop["InvoiceDate"].dt.second == 0).all()
    assert (shop["UnitPrice"] > 0).all()


def test_monthly_files_in_the_bundled_schema_that_ingest_reads(tmp_path):
    files = synth.write_monthly(synth.synthesize(SOURCE, 2), tmp_path)
    assert [f.name for f in files] == sorted(f.name for f in files)
    assert files[0].name == "2010-12.parquet"
    bundled = pq.read_schema(REAL_DATA)
    for f in files:
        schema = pq.read_schema(f)
        assert [(x.name, x.type) for x in schema] == [(x.name, x.type) for x in bundled]
        month = pd.read_parquet(f)["InvoiceDate"].dt.strftime("%Y-%m")
        assert (month == f.stem).all()
    back = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    assert len(back) == len(_all(2))
    lines = read_transactions(files[3])
    assert len(lines) == len(pd.read_parquet(files[3])) and lines["customer_id"].notna().any()


def test_the_synth_command_writes_the_folder(tmp_path, capsys):
    source = tmp_path / "shop.parquet"
    SHOP.to_parquet(source)
    assert main(["-q", "synth", "--factor", "3", "--out", str(tmp_path / "big"),
                 "--source", str(source), "--seed", "2"]) == 0
    assert "90 customers in" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "big").glob("*.parquet"))[0] == "2010-12.parquet"
    assert main(["-q", "synth", "--factor", "0", "--out", str(tmp_path / "none")]) == 2
    with pytest.raises(ValueError, match="factor"):
        next(synth.synthesize(SOURCE, 0))
