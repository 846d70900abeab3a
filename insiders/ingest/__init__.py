"""Read transaction lines (CSV, Excel, Parquet; local or any fsspec URL) into one typed schema.

The entry points are in :mod:`insiders.ingest.read`; finding and decoding files in
:mod:`~insiders.ingest.files`; the columns by role in :mod:`~insiders.ingest.columns`; the
schema's lines in :mod:`~insiders.ingest.lines`; numbers and dates in
:mod:`~insiders.ingest.numbers` and :mod:`~insiders.ingest.dates`.
"""

from insiders.ingest.dates import DATE_FORMATS
from insiders.ingest.errors import IngestError
from insiders.ingest.files import detect_format
from insiders.ingest.read import iter_transactions, read_transactions

__all__ = ["DATE_FORMATS", "IngestError", "detect_format", "iter_transactions", "read_transactions"]
