"""Customer features from the same lines.parquet: the former pandas path against the SQL on DuckDB.

Each measurement is a fresh process (wall time of reading + aggregating, imports excluded;
the process's peak RSS, imports included), on the bundled data after the filter rules (1x;
``filter_transactions`` alone, not the data-quality stage before it) and on a
replicate of it (every customer copied ``--factor`` times with new ids and invoice numbers).
The features of both engines are compared (to 1e-9) before anything is reported.

Run: .venv/bin/python bench/bench_feature_engines.py --factor 10 --record
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from _record import record  # noqa: E402

DATA = ROOT / "data" / "online_retail.parquet"
REFERENCE = "2011-12-09"  # the bundled data's last purchase day


def make_files(folder: Path, factor: int) -> dict[str, Path]:
    """lines_1x.parquet (the filter rules' kept lines) and lines_{factor}x.parquet (replicated)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from insiders.filters import FilterConfig, filter_transactions
    from insiders.ingest import read_transactions

    kept = filter_transactions(read_transactions(DATA), FilterConfig()).lines
    files = {"1x": folder / "lines_1x.parquet"}
    kept.to_parquet(files["1x"], index=False)
    if factor > 1:
        files[f"{factor}x"] = folder / f"lines_{factor}x.parquet"
        offset = 10 ** len(str(int(kept["customer_id"].max())))
        schema = pa.Table.from_pandas(kept, preserve_index=False).schema
        with pq.ParquetWriter(files[f"{factor}x"], schema) as out:
            for k in range(factor):
                copy = kept.assign(customer_id=kept["customer_id"] + k * offset,
                                   invoice_no=f"{k}-" + kept["invoice_no"])
                out.write_table(pa.Table.from_pandas(copy, preserve_index=False))
    return files


def one(engine: str, source: str, out: str, memory_limit: str) -> None:
    """In a child process: read and aggregate once, write the features, print time and RSS."""
    import pandas as pd

    from insiders.feature_sql import customer_features
    from tests.reference_features import pandas_customer_features

    t0 = time.perf_counter()
    if engine == "pandas":
        table = pandas_customer_features(pd.read_parquet(source), REFERENCE)
    else:
        table = customer_features(source, REFERENCE, engine=engine, memory_limit=memory_limit)
    seconds = time.perf_counter() - t0
    table.to_parquet(out)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_gb": peak_kb / 1024**2, "customers": len(table)}))


def measure(engine: str, source: Path, out: Path, memory_limit: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--one", engine, str(source), str(out),
                           "--memory-limit", memory_limit], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--factor", type=int, default=10, help="replicate size (1: 1x only)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine and size")
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB's memory limit")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--one", nargs=3, metavar=("ENGINE", "SOURCE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(*args.one, memory_limit=args.memory_limit)
        return

    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        folder = Path(tmp)
        files = make_files(folder, args.factor)
        for size, source in files.items():
            n_lines = pd.read_parquet(source, columns=["customer_id"]).shape[0]
            results: dict[str, list[dict]] = {}
            for engine in ("pandas", "duckdb"):
                results[engine] = [measure(engine, source, folder / f"{engine}.parquet",
                                           args.memory_limit) for _ in range(args.repeat)]
            pd.testing.assert_frame_equal(pd.read_parquet(folder / "duckdb.parquet"),
                                          pd.read_parquet(folder / "pandas.parquet"),
                                          check_exact=False, rtol=1e-9, atol=1e-9)
            n_customers = results["duckdb"][0]["customers"]
            summary = {e: (statistics.median(r["seconds"] for r in runs),
                           max(r["peak_gb"] for r in runs)) for e, runs in results.items()}
            line = "; ".join(f"{e} {s:.2f} s, peak RSS {gb:.2f} GB" for e, (s, gb) in summary.items())
            figure = (f"features from lines.parquet, {size} ({n_lines:,} lines, "
                      f"{n_customers:,} customers): pandas vs DuckDB SQL")
            load = os.getloadavg()[0]
            detail = (f"{line} (median of {args.repeat} fresh processes, read + aggregate, RSS "
                      f"with imports, {os.cpu_count()} cores; DuckDB memory_limit "
                      f"{args.memory_limit}; load average {load:.1f} at the end); features "
                      "equal to 1e-9")
            print(f"{figure}: {detail}")
            if args.record:
                record(figure, detail)


if __name__ == "__main__":
    main()
