#!/usr/bin/env bash
# The compose stack brought up for real, as a team's first hour with it (issue 31):
#
#   bash scripts/compose_check.sh
#
#  1. engine     installs Docker and Compose v1 if missing (apt-get, as root) and starts dockerd
#                if none answers (and stops, at the end, only the dockerd it started, by PID);
#  2. images     builds what no registry can give here (docker/build-images.sh: a Debian base,
#                stand-ins tagged apache/airflow:3.3.2-python3.11 and postgres:16.10, and the
#                S3/Metabase stand-in image), skipping images whose inputs have not changed;
#                then `docker-compose build` builds ./Dockerfile as docker-compose.yaml says;
#  3. up         `docker-compose up -d` with docker-compose.yaml and docker-compose.standins.yaml
#                (MinIO and Metabase stood in), waits for every health check and one-shot job;
#  4. run        logs into Airflow's REST API as the env file's admin, unpauses insiders_monthly,
#                triggers it for 2011-12-15 and waits for success;
#  5. outside    from outside the Airflow containers: the month in the warehouse through its
#                published port (writer and read-only login; the read-only one cannot write),
#                the run folder in the S3 API, the Insiders page of the Airflow UI;
#  6. rerun      clears the run, runs it again, finds the month replaced (same rows, loaded later);
#  7. restart    `docker-compose down` (volumes kept) and `up -d` again: the warehouse, Airflow's
#                run history and task logs, and the run folder are still there;
#  8. down       `docker-compose down -v`: containers, network and volumes removed.
# Every step's wall time is printed, and the total.
#
# It never reads or writes your .env: it writes its own env file (var/compose-check/env) from
# .env.example with every change-me replaced by a random value, and uses its own compose project
# name (insiders-check), so a stack of yours, if any, is left alone. The host ports of
# docker-compose.yaml (8080, 3000, 9000, 9001, 5433 on 127.0.0.1) must be free.
#
# Settings (environment):
#   RUN_CONF='{"spaces": ["features", "umap"]}'   the DAG run's conf (default {}: the DAG's defaults)
#   KEEP_UP=1        leave the stack up at the end (no step 8); take it down yourself with
#                    docker-compose -p insiders-check -f docker-compose.yaml -f docker-compose.standins.yaml down -v
#   SCREENSHOTS=1    refresh docs/img/airflow-*.png from the stack's UI after the first run
#                    (needs node and playwright-core: see scripts/screenshots.sh)
#   RUN_TIMEOUT=2400 seconds to wait for one DAG run
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/var/compose-check
mkdir -p "$WORK"
export COMPOSE_PROJECT_NAME=insiders-check
ENV_FILE=$WORK/env
COMPOSE=(docker-compose --env-file "$ENV_FILE" -f docker-compose.yaml -f docker-compose.standins.yaml)
DAG=insiders_monthly
LOGICAL_DATE=2011-12-15T06:00:00+00:00
MONTH=2011-12-01
RUN_CONF=${RUN_CONF:-"{}"}
RUN_TIMEOUT=${RUN_TIMEOUT:-2400}
API=http://127.0.0.1:8080
STANDIN_IMAGE=insiders-standin/services:moto-5.2.5
T0=$SECONDS
STEPS=()
STARTED_DOCKERD=""
STACK_UP=""

say() { echo "compose-check: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
step_start() { STEP_NAME=$1; STEP_T=$SECONDS; say "== $1"; }
step_end() {
  local took=$((SECONDS - STEP_T))
  STEPS+=("$(printf '%-9s %5d s  %s' "$STEP_NAME" "$took" "${1:-}")")
  say "== $STEP_NAME done in $took s${1:+: $1}"
}

cleanup() {
  local status=$?
  set +e
  if [ -n "$STACK_UP" ] && [ "${KEEP_UP:-0}" != 1 ]; then
    if [ "$status" -ne 0 ]; then
      say "the check failed: the last lines of every service's log are in $WORK/failure.log"
      "${COMPOSE[@]}" ps > "$WORK/failure.log" 2>&1
      "${COMPOSE[@]}" logs --no-color --tail 80 >> "$WORK/failure.log" 2>&1
    fi
    say "taking the stack down (volumes included) after the failure"
    "${COMPOSE[@]}" down -v --remove-orphans > /dev/null 2>&1
  fi
  if [ -n "$STARTED_DOCKERD" ]; then
    if [ "${KEEP_UP:-0}" = 1 ] && [ -n "$STACK_UP" ]; then
      say "leaving dockerd (PID $STARTED_DOCKERD) running for the stack (KEEP_UP=1)"
    else
      say "stopping the dockerd this check started (PID $STARTED_DOCKERD)"
      kill "$STARTED_DOCKERD" 2>/dev/null
      for _ in $(seq 30); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 1; done
    fi
  fi
  exit "$status"
}
trap cleanup EXIT

json() { python3 -c "import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

# ------------------------------------------------------------------------------------ 1. engine
step_start engine
if ! command -v docker > /dev/null || ! command -v docker-compose > /dev/null ||
   ! command -v debootstrap > /dev/null; then
  [ "$(id -u)" = 0 ] || die "Docker, docker-compose or debootstrap missing; as root: apt-get install -y docker.io docker-compose debootstrap"
  say "installing docker.io docker-compose debootstrap (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq docker.io docker-compose debootstrap > "$WORK/apt.log" 2>&1 ||
    { apt-get update -qq >> "$WORK/apt.log" 2>&1 &&
      apt-get install -y -qq docker.io docker-compose debootstrap >> "$WORK/apt.log" 2>&1; } ||
    { tail -20 "$WORK/apt.log" >&2; die "apt-get install failed"; }
fi
if ! docker info > /dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "no Docker engine answers and only root can start dockerd here"
  say "no Docker engine answers: starting dockerd (log: $WORK/dockerd.log)"
  /usr/sbin/dockerd > "$WORK/dockerd.log" 2>&1 &
  STARTED_DOCKERD=$!
  for _ in $(seq 60); do docker info > /dev/null 2>&1 && break; sleep 1; done
  docker info > /dev/null 2>&1 || die "dockerd did not start; see $WORK/dockerd.log"
fi
step_end "$(docker version --format 'Docker engine {{.Server.Version}}'), $(docker-compose version --short | sed 's/^/Compose /')${STARTED_DOCKERD:+, dockerd started (PID $STARTED_DOCKERD)}"

# ------------------------------------------------------------------------------------ 2. images
step_start images
bash docker/build-images.sh
# the env file: .env.example with each change-me replaced (a Fernet key for the Fernet key)
python3 - "$ROOT/.env.example" "$ENV_FILE" <<'PY'
import base64, os, re, secrets, sys
src, dst = sys.argv[1:3]
lines = []
for line in open(src):
    key, sep, value = line.rstrip("\n").partition("=")
    if sep and not key.lstrip().startswith("#") and "change-me" in value:
        if key == "AIRFLOW_FERNET_KEY":
            value = base64.urlsafe_b64encode(os.urandom(32)).decode()
        else:  # letters and digits only, as .env.example asks (Metabase: long, with digits)
            value = "ck" + secrets.token_hex(12) + "9Z"
    lines.append(f"{key}{sep}{value}" if sep else line.rstrip("\n"))
open(dst, "w").write("\n".join(lines) + "\n")
os.chmod(dst, 0o600)
PY
set -a; . "$ENV_FILE"; set +a
"${COMPOSE[@]}" config -q || die "docker-compose config rejects the files"
"${COMPOSE[@]}" build > "$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log" >&2; die "docker-compose build failed"; }
step_end "$(docker image inspect --format '{{.Size}}' insiders-airflow:0.1.0 | awk '{printf "insiders-airflow:0.1.0 %.2f GB", $1/1e9}')"

# ------------------------------------------------------------------------------------ 3. up
ONE_SHOT=" airflow-init minio-init warehouse-init metabase-provision "
wait_healthy() {  # SECONDS: every long-running service healthy, every one-shot exited 0
  local limit=$1 deadline=$((SECONDS + $1)) pending service state health code
  while :; do
    pending=""
    while read -r service state health code; do
      if [[ "$ONE_SHOT" == *" $service "* ]]; then
        if [ "$state" = exited ] && [ "$code" != 0 ]; then
          "${COMPOSE[@]}" logs --no-color --tail 40 "$service" >&2
          die "one-shot service $service exited $code"
        fi
        [ "$state" = exited ] || pending+=" $service($state)"
      else
        [ "$health" = healthy ] || pending+=" $service($state/$health)"
      fi
    done < <(docker ps -a --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" -q |
             xargs -r docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}}')
    [ -z "$pending" ] && return 0
    [ "$SECONDS" -lt "$deadline" ] || die "not healthy after $limit s:$pending"
    sleep 3
  done
}
step_start up
for port in 8080 3000 9000 9001 5433; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "127.0.0.1:$port is taken (docker-compose.yaml publishes it): stop what listens there"
  fi
done
say "stood in: MinIO -> moto S3 API (persisted to its volume), Metabase -> tests/metabase/fake_metabase.py, apache/airflow:3.3.2-python3.11 and postgres:16.10 (PostgreSQL 15 inside) built from Debian packages"
STACK_UP=1
"${COMPOSE[@]}" up -d > "$WORK/up.log" 2>&1 || { tail -30 "$WORK/up.log" >&2; die "docker-compose up failed"; }
wait_healthy 600
step_end "$(docker ps --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" -q | wc -l) containers healthy"

# ------------------------------------------------------------------------------------ 4. run
TOKEN=""
login() {
  TOKEN=$(curl -sS -f -X POST "$API/auth/token" -H 'Content-Type: application/json' \
    -d "{\"username\": \"${AIRFLOW_ADMIN_USER:-admin}\", \"password\": \"$AIRFLOW_ADMIN_PASSWORD\"}" | json 'd["access_token"]')
}
api() { curl -sS -f -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
run_state() { api "$API/api/v2/dags/$DAG/dagRuns/$1" | json 'd["state"]'; }
wait_run() {  # RUN_ID: poll until success (or die with the failed tasks' logs)
  local run=$1 deadline=$((SECONDS + RUN_TIMEOUT)) state done_tasks last=""
  while :; do
    state=$(run_state "$run")
    done_tasks=$(api "$API/api/v2/dags/$DAG/dagRuns/$run/taskInstances" |
      json '"%d/%d tasks done" % (sum(t["state"] == "success" for t in d["task_instances"]), d["total_entries"])')
    [ "$done_tasks" != "$last" ] && say "  run $state, $done_tasks ($((SECONDS - STEP_T)) s)"
    last=$done_tasks
    case "$state" in
      success) return 0 ;;
      failed)
        api "$API/api/v2/dags/$DAG/dagRuns/$run/taskInstances" |
          json '"\n".join(t["task_id"] + ": " + str(t["state"]) for t in d["task_instances"])' >&2
        for task in $(api "$API/api/v2/dags/$DAG/dagRuns/$run/taskInstances?state=failed" |
                      json '" ".join(t["task_id"] for t in d["task_instances"])'); do
          say "log of failed task $task:"
          api "$API/api/v2/dags/$DAG/dagRuns/$run/taskInstances/$task/logs/$(api "$API/api/v2/dags/$DAG/dagRuns/$run/taskInstances/$task" | json 'd["try_number"]')?full_content=true" |
            json '"\n".join(str(c.get("event", c)) if isinstance(c, dict) else str(c) for c in d["content"])' | tail -40 >&2 || true
        done
        die "DAG run $run failed" ;;
    esac
    [ "$SECONDS" -lt "$deadline" ] || die "DAG run $run not done after $RUN_TIMEOUT s (state $state)"
    sleep 10
  done
}
peak_memory() {  # the stack's total memory now, in MB
  docker stats --no-stream --format '{{.MemUsage}}' $(docker ps --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" -q) |
    awk '{v=$1; u=v; gsub(/[0-9.]/,"",u); gsub(/[^0-9.]/,"",v); m=(u=="GiB")?v*1024:(u=="MiB")?v:(u=="KiB")?v/1024:v/1048576; s+=m} END {printf "%d", s}'
}
step_start run
login
for _ in $(seq 60); do  # the dag-processor parses the DAG folder once it is up
  api "$API/api/v2/dags/$DAG" > /dev/null 2>&1 && break
  sleep 3
done
api "$API/api/v2/dags/$DAG" > /dev/null || die "Airflow does not know DAG $DAG (import errors: $(api "$API/api/v2/importErrors" | head -c 2000))"
api -X PATCH "$API/api/v2/dags/$DAG" -d '{"is_paused": false}' > /dev/null
RUN_ID=$(api -X POST "$API/api/v2/dags/$DAG/dagRuns" \
  -d "{\"logical_date\": \"$LOGICAL_DATE\", \"conf\": $RUN_CONF}" | json 'd["dag_run_id"]')
say "triggered $RUN_ID with conf $RUN_CONF"
( peak=0; while :; do m=$(peak_memory 2>/dev/null || echo 0); [ "$m" -gt "$peak" ] && peak=$m && echo "$peak" > "$WORK/peak_mb"; sleep 5; done ) &
SAMPLER=$!
wait_run "$RUN_ID"
kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true
# Unpausing also makes the scheduler start the run of the latest scheduled date (catchup=False):
# on the bundled data (2010-12 to 2011-12) that run fails at features, as it should (the data
# is years older than its reference date). max_active_runs=1: the manual run waits for it.
SCHEDULED=$(api "$API/api/v2/dags/$DAG/dagRuns?run_type=scheduled" |
  json '", ".join(r["dag_run_id"] + " " + str(r["state"]) for r in d["dag_runs"]) or "none"')
step_end "$RUN_ID success; the stack's memory peaked at $(cat "$WORK/peak_mb" 2>/dev/null || echo '?') MB; scheduled run(s) started by the unpause: $SCHEDULED"

# ------------------------------------------------------------------------------------ 5. outside
psql_as() {  # USER PASSWORD SQL: psql from a throwaway container, through the published port
  docker run --rm --network host -e PGPASSWORD="$2" postgres:16.10 \
    psql -h 127.0.0.1 -p 5433 -U "$1" -d insiders -v ON_ERROR_STOP=1 -XAtq -c "$3"
}
month_facts() {  # USER PASSWORD: runs rows, customers rows, insiders, loaded_at of the month
  psql_as "$1" "$2" "SELECT (SELECT count(*) FROM insiders.runs WHERE run_month = '$MONTH')
    || ' ' || (SELECT count(*) FROM insiders.customer_segments WHERE run_month = '$MONTH')
    || ' ' || (SELECT count(*) FROM insiders.customer_segments WHERE run_month = '$MONTH' AND is_insider)
    || ' ' || (SELECT to_char(loaded_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') FROM insiders.runs WHERE run_month = '$MONTH')"
}
s3_keys() {  # the keys under runs/2011-12/ in the S3 API, through the published port
  docker run --rm --network host -e AWS_ACCESS_KEY_ID="$MINIO_ROOT_USER" \
    -e AWS_SECRET_ACCESS_KEY="$MINIO_ROOT_PASSWORD" "$STANDIN_IMAGE" python -c '
import boto3
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", region_name="us-east-1")
pages = s3.get_paginator("list_objects_v2").paginate(Bucket="insiders-data", Prefix="runs/2011-12/")
for page in pages:
    for o in page.get("Contents", []):
        print(o["Key"], o["Size"])'
}
check_outside() {  # LABEL: prints "rows customers insiders loaded_at", checks S3 and the page
  local writer reader keys page
  writer=$(month_facts "${WAREHOUSE_WRITER_USER:-insiders_writer}" "$WAREHOUSE_WRITER_PASSWORD")
  reader=$(month_facts "${INSIDERS_READER_USER:-metabase}" "$INSIDERS_READER_PASSWORD")
  [ "$writer" = "$reader" ] || die "$1: the writer sees '$writer', the read-only login '$reader'"
  set -- $writer
  [ "$1" = 1 ] && [ "$2" -gt 0 ] && [ "$3" -gt 0 ] || die "warehouse: month $MONTH has $1 run row(s), $2 customers, $3 Insiders"
  keys=$(s3_keys)
  echo "$keys" > "$WORK/s3-keys.$STEP_NAME"
  echo "$keys" | grep -q '^runs/2011-12/report.html ' || die "S3: no runs/2011-12/report.html (keys: $(echo "$keys" | head -5))"
  echo "$keys" | grep -q '^runs/2011-12/insiders.csv ' || die "S3: no runs/2011-12/insiders.csv"
  page=$(api "$API/insiders/") || die "the Insiders page (/insiders/) does not answer 200"
  echo "$page" | grep -q "Insiders 2011-12" || die "the Insiders page does not show 2011-12"
  curl -s -o /dev/null -w '%{http_code}' "$API/insiders/" | grep -qE '^(401|403)$' ||
    die "the Insiders page answers without a login"
  echo "$writer $(echo "$keys" | wc -l)"
}
step_start outside
FACTS1=$(check_outside first)
set -- $FACTS1
psql_as "${INSIDERS_READER_USER:-metabase}" "$INSIDERS_READER_PASSWORD" \
  "DELETE FROM insiders.runs WHERE run_month = '$MONTH'" > /dev/null 2>&1 &&
  die "the read-only login could delete from the warehouse"
VERSION=$(psql_as "${WAREHOUSE_WRITER_USER:-insiders_writer}" "$WAREHOUSE_WRITER_PASSWORD" "SHOW server_version")
MB=$(api "$API/api/v2/dags/$DAG/dagRuns/$RUN_ID/taskInstances/resync_metabase/xcomEntries/return_value" |
  json '"Metabase stand-in %s resynced database %s (sync_schema %s)" % (d["value"]["version"], d["value"]["database_id"], d["value"]["sync_schema"]["status"])') ||
  die "resync_metabase returned nothing: did it run against the Metabase stand-in?"
step_end "month $MONTH: 1 run row, $2 customers, $3 Insiders (writer = read-only login; read-only cannot delete; server $VERSION); $5 objects in s3://insiders-data/runs/2011-12/; /insiders/ shows 2011-12 (401 without login); $MB"

if [ "${SCREENSHOTS:-0}" = 1 ]; then
  step_start shots
  AIRFLOW_USER=${AIRFLOW_ADMIN_USER:-admin} AIRFLOW_PASSWORD=$AIRFLOW_ADMIN_PASSWORD \
    RUN_ID=$RUN_ID AIRFLOW_URL=$API bash scripts/screenshots.sh
  step_end "docs/img/airflow-*.png from the stack's UI"
fi

# ------------------------------------------------------------------------------------ 6. rerun
step_start rerun
api -X POST "$API/api/v2/dags/$DAG/dagRuns/$RUN_ID/clear" -d '{"dry_run": false}' > /dev/null
for _ in $(seq 30); do [ "$(run_state "$RUN_ID")" != success ] && break; sleep 1; done
wait_run "$RUN_ID"
FACTS2=$(check_outside rerun)
set -- $FACTS1; rows1=$1 customers1=$2 insiders1=$3 loaded1=$4 objects1=$5
set -- $FACTS2
[ "$1" = 1 ] && [ "$2" = "$customers1" ] || die "rerun: the month has $1 run row(s) and $2 customer rows (before: $rows1, $customers1): not replaced"
[[ "$4" > "$loaded1" ]] || die "rerun: loaded_at $4 is not after the first load's $loaded1"
[ "$5" = "$objects1" ] || die "rerun: $5 objects in the run folder (before: $objects1)"
step_end "month replaced, not doubled: 1 run row, $2 customer rows, $3 Insiders (first: $insiders1), loaded again at $4"

# ------------------------------------------------------------------------------------ 7. restart
step_start restart
"${COMPOSE[@]}" down > "$WORK/restart.log" 2>&1 || die "docker-compose down failed"
"${COMPOSE[@]}" up -d >> "$WORK/restart.log" 2>&1 || { tail -30 "$WORK/restart.log" >&2; die "docker-compose up failed"; }
wait_healthy 600
login
FACTS3=$(check_outside restart)
[ "$FACTS3" = "$FACTS2" ] || die "after the restart the warehouse/S3 say '$FACTS3', before '$FACTS2'"
cmp -s "$WORK/s3-keys.rerun" "$WORK/s3-keys.restart" || die "the run folder's objects changed over the restart"
[ "$(run_state "$RUN_ID")" = success ] || die "Airflow lost run $RUN_ID over the restart"
tasks=$(api "$API/api/v2/dags/$DAG/dagRuns/$RUN_ID/taskInstances" | json 'sum(t["state"] == "success" for t in d["task_instances"])')
log_lines=$(api "$API/api/v2/dags/$DAG/dagRuns/$RUN_ID/taskInstances/load/logs/2?full_content=true" | json 'len(d["content"])')
[ "$log_lines" -gt 3 ] || die "the load task's log of the rerun is gone after the restart"
step_end "warehouse, run $RUN_ID ($tasks tasks success, logs kept) and the run folder intact"

# ------------------------------------------------------------------------------------ 8. down
step_start down
if [ "${KEEP_UP:-0}" = 1 ]; then
  step_end "skipped (KEEP_UP=1): the stack is up on http://127.0.0.1:8080 (admin in $ENV_FILE)"
else
  "${COMPOSE[@]}" down -v --remove-orphans > "$WORK/down.log" 2>&1 || die "docker-compose down -v failed"
  STACK_UP=""
  left=$(docker volume ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" | wc -l)
  [ "$left" = 0 ] || die "$left volume(s) left after down -v"
  step_end "containers, network and volumes removed (images kept as the build cache)"
fi

say "summary (wall time per step):"
for line in "${STEPS[@]}"; do echo "  $line" >&2; done
say "total $((SECONDS - T0)) s on $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB; images: $(docker system df --format '{{.Type}} {{.Size}}' | head -1)"
