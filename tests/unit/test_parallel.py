"""Jobs side by side: results in order, the first job in this process, others in workers."""

from __future__ import annotations

import os

import joblib

from insiders.parallel import side_by_side


def _pid_and(value: int) -> tuple[int, int]:
    return os.getpid(), value * 2


def test_results_in_order_first_here_others_in_a_worker():
    jobs = [(_pid_and, (1,), {}), (_pid_and, (2,), {}), (_pid_and, (), {"value": 3})]
    results = side_by_side(jobs, n_jobs=2)
    assert [value for _, value in results] == [2, 4, 6]
    assert results[0][0] == os.getpid()
    assert {pid for pid, _ in results[1:]} != {os.getpid()}
    # joblib.Parallel still works after (they share one pool)
    assert joblib.Parallel(n_jobs=2)(joblib.delayed(abs)(-v) for v in range(3)) == [0, 1, 2]


def test_one_process_runs_everything_here():
    results = side_by_side([(_pid_and, (1,), {}), (_pid_and, (2,), {})], n_jobs=1)
    assert results == [(os.getpid(), 2), (os.getpid(), 4)]


def test_released_workers_leave_no_shared_file_and_no_warning():
    """A job given a large array shares it through a memory-mapped file; releasing the
    workers removes it, so the process ends without joblib's "leaked file objects" warning
    (an Airflow task logs its stderr at ERROR)."""
    import subprocess
    import sys

    script = ("import numpy as np\n"
              "from insiders.parallel import side_by_side, release_workers\n"
              "big = np.ones(2_000_000)\n"
              "assert side_by_side([(np.sum, (big,), {}), (np.sum, (big,), {})], n_jobs=2)"
              " == [2e6, 2e6]\n"
              "release_workers()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "leaked" not in done.stderr and "Warning" not in done.stderr, done.stderr
