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

With ``--features-only`` the run folder is made up to the filter only, and in this process the
features of the days the tier and the back-test ask for (recorded from the stages on the
bundled data: the same dates for any ``--factor`` of it) are computed both ways: the one pass
once (its build time and peak) and each day from it, against the SQL's query per day, every
day's frame checked equal (doubles bit for bit).

Run: .venv/bin/python bench/bench_tier_features.py --factor 1 --before /tmp/before --record
     .venv/bin/python bench/bench_tier_features.py --factor 10 --before /tmp/before --record
     .venv/bin/python bench/bench_tier_features.py --factor 100 --before /tmp/before \
         --features-only --record
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
#: The days whose features the tier asks for as of 2011-12-09 on the bundled data's dates (the
#: warm start's months and their value fits' training cuts; recorded from a run of the tier and
#: the back-test with the code after: the back-test asked for none, it reads the warm start's).
DAYS = (
    "2011-06-14", "2011-03-15", "2011-02-12", "2011-01-13", "2011-07-14", "2011-04-14",
    "2011-08-14", "2011-05-15", "2011-09-14", "2011-06-15", "2011-10-14", "2011-07-15",
    "2011-11-14", "2011-08-15", "2011-09-09", "2011-08-10", "2011-07-10", "2011-06-10",
    "2011-05-10", "2011-04-09", "2011-12-09",
)
TIMED = ("tier", "backtest")
#: What the two stages write (or rewrite), compared before and after.
OUTPUTS = ("segments.parquet", "profiles.parquet", "selection.json", "backtest.json",
           "replayed_insiders.parquet", "membership_changes.parquet", "membership_exits.parquet",
           "out_of_time.parquet", "rule_capture.parquet", "forecast_errors.parquet",
           "calibration.parquet", "warmup.parquet", "warmup_features.parquet")


def run_stage(tree: Path, name: str, run_dir: Path,
              source: Path) -> tuple[float, float, float]:
    """One stage in its own process with the code of ``tree``: wall seconds, CPU seconds (user
    and system, of the process and the processes it waited for: steadier than the wall on a
    busy machine) and peak RSS (GB)."""
    import resource

    env = {**os.environ, "PYTHONPATH": str(tree)}
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen([str(PYTHON), "-c", STAGE_SCRIPT, name, str(run_dir),
                                str(source), REFERENCE], cwd=tree, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with PeakTreeRSS(process.pid) as peak:
        process.wait()
    wall = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"stage {name} failed with the code of {tree} ({process.returncode})")
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime
    return wall, cpu, peak.peak / 1e9


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


def feature_days(run_dir: Path) -> str:
    """The days' features both ways in this process: seconds, peak RSS above the lines'."""
    import threading

    import numpy as np
    import pandas as pd
    import psutil

    sys.path.insert(0, str(ROOT))
    from insiders.features import build_customer_features
    from insiders.kept_lines import load_lines
    from insiders.value import VALUE_COLUMNS, LineHistory
    from insiders.value.lines import FeatureDays

    history = LineHistory(load_lines(str(run_dir), VALUE_COLUMNS))
    me = psutil.Process()

    def timed(compute):
        base, peak, stop = me.memory_info().rss, [0], threading.Event()

        def poll() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], me.memory_info().rss)
                stop.wait(0.05)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        start = time.perf_counter()
        out = compute()
        seconds = time.perf_counter() - start
        stop.set()
        thread.join()
        return out, seconds, max(peak[0] - base, 0) / 1e9

    days, build, build_gb = timed(lambda: FeatureDays.of(history.lines))
    if days is None:
        raise SystemExit("the one pass does not read these lines")
    one, sql, sql_gb, customers = 0.0, 0.0, 0.0, 0
    for day in DAYS:
        got, seconds, _ = timed(lambda d=day: days.at(d))
        one += seconds
        want, seconds, gb = timed(lambda d=day: build_customer_features(history.lines_upto(d), d))
        sql, sql_gb = sql + seconds, max(sql_gb, gb)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        a, b = got.select_dtypes("float64").to_numpy(), want.select_dtypes("float64").to_numpy()
        assert ((a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))).all()
        customers = len(got)
        print(f"{day}: {customers:,} customers, equal", flush=True)
    return (f"{len(history.lines):,} lines, {customers:,} customers, {len(DAYS)} days: the SQL "
            f"per day {sql:.1f} s (a query's peak +{sql_gb:.2f} GB); the one pass {build:.1f} s "
            f"(peak +{build_gb:.2f} GB) + {one:.1f} s for the days; every day's frame equal, "
            "doubles bit for bit")


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
    parser.add_argument("--prepare-with", help="the checkout making the run folder (default: "
                        "--before; any: the stages timed start from the same folder)")
    parser.add_argument("--features-only", action="store_true",
                        help="the days' features alone, in this process (see above)")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    prepare = PREPARE[:PREPARE.index("filter_lines") + 1] if args.features_only else PREPARE
    before, after = Path(args.before).resolve(), Path(args.after).resolve()
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        source = (ROOT / "data" / "online_retail.parquet" if args.factor == 1 else
                  make_shop(args.factor, Path(args.data) if args.data else Path(tmp) / "shop"))
        prepared = Path(args.keep) if args.keep else Path(tmp) / "prepared"
        if not (prepared / ("kept_lines.parquet" if args.features_only else
                            "segments.parquet")).exists():
            start = time.perf_counter()
            for name in prepare:
                run_stage(Path(args.prepare_with or before).resolve(), name, prepared, source)
            print(f"prepared up to {prepare[-1]} in {time.perf_counter() - start:.0f} s",
                  flush=True)
        if args.features_only:
            found = feature_days(prepared) + (f"; load average {os.getloadavg()[0]:.1f} on "
                                               f"{os.cpu_count()} cores")
            print(found)
            if args.record:
                record(f"customer features of the days the tier and backtest read, "
                       f"{_size(args.factor)}: the one pass (value.lines.FeatureDays) vs the "
                       "SQL per day, in one process", found)
            return
        if not args.runs:  # only the run folder, kept (--keep) for the runs to come
            return
        load = os.getloadavg()[0]
        times: dict[tuple[str, str], list[float]] = {}
        cpus: dict[tuple[str, str], list[float]] = {}
        peaks: dict[tuple[str, str], float] = {}
        for i in range(args.runs):
            for label, tree in ((("before", before), ("after", after)) if i % 2 == 0 else
                                (("after", after), ("before", before))):
                run_dir = Path(tmp) / label
                shutil.rmtree(run_dir, ignore_errors=True)
                shutil.copytree(prepared, run_dir)
                for name in TIMED:
                    seconds, cpu, gb = run_stage(tree, name, run_dir, source)
                    times.setdefault((label, name), []).append(seconds)
                    cpus.setdefault((label, name), []).append(cpu)
                    peaks[label, name] = max(peaks.get((label, name), 0.0), gb)
                    print(f"run {i + 1} {label} {name}: {seconds:.1f} s, CPU {cpu:.1f} s, "
                          f"{gb:.2f} GB", flush=True)
            load = max(load, os.getloadavg()[0])
            changed = differences(Path(tmp) / "before", Path(tmp) / "after")
            print(f"run {i + 1}: outputs " + ("identical" if not changed else
                                              f"DIFFER: {', '.join(changed)}"), flush=True)
    def cell(label: str, name: str) -> str:
        def median(values: list[float]) -> str:
            spread = f" ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else ""
            return f"{statistics.median(values):.1f} s{spread}"

        return (f"{median(times[label, name])} wall, CPU {median(cpus[label, name])}, "
                f"{peaks[label, name]:.2f} GB")

    table = "; ".join(f"{name}: before {cell('before', name)}, after {cell('after', name)}"
                      for name in TIMED)
    verdict = ("identical outputs before and after (segments with the Insiders and expected "
               "revenue, selection, backtest and its tables)" if not changed else
               f"outputs differ: {', '.join(changed)}")
    print(f"{table}; {verdict}")
    if args.record:
        size = _size(args.factor)
        record(f"tier and backtest stages, features of many days from one pass (after) vs a "
               f"query per day (before), {size}, as of {REFERENCE}, each stage in its own "
               f"process",
               f"median of {args.runs} (min-max), wall and CPU (user+system), peak RSS of "
               f"the stage's process tree: {table}; "
               f"{verdict}; load average up to {load:.1f} on {os.cpu_count()} cores")


def _size(factor: int) -> str:
    return ("the bundled data" if factor == 1 else
            f"{factor}x the bundled data (`insiders synth`, seed 0)")


if __name__ == "__main__":
    main()
