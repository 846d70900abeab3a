"""The one typed schema that every source of transaction lines is mapped onto."""

from __future__ import annotations

import re

#: Canonical column names, in order, with the pandas dtype each one gets.
COLUMNS: dict[str, str] = {
    "invoice_no": "str",
    "stock_code": "str",
    "description": "str",
    "quantity": "int64",
    "invoice_date": "datetime64[ns]",
    "unit_price": "float64",
    "customer_id": "Int64",
    "country": "str",
}

#: Columns that may be empty: anonymous lines have no customer, some lines no description.
NULLABLE = frozenset({"customer_id", "description"})

#: Source column name (normalised by :func:`normalise_name`) -> canonical name.
#: Covers the UCI "Online Retail" names, the "Online Retail II" names and our own.
ALIASES: dict[str, str] = {
    # UCI Online Retail (and the shop's CSV export)
    "invoiceno": "invoice_no",
    "stockcode": "stock_code",
    "description": "description",
    "quantity": "quantity",
    "invoicedate": "invoice_date",
    "unitprice": "unit_price",
    "customerid": "customer_id",
    "country": "country",
    # Online Retail II
    "invoice": "invoice_no",
    "price": "unit_price",
}

#: Columns a filtered line table carries on top of :data:`COLUMNS`.
FILTERED_EXTRA = {"is_return": "bool", "is_synthetic_customer": "bool"}


def normalise_name(name: object) -> str:
    """Lower-case a header and drop everything but letters and digits.

    ``"Customer ID"``, ``"CustomerID"`` and ``"customer_id"`` all become ``"customerid"``.
    """
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


# canonical names map to themselves too
ALIASES.update({normalise_name(c): c for c in COLUMNS})


#: The columns every month's segments carry about the Insiders tier, beside ``is_insider``
#: (NaN where the rule has no such figure; see :mod:`insiders.membership`).
TIER_COLUMNS: tuple[str, ...] = ("expected_revenue", "p_active", "value_rank", "status",
                                 "member_since", "months_below", "reason")
