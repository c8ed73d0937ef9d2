#!/usr/bin/env bash
# A real local stack as plain JVM processes on loopback: Apache Kafka (KRaft, one node)
# and Apicurio Registry (Confluent-compatible API), plus Spark's connector jars.
#
#   scripts/local-stack.sh up|down|status|env|logs [service]|fetch|reset
#
# Downloads are cached by version in $STACK_CACHE (default .stack/cache); data, pids and
# logs live in $STACK_HOME/run (default .stack/run), so several stacks (on other
# STACK_*_PORTs) can share one cache. `down` stops only the pids written by `up`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_HOME="${STACK_HOME:-$ROOT/.stack}"
CACHE="${STACK_CACHE:-$ROOT/.stack/cache}"
RUN="$STACK_HOME/run"

# The pipeline's defaults (ports, topic, ...): one definition, shared with the clients.
# shellcheck source=connection/defaults.env
source "$ROOT/connection/defaults.env"

KAFKA_PORT="${STACK_KAFKA_PORT:-$PRICES_KAFKA_PORT}"
KAFKA_CONTROLLER_PORT="${STACK_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_SASL_PORT="${STACK_KAFKA_SASL_PORT:-9094}"
# The SASL_PLAINTEXT (PLAIN) listener's one user: a local test credential, not a secret.
SASL_USERNAME="${STACK_SASL_USERNAME:-prices}"
SASL_PASSWORD="${STACK_SASL_PASSWORD:-prices-local-only}"
REGISTRY_PORT="${STACK_REGISTRY_PORT:-$PRICES_REGISTRY_PORT}"
REGISTRY_MANAGEMENT_PORT="${STACK_REGISTRY_MANAGEMENT_PORT:-9081}"
START_TIMEOUT="${STACK_START_TIMEOUT:-90}"
COMPATIBILITY_LEVEL="${STACK_COMPATIBILITY_LEVEL:-BACKWARD}"
REGISTRY_VERSION="3.3.3"

pom_property() { # pom_property POM NAME -> value of <NAME> in the pom's <properties>
  sed -n "s:.*<$2>\(.*\)</$2>.*:\1:p" "$1" | head -n1
}
KAFKA_VERSION="$(pom_property "$ROOT/stack/kafka/pom.xml" kafka.version)"
SPARK_VERSION="$(pom_property "$ROOT/stack/spark/pom.xml" spark.version)"

KAFKA_LIB="$CACHE/kafka-$KAFKA_VERSION"
SPARK_JARS="$CACHE/spark-connectors-$SPARK_VERSION"
REGISTRY_APP="$CACHE/apicurio-registry-$REGISTRY_VERSION"

BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
SASL_BOOTSTRAP="127.0.0.1:$KAFKA_SASL_PORT"
REGISTRY_URL="http://127.0.0.1:$REGISTRY_PORT$PRICES_REGISTRY_API_PATH"

die() { echo "local-stack: $*" >&2; exit 1; }
say() { echo "local-stack: $*" >&2; }

java_major() { # java_major JAVA -> the feature version (17, 21, 25 ...)
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'
}

# Apicurio Registry 3.3 is built for Java 21+, Kafka and Spark run on 17: use the java on
# PATH when it is new enough, else REGISTRY_JAVA_HOME, else a JDK 21+ under /usr/lib/jvm.
registry_java() {
  local candidate
  for candidate in "$(command -v java)" ${REGISTRY_JAVA_HOME:+"$REGISTRY_JAVA_HOME/bin/java"} /usr/lib/jvm/*/bin/java; do
    if [[ -x "$candidate" ]] && (( $(java_major "$candidate") >= 21 )); then
      echo "$candidate"; return 0
    fi
  done
  die "Apicurio Registry needs Java 21+; install one or set REGISTRY_JAVA_HOME"
}

need() {
  command -v java >/dev/null || die "Java 17+ is required (java not found on PATH)"
  command -v mvn >/dev/null || die "Maven is required to fetch the jars (mvn not found on PATH)"
  command -v curl >/dev/null || die "curl is required (not found on PATH)"
}

# --- fetch: once per version, atomically (a half-finished download is never used) -------

fetch_into() { # fetch_into DEST COMMAND... : run COMMAND with $TMP_DEST, then move into DEST
  local dest="$1"; shift
  [[ -d "$dest" ]] && return 0
  local tmp="$dest.partial"
  rm -rf "$tmp"; mkdir -p "$tmp"
  say "fetching $(basename "$dest") from Maven Central ..."
  TMP_DEST="$tmp" "$@" >"$tmp.log" 2>&1 || { tail -n 20 "$tmp.log" >&2; die "fetching $(basename "$dest") failed"; }
  rm -f "$tmp.log"
  mv "$tmp" "$dest"
}

copy_pom_dependencies() { # copy_pom_dependencies POM
  mvn -B -q -f "$1" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$TMP_DEST"
}

copy_registry_app() {
  mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="io.apicurio:apicurio-registry-app:$REGISTRY_VERSION:tar.gz:all" \
    -DoutputDirectory="$TMP_DEST"
  tar -xzf "$TMP_DEST"/apicurio-registry-app-*.tar.gz -C "$TMP_DEST"
  rm -f "$TMP_DEST"/apicurio-registry-app-*.tar.gz
  [[ -f "$TMP_DEST/quarkus-run.jar" ]]
}

fetch() {
  need
  fetch_into "$KAFKA_LIB" copy_pom_dependencies "$ROOT/stack/kafka/pom.xml"
  fetch_into "$SPARK_JARS" copy_pom_dependencies "$ROOT/stack/spark/pom.xml"
  fetch_into "$REGISTRY_APP" copy_registry_app
}

# --- process bookkeeping -------------------------------------------------------------

pid_of() { # pid_of SERVICE -> prints the pid if that process of ours is alive
  local file="$RUN/$1.pid" pid
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  # The pid must still be a java process started from our stack folder (pids get reused).
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-Dprices.stack=$STACK_HOME "; then
    echo "$pid"
  else
    return 1
  fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_port_free() { # require_port_free PORT SERVICE
  port_free "$1" || die "port 127.0.0.1:$1 (for $2) is already taken by another process; free it or set STACK_*_PORT"
}

wait_until() { # wait_until SERVICE PID CHECK... : poll CHECK until it passes, the pid dies or time runs out
  local service="$1" pid="$2"; shift 2
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$RUN/$service.log" >&2
      die "$service exited during start-up (log: $RUN/$service.log)"
    fi
    if ((SECONDS > deadline)); then
      tail -n 30 "$RUN/$service.log" >&2
      die "$service did not answer within ${START_TIMEOUT}s (log: $RUN/$service.log)"
    fi
    sleep 0.5
  done
}

# --- Kafka -----------------------------------------------------------------------------

kafka_java() { # kafka_java MAIN ARGS... : run a Kafka main class with our jars and logging
  java -Xmx512m -Dlog4j2.configurationFile="$RUN/kafka-log4j2.properties" \
    -cp "$KAFKA_LIB/*" "$@"
}

write_kafka_config() {
  mkdir -p "$RUN/kafka-data"
  cat >"$RUN/kafka.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USERNAME="$SASL_PASSWORD";
log.dirs=$RUN/kafka-data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=2097152
EOF
  cat >"$RUN/kafka-log4j2.properties" <<EOF
rootLogger.level=WARN
rootLogger.appenderRef.console.ref=console
appender.console.type=Console
appender.console.name=console
appender.console.layout.type=PatternLayout
appender.console.layout.pattern=[%d] %p %m (%c)%n
logger.started.name=kafka.server.KafkaRaftServer
logger.started.level=INFO
EOF
}

kafka_answers() { # the broker lists topics through the AdminClient
  kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list
}

start_kafka() {
  if pid_of kafka >/dev/null; then say "kafka already running (pid $(pid_of kafka))"; return; fi
  require_port_free "$KAFKA_PORT" kafka
  require_port_free "$KAFKA_CONTROLLER_PORT" "kafka controller"
  require_port_free "$KAFKA_SASL_PORT" "kafka SASL listener"
  write_kafka_config
  if [[ ! -f "$RUN/kafka-data/meta.properties" ]]; then
    kafka_java kafka.tools.StorageTool format --standalone \
      -t "$(kafka_java kafka.tools.StorageTool random-uuid)" \
      -c "$RUN/kafka.properties" >"$RUN/kafka-format.log" 2>&1 \
      || { cat "$RUN/kafka-format.log" >&2; die "formatting the Kafka log dir failed"; }
  fi
  # The stack folder on the command line marks the process as ours (see pid_of).
  nohup java -Xmx512m -Dprices.stack="$STACK_HOME" \
    -Dlog4j2.configurationFile="$RUN/kafka-log4j2.properties" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$RUN/kafka.properties" >"$RUN/kafka.log" 2>&1 &
  echo $! >"$RUN/kafka.pid"
  wait_until kafka $! kafka_answers
  say "kafka up at $BOOTSTRAP"
}

# --- Apicurio Registry -------------------------------------------------------------------

registry_answers() { curl -sf "$REGISTRY_URL/subjects"; }

start_registry() {
  if pid_of registry >/dev/null; then say "registry already running (pid $(pid_of registry))"; return; fi
  require_port_free "$REGISTRY_PORT" registry
  require_port_free "$REGISTRY_MANAGEMENT_PORT" "registry management"
  mkdir -p "$RUN/registry-data"
  # H2 in a file under run/ so schemas (and their ids) live as long as the Kafka data.
  local java; java="$(registry_java)"
  nohup "$java" -Xmx384m -Dprices.stack="$STACK_HOME" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
    -Dapicurio.datasource.url="jdbc:h2:file:$RUN/registry-data/registry" \
    -Dquarkus.log.level=WARN -Dquarkus.banner.enabled=false \
    -jar "$REGISTRY_APP/quarkus-run.jar" >"$RUN/registry.log" 2>&1 &
  echo $! >"$RUN/registry.pid"
  wait_until registry $! registry_answers
  curl -sf -X PUT -H 'Content-Type: application/json' \
    -d "{\"compatibility\": \"$COMPATIBILITY_LEVEL\"}" "$REGISTRY_URL/config" >/dev/null \
    || die "could not set the registry's compatibility level to $COMPATIBILITY_LEVEL"
  say "registry up at $REGISTRY_URL (compatibility $COMPATIBILITY_LEVEL)"
}

# --- commands ------------------------------------------------------------------------------

up() {
  fetch
  mkdir -p "$RUN"
  start_kafka
  start_registry
}

stop_service() { # stop_service SERVICE: TERM, then KILL after 20 s, only our own pid
  local pid
  if pid="$(pid_of "$1")"; then
    kill "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    say "$1 stopped (pid $pid)"
  fi
  rm -f "$RUN/$1.pid"
}

down() {
  stop_service registry
  stop_service kafka
}

status() {
  local service pid rc=0
  for service in kafka registry; do
    if pid="$(pid_of "$service")"; then
      case "$service" in
        kafka) echo "kafka     running  pid $pid  $BOOTSTRAP (SASL_PLAINTEXT/PLAIN: $SASL_BOOTSTRAP)" ;;
        registry) echo "registry  running  pid $pid  $REGISTRY_URL" ;;
      esac
    else
      echo "$service$(printf '%*s' $((10 - ${#service})) '')stopped"; rc=3
    fi
  done
  return "$rc"
}

print_env() {
  echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
  echo "SCHEMA_REGISTRY_URL=$REGISTRY_URL"
  echo "SPARK_CONNECTOR_JARS_DIR=$SPARK_JARS"
  echo "SPARK_LOCAL_IP=127.0.0.1"
  echo "STACK_SASL_BOOTSTRAP_SERVERS=$SASL_BOOTSTRAP"
  echo "STACK_SASL_USERNAME=$SASL_USERNAME"
  echo "STACK_SASL_PASSWORD=$SASL_PASSWORD"
  echo "export KAFKA_BOOTSTRAP_SERVERS SCHEMA_REGISTRY_URL SPARK_CONNECTOR_JARS_DIR SPARK_LOCAL_IP"
}

logs() {
  local service="${1:-}"
  if [[ -n "$service" ]]; then
    [[ -f "$RUN/$service.log" ]] || die "no log for '$service' (services: kafka, registry)"
    tail -n 100 "$RUN/$service.log"
  else
    for service in kafka registry; do
      echo "==> $RUN/$service.log <=="; tail -n 30 "$RUN/$service.log" 2>/dev/null || true
    done
  fi
}

reset() {
  if pid_of kafka >/dev/null || pid_of registry >/dev/null; then die "stop the stack first (down)"; fi
  rm -rf "$RUN"
  say "removed service data in $RUN"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) print_env ;;
  logs) logs "${2:-}" ;;
  fetch) fetch ;;
  reset) reset ;;
  *) echo "usage: $0 up|down|status|env|logs [kafka|registry]|fetch|reset" >&2; exit 2 ;;
esac
