"""Other shops' export layouts, generated from UCI lines (canonical schema), for the presets'
tests: a Shopify orders CSV, a WooCommerce one-row-per-item CSV and a minimal transaction log.
Customers become e-mails (``c17850@shop.example``), as those platforms key them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insiders.schema import COLUMNS


def purchases(kept: pd.DataFrame) -> pd.DataFrame:
    """The purchase lines of UCI lines the study's rules kept (so that no rule is left to
    apply), in the canonical schema: what the platforms' exports hold. An order has one time
    on those platforms (a few UCI invoices span two minutes: their first line's is kept)."""
    bought = kept.loc[kept["quantity"] > 0, list(COLUMNS)].reset_index(drop=True)
    return bought.assign(invoice_date=bought.groupby("invoice_no")["invoice_date"].transform("first"))


def email(customer_id: pd.Series) -> pd.Series:
    return "c" + customer_id.astype("int64").astype("str") + "@shop.example"


def shopify_orders(lines: pd.DataFrame, *, refunded: str | None = None) -> pd.DataFrame:
    """Shopify's orders export: one row per line item; the order-level fields (Email, Created
    at, Financial Status, Currency, Billing Country) only on an order's first row; an order
    ``refunded`` (its Name) marked refunded, every other one paid. Returns, which Shopify
    records as refunds rather than negative lines, are left out."""
    bought = lines[lines["quantity"] > 0].reset_index(drop=True)
    name = "#" + bought["invoice_no"].astype("str")
    out = pd.DataFrame({
        "Name": name,
        "Email": email(bought["customer_id"]),
        "Financial Status": np.where(name == refunded, "refunded", "paid"),
        "Currency": "GBP",
        "Created at": bought["invoice_date"].dt.strftime("%Y-%m-%d %H:%M:%S +0000"),
        "Lineitem quantity": bought["quantity"],
        "Lineitem name": bought["description"],
        "Lineitem price": bought["unit_price"],
        "Lineitem sku": bought["stock_code"],
        "Billing Country": bought["country"],
        "Tags": "",
    })
    later = name.duplicated()
    for column in ("Email", "Financial Status", "Currency", "Created at", "Billing Country"):
        out[column] = out[column].where(~later, None)
    return out


def woocommerce_orders(lines: pd.DataFrame) -> pd.DataFrame:
    """WooCommerce's order export, one row per item, the line's total in ``item_total``."""
    bought = lines[lines["quantity"] > 0].reset_index(drop=True)
    return pd.DataFrame({
        "order_id": pd.factorize(bought["invoice_no"])[0] + 1000,
        "order_number": bought["invoice_no"].astype("str"),
        "order_date": bought["invoice_date"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        "status": "completed",
        "order_currency": "GBP",
        "billing_email": email(bought["customer_id"]),
        "billing_country": bought["country"],
        "item_sku": bought["stock_code"],
        "item_name": bought["description"],
        "item_quantity": bought["quantity"],
        "item_total": bought["quantity"] * bought["unit_price"],
    })


def transactions(lines: pd.DataFrame) -> pd.DataFrame:
    """The minimal form: customer, date, amount (returns as negative amounts), quantity."""
    return pd.DataFrame({
        "customer": lines["customer_id"].astype("int64"),
        "date": lines["invoice_date"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        "amount": (lines["quantity"] * lines["unit_price"]).round(2),
        "quantity": lines["quantity"],
    })
