"""The product at size (issue 15): `insiders run` on a shop FACTOR times the bundled one, and
how far spaces fitted on a sample agree with spaces fitted on every customer.

* ``run`` (default factor 10): ``insiders synth --factor N`` makes the shop (monthly parquet
  files), which is read as one parquet file (``--folder`` passes the folder itself, once
  sources may be folders); then ``insiders -q run`` with the default params (4 spaces, 5
  models, the report), as of 2011-12-09. Measured: wall time and the peak of the summed
  resident memory of the whole process tree (the run and every worker it starts: loky
  processes, the forest's threads are in the run's own RSS), polled every 0.2 s with psutil;
  and each stage's time from the run's progress lines. Targets: 10x <= 3 min; 100x <= 20 min
  and <= 12 GB (through the DAG: bench/bench_dag.py on the same files).
* ``dag`` (default factor 10): the same shop's folder of months through the monthly DAG
  (``airflow dags test``, the ``source`` param, a local Postgres), wall time and peak RSS of
  the process tree, each task's time. Same targets.
* ``stages`` (default factor 10): each stage of ``insiders run`` in a process of its own
  (``insiders.pipeline.run_stage``, defaults, as of the same day) on the folder of months:
  wall time and peak RSS of each stage's process tree, to find which stage sets the peak;
  ``--keep RUN --stages tier backtest`` times only those, again, on a kept run folder.
* ``clustering`` (e.g. factor 100): ``insiders embed`` and ``insiders compare`` alone (wall
  and peak RSS of the process tree), on features built a copy at a time, for sizes whose
  ingest and features do not fit in memory yet.
* ``cluster-agreement`` (default factor 4): ward k = 8 on the run's UMAP space fitted on
  every customer against fitted on seeded samples (``cluster_sample_size``, the others by
  nearest centroid): the adjusted Rand index, two sample seeds, and the fit times.
* ``bundled``: the bundled data's run against the code before (``--against REV``), paired by
  farm-bench, and whether segments and every labelling are identical.
* ``agreement`` (default factor 4): the customers' features as of 2011-12-09; UMAP fitted on
  every customer against fitted on seeded samples of several sizes (the others placed by
  the fitted transform), both cut by ward at k = 8; the adjusted Rand index of the two
  segmentations, beside two full fits with different seeds (how much a refit moves anyway).

Run: .venv/bin/python bench/bench_scale.py run --factor 10 --record
     .venv/bin/python bench/bench_scale.py dag --factor 100 --data SHOP --record
     .venv/bin/python bench/bench_scale.py agreement --factor 4 --record
     .venv/bin/python bench/bench_scale.py cluster-agreement --factor 4 --record
     .venv/bin/python bench/bench_scale.py clustering --factor 100 --record
     .venv/bin/python bench/bench_scale.py bundled --record
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _record import record

ROOT = Path(__file__).resolve().parent.parent
INSIDERS = ROOT / ".venv" / "bin" / "insiders"
REFERENCE = "2011-12-09"


def make_shop(factor: int, folder: Path, seed: int = 0) -> Path:
    """``insiders synth`` into ``folder`` (kept if already there with its files)."""
    if not any(folder.glob("*.parquet")):
        subprocess.run([str(INSIDERS), "-q", "synth", "--factor", str(factor), "--out",
                        str(folder), "--seed", str(seed)], check=True)
    return folder


def one_file(folder: Path, out: Path) -> Path:
    """The monthly files as one parquet file (until sources may be folders)."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    if not out.exists():
        pq.write_table(ds.dataset(str(folder), format="parquet").to_table(), out)
    return out


class PeakTreeRSS:
    """The peak, over time, of the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.every = every
        self.peak = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                tree = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for process in tree:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += process.memory_info().rss
            if total > self.peak:
                self.peak, self.peak_processes = total, len(tree)
            self._stop.wait(self.every)

    def __enter__(self) -> PeakTreeRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def stage_times(log: str) -> dict[str, float]:
    """Each top-level stage's seconds from the progress lines (``name: done in 1.2 s``)."""
    found = {}
    for name, seconds in re.findall(r"^\[\s*[\d.]+ s\] +(\S.*?): done in ([\d.]+) s$", log, re.M):
        found.setdefault(name, float(seconds))
    return found


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        folder = Path(args.data) if args.data else Path(tmp) / f"shop-{args.factor}x"
        start = time.perf_counter()
        make_shop(args.factor, folder, args.seed)
        synth_s = time.perf_counter() - start
        source = folder if args.folder else one_file(folder, Path(tmp) / "shop.parquet")
        out = Path(args.keep) if args.keep else Path(tmp) / "run"
        command = [str(INSIDERS), "run", str(source), "--reference-date", REFERENCE,
                   "--out-dir", str(out), *args.extra]
        print(" ".join(command), flush=True)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        log_file = Path(tmp) / "run.log"
        with log_file.open("w") as handle:  # the progress lines, as they come: tail -f it
            print(f"progress lines in {log_file}", flush=True)
            process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
            with PeakTreeRSS(process.pid) as peak:
                process.wait()
        wall = time.perf_counter() - start
        load = max(load, os.getloadavg()[0])
        log = log_file.read_text()
        print(log)
        if process.returncode:
            raise SystemExit(f"insiders run failed ({process.returncode})")
        import json

        facts = json.loads((out / "facts.json").read_text()) if (out / "facts.json").exists() else {}
    stages = stage_times(log)
    top = ", ".join(f"{k} {v:.0f} s" for k, v in stages.items() if v >= 2)
    customers = facts.get("customers")
    print(f"load average up to {load:.1f}; wall {wall:.1f} s, peak RSS of the process tree "
          f"{peak.peak / 1e9:.2f} GB ({peak.peak_processes} processes at the peak); stages: {top}")
    if args.record:
        record(f"`insiders run` at {args.factor}x the bundled data (`insiders synth`, seed "
               f"{args.seed}; defaults: 4 spaces, 5 models, report; as of {REFERENCE})"
               + (" " + " ".join(args.extra) if args.extra else ""),
               f"{customers:,} customers; wall {wall:.0f} s, peak RSS of the process tree "
               f"{peak.peak / 1e9:.1f} GB; spaces fitted on {facts.get('fitted_on', 0):,}, "
               f"skipped: {', '.join(facts.get('spaces_skipped') or {}) or 'none'}; stages: {top}; "
               f"synth {synth_s:.0f} s apart; load average {load:.1f} on {os.cpu_count()} cores"
               f" (targets, issue 23: 10x <= 120 s; 100x DAG <= 10 min, <= 8 GB)")


def _shop_features(args: argparse.Namespace):
    """The customers' features of a FACTOR x shop as of the reference date."""
    import pandas as pd

    from insiders.features import build_customer_features
    from insiders.filters import filter_transactions
    from insiders.ingest import read_transactions

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        folder = Path(args.data) if args.data else Path(tmp) / f"shop-{args.factor}x"
        make_shop(args.factor, folder, args.seed)
        lines = pd.concat([read_transactions(f) for f in sorted(folder.glob("*.parquet"))],
                          ignore_index=True)
    kept = filter_transactions(lines).lines
    del lines
    features = build_customer_features(kept, pd.Timestamp(REFERENCE))
    print(f"{len(features):,} customers", flush=True)
    return features


def agreement(args: argparse.Namespace) -> None:
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    from insiders.models import fit_labels
    from insiders.spaces import fit_spaces

    features = _shop_features(args)
    n = len(features)

    def segments(seed: int, sample: int | None) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        fitted = fit_spaces(features, spaces=("umap",), random_state=seed, fit_sample_size=sample)
        labels = fit_labels(fitted.embeddings["umap"], "ward", 8)
        return labels, time.perf_counter() - start

    seeds = (42, 43)
    full = {seed: segments(seed, None) for seed in seeds}
    rows = [f"full fit {full[42][1]:.0f} s; full vs full with another seed (42 vs 43): ARI "
            f"{adjusted_rand_score(full[42][0], full[43][0]):.3f}"]
    for size in args.sizes:
        if size >= n:
            continue
        found = {seed: segments(seed, size) for seed in seeds}
        rows.append(f"sample {size:,} vs full, same seed: ARI " + " / ".join(
            f"{adjusted_rand_score(full[seed][0], found[seed][0]):.3f}" for seed in seeds)
            + f" (seeds {' / '.join(map(str, seeds))}; fit {found[42][1]:.0f} s)")
        print(rows[-1], flush=True)
    print("; ".join(rows))
    if args.record:
        record(f"agreement of UMAP fitted on a sample vs on every customer, ward k = 8, "
               f"{args.factor}x (`insiders synth`, seed {args.seed}), as of {REFERENCE}",
               f"{n:,} customers; " + "; ".join(rows))


def cluster_agreement(args: argparse.Namespace) -> None:
    """Ward k = 8 on one UMAP space (the run's, default params) of a FACTOR x shop: fitted on
    every customer against fitted on seeded samples (``cluster_sample_size``, the others by
    nearest centroid); the adjusted Rand index of the two segmentations, and the fit times."""
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    from insiders.config import EmbedConfig
    from insiders.models import fit_labels
    from insiders.spaces import fit_spaces

    if args.keep:  # the UMAP space of a run folder (e.g. clustering --keep at 100x)
        from insiders.spaces import load_spaces

        X = load_spaces(str(Path(args.keep) / "spaces.joblib")).embeddings["umap"]
    else:
        embed = EmbedConfig()
        X = fit_spaces(_shop_features(args), spaces=("umap",), random_state=embed.random_state,
                       fit_sample_size=embed.fit_sample_size).embeddings["umap"]
    n = len(X)
    with threadpool_limits(1):  # as the comparison fits
        start = time.perf_counter()
        full = fit_labels(X, "ward", 8)
        rows = [f"full fit {time.perf_counter() - start:.1f} s"]
        for size in args.sizes:
            if size >= n:
                continue
            found = {}
            for seed in (42, 43):
                start = time.perf_counter()
                found[seed] = fit_labels(X, "ward", 8, random_state=seed, sample_size=size)
                seconds = time.perf_counter() - start
            rows.append(f"sample {size:,} vs full: ARI " + " / ".join(
                f"{adjusted_rand_score(full, found[seed]):.3f}" for seed in found)
                + f" (sample seeds 42 / 43; fit {seconds:.1f} s); the two samples: ARI "
                f"{adjusted_rand_score(found[42], found[43]):.3f}")
            print(rows[-1], flush=True)
    load = os.getloadavg()[0]
    print("; ".join(rows) + f"; load average {load:.1f}")
    if args.record:
        record(f"agreement of ward k = 8 fitted on a sample (cluster_sample_size; the others "
               f"by nearest centroid) vs on every customer, one UMAP space, {args.factor}x "
               f"(`insiders synth`, seed {args.seed}), as of {REFERENCE}",
               f"{n:,} customers; " + "; ".join(rows) + f"; load average {load:.1f}")


def clustering(args: argparse.Namespace) -> None:
    """``insiders embed`` and ``insiders compare`` on the customers of a FACTOR x shop.

    The features are built a copy at a time (a copy's customers have lines in that copy only,
    and the filters work line by line, so they equal the features of all lines at once) to
    measure the clustering at a size where ingest and features do not fit in memory yet.
    With ``--keep DIR`` the run folder is DIR, and features already there are used as they
    are (``--stages compare`` then times the comparison alone on the spaces already fitted).
    """
    import json

    import pandas as pd

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        run_dir = Path(args.keep) if args.keep else Path(tmp) / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        if (run_dir / "features.parquet").exists():  # --keep: the features of an earlier run
            n = len(pd.read_parquet(run_dir / "features.parquet", columns=[]))
        else:
            n = _features_by_copy(args, Path(tmp), run_dir)
        if not (run_dir / "manifest.json").exists():  # the attempt ingest would have begun
            from insiders.run_folder import begin_attempt

            begin_attempt(str(run_dir), "bench")
        results = []
        for stage in args.stages:
            command = [str(INSIDERS), stage, "--run-dir", str(run_dir), *args.extra]
            load = os.getloadavg()[0]
            start = time.perf_counter()
            with (Path(tmp) / f"{stage}.log").open("w") as handle:
                process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
                with PeakTreeRSS(process.pid) as peak:
                    process.wait()
            wall = time.perf_counter() - start
            log = (Path(tmp) / f"{stage}.log").read_text()
            print(log[-3000:], flush=True)
            if process.returncode:
                raise SystemExit(f"insiders {stage} failed ({process.returncode})")
            results.append(f"{stage} {wall:.0f} s, peak RSS of the process tree "
                           f"{peak.peak / 1e9:.1f} GB (load average {max(load, os.getloadavg()[0]):.1f})")
            print(results[-1], flush=True)
            facts = json.loads((run_dir / "facts.json").read_text())
            if stage == "compare" and "clustered_on" in facts:
                results[-1] += (f"; models fitted on {facts['clustered_on']:,} customers "
                                f"(cluster_sample_size {facts['cluster_sample_size']:,})")
            if args.record:  # each stage as it ends: a long compare may not end in time
                record(f"clustering at {args.factor}x: `insiders {stage}` (defaults"
                       + (" " + " ".join(args.extra) if args.extra else "") + ") on the "
                       f"features of `insiders synth` (seed {args.seed}), as of {REFERENCE}",
                       f"{n:,} customers; {results[-1]}")


def _features_by_copy(args: argparse.Namespace, tmp: Path, run_dir: Path) -> int:
    """The FACTOR x shop's customer features into ``run_dir``, a copy at a time; their count."""
    import pandas as pd

    from insiders import synth
    from insiders.config import FilterConfig
    from insiders.features import build_customer_features
    from insiders.filters import filter_transactions
    from insiders.ingest import read_transactions

    start = time.perf_counter()
    source = synth.prepare_source(pd.read_parquet(ROOT / "data" / "online_retail.parquet"),
                                  drop_customers=FilterConfig().excluded_customers)
    parts = []
    for copy in range(args.factor):
        part = tmp / "copy.parquet"
        synth.synthesize_copy(source, copy, seed=args.seed).to_parquet(part)
        kept = filter_transactions(read_transactions(part)).lines
        parts.append(build_customer_features(kept, pd.Timestamp(REFERENCE)))
    features = pd.concat(parts)
    del parts
    features.to_parquet(run_dir / "features.parquet")
    n = len(features)
    del features
    print(f"{n:,} customers' features in {time.perf_counter() - start:.0f} s", flush=True)
    return n


STAGE_SCRIPT = """
import sys
from insiders.progress import show_in_terminal
from insiders.pipeline import run_stage
show_in_terminal()
run_stage(sys.argv[1], sys.argv[2], source=sys.argv[3], reference_date=sys.argv[4])
"""


def stages(args: argparse.Namespace) -> None:
    """Each stage in its own process on one run folder: wall time and peak RSS of its tree."""
    sys.path.insert(0, str(ROOT))
    from insiders.pipeline import STAGES

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        folder = make_shop(args.factor, Path(args.data) if args.data else Path(tmp) / "shop",
                           args.seed)
        out = Path(args.keep) if args.keep else Path(tmp) / "run"
        load = os.getloadavg()[0]
        rows = []
        for name in args.stages or STAGES:
            start = time.perf_counter()
            process = subprocess.Popen([sys.executable, "-c", STAGE_SCRIPT, name, str(out),
                                        str(folder), REFERENCE], cwd=tmp)
            with PeakTreeRSS(process.pid) as peak:
                process.wait()
            if process.returncode:
                raise SystemExit(f"stage {name} failed ({process.returncode})")
            rows.append((name, time.perf_counter() - start, peak.peak / 1e9))
            print(f"{name}: {rows[-1][1]:.0f} s, peak RSS {rows[-1][2]:.2f} GB", flush=True)
        load = max(load, os.getloadavg()[0])
    table = ", ".join(f"{name} {s:.0f} s / {gb:.1f} GB" for name, s, gb in rows)
    print(f"load average up to {load:.1f}; {table}")
    if args.record:
        record(f"each stage in its own process at {args.factor}x the bundled data (`insiders "
               f"synth`, seed {args.seed}; the folder of months; defaults; as of {REFERENCE})",
               f"wall and peak RSS of each stage's process tree: {table}; total "
               f"{sum(r[1] for r in rows):.0f} s, highest peak {max(r[2] for r in rows):.1f} GB; "
               f"load average {load:.1f} on {os.cpu_count()} cores (target: 100x <= 12 GB)")


def dag(args: argparse.Namespace) -> None:
    """The monthly DAG (``airflow dags test``: every task in one process tree) on a FACTOR x
    shop's folder of months as its ``source`` param, loading a local Postgres: wall time,
    peak RSS of the process tree, and each task's time from Airflow's metadata database."""
    import json

    from bench_dag import dag_environment, task_durations

    sys.path.insert(0, str(ROOT))
    from insiders import warehouse
    from tests.airflow_env import VENV_BIN

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        folder = make_shop(args.factor, Path(args.data) if args.data else tmp / "shop", args.seed)
        with dag_environment(tmp) as (env, dsn):
            command = [str(VENV_BIN / "airflow"), "dags", "test", "insiders_monthly",
                       "2011-12-15T06:00:00+00:00", "-c", json.dumps({"source": str(folder)})]
            load = os.getloadavg()[0]
            log_file = tmp / "dag.log"
            print(" ".join(command), f"\nAirflow's output in {log_file}", flush=True)
            start = time.perf_counter()
            with log_file.open("w") as handle:
                process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
                with PeakTreeRSS(process.pid) as peak:
                    process.wait()
            wall = time.perf_counter() - start
            load = max(load, os.getloadavg()[0])
            if process.returncode:
                print(log_file.read_text()[-5000:])
                raise SystemExit(f"the DAG run failed ({process.returncode})")
            tasks, _ = task_durations(tmp / "airflow" / "airflow.db")
            with warehouse.connect(dsn) as conn:
                customers, insiders = conn.execute(
                    "SELECT customers, insiders FROM insiders.runs").fetchone()
    print(f"load average up to {load:.1f}; wall {wall:.1f} s, peak RSS of the process tree "
          f"{peak.peak / 1e9:.2f} GB ({peak.peak_processes} processes at the peak); "
          f"{customers:,} customers, {insiders:,} Insiders; tasks: {tasks}")
    if args.record:
        record(f"DAG insiders_monthly at {args.factor}x the bundled data (`insiders synth`, seed "
               f"{args.seed}; the folder of months as param source; defaults; airflow dags test, "
               f"local Postgres)",
               f"{customers:,} customers, {insiders:,} Insiders; wall {wall:.0f} s, peak RSS of "
               f"the process tree {peak.peak / 1e9:.1f} GB; tasks: {tasks}; load average "
               f"{load:.1f} on {os.cpu_count()} cores (targets, issue 23: 10x <= 120 s; "
               f"100x <= 10 min, <= 8 GB)")


def bundled(args: argparse.Namespace) -> None:
    """`insiders run` on the bundled data, this code against ``--against`` (a git revision),
    paired by farm-bench; and whether their outputs are identical (below the sample size
    nothing may change)."""
    import pandas as pd

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.against, "insiders"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        (base / "data").symlink_to(ROOT / "data")  # the bundled file, found beside the package
        data = ROOT / "data" / "online_retail.parquet"
        ours = f"{INSIDERS} -q run {data} --out-dir {tmp}/A"
        theirs = f"sh -c 'PYTHONPATH={base} exec {INSIDERS} -q run {data} --out-dir {tmp}/B'"
        done = subprocess.run(["farm-bench", "-n", str(args.runs), "--warmup", "0", "--timeout",
                               "3000", "--vs", theirs, "--", *ours.split()],
                              capture_output=True, text=True, check=True, cwd=tmp)  # not ROOT:
        # a worker process started in ROOT would import this checkout's package, not the base
        print(done.stdout)
        a, b = (pd.read_parquet(Path(tmp, x, "segments.parquet")) for x in "AB")
        named = [sorted(set(x["segment_name"])) for x in (a, b)]
        # segment names may change where the naming did; ids, clusters, the tier may not
        labels = [pd.read_parquet(Path(tmp, x, "model_labels.parquet")) for x in "AB"]
        same = (a.drop(columns="segment_name").equals(b.drop(columns="segment_name"))
                and labels[0].equals(labels[1]))
        print(f"segment names: {named[0]} (this branch) vs {named[1]}")
    wall = re.findall(r"^[AB] wall s\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", done.stdout, re.M)
    ratio = re.search(r"^A/B wall\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", done.stdout, re.M)
    cpu = re.search(r"^A/B cpu\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", done.stdout, re.M)
    print(f"segments and every labelling identical: {same}")
    if args.record and len(wall) >= 2 and ratio and cpu:
        record(f"bundled data, `insiders run` defaults: this branch vs {args.against} (farm-bench, "
               f"{args.runs} pairs)",
               f"median wall {wall[0][1]} s vs {wall[1][1]} s, paired A/B wall median "
               f"{ratio.group(2)} ({ratio.group(1)}-{ratio.group(3)}), CPU {cpu.group(2)}; "
               f"segments (ids, clusters, Insiders, values) and every labelling identical: "
               f"{same}; names {named[0]} vs {named[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("run", "dag", "stages", "agreement", "cluster-agreement",
                                         "clustering", "bundled"))
    parser.add_argument("--factor", type=int, default=None, help="default: 10 (run), 4 (agreement)")
    parser.add_argument("--seed", type=int, default=0, help="seed of insiders synth")
    parser.add_argument("--data", help="a folder insiders synth already wrote (else made in --tmp)")
    parser.add_argument("--tmp", default=None, help="where the shop and the run go (default: $TMPDIR)")
    parser.add_argument("--folder", action="store_true",
                        help="pass the folder of monthly files as the source (needs folder sources)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 5_000, 10_000],
                        help="agreement: sample sizes (default: 2,000 5,000 10,000)")
    parser.add_argument("--against", default="89e7a82",
                        help="bundled: the git revision to compare with (default: before issue 15)")
    parser.add_argument("--runs", type=int, default=3, help="bundled: pairs of runs")
    parser.add_argument("--keep", help="run, clustering: the run folder to keep (default: a "
                        "temporary one; clustering reuses the features already in it); "
                        "cluster-agreement: a run folder whose UMAP space to use")
    parser.add_argument("--stages", nargs="+", default=None,
                        help="clustering: the stages to time (embed, compare; default: both); "
                        "stages: only these, on the run folder --keep already holds (default: all)")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("extra", nargs="*", help="run: more flags for insiders run (after --)")
    args = parser.parse_args()
    args.factor = args.factor or (10 if args.what in ("run", "dag", "stages") else 4)
    if args.what == "clustering":
        args.stages = args.stages or ["embed", "compare"]
        if set(args.stages) - {"embed", "compare"}:
            parser.error("clustering times embed and compare only")
    elif args.what == "stages" and args.stages and not args.keep:
        parser.error("stages --stages runs on the run folder of an earlier run: give --keep")
    {"run": run, "dag": dag, "stages": stages, "agreement": agreement, "cluster-agreement": cluster_agreement,
     "clustering": clustering, "bundled": bundled}[args.what](args)


if __name__ == "__main__":
    main()
