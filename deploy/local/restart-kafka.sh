#!/usr/bin/env bash
# Restart the local Kafka started by up.sh, KEEPING its data: stop the broker by PID (SIGTERM,
# SIGKILL after a deadline), optionally stay down for a while, start it again with the very same
# command line (config, JVM flags, data dir), and wait until it serves clients again. For tests
# of client behaviour across a broker restart (test/support/kafka.ts: restartBroker).
#
#   bash deploy/local/restart-kafka.sh [DOWN_SECONDS]     (default 0; decimals allowed: 0.5)
#
# Environment: KAFKA_STOP_TIMEOUT (s before SIGKILL, default 30), KAFKA_START_TIMEOUT (s to wait
# for readiness, default 60), plus the TRIBUTARY_* variables of lib.sh. Refuses to act when
# KAFKA_BOOTSTRAP names another cluster than the local one, and when the local broker is not
# running (up.sh starts it, from empty data).
#
# Ready = the broker logged "Kafka Server started" after this start (it does so once it is
# unfenced and its listeners accept connections) and its port accepts connections. That takes
# about as long as a cold start without the storage formatting, and avoids a JVM-based admin
# call, which alone costs seconds on a 2-core machine.
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOWN_SECONDS="${1:-0}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
# The broker's own command line, saved before each stop: the start reuses it word for word, and a
# restart interrupted while the broker was down can still be finished by running this again.
CMDLINE_FILE="$KAFKA_DIR/cmdline"

[[ $DOWN_SECONDS =~ ^[0-9]+([.][0-9]+)?$ ]] || die "DOWN_SECONDS must be a number of seconds, got '$DOWN_SECONDS'"
if [[ -n ${KAFKA_BOOTSTRAP:-} && $KAFKA_BOOTSTRAP != "$KAFKA_ADDR" ]]; then
  die "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP is not the local broker ($KAFKA_ADDR); this script restarts only the broker of deploy/local/up.sh"
fi
[[ -d $STATE_DIR ]] || die "no local services (no state dir $STATE_DIR); start them with deploy/local/up.sh"

START_MS="$(now_ms)"
take_lock

if pid="$(pid_of "$KAFKA_PID_FILE" "$KAFKA_CMD_MATCH")"; then
  [[ -f $KAFKA_DIR/server.properties && -d $KAFKA_DATA ]] || die "Kafka (pid $pid) runs without $KAFKA_DIR/server.properties or $KAFKA_DATA; not restarting it"
  mapfile -d '' running <"/proc/$pid/cmdline"
  is_broker=0
  for word in "${running[@]}"; do [[ $word == kafka.Kafka ]] && is_broker=1; done
  ((is_broker)) || die "pid $pid does not look like the broker"
  printf '%s\0' "${running[@]}" >"$CMDLINE_FILE.tmp"
  mv "$CMDLINE_FILE.tmp" "$CMDLINE_FILE"
  log "stopping Kafka (pid $pid), keeping its data…"
  stop_pid Kafka "$pid" "$STOP_TIMEOUT"
  rm -f "$KAFKA_PID_FILE"
  stopped_ms="$(now_ms)"
  log "Kafka stopped in $((stopped_ms - START_MS)) ms"
elif [[ -f $CMDLINE_FILE && -d $KAFKA_DATA ]]; then
  stopped_ms="$(now_ms)"
  log "Kafka is not running; starting it again from its data with the command line an earlier restart saved"
else
  die "the local Kafka is not running; start it with deploy/local/up.sh (which starts from empty data)"
fi

# A broker killed with SIGKILL may leave its listener socket for a moment.
for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
  for _ in $(seq 1 50); do port_open "$LOOPBACK" "$port" || break; sleep 0.1; done
  port_open "$LOOPBACK" "$port" && die "port $port is still taken after Kafka stopped; not starting a second broker"
done

if [[ $DOWN_SECONDS != 0 ]]; then
  log "staying down for ${DOWN_SECONDS} s"
  sleep "$DOWN_SECONDS"
fi

mapfile -d '' cmd <"$CMDLINE_FILE"
((${#cmd[@]} > 0)) || die "$CMDLINE_FILE is empty"
log_offset=$(($(stat -c %s "$KAFKA_LOG" 2>/dev/null || echo 0)))
echo "[local] restart-kafka.sh: starting the broker again at $(date -Is)" >>"$KAFKA_LOG"
launch_ms="$(now_ms)"
setsid nohup "${cmd[@]}" >>"$KAFKA_LOG" 2>&1 </dev/null 9>&- &
pid=$!
echo "$pid" >"$KAFKA_PID_FILE"
log "started Kafka (pid $pid) with its previous command line; waiting until it is ready…"

deadline=$((launch_ms + START_TIMEOUT * 1000))
# grep -c reads to the end: with -q, tail could die of SIGPIPE and pipefail would hide the match.
started() { (($(tail -c "+$((log_offset + 1))" "$KAFKA_LOG" 2>/dev/null | grep -c 'Kafka Server started') > 0)); }
until started && port_open "$LOOPBACK" "$KAFKA_PORT"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -c "+$((log_offset + 1))" "$KAFKA_LOG" | tail -n 40 >&2 || true
    rm -f "$KAFKA_PID_FILE"
    die "Kafka exited while starting again; see $KAFKA_LOG"
  fi
  if (($(now_ms) > deadline)); then
    tail -c "+$((log_offset + 1))" "$KAFKA_LOG" | tail -n 40 >&2 || true
    stop_pid Kafka "$pid" 5
    rm -f "$KAFKA_PID_FILE"
    die "Kafka did not become ready within ${START_TIMEOUT} s after the restart; see $KAFKA_LOG"
  fi
  sleep 0.1
done
ready_ms="$(now_ms)"
log "Kafka ready again (pid $pid): stop $((stopped_ms - START_MS)) ms, start $((ready_ms - launch_ms)) ms, total $((ready_ms - START_MS)) ms"
echo "RESTART_STOP_MS=$((stopped_ms - START_MS))"
echo "RESTART_START_MS=$((ready_ms - launch_ms))"
echo "RESTART_TOTAL_MS=$((ready_ms - START_MS))"
