#!/usr/bin/env bash
# The official postgres image's entrypoint contract, re-implemented for the stand-in image
# (Debian's PostgreSQL 15): on the first start (empty PGDATA) initdb as POSTGRES_USER with
# POSTGRES_PASSWORD, a temporary server on the Unix socket only, POSTGRES_DB created, the
# scripts of /docker-entrypoint-initdb.d run, the temporary server stopped; then the real server
# listening on every address, password authentication for TCP.
set -Eeuo pipefail

log() { echo "postgres-standin: $*" >&2; }

if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi

if [ "$1" != 'postgres' ]; then exec "$@"; fi
# `postgres --version`, `--help`, `-C setting`: no initialisation, as in the official image
for arg; do case "$arg" in -'?'|--help|--describe-config|-V|--version|-C) exec "$@" ;; esac; done

if [ "$(id -u)" = '0' ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"; chmod 3777 /var/run/postgresql
  exec gosu postgres "$BASH_SOURCE" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
    log "Database is uninitialized and superuser password is not specified."
    log "You must specify POSTGRES_PASSWORD to a non-empty value for the superuser."
    exit 1
  fi
  log "initdb (PostgreSQL $PG_MAJOR) as $POSTGRES_USER, database $POSTGRES_DB"
  # shellcheck disable=SC2086
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
    --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} > /dev/null
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  printf '\nhost all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >> "$PGDATA/pg_hba.conf"
  # the temporary server: Unix socket only, so a health check over TCP waits for the real one
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start > /dev/null
  export PGPASSWORD="${POSTGRES_PASSWORD:-}"
  psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  if [ "$POSTGRES_DB" != postgres ]; then
    "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;' > /dev/null
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) log "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql) log "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
      *) ;;
    esac
  done
  unset PGPASSWORD
  pg_ctl -D "$PGDATA" -m fast -w stop > /dev/null
  log "init process complete; ready for start up"
fi

exec "$@"
