"""t-SNE on a shop of look-alike customers: fitting on the distinct rows against every row (issue 25).

The shop: the bundled data's customers, each present ``--copies`` times under new ids (every
feature row repeated exactly, as the replicated shop of the issue), scaled as a run scales
them; t-SNE is fitted as a run fits it, on the seeded sample of ``fit_sample_size`` (20,000)
customers. One variant per process, so that ``farm-bench`` times them side by side:

    farm-bench -n 3 --timeout 1800 -- .venv/bin/python bench/bench_tsne_duplicates.py \\
        --variant distinct --vs ".venv/bin/python bench/bench_tsne_duplicates.py --variant all"

``--record`` runs both in this process, in turn (A B A B ...), and appends the medians, the
pairwise ratio and the share of identical rows to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _record import record

from insiders.features import build_customer_features
from insiders.filters import filter_transactions
from insiders.ingest import read_transactions
from insiders.options import STUDY_FEATURES
from insiders.spaces import TSNEEmbedding, fit_sample, make_scaler

DATA = Path(__file__).resolve().parent.parent / "data" / "online_retail.parquet"
SAMPLE = 20_000


def look_alike_rows(copies: int) -> np.ndarray:
    """The scaled features of the replicated shop's fit sample."""
    kept = filter_transactions(read_transactions(DATA)).lines
    features = build_customer_features(kept, kept["invoice_date"].max().normalize())
    values = np.tile(features[list(STUDY_FEATURES)].to_numpy(float), (copies, 1))
    scaled = make_scaler("minmax").fit_transform(values)
    return scaled[fit_sample(len(scaled), min(SAMPLE, len(scaled)), 42)]


def fit_seconds(rows: np.ndarray, distinct: bool) -> float:
    start = time.perf_counter()
    TSNEEmbedding(random_state=42, deduplicate=distinct).fit(rows)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=("distinct", "all"), default="distinct")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    rows = look_alike_rows(args.copies)
    n_distinct = len(np.unique(rows, axis=0))
    print(f"{len(rows):,} rows fitted, {n_distinct:,} distinct ({1 - n_distinct / len(rows):.0%} "
          "repeat an earlier row)", flush=True)
    if not args.record:
        seconds = fit_seconds(rows, args.variant == "distinct")
        print(f"t-SNE fit ({args.variant} rows): {seconds:.1f} s")
        return
    times: dict[str, list[float]] = {"distinct": [], "all": []}
    for _ in range(args.repeat):
        for variant in ("distinct", "all"):
            seconds = fit_seconds(rows, variant == "distinct")
            times[variant].append(seconds)
            print(f"{variant}: {seconds:.1f} s", flush=True)
    ratios = [a / b for a, b in zip(times["distinct"], times["all"], strict=True)]
    record(f"t-SNE fit on look-alike customers (bundled data x{args.copies}, fit sample "
           f"{len(rows):,}: {1 - n_distinct / len(rows):.0%} of rows repeat an earlier one)",
           f"distinct rows only: median {statistics.median(times['distinct']):.1f} s; every row: "
           f"median {statistics.median(times['all']):.1f} s; paired ratio median "
           f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}, "
           f"{args.repeat} pairs)")


if __name__ == "__main__":
    main()
