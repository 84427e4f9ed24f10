# shellcheck shell=bash
# Shared settings and helpers for deploy/local/{up,down,status}.sh. Sourced, not run.
#
# Layout of the state dir ($TRIBUTARY_LOCAL_DIR, default ~/.cache/tributary/local):
#   env                      KAFKA_BOOTSTRAP=... / ETCD_ENDPOINTS=... of the running services
#   lock                     flock(1) lock serialising up.sh / down.sh
#   etcd.pid  etcd.log  etcd/data/
#   kafka.pid kafka.log  kafka/{server.properties,log4j2.xml,data/,security/}
#   postgres.pid postgres.log  postgres/data/   (postgres/ owned by the `postgres` user when
#                            run as root; see pg_dir below for a state dir it cannot reach)
# Kafka's jars are cached outside the state dir, in $TRIBUTARY_CACHE/kafka-<version>/lib.

LOCAL_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOCAL_POM="$LOCAL_SCRIPTS_DIR/pom.xml"

# The Kafka version is pinned once, in pom.xml.
KAFKA_VERSION="$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$LOCAL_POM")"

TRIBUTARY_CACHE="${TRIBUTARY_CACHE:-$HOME/.cache/tributary}"
STATE_DIR="${TRIBUTARY_LOCAL_DIR:-$HOME/.cache/tributary/local}"
ENV_FILE="$STATE_DIR/env"
LOCK_FILE="$STATE_DIR/lock"

KAFKA_HOME="$TRIBUTARY_CACHE/kafka-$KAFKA_VERSION"
KAFKA_LIB="$KAFKA_HOME/lib"
KAFKA_LIB_MARKER="$KAFKA_HOME/.complete" # holds the sha256 of the pom.xml the jars came from

LOOPBACK=127.0.0.1
KAFKA_PORT="${TRIBUTARY_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${TRIBUTARY_KAFKA_CONTROLLER_PORT:-19093}"
ETCD_PORT="${TRIBUTARY_ETCD_PORT:-12379}"
ETCD_PEER_PORT="${TRIBUTARY_ETCD_PEER_PORT:-12380}"
# The broker's secured listeners (docs/security-kafka.md), next to PLAINTEXT; by default the
# ports right after the controller's, so each TRIBUTARY_KAFKA_PORT block stays apart.
KAFKA_SSL_PORT="${TRIBUTARY_KAFKA_SSL_PORT:-$((KAFKA_PORT + 2))}"
KAFKA_SASL_SSL_PORT="${TRIBUTARY_KAFKA_SASL_SSL_PORT:-$((KAFKA_PORT + 3))}"
KAFKA_SASL_PLAINTEXT_PORT="${TRIBUTARY_KAFKA_SASL_PLAINTEXT_PORT:-$((KAFKA_PORT + 4))}"

PG_PORT="${TRIBUTARY_PG_PORT:-15432}"

KAFKA_ADDR="$LOOPBACK:$KAFKA_PORT"
ETCD_URL="http://$LOOPBACK:$ETCD_PORT"

ETCD_PID_FILE="$STATE_DIR/etcd.pid"
ETCD_LOG="$STATE_DIR/etcd.log"
ETCD_DATA="$STATE_DIR/etcd/data"

KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_PID_FILE="$STATE_DIR/kafka.pid"
KAFKA_LOG="$STATE_DIR/kafka.log"
KAFKA_DATA="$KAFKA_DIR/data"
# CA, broker and client certificates and the SASL test user, made by up.sh at each broker start.
KAFKA_SECURITY_DIR="$KAFKA_DIR/security"

PG_PID_FILE="$STATE_DIR/postgres.pid"
PG_URL_LOCAL="postgres://postgres@$LOOPBACK:$PG_PORT/postgres"

# pg_bin_dir: the directory of PostgreSQL's server binaries (initdb, pg_ctl, postgres), newest
# major version first; empty when none is installed.
pg_bin_dir() {
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
  if [[ -n $dir && -x $dir/initdb ]]; then
    echo "$dir"
  elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(command -v initdb)"
  fi
}

# Run as root, the server runs as the `postgres` user (initdb and postgres refuse root); as
# anyone else it runs as that user.
pg_as() {
  if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_dir: where PostgreSQL's files live. Normally $STATE_DIR/postgres. When run as root with a
# state dir the `postgres` user cannot reach (the default one under /root is mode 700), a
# directory in /var/tmp named after the state dir instead, so the server can read its files.
# The state dir may not exist yet (up.sh creates it with mode 755): test its nearest ancestor.
pg_dir() {
  local probe=$STATE_DIR
  while [[ ! -e $probe && $probe == */* ]]; do probe=${probe%/*}; done
  if ((EUID != 0)) || runuser -u postgres -- test -x "${probe:-/}" 2>/dev/null; then
    echo "$STATE_DIR/postgres"
  else
    echo "/var/tmp/tributary-postgres-$(printf '%s' "$STATE_DIR" | sha256sum | cut -c1-12)"
  fi
}

PG_DIR="$(pg_dir)"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log" # written by the server, so it lives in its (postgres-owned) dir

# Substring of /proc/<pid>/cmdline that identifies our process (guards against PID reuse and
# against another state dir's processes).
ETCD_CMD_MATCH="--data-dir $ETCD_DATA"
KAFKA_CMD_MATCH="kafka.Kafka $KAFKA_DIR/server.properties"
PG_CMD_MATCH="-D $PG_DATA"

# pg_ready: the local server accepts connections.
pg_ready() {
  local bin
  bin="$(pg_bin_dir)"
  [[ -n $bin ]] && "$bin/pg_isready" -q -h "$LOOPBACK" -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

log() { printf '[local] %s\n' "$*"; }
warn() { printf '[local] %s\n' "$*" >&2; }
die() {
  warn "error: $*"
  exit 1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# port_open HOST PORT: true if a TCP connection succeeds within ~1 s.
port_open() {
  timeout 1 bash -c ">/dev/tcp/$1/$2" 2>/dev/null
}

# pid_of PIDFILE NAME-MATCH: prints the PID recorded in PIDFILE if that process is alive and its
# command line contains NAME-MATCH; otherwise removes a stale PIDFILE and returns 1.
pid_of() {
  local file=$1 match=$2 pid
  [[ -f $file ]] || return 1
  pid="$(tr -dc '0-9' <"$file")"
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$match"; then
    echo "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

# http_get URL: GET with curl when present, else a bare HTTP/1.0 request over /dev/tcp.
http_get() {
  local url=$1
  if command -v curl >/dev/null; then
    curl -fsS --max-time 2 "$url"
    return
  fi
  local rest=${url#http://} hostport path host port
  hostport=${rest%%/*}
  path=/${rest#*/}
  host=${hostport%:*}
  port=${hostport##*:}
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$3" "$1" >&3 && cat <&3' \
    _ "$host" "$port" "$path"
}

etcd_healthy() { http_get "$ETCD_URL/health" 2>/dev/null | grep -q '"health": *"true"'; }

# stop_pid NAME PID DEADLINE_S [SIGNAL]: SIGNAL (default TERM), wait up to DEADLINE_S, then
# SIGKILL. (PostgreSQL takes INT: its "fast" shutdown; TERM waits for every client to leave.)
stop_pid() {
  local name=$1 pid=$2 deadline=$3 signal=${4:-TERM} waited=0
  kill "-$signal" "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= deadline * 10)); then
      warn "$name (pid $pid) still running after ${deadline}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      return 0
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# take_lock: serialise up/down (parallel test processes may call up.sh at the same time).
take_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$LOCK_FILE"
  if command -v flock >/dev/null; then
    flock -w 300 9 || die "could not lock $LOCK_FILE within 300 s"
  fi
}

# any_reachable "h1:p1,http://h2:p2,...": true if any of them accepts TCP connections.
any_reachable() {
  local item host port items
  IFS=',' read -ra items <<<"$1"
  for item in "${items[@]}"; do
    item=${item#*://}
    item=${item%%/*}
    host=${item%:*}
    port=${item##*:}
    [[ -n $host && -n $port && $host != "$port" ]] || continue
    port_open "$host" "$port" && return 0
  done
  return 1
}
