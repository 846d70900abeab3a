"""The tier and back-test stages with the customer features of many days from one pass over the
lines (issue 33, item 3) against the SQL query per day they ran before.

One run folder is made up to the segments stage (``insiders.pipeline.run_stage``, defaults, as
of 2011-12-09) by the code before; then, ``--runs`` times, a fresh copy of it goes through the
``tier`` and ``backtest`` stages, each in a process of its own, once with the code before
(``--before``: a checkout of the commit before, e.g. ``git worktree add /tmp/before 1426a42``)
and once with the code after (``--after``: a checkout with the change; default this one), in
alternating order. Measured: each stage's wall time (median over the runs) and its process
tree's peak RSS (the highest). Checked: the stages' outputs are identical before and after
(``segments.parquet`` with the Insiders and their expected revenue, ``selection.json``,
``backtest.json`` and every table the back-test writes).

Run: .venv/bin/python bench/bench_tier_features.py --factor 1 --before /tmp/before --record
     .venv/bin/python bench/bench_tier_features.py --factor 10 --before /tmp/before --record
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _record import record
from bench_scale import REFERENCE, STAGE_SCRIPT, PeakTreeRSS, make_shop

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
PREPARE = ("ingest", "check_quality", "filter_lines", "features", "embed", "compare", "segments")
TIMED = ("tier", "backtest")
#: What the two stages write (or rewrite), compared before and after.
OUTPUTS = ("segments.parquet", "profiles.parquet", "selection.json", "backtest.json",
           "replayed_insiders.parquet", "membership_changes.parquet", "membership_exits.parquet",
           "out_of_time.parquet", "rule_capture.parquet", "forecast_errors.parquet",
           "calibration.parquet", "warmup.parquet", "warmup_features.parquet")


def run_stage(tree: Path, name: str, run_dir: Path, source: Path) -> tuple[float, float]:
    """One stage in its own process with the code of ``tree``: wall seconds, peak RSS (GB)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    process = subprocess.Popen([str(PYTHON), "-c", STAGE_SCRIPT, name, str(run_dir),
                                str(source), REFERENCE], cwd=tree, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with PeakTreeRSS(process.pid) as peak:
        process.wait()
    if process.returncode:
        raise SystemExit(f"stage {name} failed with the code of {tree} ({process.returncode})")
    return time.perf_counter() - start, peak.peak / 1e9


def differences(before: Path, after: Path) -> list[str]:
    """The outputs that differ between two run folders (files, frames or JSON)."""
    import pandas as pd

    found = []
    for name in OUTPUTS:
        a, b = before / name, after / name
        if a.exists() != b.exists():
            found.append(f"{name} (written by one only)")
        elif not a.exists():
            continue
        elif name.endswith(".json"):
            if json.loads(a.read_text()) != json.loads(b.read_text()):
                found.append(name)
        else:
            try:
                pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b),
                                              check_exact=True)
            except AssertionError:
                found.append(name)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factor", type=int, default=1, help="1: the bundled data itself")
    parser.add_argument("--data", help="a folder insiders synth already wrote")
    parser.add_argument("--before", required=True, help="a checkout of the code before")
    parser.add_argument("--after", default=str(ROOT), help="a checkout of the code after")
    parser.add_argument("--runs", type=int, default=3, help="0: only prepare the run folder")
    parser.add_argument("--tmp", default=None, help="where the shop and the runs go")
    parser.add_argument("--keep", help="the prepared run folder (made when missing, kept)")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    before, after = Path(args.before).resolve(), Path(args.after).resolve()
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        source = (ROOT / "data" / "online_retail.parquet" if args.factor == 1 else
                  make_shop(args.factor, Path(args.data) if args.data else Path(tmp) / "shop"))
        prepared = Path(args.keep) if args.keep else Path(tmp) / "prepared"
        if not (prepared / "segments.parquet").exists():
            start = time.perf_counter()
            for name in PREPARE:
                run_stage(before, name, prepared, source)
            print(f"prepared up to segments in {time.perf_counter() - start:.0f} s", flush=True)
        if not args.runs:  # only the run folder, kept (--keep) for the runs to come
            return
        times: dict[tuple[str, str], list[float]] = {}
        peaks: dict[tuple[str, str], float] = {}
        for i in range(args.runs):
            for label, tree in ((("before", before), ("after", after)) if i % 2 == 0 else
                                (("after", after), ("before", before))):
                run_dir = Path(tmp) / label
                shutil.rmtree(run_dir, ignore_errors=True)
                shutil.copytree(prepared, run_dir)
                for name in TIMED:
                    seconds, gb = run_stage(tree, name, run_dir, source)
                    times.setdefault((label, name), []).append(seconds)
                    peaks[label, name] = max(peaks.get((label, name), 0.0), gb)
                    print(f"run {i + 1} {label} {name}: {seconds:.1f} s, {gb:.2f} GB", flush=True)
            changed = differences(Path(tmp) / "before", Path(tmp) / "after")
            print(f"run {i + 1}: outputs " + ("identical" if not changed else
                                              f"DIFFER: {', '.join(changed)}"), flush=True)
    def cell(label: str, name: str) -> str:
        values = times[label, name]
        spread = f" ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else ""
        return f"{statistics.median(values):.1f} s{spread}, {peaks[label, name]:.2f} GB"

    table = "; ".join(f"{name}: before {cell('before', name)}, after {cell('after', name)}"
                      for name in TIMED)
    verdict = ("identical outputs before and after (segments with the Insiders and expected "
               "revenue, selection, backtest and its tables)" if not changed else
               f"outputs differ: {', '.join(changed)}")
    print(f"{table}; {verdict}")
    if args.record:
        size = "the bundled data" if args.factor == 1 else f"{args.factor}x the bundled data " \
                                                            "(`insiders synth`, seed 0)"
        record(f"tier and backtest stages, features of many days from one pass (after) vs a "
               f"query per day (before), {size}, as of {REFERENCE}, each stage in its own "
               f"process",
               f"median of {args.runs} (min-max), peak RSS of the stage's process tree: {table}; "
               f"{verdict}")


if __name__ == "__main__":
    main()
