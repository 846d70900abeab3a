#!/usr/bin/env bash
# Create .venv with every pinned dependency (requirements.lock) and the insiders package.
# Idempotent: does nothing when the lock file has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))'; then
      PYTHON=$candidate; break
    fi
  done
fi
[ -n "$PYTHON" ] || { echo "setup: need Python 3.10-3.12 (set PYTHON=/path/to/python)" >&2; exit 1; }

# uv installs the stack in seconds; bootstrap it into a private venv if it is missing.
UV=$(command -v uv || true)
if [ -z "$UV" ]; then
  if [ ! -x .tools/bin/uv ]; then
    echo "setup: installing uv into .tools/" >&2
    "$PYTHON" -m venv .tools
    .tools/bin/pip install --quiet --disable-pip-version-check uv==0.13.9
  fi
  UV=.tools/bin/uv
fi

stamp=.venv/.installed-$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing pinned dependencies into .venv (first time: about a minute)" >&2
  [ -x .venv/bin/python ] || "$UV" venv --quiet --python "$PYTHON" .venv
  # bytecode is compiled at install: Airflow starts several seconds faster in every task
  "$UV" pip install --quiet --python .venv/bin/python --compile-bytecode -r requirements.lock
  "$UV" pip install --quiet --python .venv/bin/python --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# Headless Chromium for the report's browser test (tests/report/test_report_in_chromium.py):
# Debian's package, when none is on PATH and we are root; never fatal (the test then says so).
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Chromium (Debian package chromium) for the report's browser test" >&2
    if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
             >/dev/null 2>&1 ||
           { apt-get update -qq >/dev/null 2>&1 &&
             DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
               chromium >/dev/null 2>&1; }; }; then
      echo "setup: could not install chromium; the report's browser test will fail until it is" \
           "installed (apt-get install chromium)" >&2
    fi
  else
    echo "setup: no chromium on PATH (and not root, so not installing it): the report's browser" \
         "test will fail; install it with: sudo apt-get install chromium" >&2
  fi
fi

# Java 17 for the Spark feature engine (pyspark starts a JVM; tests/unit/test_feature_engines.py
# runs Spark in local mode): Debian's headless JRE when no java is on PATH and we are root.
if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Java (Debian package openjdk-17-jre-headless) for the Spark engine" >&2
    if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
             openjdk-17-jre-headless >/dev/null 2>&1 ||
           { apt-get update -qq >/dev/null 2>&1 &&
             DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
               openjdk-17-jre-headless >/dev/null 2>&1; }; }; then
      echo "setup: could not install openjdk-17-jre-headless; the Spark engine and its test" \
           "will fail until Java 17 is installed (apt-get install openjdk-17-jre-headless)" >&2
    fi
  else
    echo "setup: no java on PATH (and not root, so not installing it): the Spark engine and its" \
         "test will fail; install it with: sudo apt-get install openjdk-17-jre-headless" >&2
  fi
fi
