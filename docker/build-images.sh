#!/usr/bin/env bash
# Build, on a machine that reaches no image registry, the images docker-compose.yaml names and
# cannot pull, from Debian's packages (the apt mirror this machine uses) and PyPI:
#
#   insiders-standin/debian:bookworm     debootstrap --variant=minbase + this machine's CA certificates
#   apache/airflow:3.3.2-python3.11      stand-in: Debian's Python 3.11, Airflow 3.3.2 from PyPI, the
#                                        official image's contract (docker/airflow/Dockerfile)
#   postgres:16.10                       stand-in: Debian's PostgreSQL 15 (!) with the official image's
#                                        environment contract (docker/postgres/)
#   insiders-standin/services:moto-5.2.5 moto's S3 API (persisted on a volume) and the Metabase stand-in,
#                                        used by docker-compose.standins.yaml in place of MinIO/Metabase
#
# Each image carries a label with the hash of its inputs (build context, base image, lock, CA
# certificates, apt sources): an image whose label matches is not built again.
#   bash docker/build-images.sh            # builds what is missing or stale
#   FORCE=1 bash docker/build-images.sh    # rebuilds all
set -euo pipefail
cd "$(dirname "$0")/.."
LABEL=org.insiders.standin.inputs
BASE=insiders-standin/debian:bookworm
SUITE=bookworm
FORCE=${FORCE:-0}
log() { echo "build-images: $*" >&2; }

current_key() { docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }

# The Debian mirror apt uses here (deb822 .sources or one-line sources.list), else deb.debian.org.
mirror() {
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '{print $2}' | grep -vE 'security|nodesource|google|docker' | head -1)
  [ -n "$uri" ] || uri=$(grep -hsE "^deb +(\[[^]]*\] +)?(http|https)://[^ ]+ +$SUITE " /etc/apt/sources.list |
        sed -E 's/^deb +(\[[^]]*\] +)?//' | awk '{print $1}' | head -1)
  echo "${uri:-http://deb.debian.org/debian}"
}

# apt sources for inside the images: the host's Debian ones only (no third-party repositories)
apt_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    if grep -qE 'debian-archive-keyring|/debian(-security)?/?( |$)' "$f" && ! grep -qiE 'nodesource|google|docker' "$f"; then
      echo "$f"
    fi
  done
}

ca_certs() { ls /usr/local/share/ca-certificates/*.crt 2>/dev/null || true; }

build_base() {
  local key sources certs m
  m=$(mirror)
  mapfile -t sources < <(apt_sources)
  mapfile -t certs < <(ca_certs)
  key=$( { echo "v1 $SUITE minbase $m"; sha256sum "$0" | cut -d' ' -f1;
           for f in "${sources[@]}" "${certs[@]}"; do echo "$f"; cat "$f"; done; } | sha256sum | cut -c1-16)
  if [ "$FORCE" != 1 ] && [ "$(current_key "$BASE")" = "$key" ]; then
    log "$BASE up to date ($key)"; return
  fi
  command -v debootstrap >/dev/null || { log "debootstrap missing: apt-get install -y debootstrap"; exit 1; }
  local rootfs
  rootfs=$(mktemp -d /tmp/insiders-rootfs.XXXXXX)
  log "$BASE: debootstrap $SUITE from $m (about a minute)"
  debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$m" > "$rootfs.log" 2>&1 ||
    { tail -20 "$rootfs.log" >&2; exit 1; }
  # the proxy's CA certificates, as the host trusts them
  for f in "${certs[@]}"; do cp "$f" "$rootfs/usr/local/share/ca-certificates/"; done
  # (its rehash warns about the bundle file it skips: not an error)
  chroot "$rootfs" update-ca-certificates > /dev/null 2>&1 || { log "update-ca-certificates failed in the rootfs"; exit 1; }
  rm -f "$rootfs/etc/apt/sources.list"
  for f in "${sources[@]}"; do cp "$f" "$rootfs/etc/apt/sources.list.d/"; done
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] &&
    cp /usr/share/keyrings/debian-archive-keyring.gpg "$rootfs/usr/share/keyrings/" 2>/dev/null || true
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import \
    --change "LABEL $LABEL=$key" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase $SUITE $m" - "$BASE" > /dev/null
  rm -rf "$rootfs" "$rootfs.log"
  log "$BASE built ($key)"
}

# build_image NAME CONTEXT [extra files copied into the context]
build_image() {
  local name=$1 context=$2; shift 2
  local tmp key
  tmp=$(mktemp -d /tmp/insiders-ctx.XXXXXX)
  cp -r "$context"/. "$tmp"/
  for f in "$@"; do cp "$f" "$tmp/"; done
  key=$( { docker image inspect --format '{{.Id}}' "$BASE";
           (cd "$tmp" && find . -type f | LC_ALL=C sort | xargs sha256sum); } | sha256sum | cut -c1-16)
  if [ "$FORCE" != 1 ] && [ "$(current_key "$name")" = "$key" ]; then
    log "$name up to date ($key)"; rm -rf "$tmp"; return
  fi
  log "$name: building from $context (a few minutes the first time)"
  local started=$SECONDS
  if ! docker build --build-arg "BASE=$BASE" --label "$LABEL=$key" -t "$name" "$tmp" > "$tmp.log" 2>&1; then
    tail -40 "$tmp.log" >&2; rm -rf "$tmp"; exit 1
  fi
  rm -rf "$tmp" "$tmp.log"
  log "$name built in $((SECONDS - started)) s ($key)"
}

build_base
# The stand-in images install what they need from PyPI with requirements.lock as constraints
# (the official image uses Airflow's constraints file, which is not reachable from here).
build_image postgres:16.10 docker/postgres
build_image apache/airflow:3.3.2-python3.11 docker/airflow requirements.lock
build_image insiders-standin/services:moto-5.2.5 docker/standins requirements.lock
