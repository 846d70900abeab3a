"""``insiders synth``: the project's one generator of test shops.

Two kinds of shop, from the bundled UCI data (or any file in its columns):

- :mod:`insiders.synth.copies` (style ``copies``, the default): a bigger shop, every customer
  resampled ``factor`` times with new ids and jittered, as monthly parquet files in the
  bundled file's columns (for the benchmarks).
- :mod:`insiders.synth.exports` (the other styles): a real shop's export *as it comes*, with
  its quirks (coupon, void and free lines, headers pasted mid-file, a total row, ...), beside
  its clean twin in the bundled file's columns (for the tests of reading an export).
"""

from __future__ import annotations

from insiders.synth.copies import (
    DROP_SHARE,
    FIRST_ID,
    INVOICE_JITTER_MINUTES,
    INVOICE_STEP,
    MAX_SHIFT_DAYS,
    PRICE_SPREAD,
    QUANTITY_SPREAD,
    SWAP_SHARE,
    SynthSource,
    prepare_source,
    synthesize,
    synthesize_copy,
    write_monthly,
)

__all__ = ["DROP_SHARE", "FIRST_ID", "INVOICE_JITTER_MINUTES", "INVOICE_STEP", "MAX_SHIFT_DAYS",
           "PRICE_SPREAD", "QUANTITY_SPREAD", "SWAP_SHARE", "SynthSource", "prepare_source",
           "synthesize", "synthesize_copy", "write_monthly"]
