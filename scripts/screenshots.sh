#!/usr/bin/env bash
# Refresh the Airflow screenshots in docs/img/ from the demo's Airflow (run scripts/demo.sh
# first): starts `airflow api-server` on the demo's AIRFLOW_HOME on loopback, with every user
# an admin so that no login is needed (never do that on a shared machine), takes the pages
# in headless Chromium at 1280x900 and stops the server.
#
# From the compose stack instead (scripts/compose_check.sh does this with SCREENSHOTS=1): set
# AIRFLOW_URL (e.g. http://127.0.0.1:8080), RUN_ID, and AIRFLOW_USER / AIRFLOW_PASSWORD, the
# login the pages are taken with (through the UI's login form); no server is started.
#
# Needs Node and playwright-core, outside the project, e.g.:
#   npm install --prefix /tmp/pw playwright-core && NODE_PATH=/tmp/pw/node_modules bash scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_ID=${RUN_ID:-manual__${RUN_DATE:-2011-12-15}T06:00:00+00:00}
if [ -n "${AIRFLOW_URL:-}" ]; then
  BASE_URL=$AIRFLOW_URL
else
  source scripts/airflow_env.sh
  PORT=$(.venv/bin/python -c "from insiders.local_postgres import free_port; print(free_port())")
  export AIRFLOW__API__PORT=$PORT
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
  .venv/bin/airflow api-server --port "$PORT" > var/screenshots-api-server.log 2>&1 &
  server=$!
  trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
  for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$PORT/api/v2/monitor/health" > /dev/null && break
    sleep 1
  done
  BASE_URL=http://127.0.0.1:$PORT
fi
# an ES module resolves packages from its own folder: run a copy beside playwright-core
dir=$(mktemp -d "${NODE_PATH:-/tmp}/../shots.XXXX")
cp scripts/screenshots.mjs "$dir/"
node "$dir/screenshots.mjs" "$BASE_URL" "$RUN_ID" "$PWD/docs/img"
rm -rf "$dir"
