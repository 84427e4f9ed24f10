#!/usr/bin/env bash
# Start a real single-node Apache Kafka (KRaft) and etcd on loopback for dev, demos and tests.
#
#   bash deploy/local/up.sh          (or: npm run local:up)
#
# Idempotent: a service whose process is alive and whose port answers is left alone. A service
# that is not running is started from empty data. If KAFKA_BOOTSTRAP and/or ETCD_ENDPOINTS are
# set, that service is not started: the script only checks that it is reachable.
# See docs/local-services.md.
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

START_MS="$(now_ms)"
STARTED=()
APT_UPDATED=0

# ---------------------------------------------------------------------------------------------
# Prerequisites

apt_install() {
  local sudo=() apt_log="$STATE_DIR/apt.log"
  command -v apt-get >/dev/null || die "apt-get not found; install $* yourself"
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "need root (or sudo) to apt-get install $*"
    sudo=(sudo)
  fi
  log "installing $* with apt-get (log: $apt_log)…"
  if ((APT_UPDATED == 0)); then
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$apt_log" 2>&1; then
      tail -n 20 "$apt_log" >&2
      die "apt-get update failed"
    fi
    APT_UPDATED=1
  fi
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@" >>"$apt_log" 2>&1; then
    tail -n 20 "$apt_log" >&2
    die "apt-get install $* failed"
  fi
}

ensure_java() {
  if ! command -v java >/dev/null; then
    apt_install openjdk-17-jre-headless
  fi
  local major
  major="$(java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1)"
  if [[ -n $major ]] && ((major < 17)); then
    die "Kafka $KAFKA_VERSION needs Java 17 or newer; 'java' is Java $major"
  fi
}

# Resolve the broker's jars into $KAFKA_LIB once; the marker (the pom's sha256) is written only
# after a complete copy, so an interrupted or outdated download is redone.
ensure_kafka_jars() {
  local want
  want="$(sha256sum "$LOCAL_POM" | cut -d' ' -f1)"
  if [[ -f $KAFKA_LIB_MARKER && "$(cat "$KAFKA_LIB_MARKER")" == "$want" ]]; then
    return 0
  fi
  mkdir -p "$KAFKA_HOME"
  (
    # A separate lock: several state dirs may share one jar cache.
    exec 8>"$KAFKA_HOME.lock"
    if command -v flock >/dev/null; then flock -w 600 8; fi
    if [[ -f $KAFKA_LIB_MARKER && "$(cat "$KAFKA_LIB_MARKER")" == "$want" ]]; then
      exit 0
    fi
    command -v mvn >/dev/null || apt_install maven
    log "resolving Kafka $KAFKA_VERSION jars from Maven Central (first run only, ~30 s)…"
    rm -f "$KAFKA_LIB_MARKER"
    rm -rf "$KAFKA_LIB" "$KAFKA_LIB.partial"
    local mvn_log="$KAFKA_HOME/mvn.log"
    if ! mvn -q -B -Dstyle.color=never -f "$LOCAL_POM" dependency:copy-dependencies \
      -DoutputDirectory="$KAFKA_LIB.partial" -DincludeScope=runtime >"$mvn_log" 2>&1 8>&- 9>&-; then
      tail -n 30 "$mvn_log" >&2
      die "mvn could not resolve Kafka $KAFKA_VERSION (network? ~/.m2/settings.xml?); log: $mvn_log"
    fi
    mv "$KAFKA_LIB.partial" "$KAFKA_LIB"
    echo "$want" >"$KAFKA_LIB_MARKER"
    log "cached $(find "$KAFKA_LIB" -name '*.jar' | wc -l) jars ($(du -sh "$KAFKA_LIB" | cut -f1)) in $KAFKA_LIB"
  )
}

# A short-lived JVM running one of Kafka's command-line tools.
kafka_tool() {
  timeout "${TOOL_TIMEOUT:-60}" java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m \
    -Dlog4j2.configurationFile="$KAFKA_DIR/tools-log4j2.xml" \
    -cp "$KAFKA_LIB/*" "$@" 9>&-
}

# ---------------------------------------------------------------------------------------------
# etcd

wait_etcd_ready() { # PID DEADLINE_S
  local pid=$1 deadline=$(($(now_ms) + $2 * 1000))
  until etcd_healthy; do
    kill -0 "$pid" 2>/dev/null || return 1
    (($(now_ms) < deadline)) || return 1
    sleep 0.2
  done
}

start_etcd() {
  local pid port
  if pid="$(pid_of "$ETCD_PID_FILE" "$ETCD_CMD_MATCH")"; then
    if wait_etcd_ready "$pid" 10; then
      log "etcd already running (pid $pid) at $ETCD_URL"
      return 0
    fi
    warn "etcd (pid $pid) is not healthy; restarting it"
    stop_pid etcd "$pid" 10
    rm -f "$ETCD_PID_FILE"
  fi
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT"; do
    if port_open "$LOOPBACK" "$port"; then
      die "port $port is taken by a process this script did not start; pick other ports with TRIBUTARY_ETCD_PORT / TRIBUTARY_ETCD_PEER_PORT"
    fi
  done
  command -v etcd >/dev/null || apt_install etcd-server

  rm -rf "$STATE_DIR/etcd"
  mkdir -p "$ETCD_DATA"
  chmod 700 "$ETCD_DATA"
  # Debian builds etcd for arm64 but it refuses to run there unless told it may.
  if [[ "$(uname -m)" == aarch64 ]]; then export ETCD_UNSUPPORTED_ARCH=arm64; fi

  log "starting etcd on $ETCD_URL (peer port $ETCD_PEER_PORT)…"
  local peer="http://$LOOPBACK:$ETCD_PEER_PORT"
  setsid nohup etcd \
    --name tributary-local \
    --data-dir "$ETCD_DATA" \
    --listen-client-urls "$ETCD_URL" \
    --advertise-client-urls "$ETCD_URL" \
    --listen-peer-urls "$peer" \
    --initial-advertise-peer-urls "$peer" \
    --initial-cluster "tributary-local=$peer" \
    --initial-cluster-token tributary-local \
    --initial-cluster-state new \
    --logger zap --log-outputs stderr \
    >"$ETCD_LOG" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$ETCD_PID_FILE"
  if ! wait_etcd_ready "$pid" 20; then
    warn "etcd did not become healthy within 20 s; last lines of $ETCD_LOG:"
    tail -n 30 "$ETCD_LOG" >&2 || true
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$ETCD_PID_FILE"
    exit 1
  fi
  log "etcd ready (pid $pid)"
  STARTED+=(etcd)
}

# ---------------------------------------------------------------------------------------------
# Kafka

write_kafka_config() {
  mkdir -p "$KAFKA_DATA"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by deploy/local/up.sh: single-node KRaft broker+controller for dev and tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$LOOPBACK:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$LOOPBACK:$KAFKA_PORT,CONTROLLER://$LOOPBACK:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$LOOPBACK:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA

# One node: every replication factor is 1.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests create their topics; consumer groups start without the 3 s join delay.
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0

# Let tests see retention delete segments within about a second.
log.retention.check.interval.ms=1000
log.segment.delete.delay.ms=0
EOF
  cat >"$KAFKA_DIR/log4j2.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by deploy/local/up.sh: broker logs to stdout, which up.sh sends to kafka.log. -->
<Configuration status="WARN">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="stdout"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
    <Logger name="org.apache.kafka.common.config.AbstractConfig" level="WARN"/>
    <Logger name="org.apache.kafka.common.utils" level="WARN"/>
  </Loggers>
</Configuration>
EOF
  cat >"$KAFKA_DIR/tools-log4j2.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="stderr" target="SYSTEM_ERR"><PatternLayout pattern="%p %m (%c)%n"/></Console>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="stderr"/></Root>
  </Loggers>
</Configuration>
EOF
}

# Ready = the process is alive, the port accepts connections and an admin metadata call works.
wait_kafka_ready() { # PID DEADLINE_S
  local pid=$1 deadline=$(($(now_ms) + $2 * 1000)) left
  until port_open "$LOOPBACK" "$KAFKA_PORT"; do
    kill -0 "$pid" 2>/dev/null || return 1
    (($(now_ms) < deadline)) || return 1
    sleep 0.2
  done
  while :; do
    left=$(((deadline - $(now_ms)) / 1000))
    ((left > 0)) || return 1
    if TOOL_TIMEOUT=$((left < 20 ? left : 20)) kafka_tool org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$KAFKA_ADDR" --list >/dev/null 2>>"$KAFKA_LOG"; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
}

start_kafka() {
  local pid port
  if pid="$(pid_of "$KAFKA_PID_FILE" "$KAFKA_CMD_MATCH")"; then
    if port_open "$LOOPBACK" "$KAFKA_PORT"; then
      log "Kafka already running (pid $pid) at $KAFKA_ADDR"
      return 0
    fi
    ensure_kafka_jars
    if wait_kafka_ready "$pid" 60; then
      log "Kafka already running (pid $pid) at $KAFKA_ADDR"
      return 0
    fi
    warn "Kafka (pid $pid) does not answer on $KAFKA_ADDR; restarting it"
    stop_pid Kafka "$pid" 30
    rm -f "$KAFKA_PID_FILE"
  fi
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$LOOPBACK" "$port"; then
      die "port $port is taken by a process this script did not start; pick other ports with TRIBUTARY_KAFKA_PORT / TRIBUTARY_KAFKA_CONTROLLER_PORT"
    fi
  done
  ensure_java
  ensure_kafka_jars

  rm -rf "$KAFKA_DIR"
  write_kafka_config
  : >"$KAFKA_LOG"

  log "formatting Kafka storage…"
  local cluster_id
  cluster_id="$(kafka_tool kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOG" | tail -n 1)"
  [[ -n $cluster_id ]] || die "StorageTool random-uuid printed nothing (see $KAFKA_LOG)"
  if ! kafka_tool kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$KAFKA_DIR/server.properties" >>"$KAFKA_LOG" 2>&1; then
    tail -n 30 "$KAFKA_LOG" >&2
    die "formatting Kafka storage failed"
  fi

  log "starting Kafka $KAFKA_VERSION (KRaft, single node) on $KAFKA_ADDR (controller port $KAFKA_CONTROLLER_PORT)…"
  setsid nohup java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.xml" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
    >>"$KAFKA_LOG" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$KAFKA_PID_FILE"
  if ! wait_kafka_ready "$pid" 60; then
    warn "Kafka did not become ready within 60 s; last lines of $KAFKA_LOG:"
    tail -n 40 "$KAFKA_LOG" >&2 || true
    stop_pid Kafka "$pid" 5
    rm -f "$KAFKA_PID_FILE"
    exit 1
  fi
  log "Kafka ready (pid $pid)"
  STARTED+=(Kafka)
}

# ---------------------------------------------------------------------------------------------

if [[ -n ${KAFKA_BOOTSTRAP:-} && -n ${ETCD_ENDPOINTS:-} ]]; then
  # Both services are provided from outside: check and report, start nothing, write nothing.
  any_reachable "$KAFKA_BOOTSTRAP" || die "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP is not reachable"
  any_reachable "$ETCD_ENDPOINTS" || die "ETCD_ENDPOINTS=$ETCD_ENDPOINTS is not reachable"
  log "using external services (from the environment); nothing started"
  echo "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP"
  echo "ETCD_ENDPOINTS=$ETCD_ENDPOINTS"
  exit 0
fi

take_lock

env_lines=()
if [[ -n ${ETCD_ENDPOINTS:-} ]]; then
  any_reachable "$ETCD_ENDPOINTS" || die "ETCD_ENDPOINTS=$ETCD_ENDPOINTS is not reachable"
  log "etcd: using ETCD_ENDPOINTS=$ETCD_ENDPOINTS from the environment"
  etcd_endpoints=$ETCD_ENDPOINTS
else
  start_etcd
  etcd_endpoints=$ETCD_URL
  env_lines+=("ETCD_ENDPOINTS=$ETCD_URL")
fi

if [[ -n ${KAFKA_BOOTSTRAP:-} ]]; then
  any_reachable "$KAFKA_BOOTSTRAP" || die "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP is not reachable"
  log "Kafka: using KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP from the environment"
  kafka_bootstrap=$KAFKA_BOOTSTRAP
else
  start_kafka
  kafka_bootstrap=$KAFKA_ADDR
  env_lines+=("KAFKA_BOOTSTRAP=$KAFKA_ADDR")
fi

{
  echo "# Written by deploy/local/up.sh; removed by down.sh. Source it or read it from tests."
  printf '%s\n' "${env_lines[@]}"
} >"$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"

elapsed_ms=$(($(now_ms) - START_MS))
echo "KAFKA_BOOTSTRAP=$kafka_bootstrap"
echo "ETCD_ENDPOINTS=$etcd_endpoints"
if ((${#STARTED[@]} == 0)); then
  log "already up; nothing to do (env file: $ENV_FILE)"
else
  log "started ${STARTED[*]} in $((elapsed_ms / 1000)).$(((elapsed_ms % 1000) / 100)) s (env file: $ENV_FILE)"
fi
