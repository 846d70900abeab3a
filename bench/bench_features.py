"""Time ingest + filter + features on the full bundled data (541,909 lines, Parquet).

Target (issue 2): <= 3 s on a 2-core machine. Run: .venv/bin/python bench/bench_features.py --record
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _record import record

t_import = time.perf_counter()
from insiders.features import build_customer_features, last_purchase_date  # noqa: E402
from insiders.filters import FilterConfig, filter_transactions  # noqa: E402
from insiders.ingest import read_transactions  # noqa: E402

IMPORT_S = time.perf_counter() - t_import
DATA = Path(__file__).resolve().parent.parent / "data" / "online_retail.parquet"


def once() -> tuple[float, float, float, int]:
    t0 = time.perf_counter()
    lines = read_transactions(DATA)
    t1 = time.perf_counter()
    kept = filter_transactions(lines, FilterConfig(anonymous="synthetic")).lines
    t2 = time.perf_counter()
    features = build_customer_features(kept, last_purchase_date(kept))
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, len(features)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    runs = [once() for _ in range(args.repeat)]
    totals = [sum(r[:3]) for r in runs]
    first, median = totals[0], statistics.median(totals)
    stages = [statistics.median(r[i] for r in runs) for i in range(3)]
    print(f"customers: {runs[0][3]:,}")
    print(f"ingest {stages[0]:.2f} s, filter {stages[1]:.2f} s, features {stages[2]:.2f} s")
    print(f"ingest+filter+features: first {first:.2f} s, median of {args.repeat} {median:.2f} s "
          f"(imports {IMPORT_S:.2f} s) -- target <= 3 s")
    if args.record:
        record("ingest+filter+features, 541,909 lines (parquet)",
               f"median {median:.2f} s, first {first:.2f} s, imports {IMPORT_S:.2f} s "
               f"(target <= 3 s)")


if __name__ == "__main__":
    main()
