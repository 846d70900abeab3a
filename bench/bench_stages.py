"""Where a run's time and memory go, per stage, at three sizes, before and after (issue 33).

Each ``insiders run`` (defaults, as of 2011-12-09) is run in a fresh process from a given
checkout (``--side NAME=PATH``: the checkout is put first on PYTHONPATH, so a ``git worktree``
of an older commit runs its own code with this venv), on the bundled data and on shops made by
``insiders synth --factor N`` (7: about 30,000 customers; 10: about 43,000). Measured per run:
wall time, the peak summed RSS of the process tree (the run and its loky workers), and each
stage's seconds and peak RSS from ``facts.json``'s ``stage_costs``, and the CPU seconds of the
whole process tree (user + system, ``RUSAGE_CHILDREN``: less moved by a busy machine than the
wall time). Sides are run in turn
(before, after, before, after, ...) so that both see the same load; every run's figures are
kept as JSON in ``--keep`` so later calls add runs, and ``--summary`` prints (``--record``:
appends to RESULTS.md) the medians per stage side by side, with the ratio and the load average.

Run: git worktree add /tmp/before 1426a42
     .venv/bin/python bench/bench_stages.py --side before=/tmp/before --side after=. \
         --sizes bundled 7 10 --repeats 3 --keep /tmp/stages
     .venv/bin/python bench/bench_stages.py --keep /tmp/stages --summary --record
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _record import record
from bench_scale import REFERENCE, PeakTreeRSS, make_shop, one_file

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
CUSTOMERS = {"bundled": "bundled data", "7": "synth x7", "10": "synth x10"}


def source_of(size: str, keep: Path) -> Path | None:
    """The source file of a size: None for the bundled data, else one parquet file of a shop."""
    if size == "bundled":
        return None
    folder = make_shop(int(size), keep / f"shop{size}")
    return one_file(folder, keep / f"shop{size}.parquet")


def run_once(side: str, checkout: Path, size: str, keep: Path, repeat: int) -> dict:
    """One ``insiders run`` of ``checkout`` on ``size``; its figures (also saved in ``keep``)."""
    source = source_of(size, keep)
    with tempfile.TemporaryDirectory(dir=keep) as tmp:
        out = Path(tmp) / "run"
        command = [str(PYTHON), "-c", "import sys; from insiders.cli import main; sys.exit(main())",
                   "-q", "run", *([str(source)] if source else []),
                   "--reference-date", REFERENCE, "--out-dir", str(out)]
        env = {**os.environ, "PYTHONPATH": str(checkout.resolve())}
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        with (Path(tmp) / "run.log").open("w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                       cwd=checkout)
            with PeakTreeRSS(process.pid) as peak:
                process.wait()
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if process.returncode:
            print((Path(tmp) / "run.log").read_text()[-3000:])
            raise SystemExit(f"{side} on {size}: insiders run failed ({process.returncode})")
        facts = json.loads((out / "facts.json").read_text())
    figures = {
        "side": side, "checkout": str(checkout), "size": size, "repeat": repeat,
        "customers": facts.get("customers"), "wall_s": wall, "cpu_s": cpu,
        "peak_tree_gb": peak.peak / 1e9,
        "load": max(load, os.getloadavg()[0]),
        "stages": {name: {"s": c["seconds"], "rss_mb": max(c["peak_rss_mb"],
                                                           c.get("workers_peak_rss_mb", 0.0))}
                   for name, c in (facts.get("stage_costs") or {}).items()},
    }
    (keep / "runs").mkdir(exist_ok=True)
    (keep / "runs" / f"{size}-{side}-{repeat}-{int(time.time())}.json").write_text(
        json.dumps(figures))
    print(f"{side:>8} {size:>7}: {wall:6.1f} s, CPU {cpu:6.1f} s, {figures['peak_tree_gb']:.2f} GB, "
          f"load {figures['load']:.1f}", flush=True)
    return figures


def summary(keep: Path, do_record: bool, note: str = "") -> None:
    """Medians per size, side and stage, side by side."""
    files = sorted((keep / "runs").glob("*.json"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    runs = [json.loads(p.read_text()) for p in files]  # in the order they were run
    sides = sorted(dict.fromkeys(r["side"] for r in runs), key=lambda s: s != "before")
    for size in dict.fromkeys(r["size"] for r in runs):
        at = {s: [r for r in runs if r["size"] == size and r["side"] == s] for s in sides}
        at = {s: rs for s, rs in at.items() if rs}
        if not at:
            continue
        stages = list(dict.fromkeys(n for rs in at.values() for r in rs for n in r["stages"]))

        def med(rs, get):
            values = [v for v in (get(r) for r in rs) if v is not None]
            return statistics.median(values) if values else float("nan")

        parts = []
        for name in stages:
            cells = []
            for rs in at.values():
                sec = med(rs, lambda r, n=name: r["stages"].get(n, {}).get("s"))
                mb = med(rs, lambda r, n=name: r["stages"].get(n, {}).get("rss_mb"))
                cells.append(f"{sec:.1f} s/{mb / 1024:.1f} GB")
            if max(med(rs, lambda r, n=name: r["stages"].get(n, {}).get("s"))
                   for rs in at.values()) >= 1.0:
                parts.append(f"{name} " + " → ".join(cells))
        walls = {s: med(rs, lambda r: r["wall_s"]) for s, rs in at.items()}
        cpus = {s: med(rs, lambda r: r.get("cpu_s")) for s, rs in at.items()}
        peaks = {s: med(rs, lambda r: r["peak_tree_gb"]) for s, rs in at.items()}
        loads = [r["load"] for rs in at.values() for r in rs]
        customers = next(r["customers"] for rs in at.values() for r in rs)
        counts = "/".join(str(len(rs)) for rs in at.values())
        head = " → ".join(f"{s} {walls[s]:.0f} s (CPU of the process tree {cpus[s]:.0f} s), "
                          f"{peaks[s]:.1f} GB" for s in at)
        ratio = ""
        if len(at) == 2:
            a, b = list(at)
            ratio = f" (ratio {walls[b] / walls[a]:.2f}, CPU {cpus[b] / cpus[a]:.2f})"
        figure = (f"`insiders run` per stage, {CUSTOMERS.get(size, size)} ({customers:,} customers), "
                  f"{' → '.join(at)}, median of {counts} runs taken in turn{note}")
        detail = (f"wall {head}{ratio}; per stage (s / peak RSS, stages >= 1 s): "
                  f"{'; '.join(parts)}; load average {min(loads):.1f}-{max(loads):.1f} "
                  f"on {os.cpu_count()} cores")
        if do_record:
            record(figure, detail)
        else:
            print(f"{figure}: {detail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", action="append", default=[],
                        help="NAME=CHECKOUT, in the order they are run (e.g. before=/tmp/before)")
    parser.add_argument("--sizes", nargs="+", default=["bundled", "7", "10"],
                        help="bundled, or a factor of insiders synth (default: bundled 7 10)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", required=True, help="folder of the shops and every run's figures")
    parser.add_argument("--summary", action="store_true", help="print the medians kept so far")
    parser.add_argument("--record", action="store_true", help="with --summary: into RESULTS.md")
    parser.add_argument("--note", default="", help="with --summary: said after the figure's name")
    args = parser.parse_args()
    keep = Path(args.keep)
    keep.mkdir(parents=True, exist_ok=True)
    sides = [(s.split("=", 1)[0], Path(s.split("=", 1)[1])) for s in args.side]
    for size in args.sizes:
        for repeat in range(args.repeats):
            for side, checkout in sides:
                run_once(side, checkout, size, keep, repeat)
    if args.summary:
        summary(keep, args.record, f" ({args.note})" if args.note else "")


if __name__ == "__main__":
    main()
