#!/usr/bin/env bash
# The servers of the AppHost's local mode (Servers:Mode=local: no container runtime), from the Debian packages, without
# systemd: installed when missing, initialized in the AppHost's data folder, and run in the foreground as its executable
# resources (the AppHost stops each with SIGTERM).
#   servers.sh install                 install PostgreSQL, Redis and RabbitMQ (and pgbench) when missing
#   servers.sh init-postgres DIR       create a PostgreSQL cluster in DIR unless there is one (its superuser: the project's
#                                      role, TRADINGBOTS_DB_ROLE (tradingbots), with TRADINGBOTS_DB_PASSWORD (tradingbots))
#   servers.sh init-rabbitmq DIR       a RabbitMQ node's directory DIR, writable by the rabbitmq user
#   servers.sh run-postgres DIR PORT   PostgreSQL on the cluster in DIR, in the foreground, on 127.0.0.1:PORT; SIGTERM stops
#                                      it at once (a fast shutdown)
#   servers.sh run-rabbitmq            a RabbitMQ node in the foreground (RABBITMQ_* as the AppHost sets them); SIGTERM stops
#                                      it cleanly
#
# What it never does: touch a server, cluster or node it did not create. The machine's own PostgreSQL, Redis and RabbitMQ
# (if any) are neither started, stopped nor changed: the AppHost's servers are its own processes on their own ports.
set -euo pipefail

DB_ROLE=${TRADINGBOTS_DB_ROLE:-tradingbots}
DB_PASSWORD=${TRADINGBOTS_DB_PASSWORD:-tradingbots}

# As root, or through sudo when it is there: installing packages needs it.
SUDO=""; [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null && SUDO=sudo; }

say() { echo "[servers] $*"; }
die() { echo "[servers] error: $*" >&2; exit 1; }

ensure_packages() {
  local missing=()
  command -v pg_ctlcluster >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  command -v pgbench >/dev/null || missing+=(postgresql-client)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ] \
    || die "missing packages: ${missing[*]}. Install them (apt-get install ${missing[*]}) as root, or run this as root."
  say "installing ${missing[*]} (Debian packages)"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  # policy-rc.d 101 keeps the packages' own init scripts from starting daemons: we start them ourselves.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -c "$1"
  elif [ "$(id -un)" = postgres ] || [ -z "$SUDO" ]; then bash -c "$1"
  else sudo -u postgres bash -c "$1"; fi
}

pg_bin() { echo "/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -1)/bin/$1"; }

# A cluster of the project's own in $1 (unless one is there): its superuser the project's role, with its password.
init_postgres() {
  local dir=$1
  if [ ! -f "$dir/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster of our own in $dir"
    mkdir -p "$dir"; chmod 700 "$dir"
    local pwfile; pwfile=$(mktemp); printf '%s\n' "$DB_PASSWORD" >"$pwfile"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir" "$pwfile"; fi
    as_postgres "$(pg_bin initdb) -D '$dir' -U '$DB_ROLE' --pwfile='$pwfile' --auth-host=scram-sha-256 --auth-local=peer -E UTF8 --locale=C.UTF-8" >/dev/null \
      || { rm -f "$pwfile"; die "initdb of $dir failed"; }
    rm -f "$pwfile"
  fi
}

command=${1:-}; [ $# -gt 0 ] && shift
case "$command" in
  install) ensure_packages ;;
  init-postgres)
    [ $# -eq 1 ] || die "usage: servers.sh init-postgres DIR"
    ensure_packages; init_postgres "$1" ;;
  init-rabbitmq)
    [ $# -eq 1 ] || die "usage: servers.sh init-rabbitmq DIR"
    ensure_packages; mkdir -p "$1"; [ "$(id -u)" -ne 0 ] || chown rabbitmq: "$1" ;;
  run-postgres)
    [ $# -eq 2 ] || die "usage: servers.sh run-postgres DIR PORT"
    exec 2>&1 # its log is what it writes to stderr: on stdout, it reads as the log it is, not as errors
    server=("$(pg_bin postgres)" -D "$1" -p "$2" -c listen_addresses=127.0.0.1 -c unix_socket_directories=)
    # PostgreSQL refuses to run as root: as root, it runs as the postgres user (its data directory's owner), exec'd in place.
    [ "$(id -u)" -ne 0 ] || server=(setpriv --reuid=postgres --regid=postgres --init-groups -- "${server[@]}")
    "${server[@]}" &
    pid=$!
    # PostgreSQL's own SIGTERM waits for every client to leave (a smart shutdown), so a stop with the services still
    # connected would hang until the orchestrator kills it; SIGINT is its fast shutdown (clients cut off, a clean checkpoint).
    trap 'kill -INT "$pid" 2>/dev/null || true' TERM INT
    status=0; wait "$pid" || status=$?
    while kill -0 "$pid" 2>/dev/null; do status=0; wait "$pid" || status=$?; done
    exit "$status" ;;
  run-rabbitmq)
    # The package's /usr/sbin/rabbitmq-server switches to the rabbitmq user through su, which cuts a stop short with
    # SIGKILL; its own script, exec'd in place as that user, turns SIGTERM into a clean stop of the node.
    exec 2>&1
    if [ "$(id -u)" -eq 0 ]; then
      exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups -- env HOME=/var/lib/rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
    fi
    exec rabbitmq-server ;;
  *) die "usage: servers.sh install | init-postgres DIR | init-rabbitmq DIR | run-postgres DIR PORT | run-rabbitmq" ;;
esac
