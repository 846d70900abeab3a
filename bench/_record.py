"""Shared by the bench scripts: describe the machine and append a result to RESULTS.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    """CPU model, cores, memory and Python, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        mem = f"{mem_kb / 1024**2:.0f} GB"
    except (OSError, StopIteration):
        mem = "?"
    return f"{cpu}, {os.cpu_count()} cores, {mem}, Python {platform.python_version()}"


def record(figure: str, detail: str) -> None:
    """Append one dated line to bench/RESULTS.md and print it."""
    line = f"| {dt.date.today().isoformat()} | {figure} | {detail} | {machine()} |"
    print(line)
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Benchmark results\n\nAppended by the bench/ scripts (`--record`).\n\n"
            "| date | figure | result | machine |\n|---|---|---|---|\n"
        )
    with RESULTS.open("a") as handle:
        handle.write(line + "\n")
