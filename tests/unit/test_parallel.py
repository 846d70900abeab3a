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
