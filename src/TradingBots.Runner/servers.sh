#!/usr/bin/env bash
# Installs (when missing) and starts the three servers TradingBots needs, on loopback, without systemd.
# Idempotent: a server that already answers is left alone.
#   servers.sh [start] [postgres|redis|rabbitmq ...]   start all, or the named ones
#   servers.sh stop redis                              stop our Redis (used by the outage tests)
set -euo pipefail

PG_PORT=5432 REDIS_PORT=6379 AMQP_PORT=5672
PG_PASSWORD=${PG_PASSWORD:-postgres}

# As root, or through sudo when it is there: installing packages and starting daemons needs it.
SUDO=""; [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null && SUDO=sudo; }

say() { echo "[servers] $*"; }
die() { echo "[servers] error: $*" >&2; exit 1; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port name seconds
  for _ in $(seq 1 $(($3 * 5))); do listening "$1" && return 0; sleep 0.2; done
  die "$2 did not listen on 127.0.0.1:$1 within $3 s"
}

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

start_postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p $PG_PORT; then
    local version; version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    pg_lsclusters -h | grep -q "^$version main" || as_postgres "pg_createcluster $version main" >/dev/null \
      || die "cannot create the PostgreSQL $version cluster (run as root or as postgres)"
    say "starting PostgreSQL $version on 127.0.0.1:$PG_PORT"
    as_postgres "pg_ctlcluster $version main start" || die "PostgreSQL $version did not start (see /var/log/postgresql)"
    for _ in $(seq 1 150); do pg_isready -q -h 127.0.0.1 -p $PG_PORT && break; sleep 0.2; done
    pg_isready -q -h 127.0.0.1 -p $PG_PORT || die "PostgreSQL did not become ready"
  fi
  # The services log in with a password over TCP, as they would against the Aspire container.
  if ! PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -p $PG_PORT -U postgres -qtAc 'select 1' >/dev/null 2>&1; then
    as_postgres "psql -q -c \"ALTER USER postgres PASSWORD '$PG_PASSWORD'\"" >/dev/null \
      || die "cannot set the postgres password (run as root or as postgres)"
  fi
}

start_redis() {
  listening $REDIS_PORT && return 0
  say "starting Redis on 127.0.0.1:$REDIS_PORT"
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port $REDIS_PORT --save '' --appendonly no \
    --logfile /tmp/tradingbots-redis.log >/dev/null
  wait_port $REDIS_PORT Redis 10
}

start_rabbitmq() {
  listening $AMQP_PORT && return 0
  say "starting RabbitMQ on 127.0.0.1:$AMQP_PORT"
  # rabbitmq-server as root switches to the rabbitmq user itself.
  $SUDO env RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$AMQP_PORT rabbitmq-server -detached >/dev/null 2>&1 \
    || die "RabbitMQ did not start (see /var/log/rabbitmq)"
  wait_port $AMQP_PORT RabbitMQ 60
}

stop_redis() { listening $REDIS_PORT && $SUDO redis-cli -p $REDIS_PORT shutdown nosave >/dev/null 2>&1 || true; }

command=${1:-start}; [ $# -gt 0 ] && shift
case "$command" in
  start)
    ensure_packages
    for server in ${@:-postgres redis rabbitmq}; do "start_$server"; done
    say "ready: postgres 127.0.0.1:$PG_PORT, redis 127.0.0.1:$REDIS_PORT, rabbitmq 127.0.0.1:$AMQP_PORT" ;;
  stop)
    for server in "$@"; do "stop_$server"; done ;;
  *) die "usage: servers.sh [start [postgres|redis|rabbitmq ...] | stop redis]" ;;
esac
