#!/usr/bin/env bash
# The README's second command: set up, lint, then run every test. Fails when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
# Two workers (pytest-xdist), each test file whole on one worker, in file order (the e2e files
# depend on it): much of the suite waits on Airflow, Postgres and Spark start-up, so two run
# side by side in about half the time. PYTEST_WORKERS=0 runs everything in this process.
# The slowest tests are listed at the end (where the time goes).
# pytest exits 5 when it collected no test: that fails this script too.
workers=${PYTEST_WORKERS:-2}
if [ "$workers" = 0 ]; then
  exec .venv/bin/pytest --durations=25 "$@"
fi
exec .venv/bin/pytest -n "$workers" --dist loadfile --durations=25 "$@"
