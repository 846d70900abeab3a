"""The one typed schema that every source of transaction lines is mapped onto."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas only where keys are made: the DAG file parses without it
    import pandas as pd

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

#: A return line, in SQL over a lines table (``alias.`` before the column when given): its
#: quantity is below zero. :func:`is_return` says the same of a frame.
def return_sql(alias: str = "") -> str:
    """The SQL test of a return line."""
    return f"{alias + '.' if alias else ''}quantity < 0"


def is_return(lines: pd.DataFrame) -> pd.Series:
    """Which lines are returns: the filter's ``is_return`` when the lines carry it, else a
    quantity below zero (:func:`return_sql`)."""
    return lines["is_return"].astype(bool) if "is_return" in lines else lines["quantity"] < 0


#: Columns that may be empty: anonymous lines have no customer, some lines no description.
NULLABLE = frozenset({"customer_id", "description"})

#: The features that need a product column (distinct products per customer or per invoice).
PRODUCT_FEATURES = ("n_products", "avg_unique_basket_size")

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

#: The customer's key as the export wrote it (an e-mail, a UUID, an id with leading zeros): the
#: lines read through a preset other than ``online_retail`` carry it beside :data:`COLUMNS`,
#: and the month's segments, hand-off files and warehouse rows keep it for the CRM.
CUSTOMER_KEY = "customer_key"

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


#: Customer ids made from text keys start here; a key that is a plain whole number below it
#: (no sign, no leading zero) is its own id, as in the UCI files.
SURROGATE_START = 2**62
#: A key that is a plain whole number: no sign, no leading zero.
PLAIN_ID = re.compile(r"[1-9]\d{0,17}|0")


def customer_surrogates(keys: pd.Series) -> pd.Series:
    """Customer ids for keys kept as text (e-mails, UUIDs, ids with leading zeros).

    A plain whole number below :data:`SURROGATE_START` is its own id; any other key (trimmed,
    case kept) gets ``SURROGATE_START`` plus 62 bits of its BLAKE2b hash: the same key gives
    the same id in every file, month and machine, and two keys collide with a probability of
    about n^2 / 2^63 (a run with colliding keys would merge two customers).
    """
    text = keys.astype("str").str.strip().where(keys.notna(), None)
    uniques = text.dropna().unique()

    def one(key: str) -> int:
        if PLAIN_ID.fullmatch(key) and int(key) < SURROGATE_START:
            return int(key)
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        return SURROGATE_START + (int.from_bytes(digest, "big") % SURROGATE_START)

    ids = dict(zip(uniques, (one(k) for k in uniques), strict=True))
    return text.map(ids).astype("Int64")


def key_column(ids: pd.Index, keys: pd.Series | None) -> pd.Series:
    """Each customer's key (:data:`CUSTOMER_KEY`) for ``ids``: the export's text key, else the
    id itself written as text (the UCI files, made-up ids of anonymous invoices)."""
    import pandas as pd

    as_text = pd.Series(ids, index=ids).astype("Int64").astype("str")
    if keys is None:
        return as_text.rename(CUSTOMER_KEY)
    return keys.reindex(ids).fillna(as_text).astype("str").rename(CUSTOMER_KEY)
