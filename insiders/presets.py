"""Which column of a shop's export is which: a column map and named presets for common exports.

A shop's export is mapped onto the schema (:data:`insiders.schema.COLUMNS`) by *roles*:

- required: ``customer``, ``date``, and either ``amount`` (the line's total) or ``quantity``
  and ``unit_price``;
- optional: ``invoice`` (absent: one order per customer and timestamp), ``product`` (absent:
  product features and product rules are left out), ``description``, ``country``, ``status``
  (an order status, for the preset's rule on cancelled or refunded orders), ``currency`` (the
  ISO code of the amounts: the run's currency when its param names none).

A **preset** names the columns of a known export (:data:`PRESETS`), the statuses that are not
purchases, the order-level columns an export fills only on an order's first line, its
currency and its data rules; a **column map** (``customer=Email,date=Created at,...``) names
them for any other export, on top of a preset or alone. Columns the map does not name are
ignored (and logged), except under ``online_retail``, whose files have exactly its columns.

Business rules are data here: the study's rules (customer 16446, letters-only stock codes, its
two country names, the 0.04 price floor) belong to the ``online_retail`` preset alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from insiders.errors import InputError
from insiders.schema import ALIASES, normalise_name

__all__ = ["PRESETS", "ROLES", "Preset", "parse_column_map", "preset", "suggest_preset"]

#: Every role a column can play, and the schema column it fills (None: used to compute one).
ROLES: dict[str, str | None] = {
    "invoice": "invoice_no",
    "product": "stock_code",
    "description": "description",
    "quantity": "quantity",
    "date": "invoice_date",
    "unit_price": "unit_price",
    "amount": None,
    "customer": "customer_id",
    "country": "country",
    "status": None,
    "currency": None,
}

#: The study's data rules (:class:`insiders.config.FilterConfig` fields).
STUDY_RULES: dict[str, Any] = {
    "min_unit_price": 0.04,
    "non_product_code_pattern": r"[A-Za-z]+",
    "excluded_countries": ("European Community", "Unspecified"),
    "excluded_customers": (16446,),
}

#: Order or line statuses that say a line is not a purchase, in the words exports use (compared
#: normalised): the ``custom`` preset's, for an export named by its column map alone.
NOT_PURCHASE_STATUSES: tuple[str, ...] = (
    "void", "voided", "cancelled", "canceled", "refunded", "failed", "pending", "declined",
    "anulacion", "anulado", "anulada", "cancelado", "cancelada", "storno", "annule", "annulee")

#: The general rules, for every other shop: no customer, product or country is special.
GENERAL_RULES: dict[str, Any] = {
    "min_unit_price": 0.0,
    "non_product_code_pattern": "",
    "excluded_countries": (),
    "excluded_customers": (),
}


@dataclass(frozen=True)
class Preset:
    """A known export layout.

    Attributes:
        name: the param's value.
        title: what it reads, for ``--help`` and errors.
        columns: role -> the header names that play it (compared normalised: case, spaces
            and punctuation ignored), first match wins.
        order_fields: roles the export fills only on an order's first line (taken from it for
            the order's other lines).
        excluded_statuses: order statuses (normalised) whose lines are not purchases.
        currency: the export's currency when it does not say (None: the run's param).
        rules: the preset's data rules (:data:`STUDY_RULES` or :data:`GENERAL_RULES`).
        strict: refuse a column no role names (the UCI files have exactly these columns).
    """

    name: str
    title: str
    columns: Mapping[str, tuple[str, ...]]
    order_fields: tuple[str, ...] = ()
    excluded_statuses: tuple[str, ...] = ()
    currency: str | None = None
    rules: Mapping[str, Any] = field(default_factory=lambda: dict(GENERAL_RULES))
    strict: bool = False


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        "online_retail", "UCI Online Retail and Online Retail II (InvoiceNo/Invoice, StockCode, "
        "Description, Quantity, InvoiceDate, UnitPrice/Price, CustomerID/Customer ID, Country)",
        {role: tuple(name for name, canonical in ALIASES.items() if canonical == column)
         for role, column in ROLES.items() if column},  # the UCI and Online Retail II names
        currency="GBP", rules=dict(STUDY_RULES), strict=True),
    Preset(
        "shopify_orders", "Shopify's orders export (Name, Email, Created at, Lineitem quantity, "
        "Lineitem price, Lineitem sku, Lineitem name, Billing Country, Financial Status, "
        "Currency); refunded and voided orders are not purchases",
        {"invoice": ("Name",), "customer": ("Email",), "date": ("Created at",),
         "quantity": ("Lineitem quantity",), "unit_price": ("Lineitem price",),
         "product": ("Lineitem sku",), "description": ("Lineitem name",),
         "country": ("Billing Country",), "status": ("Financial Status",),
         "currency": ("Currency",)},
        order_fields=("customer", "date", "country", "status", "currency"),
        excluded_statuses=("refunded", "voided")),
    Preset(
        "woocommerce_orders", "WooCommerce's order export, one row per item (order_number, "
        "order_date, status, billing_email, billing_country, item_sku, item_name, "
        "item_quantity, item_total); cancelled, refunded, failed and pending orders are not "
        "purchases",
        {"invoice": ("order_number", "order_id"), "customer": ("billing_email", "customer_id"),
         "date": ("order_date",), "status": ("status",), "country": ("billing_country",),
         "product": ("item_sku",), "description": ("item_name",),
         "quantity": ("item_quantity",), "amount": ("item_total",),
         "currency": ("currency", "order_currency")},
        excluded_statuses=("cancelled", "refunded", "failed", "pending", "checkoutdraft")),
    Preset(
        "custom", "any other export, its columns named by the param 'columns' (what "
        "'insiders inspect' proposes); lines whose status says void, cancelled, refunded, "
        "failed or pending are not purchases",
        {}, excluded_statuses=NOT_PURCHASE_STATUSES),
    Preset(
        "transactions", "a transaction log as CLV libraries take it: customer, date, amount, "
        "optionally quantity (one order per customer and timestamp)",
        {"customer": ("customer", "customer_id", "CustomerID"), "date": ("date", "datetime"),
         "amount": ("amount", "revenue", "total", "value", "monetary"),
         "quantity": ("quantity", "items", "n_items")}),
)}


def preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is refused, naming the known ones."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; known: {', '.join(PRESETS)} "
                         "(or give the columns yourself with the param 'columns')")
    return PRESETS[name]


def parse_column_map(text: str | Mapping[str, str] | None) -> dict[str, str]:
    """``"customer=Email,date=Created at"`` (or a mapping) as role -> source column name."""
    if not text:
        return {}
    pairs = (text.items() if isinstance(text, Mapping)
             else (part.split("=", 1) if "=" in part else (part, "")
                   for part in (p.strip() for p in str(text).split(",")) if part))
    out: dict[str, str] = {}
    for role, column in pairs:
        role, column = str(role).strip(), str(column).strip()
        if role not in ROLES:
            raise InputError(f"unknown role {role!r} in the column map; roles: {', '.join(ROLES)}")
        if not column:
            raise InputError(f"the column map gives no column for {role!r}: write {role}=COLUMN")
        out[role] = column
    return out


def suggest_preset(header: list[str]) -> str | None:
    """The preset whose required roles the header holds, best match first (None if none)."""
    names = {normalise_name(c) for c in header}
    best, score = None, 0
    for p in PRESETS.values():
        found = {role for role, options in p.columns.items()
                 if any(normalise_name(o) in names for o in options)}
        if "customer" in found and "date" in found and (
                "amount" in found or {"quantity", "unit_price"} <= found) and len(found) > score:
            best, score = p.name, len(found)
    return best
