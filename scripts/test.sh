#!/usr/bin/env bash
# The README's second command: set up, lint, then run every test. Fails when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
# pytest exits 5 when it collected no test: that fails this script too.
exec .venv/bin/pytest "$@"
