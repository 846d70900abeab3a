#!/usr/bin/env bash
# The README's first command: set up, start a local Postgres warehouse, run the monthly
# Airflow DAG end to end on the bundled data (dag.test, local files instead of S3), then
# print the Insiders summary from the warehouse and where everything is.
#
#   bash scripts/demo.sh                      # the run of 2011-12-15 (as of 2011-12-14)
#   RUN_DATE=2011-06-15 bash scripts/demo.sh  # another month
#   bash scripts/demo.sh '{"anonymous_policy": "synthetic"}'   # DAG params as JSON
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/airflow_env.sh
RUN_DATE=${RUN_DATE:-2011-12-15}
CONF=${1:-"{}"}
echo "demo: running DAG insiders_monthly for ${RUN_DATE} (one to two minutes; each step below as it ends)" >&2
start=$(date +%s)
set +e
# `airflow dags test`, with the run named after its month, started at the wall clock and each
# task's log in its file for the UI; it fails when the run failed or no task ran. At INFO:
# the stage lines shown below come from the package's progress records
AIRFLOW__LOGGING__LOGGING_LEVEL=INFO .venv/bin/python scripts/demo_run.py "${RUN_DATE}T06:00:00+00:00" "$CONF" 2>&1 |
  tee var/demo-dag.log | grep --line-buffered -E ': done in [0-9.]+ s|^demo: ' |
  sed -u -E 's/^[^]]*\] +(.*: done in [0-9.]+ s).*$/  \1/' >&2
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  grep -E "AirflowFailException|Error: |error\]" var/demo-dag.log | tail -5 >&2
  echo "demo: the DAG run failed; full log in var/demo-dag.log" >&2
  exit 1
fi
echo "demo: DAG run finished in $(( $(date +%s) - start )) s" >&2
month=$(.venv/bin/python -c "import sys; print(sys.argv[1][:7])" "$(date -d "${RUN_DATE} -1 day" +%F)")
echo
.venv/bin/insiders warehouse summary
cat <<MSG

Where things are:
  warehouse     $INSIDERS_WAREHOUSE_DSN  (schema insiders; psql "\$DSN" -c 'table insiders.insiders_by_month')
  report        $PWD/var/runs/$month/report.html  (the nine questions; report.md beside it)
  run folder    $PWD/var/runs/$month/  (insiders.csv, model_scores.csv, profiles.csv, ...)
  Airflow       AIRFLOW_HOME=$AIRFLOW_HOME; DAG log var/demo-dag.log
  stop Postgres .venv/bin/python -m insiders.local_postgres stop var/postgres
MSG
