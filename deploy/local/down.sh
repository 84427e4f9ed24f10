#!/usr/bin/env bash
# Stop the local Kafka, etcd and PostgreSQL started by up.sh and delete their data, so the next `up` starts
# fresh. Idempotent. Only processes recorded in the state dir's pid files are touched.
#
#   bash deploy/local/down.sh        (or: npm run local:down)
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ! -d $STATE_DIR ]]; then
  log "nothing to stop (no state dir $STATE_DIR)"
  exit 0
fi
take_lock

stop_service() { # NAME PIDFILE MATCH DEADLINE_S [SIGNAL]
  local name=$1 file=$2 match=$3 deadline=$4 signal=${5:-TERM} pid
  if pid="$(pid_of "$file" "$match")"; then
    log "stopping $name (pid $pid)…"
    stop_pid "$name" "$pid" "$deadline" "$signal"
    log "$name stopped"
  else
    log "$name was not running"
  fi
  rm -f "$file"
}

# Kafka first: its controlled shutdown can take a few seconds; etcd stops at once.
stop_service Kafka "$KAFKA_PID_FILE" "$KAFKA_CMD_MATCH" 30
stop_service etcd "$ETCD_PID_FILE" "$ETCD_CMD_MATCH" 10
# PostgreSQL's fast shutdown (SIGINT) disconnects clients, including replication connections.
stop_service PostgreSQL "$PG_PID_FILE" "$PG_CMD_MATCH" 30 INT

removed=()
for dir in "$KAFKA_DIR" "$STATE_DIR/etcd" "$PG_DATA"; do
  if [[ -e $dir ]]; then
    rm -rf "$dir"
    removed+=("$dir")
  fi
done
rm -f "$ENV_FILE" "$ENV_FILE.tmp"
if ((${#removed[@]} > 0)); then
  log "removed data: ${removed[*]}"
fi
kept=()
for f in "$KAFKA_LOG" "$ETCD_LOG" "$PG_LOG"; do [[ -f $f ]] && kept+=("$f"); done
log "down${kept[0]:+ (logs kept: ${kept[*]})}"
