"""A bigger shop from the bundled one: real customers resampled with new ids and perturbed.

For the benchmarks at 10x and 100x and for users who want to try the product at size.
Exact copies of customers make a poor test (UMAP's spectral start fails on duplicates and
density models find thousands of tiny clusters), so every copy is jittered:

- each copy of a customer gets a new id, and a shift of all its dates (up to
  :data:`MAX_SHIFT_DAYS`, kept inside the data's months) plus a few minutes per invoice;
- quantities and unit prices are scaled by a small random factor, line by line;
- its baskets change: a line is dropped now and then (never an invoice's first), and a
  product is now and then swapped for another of the catalogue, at that product's price;
- every invoice gets a new number, unique over all copies (a cancellation keeps its ``C``).

Anonymous invoices (no customer id) are copied the same way, each invoice on its own. The
customers the study drops on purpose (:class:`insiders.config.FilterConfig`) are left out.
Everything is seeded: copy ``c`` depends only on ``(seed, c)``, so a copy can be made alone
and the files are the same whatever the machine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from insiders.errors import InputError

logger = logging.getLogger(__name__)

__all__ = ["MAX_SHIFT_DAYS", "SynthSource", "prepare_source", "synthesize", "synthesize_copy",
           "write_monthly"]

#: The largest shift of a copied customer's dates, in days either way.
MAX_SHIFT_DAYS = 15
#: Minutes either way each copied invoice moves on top of its customer's shift.
INVOICE_JITTER_MINUTES = 30
#: Spread (log scale) of the factors on quantities and on unit prices.
QUANTITY_SPREAD = 0.15
PRICE_SPREAD = 0.05
#: Chances that a line is dropped from its basket, and that its product is swapped.
DROP_SHARE = 0.05
SWAP_SHARE = 0.05
#: The first new customer id; copy c's customers follow from FIRST_ID + c * customers.
FIRST_ID = 100_000
#: Invoice numbers of copy c are the original's plus (c + 1) * INVOICE_STEP.
INVOICE_STEP = 1_000_000

_COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
            "CustomerID", "Country")


@dataclass(frozen=True)
class SynthSource:
    """The bundled lines, prepared once for any number of copies.

    Attributes:
        lines: the source lines (the bundled file's columns), customers dropped on purpose
            left out, in their original order.
        group: per line, its customer group (a known customer, or one anonymous invoice).
        invoice: per line, its invoice (codes 0..n-1).
        invoice_group: per invoice, its group.
        known_rank: per group, the rank of its customer id among the known customers (-1 for
            an anonymous invoice).
        first, last: per group, its first and last line's date (ns since the epoch).
        start, end: the data's first and last date (ns).
        prefix, number: per line, its invoice number's letters (``C``, ``A`` or none) and
            digits.
        catalogue: products (stock code, description, median unit price) a swap draws from.
        first_line: per line, whether it is its invoice's first (never dropped).
    """

    lines: pd.DataFrame
    group: np.ndarray
    invoice: np.ndarray
    invoice_group: np.ndarray
    known_rank: np.ndarray
    first: np.ndarray
    last: np.ndarray
    start: int
    end: int
    prefix: np.ndarray
    number: np.ndarray
    catalogue: pd.DataFrame
    first_line: np.ndarray

    @property
    def n_known(self) -> int:
        """Known customers in the source."""
        return int((self.known_rank >= 0).sum())


def prepare_source(lines: pd.DataFrame, *, drop_customers: Sequence[int] = (16446,)) -> SynthSource:
    """Index the source lines once (groups, invoices, dates, catalogue) for :func:`synthesize_copy`.

    Args:
        lines: transaction lines in the bundled file's columns (``InvoiceNo``, ``StockCode``,
            ``Description``, ``Quantity``, ``InvoiceDate``, ``UnitPrice``, ``CustomerID``,
            ``Country``).
        drop_customers: customers left out (the study drops 16446, an extreme outlier whose
            copies would be extreme too).
    """
    missing = [c for c in _COLUMNS if c not in lines.columns]
    if missing:
        raise InputError(f"the source lacks column(s) {missing}; it needs {list(_COLUMNS)}")
    lines = lines.loc[~lines["CustomerID"].isin(list(drop_customers)), list(_COLUMNS)]
    lines = lines.reset_index(drop=True)
    invoice_no = lines["InvoiceNo"].astype(str)
    prefix = invoice_no.str.extract(r"^(\D*)", expand=False).to_numpy(dtype=object)
    digits = invoice_no.str.extract(r"(\d+)$", expand=False)
    if digits.isna().any() or digits.astype(np.int64).max() >= INVOICE_STEP:
        raise InputError("invoice numbers must end in at most 6 digits")
    invoice, _ = pd.factorize(invoice_no, sort=False)
    customer = lines["CustomerID"]
    key = np.where(customer.notna(), "c" + customer.astype("Float64").astype(str),
                   "i" + invoice_no)
    group, keys = pd.factorize(key, sort=False)
    known = pd.Series(keys).str.startswith("c").to_numpy()
    known_rank = np.full(len(keys), -1, dtype=np.int64)
    ids = customer.groupby(group).first().to_numpy()
    order = np.argsort(ids[known], kind="stable")
    ranks = np.empty(known.sum(), dtype=np.int64)
    ranks[order] = np.arange(known.sum())
    known_rank[known] = ranks
    ns = lines["InvoiceDate"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    first = pd.Series(ns).groupby(group).min().to_numpy()
    last = pd.Series(ns).groupby(group).max().to_numpy()
    invoice_group = pd.Series(group).groupby(invoice).first().to_numpy()
    first_line = np.zeros(len(lines), dtype=bool)
    first_line[np.unique(invoice, return_index=True)[1]] = True
    products = lines[lines["StockCode"].astype(str).str.match(r"^\d") & (lines["Quantity"] > 0)
                     & (lines["UnitPrice"] > 0)]
    catalogue = (products.groupby("StockCode", sort=True)
                 .agg(Description=("Description", "first"), UnitPrice=("UnitPrice", "median"))
                 .reset_index())
    return SynthSource(
        lines=lines, group=group, invoice=invoice, invoice_group=invoice_group,
        known_rank=known_rank, first=first, last=last, start=int(ns.min()), end=int(ns.max()),
        prefix=prefix, number=digits.astype(np.int64).to_numpy(), catalogue=catalogue,
        first_line=first_line,
    )


def synthesize_copy(source: SynthSource, copy: int, *, seed: int = 0) -> pd.DataFrame:
    """Copy ``copy`` (0, 1, ...) of every customer of the source, with new ids and jittered.

    Returns lines in the bundled file's columns, ordered by date; they depend only on
    ``(seed, copy)``.
    """
    rng = np.random.default_rng([seed, copy])
    lines = source.lines
    n_groups = len(source.first)
    day = 86_400 * 10**9
    # each group's shift keeps its whole span inside the data's dates
    low = np.maximum(-MAX_SHIFT_DAYS * day, source.start - source.first)
    high = np.minimum(MAX_SHIFT_DAYS * day, source.end - source.last)
    minute = 60 * 10**9
    shift = (low + rng.random(n_groups) * (high - low)).astype(np.int64) // minute * minute
    n_invoices = len(source.invoice_group)
    jitter = rng.integers(-INVOICE_JITTER_MINUTES, INVOICE_JITTER_MINUTES + 1, n_invoices) * minute
    ns = lines["InvoiceDate"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    ns = np.clip(ns + shift[source.group] + jitter[source.invoice], source.start, source.end)

    n = len(lines)
    quantity = lines["Quantity"].to_numpy()
    scaled = np.rint(np.abs(quantity) * np.exp(rng.normal(0.0, QUANTITY_SPREAD, n)))
    quantity = (np.sign(quantity) * np.maximum(scaled, 1)).astype(np.int64)
    price = lines["UnitPrice"].to_numpy(dtype=float)
    price = np.round(price * np.exp(rng.normal(0.0, PRICE_SPREAD, n)), 2)
    price = np.where(lines["UnitPrice"].to_numpy() > 0, np.maximum(price, 0.01), price)

    code = lines["StockCode"].to_numpy(dtype=object).copy()
    description = lines["Description"].to_numpy(dtype=object).copy()
    is_product = pd.Series(code).astype(str).str.match(r"^\d").to_numpy() & (quantity > 0)
    swap = is_product & (rng.random(n) < SWAP_SHARE)
    picked = source.catalogue.iloc[rng.integers(0, len(source.catalogue), int(swap.sum()))]
    code[swap] = picked["StockCode"].to_numpy(dtype=object)
    description[swap] = picked["Description"].to_numpy(dtype=object)
    price[swap] = np.round(picked["UnitPrice"].to_numpy()
                           * np.exp(rng.normal(0.0, PRICE_SPREAD, int(swap.sum()))), 2)
    keep = source.first_line | (rng.random(n) >= DROP_SHARE)

    rank = source.known_rank[source.group]
    customer = np.where(rank >= 0, FIRST_ID + copy * source.n_known + rank, np.nan)
    number = source.number + (copy + 1) * INVOICE_STEP
    invoice_no = source.prefix + pd.Series(number).astype(str).to_numpy(dtype=object)
    out = pd.DataFrame({
        "InvoiceNo": invoice_no, "StockCode": code, "Description": description,
        "Quantity": quantity, "InvoiceDate": ns.astype("datetime64[ns]"), "UnitPrice": price,
        "CustomerID": customer.astype(float), "Country": lines["Country"].to_numpy(dtype=object),
    })[keep]
    return out.sort_values(["InvoiceDate", "InvoiceNo"], kind="stable").reset_index(drop=True)


def synthesize(source: SynthSource, factor: int, *, seed: int = 0) -> Iterator[pd.DataFrame]:
    """The ``factor`` copies of the source's customers, one frame per copy (see
    :func:`synthesize_copy`): a shop ``factor`` times the size, built a copy at a time."""
    if factor < 1:
        raise InputError(f"factor must be at least 1, got {factor}")
    for copy in range(factor):
        yield synthesize_copy(source, copy, seed=seed)


def write_monthly(frames: Iterator[pd.DataFrame], out_dir: str | Path, *,
                  schema=None) -> list[Path]:
    """Write lines into one parquet file per month (``OUT/2011-01.parquet``, ...), a row group
    per frame and month, so that memory holds one frame at a time.

    Args:
        frames: lines in the bundled file's columns.
        out_dir: the folder (created; existing month files are replaced).
        schema: the pyarrow schema of the files (default: the bundled file's types).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = schema or pa.schema([
        ("InvoiceNo", pa.string()), ("StockCode", pa.string()), ("Description", pa.string()),
        ("Quantity", pa.int64()), ("InvoiceDate", pa.timestamp("ns")), ("UnitPrice", pa.float64()),
        ("CustomerID", pa.float64()), ("Country", pa.string()),
    ])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        for frame in frames:
            months = frame["InvoiceDate"].dt.strftime("%Y-%m")
            for month, part in frame.groupby(months, sort=True):
                if month not in writers:
                    writers[month] = pq.ParquetWriter(out / f"{month}.parquet", schema)
                table = pa.Table.from_pandas(part, schema=schema, preserve_index=False)
                writers[month].write_table(table)
    finally:
        for writer in writers.values():
            writer.close()
    return [out / f"{month}.parquet" for month in sorted(writers)]
