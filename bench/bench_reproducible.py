"""Same data, same Insiders and segments on every CPU: `insiders run` under several numba code
generation targets and OpenBLAS kernels, each in its own process.

Each run is `insiders run` with every default (4 spaces, 5 models, the report) on the bundled
data. The first run (the product as shipped, numba pinned to its baseline) is the reference;
for every other one the bench records the Insiders count, whether the Insiders set is
identical, the share of customers in the same segment, and whether the whole model comparison
table is identical (to 1e-9).

Rows:
* ``pinned, NUMBA_CPU_NAME=X``: the product as shipped in an environment that names numba
  target X (the pin in :mod:`insiders.numba_target` must override it);
* ``unpinned, target X``: the pin lifted (``INSIDERS_NUMBA_TARGET=X``), i.e. what a machine
  whose CPU is X computed before the pin: ``host`` is this machine's own choice;
* ``OpenBLAS X``: the product as shipped under ``OPENBLAS_CORETYPE=X``.
A run whose process dies of a signal (a kernel or target this CPU cannot execute, like
SkylakeX's AVX-512 on a CPU without it) is skipped with a line saying so.

``--cost`` times `insiders run` pinned against unpinned (host target), alternating, and
prints the median of each and the median of the pair-by-pair ratios.

Targets (issues 10 and 22): identical Insiders and >= 99% of segments on every row of the
pinned product; the pin's cost within 15%.
Run: .venv/bin/python bench/bench_reproducible.py --record [--cost N] [--spectral]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _record import record

ROOT = Path(__file__).resolve().parent.parent
INSIDERS = ROOT / ".venv" / "bin" / "insiders"
PYTHON = ROOT / ".venv" / "bin" / "python"
KERNELS = ("Haswell", "SkylakeX", "Sandybridge")
NUMBA_TARGETS = ("host", "generic", "sandybridge", "haswell")

SPECTRAL = """
import sys, warnings
warnings.filterwarnings("ignore")
from insiders.compare import GridConfig, compare_models
from insiders.features import build_customer_features, last_purchase_date
from insiders.filters import filter_transactions
from insiders.ingest import read_transactions
from insiders.segments import assign_segments
from insiders.spaces import FittedSpaces, UMAPEmbedding, make_scaler
from insiders.options import STUDY_FEATURES
kept = filter_transactions(read_transactions(sys.argv[1])).lines
features = build_customer_features(kept, last_purchase_date(kept))
scaled = make_scaler().fit_transform(features[list(STUDY_FEATURES)].to_numpy(float))
embedding = UMAPEmbedding(init="spectral").fit_transform(scaled)
grid = compare_models({"umap": embedding}, features.index.to_numpy(),
                      GridConfig(models=("ward",), k_values=(8,)))
assign_segments(features, grid.labels["umap/ward/k=8"]).to_parquet(sys.argv[2])
"""


def environment(kind: str, value: str) -> dict[str, str]:
    """The process environment of one row (see the module docstring)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "INSIDERS_NUMBA_TARGET")}
    if kind == "pinned" and value != "host":
        env["NUMBA_CPU_NAME"] = value
    elif kind == "unpinned":
        env["INSIDERS_NUMBA_TARGET"] = value
    elif kind == "blas":
        env["OPENBLAS_CORETYPE"] = value
    return env


def run_one(env: dict[str, str], out: Path, spectral: bool) -> str | None:
    """Run once; None on success, else why the row is skipped (the process died of a signal)."""
    data = str(ROOT / "data" / "online_retail.parquet")
    out.mkdir(parents=True, exist_ok=True)
    if spectral:
        command = [str(PYTHON), "-c", SPECTRAL, data, str(out / "segments.parquet")]
    else:
        command = [str(INSIDERS), "-q", "run", data, "--out-dir", str(out)]
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        return f"skipped: the process died of {name} (this CPU cannot execute it)"
    if "SIGILL" in done.stderr:  # a worker process died of an illegal instruction
        return "skipped: a worker process died of SIGILL (this CPU cannot execute it)"
    if done.returncode != 0:
        raise SystemExit(f"run failed ({done.returncode}): {done.stderr[-2000:]}")
    return None


def compare(reference: Path, other: Path, *, scores: bool) -> dict:
    a = pd.read_parquet(reference / "segments.parquet")
    b = pd.read_parquet(other / "segments.parquet").reindex(a.index)
    result = {
        "insiders": int(b["is_insider"].sum()),
        "same_set": set(a.index[a["is_insider"]]) == set(b.index[b["is_insider"]]),
        "segments_agree": float((a["segment_id"] == b["segment_id"]).mean()),
    }
    if scores:
        sa = pd.read_csv(reference / "model_scores.csv").set_index("candidate").sort_index()
        sb = pd.read_csv(other / "model_scores.csv").set_index("candidate").sort_index()
        numeric = [c for c in sa.select_dtypes("number").columns if not c.endswith("seconds")]
        close = np.isclose(sa[numeric], sb[numeric].reindex(sa.index), rtol=1e-9, atol=1e-12,
                           equal_nan=True).all(axis=1)
        result["scores_differ"] = sorted(sa.index[~close])
    return result


def describe(label: str, r: dict) -> str:
    text = (f"{label}: {r['insiders']:,} Insiders, "
            f"{'identical set' if r['same_set'] else 'another set'}, "
            f"segments agree {r['segments_agree']:.2%}")
    if "scores_differ" in r:
        differ = r["scores_differ"]
        text += (", model comparison identical" if not differ else
                 f", model comparison differs on {len(differ)} candidates "
                 f"({', '.join(differ[:4])}{', ...' if len(differ) > 4 else ''})")
    return text


def rows(args) -> list[tuple[str, str, str]]:
    """(group, label, value) of every run, the reference first."""
    out = [("pinned", "pinned, environment unset (reference)", "host")]
    out += [("pinned", f"pinned, NUMBA_CPU_NAME={t}", t) for t in args.numba if t != "host"]
    out += [("unpinned", f"unpinned, target {t}", t) for t in args.numba]
    out += [("blas", f"pinned, OpenBLAS {k}", k) for k in args.kernels]
    return out


def cost(pairs: int) -> str:
    """`insiders run` pinned vs unpinned (host), alternating; medians and the paired ratio."""
    data = str(ROOT / "data" / "online_retail.parquet")
    times: dict[str, list[float]] = {"pinned": [], "host": []}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("pinned", "host"):  # warm both numba caches first (not timed)
            env = environment("unpinned" if kind == "host" else "pinned", "host")
            subprocess.run([str(INSIDERS), "-q", "run", data, "--out-dir", f"{tmp}/{kind}"],
                           env=env, check=True, stdout=subprocess.DEVNULL)
        for i in range(pairs):
            for kind in ("pinned", "host"):
                env = environment("unpinned" if kind == "host" else "pinned", "host")
                began = time.perf_counter()
                subprocess.run([str(INSIDERS), "-q", "run", data, "--out-dir", f"{tmp}/{kind}{i}"],
                               env=env, check=True, stdout=subprocess.DEVNULL)
                times[kind].append(time.perf_counter() - began)
                print(f"  {kind} run {i + 1}: {times[kind][-1]:.1f} s", flush=True)
    ratios = [p / h for p, h in zip(times["pinned"], times["host"], strict=True)]
    return (f"pinned (generic) median {statistics.median(times['pinned']):.1f} s, unpinned (host) "
            f"median {statistics.median(times['host']):.1f} s, paired ratio median "
            f"{statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}; "
            f"{pairs} pairs, warm numba caches)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernels", nargs="+", default=list(KERNELS))
    parser.add_argument("--numba", nargs="+", default=list(NUMBA_TARGETS),
                        help="numba targets (host = the machine's own)")
    parser.add_argument("--cost", type=int, default=0, metavar="PAIRS",
                        help="also time pinned vs unpinned over this many alternating pairs")
    parser.add_argument("--only-cost", action="store_true", help="time only (with --cost)")
    parser.add_argument("--spectral", action="store_true",
                        help="also run the old spectral start (chosen path only) on the kernels")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    if not args.only_cost:
        with tempfile.TemporaryDirectory() as tmp:
            results: dict[str, list[str]] = {"pinned": [], "unpinned": [], "blas": []}
            reference = None
            for n, (group, label, value) in enumerate(rows(args)):
                out = Path(tmp) / f"run{n}"
                print(f"{label} ...", flush=True)
                skipped = run_one(environment(group, value), out, spectral=False)
                if skipped:
                    results[group].append(f"{label}: {skipped}")
                elif reference is None:
                    reference = out
                    ref = pd.read_parquet(out / "segments.parquet")
                    results[group].append(f"{label}: {int(ref['is_insider'].sum()):,} Insiders")
                else:
                    results[group].append(describe(label, compare(reference, out, scores=True)))
                print("  " + results[group][-1], flush=True)
            titles = {"pinned": "the product (numba pinned) under several NUMBA_CPU_NAME",
                      "unpinned": "numba unpinned (what each target computed before the pin)",
                      "blas": "the product (numba pinned) on several OpenBLAS kernels"}
            for group, parts in results.items():
                if parts and args.record:
                    record(f"same data, several CPUs: {titles[group]}",
                           "; ".join(parts) + " (against the reference; target: identical "
                           "set, >= 99% of segments)")
    if args.cost:
        detail = cost(args.cost)
        print(detail)
        if args.record:
            record("cost of pinning numba to the generic target: `insiders run`, bundled data",
                   detail + " (target: within 15%)")
    if args.spectral:
        spectral_rows(args)


def spectral_rows(args) -> None:
    """The old spectral start on the chosen path, per OpenBLAS kernel (what the principal
    start fixed)."""
    with tempfile.TemporaryDirectory() as tmp:
        outs, parts = [], []
        for kernel in args.kernels:
            out = Path(tmp) / kernel
            skipped = run_one(environment("blas", kernel), out, spectral=True)
            if skipped:
                parts.append(f"{kernel}: {skipped}")
                continue
            outs.append(out)
            if len(outs) == 1:
                ref = pd.read_parquet(out / "segments.parquet")
                parts.append(f"{kernel} {int(ref['is_insider'].sum()):,} Insiders (reference)")
            else:
                parts.append(describe(kernel, compare(outs[0], out, scores=False)))
        print("; ".join(parts))
        if args.record:
            record("same data on several OpenBLAS kernels: spectral start, UMAP + ward k=8",
                   "; ".join(parts))


if __name__ == "__main__":
    main()
