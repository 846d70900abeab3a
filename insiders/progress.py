"""Progress for long work: timed stages on stderr, and tqdm bars for loops."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

_enabled = True


def set_enabled(enabled: bool) -> None:
    """Turn progress output on or off (``--quiet``)."""
    global _enabled
    _enabled = enabled


@contextmanager
def stage(label: str) -> Iterator[None]:
    """Print ``label ...`` and, when the block ends, how long it took."""
    start = time.perf_counter()
    if _enabled:
        print(f"» {label} ...", file=sys.stderr, flush=True)
    yield
    if _enabled:
        print(f"  {label}: done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)


def progress(items: Iterable[T], *, desc: str, total: int | None = None) -> Iterable[T]:
    """Wrap an iterable in a progress bar on a terminal; elsewhere (logs, Airflow) a line
    when the loop starts and when it ends, with its duration."""
    if _enabled and sys.stderr.isatty():
        return tqdm(items, desc=desc, total=total, file=sys.stderr, leave=False)
    return _timed(items, desc)


def _timed(items: Iterable[T], desc: str) -> Iterator[T]:
    with stage(desc):
        yield from items
