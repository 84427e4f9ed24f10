#!/usr/bin/env bash
# Report whether the local Kafka, etcd and PostgreSQL from up.sh are running.
# Exit status: 0 if all three are up, 1 otherwise.
#
#   bash deploy/local/status.sh      (or: npm run local:status)
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

up=0

report() { # NAME PIDFILE MATCH ADDRESS CHECK-COMMAND...
  local name=$1 file=$2 match=$3 addr=$4 pid state
  shift 4
  if pid="$(pid_of "$file" "$match")"; then
    if "$@"; then
      state=running
      up=$((up + 1))
    else
      state="not answering"
    fi
  else
    pid=-
    state=stopped
  fi
  printf '%-8s %-14s pid %-8s %s\n' "$name" "$state" "$pid" "$addr"
}

report Kafka "$KAFKA_PID_FILE" "$KAFKA_CMD_MATCH" "$KAFKA_ADDR" port_open "$LOOPBACK" "$KAFKA_PORT"
report etcd "$ETCD_PID_FILE" "$ETCD_CMD_MATCH" "$ETCD_URL" etcd_healthy
report Postgres "$PG_PID_FILE" "$PG_CMD_MATCH" "$PG_URL_LOCAL" pg_ready

if [[ -n ${KAFKA_BOOTSTRAP:-} || -n ${ETCD_ENDPOINTS:-} || -n ${PG_URL:-} ]]; then
  echo "(note: KAFKA_BOOTSTRAP / ETCD_ENDPOINTS / PG_URL are set; tests use those, not the local services)"
fi
if [[ -f $ENV_FILE ]]; then
  echo "env file: $ENV_FILE"
fi
((up == 3))
