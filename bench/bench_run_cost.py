"""What the value model costs a run (issue 12: <= 20 s): `insiders run` with the value rule
against the cluster rule, side by side (farm-bench pairs the runs, so the ratio survives a
noisy machine).

Both runs: the bundled data, as of 2011-12-09, spaces features + UMAP, ward only, the report;
no last month, so the value rule also pays its warm start (the tier replayed over the five
months before), the dearest case. Run: .venv/bin/python bench/bench_run_cost.py --record
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _record import record

ROOT = Path(__file__).resolve().parent.parent
INSIDERS = ROOT / ".venv" / "bin" / "insiders"


def command(rule: str, out: Path) -> str:
    return (f"{INSIDERS} -q run --reference-date 2011-12-09 --spaces features umap --models ward "
            f"--k-max 8 --insiders {rule} --out-dir {out / rule}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        done = subprocess.run(
            ["farm-bench", "-n", str(args.runs), "--timeout", "1800", "--vs", command("cluster", out),
             "--", *command("value", out).split()],
            capture_output=True, text=True, check=True)
    print(done.stdout)
    wall = re.findall(r"^[AB] wall s\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", done.stdout, re.M)
    ratio = re.search(r"^A/B wall\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", done.stdout, re.M)
    if args.record and len(wall) >= 2:
        a, b = float(wall[0][1]), float(wall[1][1])
        record("what the value model costs `insiders run` (value rule vs cluster rule, no last "
               "month: warm start included; features + UMAP, ward, report)",
               f"median wall {a:.1f} s vs {b:.1f} s: +{a - b:.1f} s"
               + (f" (paired ratio A/B median {ratio.group(2)})" if ratio else "")
               + f", {args.runs} pairs (target: <= 20 s added)")


if __name__ == "__main__":
    main()
