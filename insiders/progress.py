"""Progress for long work, through :mod:`logging` at INFO.

Stages and loops log a line when they start and when they end, with the time taken, on the
logger ``insiders.progress``. Airflow 3 logs a task's ``logging`` records at their level (INFO
here) but everything written to stderr at ERROR, so progress must never be printed. In a
terminal the CLI shows the same records with the elapsed time (:func:`show_in_terminal`),
and loops draw a progress bar instead.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

logger = logging.getLogger("insiders.progress")

_enabled = True


def set_enabled(enabled: bool) -> None:
    """Turn progress on or off (``--quiet``)."""
    global _enabled
    _enabled = enabled


class _Elapsed(logging.Formatter):
    """``[  12.3 s] message``: the time since the command started."""

    def __init__(self) -> None:
        super().__init__()
        self.start = time.perf_counter()

    def format(self, record: logging.LogRecord) -> str:
        return f"[{time.perf_counter() - self.start:7.1f} s] {record.getMessage()}"


def show_in_terminal(stream=None) -> logging.Handler:
    """Show progress records on ``stream`` (stderr) with the elapsed time, for the CLI
    (calling it again replaces the handler it added)."""
    for old in [h for h in logger.handlers if isinstance(h.formatter, _Elapsed)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Elapsed())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # shown once, not again by a root handler
    return handler


@contextmanager
def stage(label: str) -> Iterator[None]:
    """Log ``label ...`` and, when the block ends, how long it took."""
    start = time.perf_counter()
    if _enabled:
        logger.info("» %s ...", label)
    yield
    if _enabled:
        logger.info("  %s: done in %.1f s", label, time.perf_counter() - start)


def note(message: str, *args: object) -> None:
    """One progress line (what a stage cannot time itself: work done in worker processes)."""
    if _enabled:
        logger.info(message, *args)


def progress(items: Iterable[T], *, desc: str, total: int | None = None) -> Iterable[T]:
    """Wrap an iterable in a progress bar on a terminal; elsewhere (logs, Airflow) a line
    when the loop starts and when it ends, with its duration."""
    if _enabled and sys.stderr.isatty() and logger.handlers:
        from tqdm.auto import tqdm

        return tqdm(items, desc=desc, total=total, file=sys.stderr, leave=False)
    return _timed(items, desc)


def _timed(items: Iterable[T], desc: str) -> Iterator[T]:
    with stage(desc):
        yield from items
