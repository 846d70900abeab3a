"""Bad inputs and faults, tried as a user would: each bad input of tests/bad_inputs.py through
the installed ``insiders`` command (a fresh process each, so exit codes and tracebacks are
what a user sees), then the fault tests (a Postgres backend killed mid-load, concurrent loads,
readers' locks, a lock held past the timeout, mixed and partly rewritten run folders).

    .venv/bin/python bench/bench_bad_inputs.py [--record]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._record import record  # noqa: E402
from tests.bad_inputs import CASES, OUTCOMES, classify, sample, truth_lines  # noqa: E402

INSIDERS = str(ROOT / ".venv" / "bin" / "insiders")
FAULT_TESTS = ("tests/warehouse/test_faults.py", "tests/unit/test_run_folder.py")


def _run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run([INSIDERS, *argv], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)
    return done.returncode, done.stderr


def bad_inputs() -> collections.Counter:
    lines = sample()
    outcomes: collections.Counter = collections.Counter()
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            truth = None
            if case.expect == "read" and case.check is None:
                clean = folder / "truth.parquet"
                truth_lines(case, lines).to_parquet(clean)
                truth = folder / "truth-features.parquet"
                code, err = _run(["-q", "features", str(clean), "-o", str(truth)])
                assert code == 0, err
            out = folder / "out"
            out.mkdir()
            argv = [a.replace("{out}", str(out)) for a in case.make(lines, folder)]
            code, err = _run(argv, case.env)
            outcome = classify(case, code, err, out, truth)
        outcomes[outcome] += 1
        first = err.strip().splitlines()[0] if err.strip() else ""
        print(f"{outcome:<18} {case.name}: exit {code} {first[:160]}", flush=True)
    return outcomes


def faults(basetemp: str) -> tuple[int, int]:
    """The fault tests: (tried, passed)."""
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "pytest"), "-q", "-p", "no:cacheprovider",
                           f"--basetemp={basetemp}", *FAULT_TESTS], cwd=ROOT, capture_output=True,
                          text=True)
    print(done.stdout.strip().splitlines()[-1])
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|error)", done.stdout)}
    passed = counts.get("passed", 0)
    return passed + counts.get("failed", 0) + counts.get("error", 0), passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    outcomes = bad_inputs()
    tried, survived = faults(tempfile.mkdtemp(prefix="bench-faults-"))
    figures = ", ".join(f"{outcomes.get(o, 0)} {o}" for o in OUTCOMES)
    detail = (f"{len(CASES)} bad inputs through `insiders` (a process each): {figures} "
              f"(goal: 0 silently accepted, 0 tracebacks); faults: {tried} tried, {survived} "
              "survived (backend SIGKILLed mid-load, two loads at once, readers' locks, a lock held "
              "past the timeout, mixed / partly rewritten / hand-edited run folders, failed writes)")
    print(detail)
    if args.record:
        record("bad inputs and faults (issue 13)", detail)


if __name__ == "__main__":
    main()
