"""Time the study's full model grid, ours against a re-enactment of the study's sequential notebook.

The grid: 4 spaces (scaled features, UMAP, t-SNE, tree leaves) x K-Means, Gaussian mixture and
ward for k = 2..14 (k = 2..7 on the raw features) plus DBSCAN at 3 eps values, on all 5,695
customers (147 candidates); every labelling scored by silhouette.

* Ours: ``fit_spaces`` (exact-kNN UMAP, openTSNE, forest + Hamming UMAP) then ``compare_models``
  (one distance matrix and one ward tree per space, silhouette by one matrix product).
  "Warm" = same process, after one warm-up run of each numba-using step (the two UMAPs and
  the chosen path); figures are medians of ``--repeat`` runs.
* Baseline: the notebook's way -- default ``umap.UMAP`` (pynndescent, 500 epochs), scikit-learn
  ``TSNE``, forest leaves into a default ``umap.UMAP``; then per k a fresh K-Means
  (init='random', n_init=10), Gaussian mixture (n_init=``--gmm-n-init``), ward tree recomputed
  for every k, DBSCAN, each scored by ``sklearn.metrics.silhouette_score`` from scratch.
  Run once (its first pass pays numba JIT in-process, as the notebook did); the two UMAP fits
  are then re-timed warm, so both totals are compared warm.
* Cold start: fresh subprocesses time ``import umap`` and the first fits, with numba's
  on-disk cache as installed and with an empty ``NUMBA_CACHE_DIR`` (first run after install).

Every phase also reports this process's CPU time and the share of the machine's CPU that
*other* processes used meanwhile (from /proc/stat): on a shared 2-core box the wall-clock
figures are only comparable when that share is similar.

Targets (issue): full grid <= 25 s warm (10x the study's ~250 s), chosen path (UMAP + ward
k=8) <= 10 s warm. Run: .venv/bin/python bench/bench_models.py --record   (smoke: --quick)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _record import record  # noqa: E402
from scipy.cluster.hierarchy import fcluster, linkage  # noqa: E402
from sklearn.cluster import DBSCAN, KMeans  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402
from sklearn.metrics import pairwise_distances, silhouette_score  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402
from sklearn.neighbors import NearestNeighbors  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from insiders import progress  # noqa: E402
from insiders.compare import (  # noqa: E402
    GridConfig,
    ModelGrid,
    compare_models,
    fit_labels,
    score_labels,
    silhouette_from_distances,
    silhouette_scores,
)
from insiders.features import STUDY_FEATURES, build_customer_features, last_purchase_date  # noqa: E402
from insiders.filters import FilterConfig, filter_transactions  # noqa: E402
from insiders.ingest import read_transactions  # noqa: E402
from insiders.spaces import FittedSpaces, UMAPEmbedding, fit_spaces, make_scaler  # noqa: E402

DATA = BENCH.parent / "data" / "online_retail.parquet"
STUDY_MODELS: tuple[str, ...] = ("kmeans", "gmm", "ward", "dbscan")
STUDY_GRID = GridConfig(models=STUDY_MODELS)
DEFAULT_GRID = GridConfig()  # ours: the study's models plus HDBSCAN
NUMBA_SPACES: tuple[str, ...] = ("umap", "tree")  # the spaces that run numba code (UMAP)
SEED = 42
T = TypeVar("T")


# --- measuring ---------------------------------------------------------------------------------


def _machine_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (every core), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class Span:
    """One measured stretch: wall seconds, this process's CPU seconds (all threads), and the
    share of the machine's CPU capacity that other processes used meanwhile (0..1)."""

    wall: float = 0.0
    cpu: float = 0.0
    others: float = 0.0

    def __add__(self, other: Span) -> Span:
        wall = self.wall + other.wall
        others = (self.others * self.wall + other.others * other.wall) / wall if wall else 0.0
        return Span(wall, self.cpu + other.cpu, others)

    def describe(self) -> str:
        return f"{self.wall:.1f} s (CPU {self.cpu:.0f} s; others used {self.others:.0%} of the machine)"


@contextmanager
def measure() -> Iterator[Span]:
    """Fill a :class:`Span` for the ``with`` block."""
    span = Span()
    wall, cpu, busy = time.perf_counter(), time.process_time(), _machine_busy_seconds()
    yield span
    span.wall = time.perf_counter() - wall
    span.cpu = time.process_time() - cpu
    others = _machine_busy_seconds() - busy - span.cpu
    span.others = min(max(others / (span.wall * (os.cpu_count() or 1)), 0.0), 1.0)


def repeat_median(fn: Callable[[], T], repeat: int) -> tuple[Span, list[float], T]:
    """The median run (by wall time) of ``repeat`` calls, every run's wall time, the last result."""
    spans: list[Span] = []
    for _ in range(repeat):
        with measure() as span:
            result = fn()
        spans.append(span)
    ordered = sorted(spans, key=lambda s: s.wall)
    return ordered[len(ordered) // 2], [s.wall for s in spans], result


@dataclass
class Steps:
    """Wall seconds by named step, and the whole span they cover."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[step] += time.perf_counter() - start

    def describe(self) -> str:
        return ", ".join(f"{k} {v:.1f} s" for k, v in sorted(self.seconds.items(), key=lambda kv: -kv[1]))


# --- data --------------------------------------------------------------------------------------


def load_features() -> pd.DataFrame:
    """The 5,695 customers' features from the bundled data."""
    lines = filter_transactions(read_transactions(DATA), FilterConfig(anonymous="synthetic")).lines
    return build_customer_features(lines, last_purchase_date(lines))


def study_values(features: pd.DataFrame) -> np.ndarray:
    return features[list(STUDY_FEATURES)].to_numpy(dtype=float)


# --- the study's sequential notebook, re-enacted -------------------------------------------------


def study_umap(X: np.ndarray) -> np.ndarray:
    """The notebook's UMAP: defaults (pynndescent neighbours, 500 epochs at this size), seeded."""
    import umap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return umap.UMAP(random_state=SEED).fit_transform(X)


def study_spaces(values: np.ndarray, t: Steps) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The study's four spaces, one after the other; returns them and the forest's leaves."""
    with t("scale"):
        X = make_scaler("minmax").fit_transform(values)
    with t("umap"):
        emb_umap = study_umap(X)
    with t("tsne"):
        emb_tsne = TSNE(random_state=SEED).fit_transform(X)
    target = list(STUDY_FEATURES).index("gross_revenue")
    with t("tree: forest"):
        inputs = np.delete(X, target, axis=1)
        forest = RandomForestRegressor(n_estimators=100, random_state=SEED).fit(inputs, X[:, target])
        leaves = forest.apply(inputs)
    with t("tree: umap"):
        emb_tree = study_umap(leaves)
    return {"features": X, "umap": emb_umap, "tsne": emb_tsne, "tree": emb_tree}, leaves


def study_grid(embeddings: dict[str, np.ndarray], gmm_n_init: int, t: Steps) -> int:
    """Every model and k fitted and scored from scratch, in sequence; returns the candidate count."""
    n_candidates = 0

    def score(X: np.ndarray, labels: np.ndarray) -> None:
        if 2 <= len(np.unique(labels)) <= len(X) - 1:
            with t("silhouette"):
                silhouette_score(X, labels, metric="euclidean")

    for space, X in embeddings.items():
        ks = STUDY_GRID.k_values_features if space == "features" else STUDY_GRID.k_values
        for k in ks:
            with t("kmeans"):
                labels = KMeans(
                    n_clusters=k, init="random", n_init=10, max_iter=300, random_state=SEED
                ).fit_predict(X)
            score(X, labels)
            with t("gmm"):
                gmm = GaussianMixture(n_components=k, n_init=gmm_n_init, random_state=SEED)
                labels = gmm.fit(X).predict(X)
            score(X, labels)
            with t("ward"):
                labels = fcluster(linkage(X, "ward"), k, criterion="maxclust")
            score(X, labels)
            n_candidates += 3
        with t("dbscan"):
            ms = STUDY_GRID.dbscan_min_samples
            reach = NearestNeighbors(n_neighbors=ms).fit(X).kneighbors()[0][:, -1]
            eps_values = [float(np.quantile(reach, q)) for q in STUDY_GRID.dbscan_quantiles]
        for eps in eps_values:
            with t("dbscan"):
                labels = DBSCAN(eps=eps, min_samples=ms).fit_predict(X)
            score(X, labels)
            n_candidates += 1
    return n_candidates


@dataclass
class Baseline:
    spaces_first: Span
    spaces_warm: Span
    grid: Span
    n_candidates: int

    @property
    def total(self) -> Span:
        return self.spaces_warm + self.grid


def run_baseline(values: np.ndarray, gmm_n_init: int) -> Baseline:
    steps = Steps()
    with measure() as first:
        embeddings, leaves = study_spaces(values, steps)
    print(f"  baseline spaces, first pass (pays numba JIT): {first.describe()} -- {steps.describe()}")
    # re-time the two numba steps now that they are compiled; the rest has no JIT
    warm = Steps()
    with measure() as umap_warm:
        with warm("umap"):
            study_umap(embeddings["features"])
        with warm("tree: umap"):
            study_umap(leaves)
    jit_steps = steps.seconds["umap"] + steps.seconds["tree: umap"]
    rest = first.wall - jit_steps
    # the non-UMAP steps are taken from the first pass, in proportion of its CPU and load
    spaces_warm = Span(rest, first.cpu * rest / first.wall, first.others) + umap_warm
    print(f"  baseline spaces, warm (UMAPs re-timed: {warm.describe()}): {spaces_warm.describe()}")
    steps = Steps()
    with measure() as grid:
        n = study_grid(embeddings, gmm_n_init, steps)
    print(f"  baseline grid, {n} candidates: {grid.describe()} -- {steps.describe()}")
    return Baseline(first, spaces_warm, grid, n)


# --- ours --------------------------------------------------------------------------------------


def chosen_path(values: np.ndarray) -> float:
    """The chosen model from raw features: MinMax, UMAP, ward k=8, its silhouette."""
    scaled = make_scaler("minmax").fit_transform(values)
    emb = UMAPEmbedding(random_state=SEED).fit_transform(scaled)
    labels = fit_labels(emb, "ward", 8)
    return silhouette_from_distances(pairwise_distances(emb), labels)


def scoring_seconds(embeddings: dict[str, np.ndarray], grid: ModelGrid) -> dict[str, float]:
    """Re-time the scoring (silhouette, Davies-Bouldin, Calinski-Harabasz) of every labelling,
    on one BLAS/OpenMP thread as inside :func:`compare_models`."""
    out: dict[str, float] = defaultdict(float)
    with threadpool_limits(1):
        for space, X in embeddings.items():
            distances = pairwise_distances(X)
            names = [c for c in grid.labels.columns if c.startswith(f"{space}/")]
            start = time.perf_counter()
            silhouette_scores(distances, [grid.labels[c].to_numpy() for c in names])
            out["silhouette (one pass per space)"] += time.perf_counter() - start
            for candidate in names:
                start = time.perf_counter()
                score_labels(X, grid.labels[candidate].to_numpy())
                out[candidate.split("/")[1]] += time.perf_counter() - start
    return out


@dataclass
class Ours:
    spaces: Span
    spaces_by_name: dict[str, float]
    grid: Span
    grid_runs: list[float]
    grid_default: Span
    chosen: Span
    chosen_runs: list[float]
    n_candidates: int
    n_candidates_default: int
    grid_by_model: dict[str, float]
    scoring_by_model: dict[str, float]

    @property
    def total(self) -> Span:
        return self.spaces + self.grid


def run_ours(features: pd.DataFrame, repeat: int) -> Ours:
    values = study_values(features)
    # warm-up: each numba-using step once (UMAP on the features, Hamming UMAP on the tree
    # leaves, the chosen path); t-SNE (openTSNE), the forest and the grid have no JIT
    with measure() as warmup:
        fit_spaces(features, spaces=NUMBA_SPACES, random_state=SEED)
        chosen_path(values)
    print(f"  ours warm-up (first UMAP fits in this process, not counted): {warmup.wall:.1f} s")

    by_name: dict[str, list[float]] = defaultdict(list)

    def spaces_once() -> FittedSpaces:
        fitted = fit_spaces(features, random_state=SEED)
        for name, secs in fitted.fit_seconds.items():
            by_name[name].append(secs)
        return fitted

    spaces, _, fitted = repeat_median(spaces_once, repeat)
    emb, ids = fitted.embeddings, fitted.customer_ids
    grid_span, grid_runs, grid = repeat_median(lambda: compare_models(emb, ids, STUDY_GRID), repeat)
    scoring = scoring_seconds(emb, grid)  # right after the grid runs, under similar load
    default_span, _, grid_all = repeat_median(lambda: compare_models(emb, ids, DEFAULT_GRID), repeat)
    chosen, chosen_runs, _ = repeat_median(lambda: chosen_path(values), max(repeat, 5))
    return Ours(
        spaces=spaces,
        spaces_by_name={k: statistics.median(v) for k, v in by_name.items()},
        grid=grid_span,
        grid_runs=grid_runs,
        grid_default=default_span,
        chosen=chosen,
        chosen_runs=chosen_runs,
        n_candidates=len(grid.scores),
        n_candidates_default=len(grid_all.scores),
        grid_by_model=grid.scores.groupby("model")["fit_seconds"].sum().to_dict(),
        scoring_by_model=scoring,
    )


# --- cold start, in fresh processes ---------------------------------------------------------------


def cold_probe(kind: str, import_umap: float) -> None:
    """Runs inside a fresh process (see :func:`run_cold`); prints one JSON line."""
    progress.set_enabled(False)
    out: dict[str, float] = {"import_umap": import_umap}
    features = load_features()
    values = study_values(features)
    if kind == "ours":
        for run in ("first", "second"):
            start = time.perf_counter()
            chosen_path(values)
            out[f"chosen_{run}"] = time.perf_counter() - start
        for run in ("first", "second"):  # after the chosen path: what the Hamming UMAP adds
            start = time.perf_counter()
            fitted = fit_spaces(features, spaces=NUMBA_SPACES, random_state=SEED)
            out[f"spaces_{run}"] = time.perf_counter() - start
            out.update({f"spaces_{run}_{k}": v for k, v in fitted.fit_seconds.items()})
    else:  # the study's default UMAP (pynndescent)
        X = make_scaler("minmax").fit_transform(values)
        for run in ("first", "second"):
            start = time.perf_counter()
            study_umap(X)
            out[f"umap_{run}"] = time.perf_counter() - start
    print("COLD " + json.dumps(out))


def run_cold(kind: str, empty_cache: bool) -> dict[str, float]:
    """Run :func:`cold_probe` in a fresh interpreter, optionally with an empty numba cache."""
    code = (
        "import time\nstart = time.perf_counter()\nimport umap  # noqa\n"
        "import_umap = time.perf_counter() - start\n"
        f"import sys\nsys.path.insert(0, {str(BENCH)!r})\nimport bench_models\n"
        f"bench_models.cold_probe({kind!r}, import_umap)\n"
    )
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        if empty_cache:
            env["NUMBA_CACHE_DIR"] = cache
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=BENCH.parent, capture_output=True, text=True
        )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("COLD ")]
    if done.returncode or not lines:
        raise RuntimeError(f"cold probe {kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][5:])


def describe_cold_ours(c: dict[str, float]) -> str:
    return (
        f"import umap {c['import_umap']:.1f} s; chosen path first {c['chosen_first']:.1f} s vs second "
        f"{c['chosen_second']:.1f} s (JIT {c['chosen_first'] - c['chosen_second']:.1f} s); then "
        f"fit_spaces(umap, tree) first {c['spaces_first']:.1f} s vs second {c['spaces_second']:.1f} s "
        f"(Hamming UMAP {c['spaces_first_tree']:.1f} vs {c['spaces_second_tree']:.1f} s)"
    )


def describe_cold_study(c: dict[str, float]) -> str:
    return (
        f"import umap {c['import_umap']:.1f} s; default UMAP first {c['umap_first']:.1f} s "
        f"vs second {c['umap_second']:.1f} s (JIT {c['umap_first'] - c['umap_second']:.1f} s)"
    )


# --- main ----------------------------------------------------------------------------------------


def by_size(seconds: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f} s" for k, v in sorted(seconds.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed warm runs of ours (median)")
    parser.add_argument("--gmm-n-init", type=int, default=10, help="the baseline's GaussianMixture n_init")
    parser.add_argument("--quick", action="store_true", help="skip the baseline and most cold probes")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    progress.set_enabled(False)

    features = load_features()
    values = study_values(features)
    print(f"customers: {len(features):,}, features: {', '.join(STUDY_FEATURES)}")

    base = None
    if not args.quick:
        print(f"baseline: the study's sequential notebook (GaussianMixture n_init={args.gmm_n_init}) ...")
        base = run_baseline(values, args.gmm_n_init)

    print(f"ours: warm-up, then the median of {args.repeat} warm runs ...")
    ours = run_ours(features, args.repeat)
    shared = ours.grid.wall - sum(ours.grid_by_model.values())
    print(f"  ours spaces: {ours.spaces.describe()} -- {by_size(ours.spaces_by_name)}")
    print(
        f"  ours grid (study's models), {ours.n_candidates} candidates: {ours.grid.describe()} -- runs "
        f"{', '.join(f'{r:.1f}' for r in ours.grid_runs)} s; "
        f"fit+score by model: {by_size(ours.grid_by_model)}; "
        f"shared distance matrices/ward trees/eps {shared:.1f} s; of the fit+score, the scoring alone "
        f"(silhouette + Davies-Bouldin + Calinski-Harabasz, re-timed) is "
        f"{sum(ours.scoring_by_model.values()):.1f} s ({by_size(ours.scoring_by_model)})"
    )
    print(f"  ours grid with hdbscan (default grid), {ours.n_candidates_default} candidates: "
          f"{ours.grid_default.describe()}")
    print(f"  ours chosen path (MinMax + UMAP + ward k=8 + silhouette): {ours.chosen.describe()} -- "
          f"runs {', '.join(f'{r:.2f}' for r in ours.chosen_runs)} s")

    print("cold start (fresh processes) ...")
    cold_ours = run_cold("ours", empty_cache=False)
    print(f"  ours, numba cache as installed: {describe_cold_ours(cold_ours)}")
    cold_ours_empty = cold_study = cold_study_empty = None
    if not args.quick:
        cold_ours_empty = run_cold("ours", empty_cache=True)
        print(f"  ours, empty NUMBA_CACHE_DIR: {describe_cold_ours(cold_ours_empty)}")
        cold_study = run_cold("study", empty_cache=False)
        print(f"  study's UMAP, numba cache as installed: {describe_cold_study(cold_study)}")
        cold_study_empty = run_cold("study", empty_cache=True)
        print(f"  study's UMAP, empty NUMBA_CACHE_DIR: {describe_cold_study(cold_study_empty)}")

    print("summary:")
    grid_ratio = total_ratio = cpu_grid_ratio = cpu_total_ratio = float("nan")
    if base:
        grid_ratio, cpu_grid_ratio = base.grid.wall / ours.grid.wall, base.grid.cpu / ours.grid.cpu
        total_ratio, cpu_total_ratio = base.total.wall / ours.total.wall, base.total.cpu / ours.total.cpu
        print(f"  grid only: ours {ours.grid.wall:.1f} s vs baseline {base.grid.wall:.1f} s -> "
              f"{grid_ratio:.1f}x wall, {cpu_grid_ratio:.1f}x CPU")
        print(f"  spaces + grid: ours {ours.total.wall:.1f} s vs baseline {base.total.wall:.1f} s warm "
              f"({base.spaces_first.wall + base.grid.wall:.1f} s with its first-pass JIT) -> "
              f"{total_ratio:.1f}x wall, {cpu_total_ratio:.1f}x CPU")
        print(f"  others' share of the machine: baseline grid {base.grid.others:.0%}, "
              f"ours grid {ours.grid.others:.0%}, ours spaces {ours.spaces.others:.0%}")
    print(f"  target full grid <= 25 s warm: grid only {ours.grid.wall:.1f} s, "
          f"with spaces {ours.total.wall:.1f} s")
    print(f"  target chosen path <= 10 s warm: {ours.chosen.wall:.2f} s")

    if not args.record:
        return
    if base:
        record(
            f"study's full grid, grid only ({ours.n_candidates} candidates: 4 spaces x kmeans/gmm/ward "
            f"k=2..14 (2..7 on features) + dbscan x3)",
            f"ours {ours.grid.wall:.1f} s warm (median of {args.repeat}; CPU {ours.grid.cpu:.0f} s; "
            f"others used {ours.grid.others:.0%} of the machine) vs study's sequential "
            f"{base.grid.wall:.1f} s (CPU {base.grid.cpu:.0f} s; others {base.grid.others:.0%}): "
            f"{grid_ratio:.1f}x wall, {cpu_grid_ratio:.1f}x CPU (target <= 25 s, 10x). Ours: one distance "
            f"matrix + ward tree per space, GMM n_init=1; baseline: GMM n_init={args.gmm_n_init}, "
            f"K-Means init=random, ward recomputed per k, sklearn silhouette per labelling",
        )
        record(
            "study's full grid incl. fitting the 4 spaces",
            f"ours {ours.total.wall:.1f} s warm (spaces {ours.spaces.wall:.1f} + grid {ours.grid.wall:.1f}; "
            f"CPU {ours.total.cpu:.0f} s) vs study's {base.total.wall:.1f} s warm (spaces "
            f"{base.spaces_warm.wall:.1f} + grid {base.grid.wall:.1f}; CPU {base.total.cpu:.0f} s; "
            f"{base.spaces_first.wall + base.grid.wall:.1f} s with first-pass JIT): {total_ratio:.1f}x wall, "
            f"{cpu_total_ratio:.1f}x CPU; t-SNE is {ours.spaces_by_name.get('tsne', 0):.0f} s of our spaces",
        )
    record(
        f"our default grid (study's + hdbscan x4), grid only, {ours.n_candidates_default} candidates",
        f"{ours.grid_default.wall:.1f} s warm (median of {args.repeat}; CPU {ours.grid_default.cpu:.0f} s; "
        f"others used {ours.grid_default.others:.0%} of the machine); study's models alone "
        f"{ours.grid.wall:.1f} s",
    )
    record(
        "chosen path: MinMax + UMAP (exact kNN) + ward k=8 + silhouette",
        f"{ours.chosen.wall:.2f} s warm (median of {len(ours.chosen_runs)}; CPU {ours.chosen.cpu:.1f} s; "
        f"others used {ours.chosen.others:.0%} of the machine; target <= 10 s)",
    )
    cold = (
        f"fresh process, numba cache as installed: import umap {cold_ours['import_umap']:.1f} s, "
        f"first chosen path {cold_ours['chosen_first']:.1f} s (warm {cold_ours['chosen_second']:.1f} s)"
    )
    if cold_ours_empty and cold_study and cold_study_empty:
        cold += (
            f"; empty NUMBA_CACHE_DIR: import umap {cold_ours_empty['import_umap']:.1f} s, first chosen "
            f"path {cold_ours_empty['chosen_first']:.1f} s. Study's default UMAP (pynndescent): first fit "
            f"{cold_study['umap_first']:.1f} s with cache / {cold_study_empty['umap_first']:.1f} s without "
            f"(warm {cold_study['umap_second']:.1f} s)"
        )
    record("cold start (numba JIT) of UMAP", cold)


if __name__ == "__main__":
    main()
