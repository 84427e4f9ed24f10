#!/usr/bin/env bash
# Start a real single-node Apache Kafka (KRaft), etcd and PostgreSQL on loopback for dev, demos and tests.
#
#   bash deploy/local/up.sh          (or: npm run local:up)
#
# Idempotent: a service whose process is alive and whose port answers is left alone. A service
# that is not running is started from empty data. If KAFKA_BOOTSTRAP and/or ETCD_ENDPOINTS are
# set (or PG_URL), that service is not started: the script only checks that it is reachable.
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

# A CA, a broker certificate for 127.0.0.1/localhost (PKCS12 keystore for the broker), a client
# certificate in PEM and PKCS12, a PKCS12 truststore of the CA, and a random SASL password, for
# the secured listeners (docs/security-kafka.md). openssl only, about a second; made anew at
# each broker start (a restart by restart-kafka.sh keeps them).
write_kafka_security() {
  local d=$KAFKA_SECURITY_DIR
  command -v openssl >/dev/null || apt_install openssl
  mkdir -p "$d"
  chmod 700 "$d"
  KAFKA_SASL_USER=tributary
  KAFKA_SASL_PASSWORD="$(openssl rand -hex 16)"
  KAFKA_STORE_PASSWORD="$(openssl rand -hex 16)"
  local ossl_log="$STATE_DIR/openssl.log"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 825 \
      -subj "/CN=Tributary local test CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" &&
      openssl req -newkey rsa:2048 -nodes -keyout "$d/broker.key" -out "$d/broker.csr" -subj "/CN=localhost" &&
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$d/broker.ext" &&
      openssl x509 -req -in "$d/broker.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/broker.crt" -days 825 -extfile "$d/broker.ext" &&
      openssl pkcs12 -export -in "$d/broker.crt" -inkey "$d/broker.key" -certfile "$d/ca.crt" \
        -name broker -out "$d/broker.p12" -passout "pass:$KAFKA_STORE_PASSWORD" &&
      openssl req -newkey rsa:2048 -nodes -keyout "$d/client.key" -out "$d/client.csr" -subj "/CN=tributary-client" &&
      printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext" &&
      openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/client.crt" -days 825 -extfile "$d/client.ext" &&
      openssl pkcs12 -export -in "$d/client.crt" -inkey "$d/client.key" -certfile "$d/ca.crt" \
        -name client -out "$d/client.p12" -passout "pass:$KAFKA_STORE_PASSWORD" &&
      openssl pkcs12 -export -nokeys -in "$d/ca.crt" -name ca -out "$d/truststore.p12" \
        -passout "pass:$KAFKA_STORE_PASSWORD"
  } >"$ossl_log" 2>&1 || {
    tail -n 20 "$ossl_log" >&2
    die "generating the local Kafka certificates failed (log: $ossl_log)"
  }
  rm -f "$d"/*.csr "$d"/*.ext "$d/ca.srl"
  chmod 600 "$d"/*
  # Copied into the env file; read by tests and by anyone trying the listeners by hand.
  # Local test secrets only: the state dir is the user's own.
  cat >"$d/security.env" <<EOF
TRIBUTARY_KAFKA_SSL_BOOTSTRAP=$LOOPBACK:$KAFKA_SSL_PORT
TRIBUTARY_KAFKA_SASL_SSL_BOOTSTRAP=$LOOPBACK:$KAFKA_SASL_SSL_PORT
TRIBUTARY_KAFKA_SASL_PLAINTEXT_BOOTSTRAP=$LOOPBACK:$KAFKA_SASL_PLAINTEXT_PORT
TRIBUTARY_KAFKA_SECURITY_DIR=$d
TRIBUTARY_KAFKA_SASL_USERNAME=$KAFKA_SASL_USER
TRIBUTARY_KAFKA_SASL_PASSWORD=$KAFKA_SASL_PASSWORD
TRIBUTARY_KAFKA_STORE_PASSWORD=$KAFKA_STORE_PASSWORD
EOF
}

write_kafka_config() {
  mkdir -p "$KAFKA_DATA"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by deploy/local/up.sh: single-node KRaft broker+controller for dev and tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$LOOPBACK:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$LOOPBACK:$KAFKA_PORT,CONTROLLER://$LOOPBACK:$KAFKA_CONTROLLER_PORT,SSL://$LOOPBACK:$KAFKA_SSL_PORT,SASL_SSL://$LOOPBACK:$KAFKA_SASL_SSL_PORT,SASL_PLAINTEXT://$LOOPBACK:$KAFKA_SASL_PLAINTEXT_PORT
advertised.listeners=PLAINTEXT://$LOOPBACK:$KAFKA_PORT,SSL://$LOOPBACK:$KAFKA_SSL_PORT,SASL_SSL://$LOOPBACK:$KAFKA_SASL_SSL_PORT,SASL_PLAINTEXT://$LOOPBACK:$KAFKA_SASL_PLAINTEXT_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA

# Secured listeners for the security tests (docs/security-kafka.md). SSL asks for a client
# certificate of the local CA; SASL_SSL and SASL_PLAINTEXT take PLAIN, SCRAM-SHA-256/512 (users
# added at format time) and OAUTHBEARER with Kafka's unsecured JWS validator (test tokens only).
ssl.keystore.type=PKCS12
ssl.keystore.location=$KAFKA_SECURITY_DIR/broker.p12
ssl.keystore.password=$KAFKA_STORE_PASSWORD
ssl.key.password=$KAFKA_STORE_PASSWORD
ssl.truststore.type=PEM
ssl.truststore.location=$KAFKA_SECURITY_DIR/ca.crt
listener.name.ssl.ssl.client.auth=required
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USER="$KAFKA_SASL_PASSWORD";
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USER="$KAFKA_SASL_PASSWORD";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler
listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler

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
  if pid="$(pid_of "$KAFKA_PID_FILE" "$KAFKA_CMD_MATCH")" && ! grep -q '^listeners=.*SASL_PLAINTEXT://' "$KAFKA_DIR/server.properties" 2>/dev/null; then
    # Started by an older up.sh, without the secured listeners: start it anew (empty data).
    warn "Kafka (pid $pid) runs without the SSL/SASL listeners; restarting it from empty data"
    stop_pid Kafka "$pid" 30
    rm -f "$KAFKA_PID_FILE"
  fi
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
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SSL_PORT" "$KAFKA_SASL_SSL_PORT" "$KAFKA_SASL_PLAINTEXT_PORT"; do
    if port_open "$LOOPBACK" "$port"; then
      die "port $port is taken by a process this script did not start; pick other ports with TRIBUTARY_KAFKA_PORT / TRIBUTARY_KAFKA_CONTROLLER_PORT / TRIBUTARY_KAFKA_SSL_PORT / TRIBUTARY_KAFKA_SASL_SSL_PORT / TRIBUTARY_KAFKA_SASL_PLAINTEXT_PORT"
    fi
  done
  ensure_java
  ensure_kafka_jars

  rm -rf "$KAFKA_DIR"
  write_kafka_security
  write_kafka_config
  : >"$KAFKA_LOG"

  log "formatting Kafka storage…"
  local cluster_id
  cluster_id="$(kafka_tool kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOG" | tail -n 1)"
  [[ -n $cluster_id ]] || die "StorageTool random-uuid printed nothing (see $KAFKA_LOG)"
  if ! kafka_tool kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$KAFKA_DIR/server.properties" \
    --add-scram "SCRAM-SHA-256=[name=$KAFKA_SASL_USER,password=$KAFKA_SASL_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$KAFKA_SASL_USER,password=$KAFKA_SASL_PASSWORD]" >>"$KAFKA_LOG" 2>&1; then
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
# PostgreSQL: Debian's server binaries, one cluster in its own data dir, loopback only, with
# wal_level=logical for change data capture. Started by pg_ctl; its PID is the postmaster's.

start_postgres() {
  local pid port bin
  if pid="$(pid_of "$PG_PID_FILE" "$PG_CMD_MATCH")"; then
    if pg_ready; then
      log "PostgreSQL already running (pid $pid) at $PG_URL_LOCAL"
      return 0
    fi
    warn "PostgreSQL (pid $pid) does not answer on $LOOPBACK:$PG_PORT; restarting it"
    stop_pid PostgreSQL "$pid" 30 INT
    rm -f "$PG_PID_FILE"
  fi
  if port_open "$LOOPBACK" "$PG_PORT"; then
    die "port $PG_PORT is taken by a process this script did not start; pick another with TRIBUTARY_PG_PORT"
  fi
  bin="$(pg_bin_dir)"
  if [[ -z $bin ]]; then
    apt_install postgresql
    bin="$(pg_bin_dir)"
    [[ -n $bin ]] || die "apt-get installed postgresql but no initdb/pg_ctl was found under /usr/lib/postgresql"
  fi
  if ((EUID == 0)); then
    getent passwd postgres >/dev/null || die "running as root needs a 'postgres' user to run the server (Debian's postgresql package creates it)"
  fi

  rm -rf "$PG_DATA"
  mkdir -p "$PG_DIR"
  if ((EUID == 0)); then chown postgres: "$PG_DIR"; fi
  chmod 700 "$PG_DIR"
  log "initialising PostgreSQL ($("$bin/postgres" --version | sed 's/^postgres (PostgreSQL) //')) in $PG_DATA…"
  if ! pg_as "$bin/initdb" -D "$PG_DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$STATE_DIR/initdb.log" 2>&1; then
    tail -n 20 "$STATE_DIR/initdb.log" >&2
    die "initdb failed (log: $STATE_DIR/initdb.log)"
  fi
  # Test settings: loopback only, trust auth (initdb -A trust), logical decoding, and fsync off
  # (a machine crash may lose this throwaway cluster's last commits; a killed client never does).
  log "starting PostgreSQL on $LOOPBACK:$PG_PORT…"
  if ! pg_as "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 30 -s \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=$LOOPBACK -c wal_level=logical -c max_wal_senders=20 -c max_replication_slots=20 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start </dev/null >>"$STATE_DIR/initdb.log" 2>&1 9>&-; then
    tail -n 30 "$PG_LOG" >&2 || true
    die "PostgreSQL did not start (log: $PG_LOG)"
  fi
  pid="$(head -n 1 "$PG_DATA/postmaster.pid")"
  echo "$pid" >"$PG_PID_FILE"
  pg_ready || die "PostgreSQL (pid $pid) started but does not answer on $LOOPBACK:$PG_PORT"
  log "PostgreSQL ready (pid $pid)"
  STARTED+=(PostgreSQL)
}

# ---------------------------------------------------------------------------------------------

if [[ -n ${KAFKA_BOOTSTRAP:-} && -n ${ETCD_ENDPOINTS:-} && -n ${PG_URL:-} ]]; then
  # Both services are provided from outside: check and report, start nothing, write nothing.
  any_reachable "$KAFKA_BOOTSTRAP" || die "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP is not reachable"
  any_reachable "$ETCD_ENDPOINTS" || die "ETCD_ENDPOINTS=$ETCD_ENDPOINTS is not reachable"
  log "using external services (from the environment); nothing started"
  echo "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP"
  echo "ETCD_ENDPOINTS=$ETCD_ENDPOINTS"
  echo "PG_URL=$PG_URL"
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
  if [[ -f $KAFKA_SECURITY_DIR/security.env ]]; then
    mapfile -t security_lines <"$KAFKA_SECURITY_DIR/security.env"
    env_lines+=("${security_lines[@]}")
  fi
fi

if [[ -n ${PG_URL:-} ]]; then
  log "PostgreSQL: using PG_URL from the environment"
  pg_url=$PG_URL
else
  start_postgres
  pg_url=$PG_URL_LOCAL
  env_lines+=("PG_URL=$PG_URL_LOCAL")
fi

{
  echo "# Written by deploy/local/up.sh; removed by down.sh. Source it or read it from tests."
  printf '%s\n' "${env_lines[@]}"
} >"$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"

elapsed_ms=$(($(now_ms) - START_MS))
echo "KAFKA_BOOTSTRAP=$kafka_bootstrap"
echo "ETCD_ENDPOINTS=$etcd_endpoints"
echo "PG_URL=$pg_url"
if ((${#STARTED[@]} == 0)); then
  log "already up; nothing to do (env file: $ENV_FILE)"
else
  log "started ${STARTED[*]} in $((elapsed_ms / 1000)).$(((elapsed_ms % 1000) / 100)) s (env file: $ENV_FILE)"
fi
