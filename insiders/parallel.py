"""Independent jobs side by side: the first in this process, the others in worker processes.

A worker process needs seconds to start and import the stack, while this process is ready
now; so the longest job runs here and the rest share the workers (the loky pool that
``joblib.Parallel`` also uses, kept warm between calls).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

Job = tuple[Callable[..., Any], tuple, dict]


def cores() -> int:
    """Processes worth running side by side on this machine: its CPU count."""
    return os.cpu_count() or 1


def side_by_side(jobs: Sequence[Job], n_jobs: int | None = None) -> list[Any]:
    """Run ``(function, args, kwargs)`` jobs, longest first, and return their results in order.

    Args:
        jobs: independent jobs; put the longest first (it runs in this process).
        n_jobs: processes in all, this one included (default: :func:`cores`); 1 runs every
            job here, in order.
    """
    n_jobs = cores() if n_jobs is None else n_jobs
    if n_jobs < 2 or len(jobs) < 2:
        return [function(*args, **kwargs) for function, args, kwargs in jobs]
    from joblib.executor import get_memmapping_executor  # the pool joblib.Parallel shares

    executor = get_memmapping_executor(min(n_jobs - 1, len(jobs) - 1))
    beside = [executor.submit(function, *args, **kwargs) for function, args, kwargs in jobs[1:]]
    function, args, kwargs = jobs[0]
    first = function(*args, **kwargs)
    return [first, *(future.result() for future in beside)]


def release_workers() -> None:
    """Stop the worker processes :func:`side_by_side` and joblib kept warm (at the end of a
    command, or of a test session): none is left behind, and no file they shared leaks."""
    import sys

    if "joblib" not in sys.modules:
        return
    from joblib.externals.loky import reusable_executor

    executor = reusable_executor._executor  # None when no pool was started: nothing to stop
    if executor is None:
        return
    if hasattr(executor, "terminate"):  # joblib's memmapping pool: its shared files go too
        # the workers are idle: asked to stop, they release their semaphores (killed, one is
        # left registered and Python's resource tracker warns of it as the process ends)
        executor.terminate(kill_workers=False)
    else:
        executor.shutdown(wait=True, kill_workers=True)
