"""Real shops' exports *as they come*, each beside its clean twin (``insiders synth --style``).

Sales are drawn from the bundled data: a seeded sample of its customers, with their real
baskets and dates moved :data:`YEARS_SHIFT` years later (so they look current) and new ids
(:data:`FIRST_ID` + the original id). Only sale lines are drawn (a quantity above 0, a stock
code that starts with a digit, a unit price of at least 0.04 once rounded to cents, a country
that names one; customer 16446 never), so the clean twin passes the study's rules untouched.
Each style writes into ``OUT``:

- ``<style>.csv``: the export as the shop's system writes it, quirks included;
- ``<style>.clean.parquet``: its clean twin, the SAME sales and only them, in the bundled
  file's columns (``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice,
  CustomerID, Country``), exactly what a reader of the export gets once the non-sale lines are
  set aside: ``InvoiceDate`` at the export's precision (a day-only date is midnight),
  ``UnitPrice`` = the line's amount as written / its quantity (float64), ``CustomerID`` the
  customer's number (>= 100000);
- ``<style>.quirks.json``: quirk name -> lines written (``repeated_header`` and ``total_row``
  count rows of the file);
- ``<style>.keys.csv`` (``customer_key,CustomerID``) where the export keys customers by text.

The styles (all with a header row repeated inside the file, as when two exports are pasted
together, and a trailing ``TOTAL`` row holding the sum of the amount column):

``supermarket``
    A supermarket's basket log, UTF-8, comma separated: ``basket_id, card_number, ts, ean,
    item_name, qty, unit_price, discount, line_total, line_type, store``. The customer is the
    loyalty card (12 digits, leading zeros), ``ts`` epoch milliseconds, ``ean`` a 13-digit
    EAN, ``line_total`` = qty * unit_price - discount (the amount), ``store`` the country.
    Quirks: ``zero_line`` (qty 0, line_total 0, ``SALE``), ``free_item`` (unit_price 0,
    qty >= 1), ``void_line`` (``line_type`` ``VOID``, qty 0, line_total 0), ``coupon_line``
    (``line_type`` ``COUPON``, ean ``COUPON``, qty 1, a negative amount). Some sale lines carry
    a discount (sales, in the twin at their net price). No returns.
``pos`` and ``pos_stamp``
    A store chain's point-of-sale log, semicolon separated, decimal comma, CRLF line ends:
    ``Ticket;Fecha;Cliente;Articulo;Descripcion;Cantidad;Importe;Tienda;Tipo``. ``Fecha`` is
    compact ISO 8601, the day only (``20240131``, ``pos``) or to the second
    (``20240131143005``, ``pos_stamp``); ``Cliente`` the customer's whole number, ``Importe``
    the line's amount, ``Tienda`` the country, ``Tipo`` ``VENTA`` for a sale. Quirks as the
    supermarket's (``Tipo`` ``ANULACION`` for a void, ``CUPON`` for a coupon) and
    ``return_line``: the customers' real returns (``Tipo`` ``DEVOLUCION``, negative
    ``Cantidad`` and ``Importe``, tickets of their own); the only style with returns, which
    its clean twin keeps (a return is a line of the sales, not a quirk).
``seldom``
    The order log of a shop whose customers buy once or twice a year, one row per order, UTF-8,
    comma separated: ``order_ref, customer_email, order_date, status, total, currency,
    billing_country``; ``order_date`` an ISO date, ``total`` the amount, the customer the
    e-mail. Each customer keeps its first one or two orders of each year (invoices of the
    bundled data), so most buy 1-2 times a year; no returns, no products. Quirks:
    ``cancelled_order`` and ``refunded_order`` (``status``; other orders of the same
    customers), ``zero_order`` (``paid`` with a total of 0.00). The twin has one line per paid
    order: quantity 1, the order's total as unit price, the stock code :data:`ORDER_CODE`.

Everything is seeded and nothing reads the clock: the same seed writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from insiders.errors import InputError

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_CUSTOMERS", "STYLES", "Export", "ExportFiles", "Sales", "build_export",
           "sample_sales", "write_export"]

#: Customers drawn by default (a fast test shop).
DEFAULT_CUSTOMERS = 1_500
#: Years added to the bundled dates (2010-12 .. 2011-12 become 2023-12 .. 2024-12).
YEARS_SHIFT = 13
#: A customer's number is FIRST_ID + its bundled id.
FIRST_ID = 100_000
#: The lowest unit price of a sale line, in cents (the study's floor, 0.04).
MIN_CENTS = 4
#: The first ticket/basket number.
FIRST_TICKET = 1_000_001
#: The seldom shop's twin: every order one line of this stock code.
ORDER_CODE = "10001"
#: Shares (of the sale lines) of each quirk line of the line styles.
LINE_SHARES = {"zero_line": 0.004, "free_item": 0.003, "void_line": 0.003, "coupon_line": 0.004}
#: At most this share of returns (pos styles).
RETURN_SHARE = 0.02
#: Shares (of the paid orders) of the seldom shop's quirk orders.
ORDER_SHARES = {"cancelled_order": 0.02, "refunded_order": 0.015, "zero_order": 0.005}
#: Share of customer-years with two orders in the seldom shop (else one).
TWICE_SHARE = 0.35
#: Share of the supermarket's sale lines with a discount, and its range (of the line).
DISCOUNT_SHARE = 0.08
DISCOUNT_RANGE = (0.05, 0.30)
#: Coupon values, in cents.
COUPON_CENTS = (100, 150, 200, 300, 500)
EXCLUDED_COUNTRIES = ("European Community", "Unspecified")

_SOURCE_COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                   "UnitPrice", "CustomerID", "Country")
_MS = 10**6
_SECOND = 10**9
_MINUTE = 60 * _SECOND
_DAY = 86_400 * _SECOND


@dataclass(frozen=True)
class Sales:
    """The sampled customers' lines: ``invoice`` (the bundled number), ``code``,
    ``description``, ``qty``, ``ns`` (the moved date, ns since the epoch), ``cents`` (unit
    price), ``customer`` (the new number) and ``country``.

    Attributes:
        lines: the sale lines, in the bundled order.
        returns: their returns (negative quantities, cancelled invoices).
        catalogue: every stock code of the source that starts with a digit, sorted (the
            supermarket's EANs number them).
    """

    lines: pd.DataFrame
    returns: pd.DataFrame
    catalogue: tuple[str, ...]

    @property
    def customers(self) -> np.ndarray:
        """The customers' numbers, sorted."""
        return np.unique(self.lines["customer"].to_numpy())


@dataclass(frozen=True)
class Export:
    """One export before it is written: its rows as text and what they hold.

    Attributes:
        header: the column names.
        rows: the data rows, text cells in the header's columns, in file order.
        amount: the amount column (the total row fills it).
        cents: per row, its amount in cents.
        sep, newline, decimal: the file's separator, line end and decimal mark.
        twin: the clean twin (the bundled file's columns).
        keys: export customer key -> ``CustomerID``, where keys are text.
        quirks: quirk -> lines (the header repeat and total row are added on writing).
    """

    header: tuple[str, ...]
    rows: pd.DataFrame
    amount: str
    cents: np.ndarray
    sep: str
    newline: str
    decimal: str
    twin: pd.DataFrame
    keys: pd.DataFrame | None
    quirks: dict[str, int]


@dataclass(frozen=True)
class ExportFiles:
    """The files one style wrote, its quirk counts and its size."""

    export: Path
    clean: Path
    quirks_file: Path
    keys: Path | None
    quirks: dict[str, int]
    customers: int
    sale_lines: int


def _kinds(source: pd.DataFrame, drop_customers: Sequence[int],
           excluded_countries: Sequence[str]) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Per source line, whether it is a sale and whether a return that the styles may use;
    and the catalogue (stock codes that start with a digit, sorted)."""
    codes, names = pd.factorize(source["StockCode"].astype(str), sort=True)
    numeric = pd.Series(names).str.match(r"^\d").to_numpy()
    cents = np.rint(source["UnitPrice"].to_numpy(dtype=float) * 100)
    usable = ((source["CustomerID"].notna() & ~source["CustomerID"].isin(list(drop_customers))
               & ~source["Country"].isin(list(excluded_countries))).to_numpy()
              & numeric[codes] & (cents >= MIN_CENTS))
    cancelled = source["InvoiceNo"].astype(str).str.startswith("C").to_numpy()
    qty = source["Quantity"].to_numpy()
    return (usable & ~cancelled & (qty > 0), usable & cancelled & (qty < 0),
            tuple(names[numeric]))


def sample_sales(source: pd.DataFrame, customers: int = DEFAULT_CUSTOMERS, *, seed: int = 0,
                 drop_customers: Sequence[int] = (16446,),
                 excluded_countries: Sequence[str] = EXCLUDED_COUNTRIES) -> Sales:
    """A seeded sample of ``customers`` customers of ``source`` with a sale line (all if
    fewer), their sale lines and returns, moved :data:`YEARS_SHIFT` years on."""
    missing = [c for c in _SOURCE_COLUMNS if c not in source.columns]
    if missing:
        raise InputError(f"the source lacks column(s) {missing}; it needs {list(_SOURCE_COLUMNS)}")
    if customers < 1:
        raise InputError(f"customers must be at least 1, got {customers}")
    sale, back, catalogue = _kinds(source, drop_customers, excluded_countries)
    ids = np.sort(source.loc[sale, "CustomerID"].astype(np.int64).unique())
    if len(ids) == 0:
        raise InputError("the source has no sale line of a known customer")
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(ids, min(customers, len(ids)), replace=False))
    chosen = source["CustomerID"].isin(picked).to_numpy() & (sale | back)
    lines = source.loc[chosen, list(_SOURCE_COLUMNS)]
    moved = lines["InvoiceDate"] + pd.DateOffset(years=YEARS_SHIFT)
    frame = pd.DataFrame({
        "invoice": lines["InvoiceNo"].astype(str).to_numpy(dtype=object),
        "code": lines["StockCode"].astype(str).to_numpy(dtype=object),
        "description": lines["Description"].fillna("").astype(str).to_numpy(dtype=object),
        "qty": lines["Quantity"].to_numpy(dtype=np.int64),
        "ns": moved.to_numpy(dtype="datetime64[ns]").astype(np.int64),
        "cents": np.rint(lines["UnitPrice"].to_numpy(dtype=float) * 100).astype(np.int64),
        "customer": lines["CustomerID"].to_numpy(dtype=float).astype(np.int64) + FIRST_ID,
        "country": lines["Country"].astype(str).to_numpy(dtype=object),
    })
    is_sale = sale[chosen]
    return Sales(lines=frame[is_sale].reset_index(drop=True),
                 returns=frame[~is_sale].reset_index(drop=True), catalogue=catalogue)


def _money(cents: np.ndarray, decimal: str = ".") -> np.ndarray:
    """Cents as text with two decimals (``-1.50``, ``12,00``)."""
    cents = np.asarray(cents, dtype=np.int64)
    whole = pd.Series(np.abs(cents) // 100).astype(str)
    part = pd.Series(np.abs(cents) % 100).astype(str).str.zfill(2)
    sign = pd.Series(np.where(cents < 0, "-", ""))
    return (sign + whole + decimal + part).to_numpy(dtype=object)


def _as_read(text: np.ndarray) -> np.ndarray:
    """Amount texts (decimal point) as a reader gets them: float64, correctly rounded."""
    return np.array([float(t) for t in text], dtype=np.float64)


def _quirk_lines(hosts: pd.DataFrame, kind: str, rng: np.random.Generator) -> pd.DataFrame:
    """Quirk lines of ``kind`` beside host sale lines (same basket, customer and time)."""
    lines = hosts.copy()
    n = len(lines)
    lines["kind"] = kind
    lines["total"] = 0
    if kind in ("zero_line", "void_line"):
        lines["qty"] = 0
    elif kind == "free_item":
        lines["qty"] = rng.integers(1, 4, n)
        lines["cents"] = 0
    elif kind == "coupon_line":
        value = rng.choice(np.array(COUPON_CENTS, dtype=np.int64), n)
        lines["code"] = "COUPON"
        lines["description"] = "COUPON"
        lines["qty"] = 1
        lines["cents"] = -value
        lines["total"] = -value
    return lines


def _line_table(sales: Sales, rng: np.random.Generator, *, returns: bool,
                unit_ns: int) -> pd.DataFrame:
    """Sale lines, quirk lines beside random hosts, and (if ``returns``) returns, in file
    order, with a ``ticket`` number; every invoice moved a random number of ``unit_ns`` within
    its minute (none if 0)."""
    base = sales.lines.assign(kind="sale", total=sales.lines["qty"] * sales.lines["cents"])
    n = len(base)
    if n == 0:
        raise InputError("the sampled customers have no sale lines")
    parts = [base.assign(seq=np.arange(n) * 10)]
    for k, (kind, share) in enumerate(LINE_SHARES.items(), start=1):
        hosts = np.sort(rng.choice(n, min(n, max(1, round(share * n))), replace=False))
        parts.append(_quirk_lines(base.iloc[hosts], kind, rng).assign(seq=hosts * 10 + k))
    if returns:
        back = sales.returns
        cap = int(RETURN_SHARE * n)
        if len(back) > cap:
            back = back.iloc[np.sort(rng.choice(len(back), cap, replace=False))]
        parts.append(back.assign(kind="return_line", total=back["qty"] * back["cents"],
                                 seq=np.arange(len(back)) * 10))
    table = pd.concat(parts, ignore_index=True)
    invoice, names = pd.factorize(table["invoice"], sort=True)
    if unit_ns:
        offset = rng.integers(0, _MINUTE // unit_ns, len(names)) * unit_ns
        table["ns"] = table["ns"].to_numpy() + offset[invoice]
    order = np.lexsort((table["seq"].to_numpy(), invoice, table["ns"].to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    ticket = pd.factorize(table["invoice"], sort=False)[0] + FIRST_TICKET
    table["ticket"] = pd.Series(ticket).astype(str).to_numpy(dtype=object)
    return table


def _line_quirks(table: pd.DataFrame, *, returns: bool) -> dict[str, int]:
    kinds = table["kind"].value_counts()
    names = (*LINE_SHARES, "return_line") if returns else tuple(LINE_SHARES)
    return {kind: int(kinds.get(kind, 0)) for kind in names}


def _twin(sale: pd.DataFrame, *, ns: np.ndarray, code, amount: np.ndarray,
          qty: np.ndarray, description=None) -> pd.DataFrame:
    """The clean twin of sale rows: dates ``ns``, unit price ``amount / qty``."""
    return pd.DataFrame({
        "InvoiceNo": sale["ticket"].to_numpy(dtype=object),
        "StockCode": np.asarray(code, dtype=object),
        "Description": (sale["description"].to_numpy(dtype=object) if description is None
                        else np.asarray(description, dtype=object)),
        "Quantity": qty.astype(np.int64),
        "InvoiceDate": np.asarray(ns, dtype=np.int64).astype("datetime64[ns]"),
        "UnitPrice": amount / qty,
        "CustomerID": sale["customer"].to_numpy(dtype=np.int64).astype(float),
        "Country": sale["country"].to_numpy(dtype=object),
    }).reset_index(drop=True)


def _text_keys(customers: np.ndarray, rng: np.random.Generator, *,
               email: bool) -> dict[int, str]:
    """Customer number -> a text key: a loyalty card (12 digits, leading zeros) or an e-mail."""
    numbers = rng.choice(900_000_000, len(customers), replace=False) + 100_000_000
    if email:
        return {int(c): f"customer.{n}@example.com" for c, n in zip(customers, numbers, strict=True)}
    return {int(c): f"000{n}" for c, n in zip(customers, numbers, strict=True)}


def _keys_frame(keys: dict[int, str]) -> pd.DataFrame:
    return pd.DataFrame({"customer_key": list(keys.values()), "CustomerID": list(keys)})


def _ean(codes: np.ndarray, catalogue: tuple[str, ...]) -> np.ndarray:
    """A 13-digit EAN per stock code (``50`` + its rank in the catalogue + check digit)."""
    rank = {code: i for i, code in enumerate(catalogue)}
    out = {}
    for code in sorted(set(codes)):
        if code not in rank:
            out[code] = code
            continue
        body = f"50{rank[code]:010d}"
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
        out[code] = body + str((10 - total % 10) % 10)
    return np.array([out[c] for c in codes], dtype=object)


def _discounts(table: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """The supermarket's discounts (cents) on a share of its sale lines, never taking a unit
    price below the floor."""
    n = len(table)
    gross = (table["qty"] * table["cents"]).to_numpy()
    share = rng.uniform(*DISCOUNT_RANGE, n)
    picked = (table["kind"].to_numpy() == "sale") & (rng.random(n) < DISCOUNT_SHARE)
    discount = np.floor(gross * share).astype(np.int64)
    discount = np.minimum(discount, gross - MIN_CENTS * table["qty"].to_numpy())
    return np.where(picked & (discount > 0), discount, 0)


def _supermarket(sales: Sales, rng: np.random.Generator) -> Export:
    """A supermarket's basket log (see the module's docstring)."""
    table = _line_table(sales, rng, returns=False, unit_ns=_MS)
    discount = _discounts(table, rng)
    table["total"] = table["total"].to_numpy() - discount
    keys = _text_keys(sales.customers, rng, email=False)
    ean = _ean(table["code"].to_numpy(dtype=object), sales.catalogue)
    line_total = _money(table["total"].to_numpy())
    line_type = table["kind"].map({"void_line": "VOID", "coupon_line": "COUPON"}).fillna("SALE")
    rows = pd.DataFrame({
        "basket_id": table["ticket"], "card_number": table["customer"].map(keys),
        "ts": (table["ns"] // _MS).astype(str), "ean": ean, "item_name": table["description"],
        "qty": table["qty"].astype(str), "unit_price": _money(table["cents"].to_numpy()),
        "discount": _money(discount), "line_total": line_total, "line_type": line_type,
        "store": table["country"],
    })
    sale = (table["kind"] == "sale").to_numpy()
    twin = _twin(table[sale], ns=table["ns"].to_numpy()[sale], code=ean[sale],
                 amount=_as_read(line_total[sale]), qty=table["qty"].to_numpy()[sale])
    return Export(header=tuple(rows.columns), rows=rows, amount="line_total",
                  cents=table["total"].to_numpy(), sep=",", newline="\n", decimal=".",
                  twin=twin, keys=_keys_frame(keys), quirks=_line_quirks(table, returns=False))


def _pos(sales: Sales, rng: np.random.Generator, *, stamp: bool) -> Export:
    """A store chain's point-of-sale log (see the module's docstring)."""
    table = _line_table(sales, rng, returns=True, unit_ns=_SECOND if stamp else 0)
    ns = table["ns"].to_numpy()
    ns = ns if stamp else ns - ns % _DAY
    fecha = pd.Series(ns.astype("datetime64[ns]")).dt.strftime("%Y%m%d%H%M%S" if stamp
                                                                else "%Y%m%d")
    cents = table["total"].to_numpy()
    tipo = table["kind"].map({"void_line": "ANULACION", "coupon_line": "CUPON",
                              "return_line": "DEVOLUCION"}).fillna("VENTA")
    rows = pd.DataFrame({
        "Ticket": table["ticket"], "Fecha": fecha, "Cliente": table["customer"].astype(str),
        "Articulo": table["code"], "Descripcion": table["description"],
        "Cantidad": table["qty"].astype(str), "Importe": _money(cents, ","),
        "Tienda": table["country"], "Tipo": tipo,
    })
    # the twin: the sales and the returns (a return is a line of the sales, not a quirk)
    sale = table["kind"].isin(["sale", "return_line"]).to_numpy()
    twin = _twin(table[sale], ns=ns[sale], code=table["code"].to_numpy(dtype=object)[sale],
                 amount=_as_read(_money(cents[sale])), qty=table["qty"].to_numpy()[sale])
    return Export(header=tuple(rows.columns), rows=rows, amount="Importe", cents=cents,
                  sep=";", newline="\r\n", decimal=",", twin=twin, keys=None,
                  quirks=_line_quirks(table, returns=True))


def _orders(sales: Sales, rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, int]]:
    """The seldom shop's orders: each customer's first one or two invoices of each year
    (``paid``) and a few of its other invoices as quirk orders; in date order."""
    lines = sales.lines.assign(total=sales.lines["qty"] * sales.lines["cents"])
    orders = (lines.groupby("invoice", sort=True)
              .agg(customer=("customer", "first"), ns=("ns", "min"),
                   country=("country", "first"), total=("total", "sum"))
              .reset_index().sort_values(["customer", "ns", "invoice"], kind="stable"))
    orders["year"] = pd.Series(orders["ns"].to_numpy().astype("datetime64[ns]")).dt.year.to_numpy()
    by_year = orders.groupby(["customer", "year"], sort=False)
    group, rank = by_year.ngroup().to_numpy(), by_year.cumcount().to_numpy()
    twice = rng.random(group.max() + 1) < TWICE_SHARE
    keep = rank < np.where(twice[group], 2, 1)
    paid, pool = orders[keep].assign(status="paid"), orders[~keep]
    counts = {kind: max(1, round(share * len(paid))) for kind, share in ORDER_SHARES.items()}
    picked = pool.iloc[np.sort(rng.choice(len(pool), min(len(pool), sum(counts.values())),
                                          replace=False))]
    which = rng.permutation(np.repeat(np.arange(len(counts)), list(counts.values()))[:len(picked)])
    status = np.array(["cancelled", "refunded", "paid"], dtype=object)[which]
    quirky = picked.assign(status=status, kind=np.array(list(counts), dtype=object)[which])
    quirky.loc[quirky["kind"] == "zero_order", "total"] = 0
    table = pd.concat([paid.assign(kind="sale"), quirky], ignore_index=True)
    table = table.sort_values(["ns", "invoice"], kind="stable").reset_index(drop=True)
    table["ticket"] = [f"SO{FIRST_TICKET + i}" for i in range(len(table))]
    kinds = table["kind"].value_counts()
    return table, {kind: int(kinds.get(kind, 0)) for kind in ORDER_SHARES}


def _seldom(sales: Sales, rng: np.random.Generator) -> Export:
    """The order log of a shop whose customers buy seldom (see the module's docstring)."""
    table, quirks = _orders(sales, rng)
    keys = _text_keys(sales.customers, rng, email=True)
    ns = table["ns"].to_numpy()
    day = ns - ns % _DAY
    total = _money(table["total"].to_numpy())
    rows = pd.DataFrame({
        "order_ref": table["ticket"], "customer_email": table["customer"].map(keys),
        "order_date": pd.Series(day.astype("datetime64[ns]")).dt.strftime("%Y-%m-%d"),
        "status": table["status"], "total": total, "currency": "EUR",
        "billing_country": table["country"],
    })
    sale = (table["kind"] == "sale").to_numpy()
    n = int(sale.sum())
    twin = _twin(table[sale], ns=day[sale], code=[ORDER_CODE] * n, description=["order"] * n,
                 amount=_as_read(total[sale]), qty=np.ones(n, dtype=np.int64))
    return Export(header=tuple(rows.columns), rows=rows, amount="total",
                  cents=table["total"].to_numpy(), sep=",", newline="\n", decimal=".",
                  twin=twin, keys=_keys_frame(keys), quirks=quirks)


#: Style name -> its builder (Sales, rng) -> Export.
STYLES: dict[str, Callable[[Sales, np.random.Generator], Export]] = {
    "supermarket": _supermarket,
    "pos": partial(_pos, stamp=False),
    "pos_stamp": partial(_pos, stamp=True),
    "seldom": _seldom,
}


def build_export(style: str, sales: Sales, *, seed: int = 0) -> Export:
    """The export of ``style`` for these sales (seeded by ``(seed, style)``)."""
    if style not in STYLES:
        raise InputError(f"unknown style {style!r}; one of {', '.join(STYLES)}")
    rng = np.random.default_rng([seed, 1 + list(STYLES).index(style)])
    return STYLES[style](sales, rng)


def render(export: Export, *, seed: int = 0) -> tuple[str, dict[str, int]]:
    """The file's text (the header repeated once inside, a total row at the end) and the
    quirk counts."""
    rows = export.rows.to_numpy(dtype=object).tolist()
    rng = np.random.default_rng([seed, 99])
    at = int(rng.integers(len(rows) // 4, 3 * len(rows) // 4 + 1))
    total = [""] * len(export.header)
    total[0] = "TOTAL"
    total[export.header.index(export.amount)] = _money([int(export.cents.sum())],
                                                       export.decimal)[0]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=export.sep, lineterminator=export.newline)
    writer.writerow(export.header)
    writer.writerows(rows[:at])
    writer.writerow(export.header)
    writer.writerows(rows[at:])
    writer.writerow(total)
    return buffer.getvalue(), {**export.quirks, "repeated_header": 1, "total_row": 1}


def _write_twin(twin: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        ("InvoiceNo", pa.string()), ("StockCode", pa.string()), ("Description", pa.string()),
        ("Quantity", pa.int64()), ("InvoiceDate", pa.timestamp("ns")), ("UnitPrice", pa.float64()),
        ("CustomerID", pa.float64()), ("Country", pa.string()),
    ])
    pq.write_table(pa.Table.from_pandas(twin, schema=schema, preserve_index=False), path)


def write_export(style: str, source: pd.DataFrame, out_dir: str | Path, *,
                 customers: int = DEFAULT_CUSTOMERS, seed: int = 0,
                 drop_customers: Sequence[int] = (16446,)) -> ExportFiles:
    """Write ``OUT/<style>.csv``, its clean twin, its quirk counts and (text keys) its keys."""
    sales = sample_sales(source, customers, seed=seed, drop_customers=drop_customers)
    export = build_export(style, sales, seed=seed)
    text, quirks = render(export, seed=seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{style}.csv"
    path.write_bytes(text.encode("utf-8"))
    clean = out / f"{style}.clean.parquet"
    _write_twin(export.twin, clean)
    quirks_file = out / f"{style}.quirks.json"
    quirks_file.write_bytes((json.dumps(quirks, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    keys = None
    if export.keys is not None:
        keys = out / f"{style}.keys.csv"
        keys.write_bytes(export.keys.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    logger.info("synth %s: %d customers, %d sale lines, quirks %s", style,
                len(sales.customers), len(export.twin), quirks)
    return ExportFiles(export=path, clean=clean, quirks_file=quirks_file, keys=keys,
                       quirks=quirks, customers=len(sales.customers),
                       sale_lines=len(export.twin))
