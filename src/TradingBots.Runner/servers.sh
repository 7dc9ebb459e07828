#!/usr/bin/env bash
# Installs (when missing) and starts the three servers TradingBots needs, on loopback, without systemd, and gives
# the project what it needs on them: its own PostgreSQL role, its own RabbitMQ virtual host, and (for a test or
# benchmark instance) its own Redis server, PostgreSQL cluster and RabbitMQ node. Idempotent: a server that already
# answers is used as it is.
#   servers.sh [start] [postgres|redis|rabbitmq ...]   start all, or the named ones
#   servers.sh stop redis|postgres|rabbitmq            stop the Redis server / PostgreSQL cluster / RabbitMQ node this
#                                                      script started for a test instance (ports other than the defaults)
#   servers.sh drop-database NAME_OFFSET ...           drop a test instance's own database (name ends in _<offset>)
#   servers.sh install                                 install the Debian packages when missing (the AppHost's local mode)
#   servers.sh init-postgres DIR                       create a PostgreSQL cluster in DIR unless there is one (superuser:
#                                                      the project's role and password; the AppHost then runs postgres on it)
#   servers.sh init-rabbitmq DIR                       a RabbitMQ node's directory DIR, writable by the rabbitmq user
#   servers.sh run-postgres DIR PORT                   PostgreSQL on the cluster in DIR, in the foreground, on 127.0.0.1:PORT
#                                                      (the AppHost's local mode); SIGTERM stops it at once (a fast shutdown)
#   servers.sh run-rabbitmq                            a RabbitMQ node in the foreground (RABBITMQ_* as the AppHost sets
#                                                      them); SIGTERM stops it cleanly
#
# What it never does: change anything it did not create. A PostgreSQL cluster that was already on the machine keeps
# its roles and passwords (the project logs in as its own role); a Redis or RabbitMQ that was already running is
# never stopped; "stop" stops only a server whose pid file this script wrote.
#
# Settings (the runner sets them per instance, from its port offset):
#   PG_PORT (5432: the machine's cluster, shared; any other port: a cluster of our own in storage/servers/postgres-<port>,
#           unless a cluster that is not ours already answers there: then, as on 5432, the project only adds its role)
#   REDIS_PORT (6379), AMQP_PORT (5672: the machine's RabbitMQ, shared; any other port: a node of our own)
#   TRADINGBOTS_DB_ROLE (tradingbots), TRADINGBOTS_DB_PASSWORD (tradingbots): the project's login role (CREATEDB)
#   RABBITMQ_VHOST (tradingbots): the project's virtual host, with all permissions for guest
set -euo pipefail

PG_PORT=${PG_PORT:-5432} REDIS_PORT=${REDIS_PORT:-6379} AMQP_PORT=${AMQP_PORT:-5672}
DB_ROLE=${TRADINGBOTS_DB_ROLE:-tradingbots}
DB_PASSWORD=${TRADINGBOTS_DB_PASSWORD:-tradingbots}
VHOST=${RABBITMQ_VHOST:-tradingbots}
# Pid files and logs of the servers this script starts.
STATE_DIR=$(cd "$(dirname "$0")/../.." && pwd)/storage/servers

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

pg_bin() { echo "/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -1)/bin/$1"; }
pg_own_dir() { echo "$STATE_DIR/postgres-$PG_PORT"; }

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

# A test or benchmark instance (any port but 5432) has a cluster of its own, which it may stop and start at will:
# data in storage/servers/postgres-<port>, its superuser the project's role, TCP on loopback only.
start_own_postgres() {
  local dir; dir=$(pg_own_dir)
  init_postgres "$dir"
  say "starting our PostgreSQL on 127.0.0.1:$PG_PORT"
  as_postgres "$(pg_bin pg_ctl) -D '$dir' -l '$dir/server.log' -w -t 60 -o \"-p $PG_PORT -c listen_addresses=127.0.0.1 -k '$dir'\" start" >/dev/null \
    || die "our PostgreSQL on $PG_PORT did not start (see $dir/server.log)"
}

stop_postgres() {
  own_postgres || { say "no PostgreSQL of ours on $PG_PORT: nothing stopped"; return 0; }
  as_postgres "$(pg_bin pg_ctl) -D '$(pg_own_dir)' -m fast -w stop" >/dev/null || die "our PostgreSQL on $PG_PORT did not stop"
}

# Ours: a cluster this script created for a test instance, running from storage/servers/postgres-<port> (its
# postmaster.pid names a live postgres whose data directory is that one: a stale pid file proves nothing).
own_postgres() {
  local pid_file pid; pid_file="$(pg_own_dir)/postmaster.pid"
  [ "$PG_PORT" != 5432 ] && [ -f "$pid_file" ] || return 1
  pid=$(head -n 1 "$pid_file")
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-D $(pg_own_dir) "
}

start_postgres() {
  if own_postgres && pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then return 0; fi
  if [ "$PG_PORT" != 5432 ] && ! pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then start_own_postgres; return 0; fi
  # Otherwise a cluster that is not ours (the machine's on 5432, or one already answering on PG_PORT): the project only
  # adds its role to it.
  if ! pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
    local version; version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    pg_lsclusters -h | grep -q "^$version main" || as_postgres "pg_createcluster $version main" >/dev/null \
      || die "cannot create the PostgreSQL $version cluster (run as root or as postgres)"
    say "starting PostgreSQL $version on 127.0.0.1:$PG_PORT"
    as_postgres "pg_ctlcluster $version main start" || die "PostgreSQL $version did not start (see /var/log/postgresql)"
    for _ in $(seq 1 150); do pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.2; done
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || die "PostgreSQL did not become ready"
  fi
  # The services log in over TCP with a password, as they would against the Aspire container, but as the project's
  # own role: created once (through the postgres OS account's local peer login), never any other role touched.
  if ! PGPASSWORD=$DB_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U "$DB_ROLE" -d postgres -qtAc 'select 1' >/dev/null 2>&1; then
    local sql
    sql="DO \$\$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_ROLE') THEN
             CREATE ROLE \"$DB_ROLE\" LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
           ELSE
             ALTER ROLE \"$DB_ROLE\" LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
           END IF;
         END \$\$;"
    as_postgres "psql -p $PG_PORT -d postgres -qtA" <<<"$sql" >/dev/null \
      || die "cannot create the role $DB_ROLE (run as root or as postgres)"
    say "PostgreSQL role $DB_ROLE ready (login with password, CREATEDB)"
  fi
  adopt_database tradingbots
}

# Earlier versions of the project created the database tradingbots as the postgres superuser: hand it, and the
# tables and sequences the project created in it, to the project's role (nothing else in the cluster is touched).
adopt_database() {
  local owner; owner=$(as_postgres "psql -p $PG_PORT -d postgres -qtAX -c \"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$1'\"")
  # Only from the superuser an earlier version used: a database some other role owns is not ours to hand over.
  [ "$owner" = postgres ] && [ "$DB_ROLE" != postgres ] || return 0
  say "handing the database $1 (created by an earlier version as $owner) to the role $DB_ROLE"
  as_postgres "psql -p $PG_PORT -d '$1' -qtAX" <<SQL >/dev/null || die "cannot hand $1 to $DB_ROLE"
ALTER DATABASE "$1" OWNER TO "$DB_ROLE";
DO \$\$ DECLARE r record; BEGIN
  FOR r IN SELECT format('ALTER %s %I.%I OWNER TO %I', CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname, '$DB_ROLE') AS sql
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S') AND pg_get_userbyid(c.relowner) = '$owner'
             AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
  LOOP EXECUTE r.sql; END LOOP;
END \$\$;
SQL
}

redis_pid_file() { echo "$STATE_DIR/redis-$REDIS_PORT.pid"; }

start_redis() {
  listening "$REDIS_PORT" && return 0
  say "starting Redis on 127.0.0.1:$REDIS_PORT"
  mkdir -p "$STATE_DIR"
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --pidfile "$(redis_pid_file)" --logfile "$STATE_DIR/redis-$REDIS_PORT.log" >/dev/null
  wait_port "$REDIS_PORT" Redis 10
}

# Only the server this script started (its pid file, and that pid still a redis-server on this port).
stop_redis() {
  local pid_file pid; pid_file=$(redis_pid_file)
  [ -f "$pid_file" ] || { say "no Redis of ours on $REDIS_PORT: nothing stopped"; return 0; }
  pid=$(cat "$pid_file")
  if grep -qa "redis-server.*:$REDIS_PORT" "/proc/$pid/cmdline" 2>/dev/null; then
    $SUDO kill "$pid"
    for _ in $(seq 1 50); do listening "$REDIS_PORT" || break; sleep 0.1; done
  fi
  $SUDO rm -f "$pid_file"
}

# A test or benchmark instance (AMQP_PORT other than 5672) has a RabbitMQ node of its own, which its tests may stop:
# node tradingbots-<port>@localhost, data and logs in storage/servers/rabbitmq-<port>, distribution on <port>+1.
own_rabbitmq() { [ "$AMQP_PORT" != 5672 ]; }
rabbit_dir() { echo "$STATE_DIR/rabbitmq-$AMQP_PORT"; }
rabbitmqctl_() { # rabbitmqctl against this instance's node (as root it runs as the rabbitmq user itself)
  if own_rabbitmq; then $SUDO rabbitmqctl -q -n "tradingbots-$AMQP_PORT@localhost" "$@"; else $SUDO rabbitmqctl -q "$@"; fi
}

start_rabbitmq() {
  if ! listening "$AMQP_PORT"; then
    say "starting RabbitMQ on 127.0.0.1:$AMQP_PORT"
    local node=()
    if own_rabbitmq; then
      local dir; dir=$(rabbit_dir); mkdir -p "$dir"; [ "$(id -u)" -ne 0 ] || chown rabbitmq: "$dir"
      node=(RABBITMQ_NODENAME="tradingbots-$AMQP_PORT@localhost" RABBITMQ_DIST_PORT=$((AMQP_PORT + 1))
            RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_PID_FILE="$dir/pid"
            RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONFIG_FILE="$dir/rabbitmq")
    fi
    # rabbitmq-server as root switches to the rabbitmq user itself.
    $SUDO env RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$AMQP_PORT" "${node[@]}" rabbitmq-server -detached >/dev/null 2>&1 \
      || die "RabbitMQ did not start (see /var/log/rabbitmq or storage/servers)"
    wait_port "$AMQP_PORT" RabbitMQ 60
  fi
  # The project's own virtual host: its queues and exchanges never mix with anyone else's.
  if ! rabbitmqctl_ list_vhosts 2>/dev/null | grep -qx "$VHOST"; then
    for _ in $(seq 1 30); do rabbitmqctl_ add_vhost "$VHOST" >/dev/null 2>&1 && break; sleep 1; done
    rabbitmqctl_ list_vhosts | grep -qx "$VHOST" || die "cannot add the RabbitMQ virtual host $VHOST"
    say "RabbitMQ virtual host $VHOST added"
  fi
  rabbitmqctl_ set_permissions -p "$VHOST" guest '.*' '.*' '.*' >/dev/null
}

# Only this instance's own node (never the shared one on 5672).
stop_rabbitmq() {
  own_rabbitmq && [ -f "$(rabbit_dir)/pid" ] || { say "no RabbitMQ of ours on $AMQP_PORT: nothing stopped"; return 0; }
  listening "$AMQP_PORT" && { rabbitmqctl_ stop >/dev/null || die "our RabbitMQ on $AMQP_PORT did not stop"; }
  for _ in $(seq 1 100); do listening "$AMQP_PORT" || break; sleep 0.1; done
  $SUDO rm -f "$(rabbit_dir)/pid"
}

command=${1:-start}; [ $# -gt 0 ] && shift
case "$command" in
  start)
    ensure_packages
    for server in ${@:-postgres redis rabbitmq}; do "start_$server"; done
    say "ready: postgres 127.0.0.1:$PG_PORT (role $DB_ROLE), redis 127.0.0.1:$REDIS_PORT, rabbitmq 127.0.0.1:$AMQP_PORT (vhost $VHOST)" ;;
  drop-database)
    # A test or benchmark instance's own databases, in its own cluster (never the machine's, never the user's).
    own_postgres || die "refusing to drop databases on 127.0.0.1:$PG_PORT: not a cluster this script created for a test instance"
    for database in "$@"; do
      [[ "$database" =~ ^[a-z0-9_]+_[0-9]+$ ]] || die "refusing to drop '$database': not a test instance's database"
      PGPASSWORD=$DB_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U "$DB_ROLE" -d postgres -qtA \
        -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null || die "cannot drop $database"
    done ;;
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
  stop)
    for server in "$@"; do
      [[ "$server" =~ ^(redis|postgres|rabbitmq)$ ]] || die "only redis, postgres or rabbitmq can be stopped"
      "stop_$server"
    done ;;
  *) die "usage: servers.sh [start [postgres|redis|rabbitmq ...] | stop redis|postgres|rabbitmq | drop-database NAME ... | install | init-postgres DIR | init-rabbitmq DIR | run-postgres DIR PORT | run-rabbitmq]" ;;
esac
