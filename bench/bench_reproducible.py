"""Same data, same Insiders on every BLAS kernel: `insiders run` under several OpenBLAS kernels.

Each kernel runs `insiders run` with every default (4 spaces, 5 models, the report) on the
bundled data in its own process, with `OPENBLAS_CORETYPE` set for that process only (never in
tests or CI). The first kernel is the reference; for every other one the bench records the
Insiders count, whether the Insiders set is identical, the share of customers in the same
segment, and whether the whole model comparison table is identical (to 1e-9).

`--spectral` adds the old start (UMAP's spectral layout) on the chosen path only (UMAP + ward,
k = 8), to show on this machine what the principal start fixed.

Issue 10's target: identical Insiders and >= 99% of segments on Haswell, SkylakeX and
Sandybridge. Run: .venv/bin/python bench/bench_reproducible.py --record [--spectral]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _record import record

ROOT = Path(__file__).resolve().parent.parent
INSIDERS = ROOT / ".venv" / "bin" / "insiders"
PYTHON = ROOT / ".venv" / "bin" / "python"
KERNELS = ("Haswell", "SkylakeX", "Sandybridge")

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


def run_kernel(kernel: str, out: Path, spectral: bool) -> None:
    env = {**os.environ, "OPENBLAS_CORETYPE": kernel}
    data = str(ROOT / "data" / "online_retail.parquet")
    out.mkdir(parents=True, exist_ok=True)
    if spectral:
        command = [str(PYTHON), "-c", SPECTRAL, data, str(out / "segments.parquet")]
    else:
        command = [str(INSIDERS), "-q", "run", data, "--out-dir", str(out)]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernels", nargs="+", default=list(KERNELS))
    parser.add_argument("--spectral", action="store_true",
                        help="also run the old spectral start (chosen path only)")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    modes = [False, True] if args.spectral else [False]
    with tempfile.TemporaryDirectory() as tmp:
        for spectral in modes:
            label = "spectral start (UMAP's own), UMAP + ward k=8" if spectral else (
                "principal start, `insiders run` defaults (4 spaces, 5 models, report)")
            outs = []
            for kernel in args.kernels:
                out = Path(tmp) / f"{'spectral' if spectral else 'run'}-{kernel}"
                print(f"{label}: {kernel} ...", flush=True)
                run_kernel(kernel, out, spectral)
                outs.append(out)
            ref = pd.read_parquet(outs[0] / "segments.parquet")
            parts = [f"{args.kernels[0]} {int(ref['is_insider'].sum()):,} Insiders (reference)"]
            for kernel, out in zip(args.kernels[1:], outs[1:], strict=True):
                r = compare(outs[0], out, scores=not spectral)
                text = (f"{kernel} {r['insiders']:,} Insiders, "
                        f"{'identical set' if r['same_set'] else 'another set'}, "
                        f"segments agree {r['segments_agree']:.2%}")
                if "scores_differ" in r:
                    differ = r["scores_differ"]
                    text += (", model comparison identical" if not differ else
                             f", model comparison differs on {len(differ)} candidates "
                             f"({', '.join(differ[:6])}{', ...' if len(differ) > 6 else ''})")
                parts.append(text)
            detail = "; ".join(parts)
            print(detail)
            if args.record:
                record(f"same data on several OpenBLAS kernels: {label}",
                       detail + " (target: identical set, >= 99% of segments)")


if __name__ == "__main__":
    main()
