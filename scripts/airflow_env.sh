# Sourced by the demo: a local Airflow (SQLite metadata) and a local Postgres warehouse,
# everything under var/. Exports what Airflow reads: AIRFLOW_HOME, the DAG folder, the
# warehouse connection and where run folders go.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export AIRFLOW_HOME="$ROOT/var/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__UNIT_TEST_MODE=False
export AIRFLOW__LOGGING__LOGGING_LEVEL=${AIRFLOW__LOGGING__LOGGING_LEVEL:-WARNING}
export NUMBA_CACHE_DIR="$ROOT/var/numba-cache"
mkdir -p "$AIRFLOW_HOME" "$ROOT/var/runs"
INSIDERS_WAREHOUSE_DSN=$("$ROOT/.venv/bin/python" -m insiders.local_postgres start "$ROOT/var/postgres" --database insiders)
export INSIDERS_WAREHOUSE_DSN
export AIRFLOW_CONN_INSIDERS_WAREHOUSE="$INSIDERS_WAREHOUSE_DSN"
export AIRFLOW_VAR_INSIDERS_ARTIFACTS="file://$ROOT/var/runs"
if [ ! -f "$AIRFLOW_HOME/.migrated" ]; then
  echo "demo: creating Airflow's metadata database (first time only)" >&2
  "$ROOT/.venv/bin/airflow" db migrate >/dev/null
  touch "$AIRFLOW_HOME/.migrated"
fi
