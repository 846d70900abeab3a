"""How far the grid's sampled silhouette is from the exact one (issue 33, ``silhouette_max_n``).

On a kept run folder (``insiders run --out-dir RUN``), for each space asked: every candidate's
exact mean silhouette on every customer (distances a block of rows at a time, never the whole
matrix) against the score on seeded samples of several sizes (three sample seeds each, as the
grid draws them: :func:`insiders.compare.silhouette_scores` on the sample), and the CPU time of
one sampled scoring of the whole space. Noise (-1) is left out, as in the grid.

Run: .venv/bin/python bench/bench_silhouette.py RUN --spaces umap tsne --record
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import pairwise_distances

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _record import record


def exact_silhouettes(X: np.ndarray, labelings: list[np.ndarray], block: int = 2_000) -> np.ndarray:
    """Every labelling's mean silhouette on every point (the grid's own computation,
    :func:`insiders.compare.silhouettes_of`), the distances a block of rows at a time."""
    from insiders.compare import silhouettes_of

    def cluster_sums(onehots: np.ndarray) -> np.ndarray:
        sums = np.empty((len(X), onehots.shape[1]))
        for start in range(0, len(X), block):
            sums[start:start + block] = pairwise_distances(X[start:start + block], X) @ onehots
        return sums

    return np.array(silhouettes_of(labelings, cluster_sums))


def main() -> None:
    from insiders.compare import silhouette_scores

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a run folder (embeddings.parquet, model_labels.parquet)")
    parser.add_argument("--spaces", nargs="+", default=["umap", "tsne"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 5_000, 10_000])
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    run = Path(args.run)
    embeddings = pd.read_parquet(run / "embeddings.parquet")
    labels = pd.read_parquet(run / "model_labels.parquet")
    parts = []
    for space in args.spaces:
        X = embeddings[[f"{space}_x", f"{space}_y"]].to_numpy(dtype=float)
        columns = [c for c in labels.columns if c.startswith(f"{space}/")]
        labelings = [labels[c].to_numpy() for c in columns]
        exact = exact_silhouettes(X, labelings)
        for size in args.sizes:
            errors = []
            for seed in range(3):
                rng = np.random.default_rng([seed, zlib.crc32(space.encode())])
                sample = np.sort(rng.choice(len(X), size, replace=False))
                began = time.process_time()
                sampled = np.array(silhouette_scores(pairwise_distances(X[sample]),
                                                     [lab[sample] for lab in labelings]))
                cpu = time.process_time() - began
                errors.append(np.abs(sampled - exact))
            errors = np.array(errors)
            line = (f"{space} sample {size:,}: off by {np.nanmedian(errors):.4f} median, "
                    f"{np.nanpercentile(errors, 95):.4f} p95, {np.nanmax(errors):.4f} most "
                    f"({len(columns)} candidates x 3 seeds; {cpu:.1f} s CPU a space)")
            print(line, flush=True)
            parts.append(line)
    if args.record:
        record(f"grid silhouette on a sample against the exact score on every customer "
               f"({len(X):,} customers, run {run.name})", "; ".join(parts))


if __name__ == "__main__":
    main()
