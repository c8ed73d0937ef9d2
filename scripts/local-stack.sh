#!/usr/bin/env bash
# A real local stack as plain JVM processes on loopback: Apache Kafka (KRaft: one node, or
# STACK_BROKERS nodes in one cluster), Apicurio Registry (Confluent-compatible API, over HTTP
# and HTTPS), Spark's connector jars, with STACK_SPARK_WORKERS a Spark standalone cluster and,
# with STACK_HDFS=1, a single-node HDFS (NameNode and DataNode in one JVM, Apache Hadoop's
# minicluster of the version pyspark's Hadoop client speaks).
#
#   scripts/local-stack.sh up|down|status|env|logs [service]|fetch|reset
#   scripts/local-stack.sh kill-broker N|stop-broker N|start-broker N   (by the broker's own pid)
#   scripts/local-stack.sh stop-hdfs|start-hdfs                         (by its own pid)
#   scripts/local-stack.sh kafka-consumer-groups ARGS...  Kafka's own consumer-group tool
#                                                         (--bootstrap-server: this stack's)
#
# Downloads are cached by version in $STACK_CACHE (default .stack/cache); data, pids, logs
# and the throwaway TLS certificates live in $STACK_HOME/run (default .stack/run), so several
# stacks (on other STACK_*_PORTs) can share one cache. `down` stops only the pids written by
# `up`. The broker and worker counts given to the first `up` are recorded there, so the
# other commands know every node without being told again.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_HOME="${STACK_HOME:-$ROOT/.stack}"
CACHE="${STACK_CACHE:-$ROOT/.stack/cache}"
RUN="$STACK_HOME/run"

# The pipeline's defaults (ports, topic, ...): one definition, shared with the clients.
# shellcheck source=connection/defaults.env
source "$ROOT/connection/defaults.env"

die() { echo "local-stack: $*" >&2; exit 1; }
say() { echo "local-stack: $*" >&2; }

recorded() { # recorded NAME -> the count `up` recorded in $RUN/NAME (nothing if none)
  if [[ -f "$RUN/$1" ]]; then cat "$RUN/$1"; fi
}

# Brokers: what this stack's data was made for; a 1-node data dir from before the count
# was recorded is a 1-node stack.
RECORDED_BROKERS="$(recorded brokers)"
if [[ -z "$RECORDED_BROKERS" && -f "$RUN/kafka-data/meta.properties" ]]; then RECORDED_BROKERS=1; fi
BROKERS="${RECORDED_BROKERS:-${STACK_BROKERS:-1}}"
[[ "${STACK_BROKERS:-1}" =~ ^[1-9]$ ]] || die "STACK_BROKERS must be a number from 1 to 9, not '${STACK_BROKERS:-}'"
SPARK_WORKERS="${STACK_SPARK_WORKERS:-$(recorded spark-workers)}"
SPARK_WORKERS="${SPARK_WORKERS:-0}"
[[ "$SPARK_WORKERS" =~ ^[0-9]$ ]] || die "STACK_SPARK_WORKERS must be a number from 0 to 9, not '$SPARK_WORKERS'"
HDFS="${STACK_HDFS:-$(recorded hdfs)}"
HDFS="${HDFS:-0}"
[[ "$HDFS" =~ ^[01]$ ]] || die "STACK_HDFS must be 0 or 1, not '$HDFS'"

# Node N of a cluster listens on each base port + (N-1) * STACK_KAFKA_NODE_PORT_STEP.
KAFKA_PORT="${STACK_KAFKA_PORT:-$PRICES_KAFKA_PORT}"
KAFKA_CONTROLLER_PORT="${STACK_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_SASL_PORT="${STACK_KAFKA_SASL_PORT:-9094}"
KAFKA_SSL_PORT="${STACK_KAFKA_SSL_PORT:-9095}"
KAFKA_SASL_SSL_PORT="${STACK_KAFKA_SASL_SSL_PORT:-9096}"
NODE_PORT_STEP="${STACK_KAFKA_NODE_PORT_STEP:-100}"
# The SASL listeners' (PLAIN) one user: a local test credential, not a secret.
SASL_USERNAME="${STACK_SASL_USERNAME:-prices}"
SASL_PASSWORD="${STACK_SASL_PASSWORD:-prices-local-only}"
REGISTRY_PORT="${STACK_REGISTRY_PORT:-$PRICES_REGISTRY_PORT}"
REGISTRY_TLS_PORT="${STACK_REGISTRY_TLS_PORT:-8443}"
REGISTRY_MANAGEMENT_PORT="${STACK_REGISTRY_MANAGEMENT_PORT:-9081}"
SPARK_MASTER_PORT="${STACK_SPARK_MASTER_PORT:-7077}"
SPARK_MASTER_WEBUI_PORT="${STACK_SPARK_MASTER_WEBUI_PORT:-8090}"
SPARK_WORKER_PORT="${STACK_SPARK_WORKER_PORT:-7078}"            # worker N: + N-1
SPARK_WORKER_WEBUI_PORT="${STACK_SPARK_WORKER_WEBUI_PORT:-8091}" # worker N: + N-1
SPARK_WORKER_CORES="${STACK_SPARK_WORKER_CORES:-1}"
SPARK_WORKER_MEMORY="${STACK_SPARK_WORKER_MEMORY:-1536m}"
# HDFS: the NameNode's RPC and web ports; the DataNode's ports are chosen by the kernel.
HDFS_PORT="${STACK_HDFS_PORT:-8020}"
HDFS_HTTP_PORT="${STACK_HDFS_HTTP_PORT:-9870}"
START_TIMEOUT="${STACK_START_TIMEOUT:-90}"
# Extra options for every JVM this script starts (brokers, registry, HDFS, Spark daemons,
# Kafka's tools), e.g. -XX:TieredStopAtLevel=1 where start-up matters more than speed
# after it (tests).
read -r -a JAVA_OPTIONS <<<"${STACK_JAVA_OPTIONS:-}"
COMPATIBILITY_LEVEL="${STACK_COMPATIBILITY_LEVEL:-BACKWARD}"
REGISTRY_VERSION="3.3.3"

pom_property() { # pom_property POM NAME -> value of <NAME> in the pom's <properties>
  sed -n "s:.*<$2>\(.*\)</$2>.*:\1:p" "$1" | head -n1
}
KAFKA_VERSION="$(pom_property "$ROOT/stack/kafka/pom.xml" kafka.version)"
SPARK_VERSION="$(pom_property "$ROOT/stack/spark/pom.xml" spark.version)"
HADOOP_VERSION="$(pom_property "$ROOT/stack/hdfs/pom.xml" hadoop.version)"

KAFKA_LIB="$CACHE/kafka-$KAFKA_VERSION"
SPARK_JARS="$CACHE/spark-connectors-$SPARK_VERSION"
REGISTRY_APP="$CACHE/apicurio-registry-$REGISTRY_VERSION"
HDFS_LIB="$CACHE/hdfs-$HADOOP_VERSION"

node_port() { echo $(($1 + ($2 - 1) * NODE_PORT_STEP)); } # node_port BASE NODE

bootstrap_list() { # bootstrap_list BASE -> 127.0.0.1:<node 1's port>,127.0.0.1:<node 2's>,...
  local node list=""
  for ((node = 1; node <= BROKERS; node++)); do
    list+="${list:+,}127.0.0.1:$(node_port "$1" "$node")"
  done
  echo "$list"
}

BOOTSTRAP="$(bootstrap_list "$KAFKA_PORT")"
SASL_BOOTSTRAP="$(bootstrap_list "$KAFKA_SASL_PORT")"
SSL_BOOTSTRAP="$(bootstrap_list "$KAFKA_SSL_PORT")"
SASL_SSL_BOOTSTRAP="$(bootstrap_list "$KAFKA_SASL_SSL_PORT")"
REGISTRY_URL="http://127.0.0.1:$REGISTRY_PORT$PRICES_REGISTRY_API_PATH"
REGISTRY_TLS_URL="https://127.0.0.1:$REGISTRY_TLS_PORT$PRICES_REGISTRY_API_PATH"
SPARK_MASTER_URL="spark://127.0.0.1:$SPARK_MASTER_PORT"
SPARK_MASTER_WEBUI="http://127.0.0.1:$SPARK_MASTER_WEBUI_PORT"
HDFS_URL="hdfs://127.0.0.1:$HDFS_PORT"
TLS_DIR="$RUN/tls"
CA_FILE="$TLS_DIR/ca.pem"

# With three or more brokers every partition (the internal topics' too) has three replicas
# and a write with acks=all needs two of them; below three, as many as there are brokers.
REPLICATION=$((BROKERS < 3 ? BROKERS : 3))
MIN_INSYNC=$((REPLICATION < 3 ? 1 : 2))

broker_service() { # broker_service NODE -> its service name (pid, log and config file names)
  if ((BROKERS == 1)); then echo kafka; else echo "kafka-$1"; fi
}

kafka_services() {
  local node
  for ((node = 1; node <= BROKERS; node++)); do broker_service "$node"; done
}

spark_services() {
  local worker
  if ((SPARK_WORKERS > 0)); then echo spark-master; fi
  for ((worker = 1; worker <= SPARK_WORKERS; worker++)); do echo "spark-worker-$worker"; done
}

hdfs_services() { if ((HDFS)); then echo hdfs; fi; }

all_services() { kafka_services; echo registry; spark_services; hdfs_services; }

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
  if ((HDFS)); then fetch_into "$HDFS_LIB" copy_pom_dependencies "$ROOT/stack/hdfs/pom.xml"; fi
}

# --- process bookkeeping -------------------------------------------------------------

pid_of() { # pid_of SERVICE -> prints the pid if that process of ours is alive
  local file="$RUN/$1.pid" pid
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  # The pid must still be a java process started from our stack folder (pids get reused).
  if alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-Dprices.stack=$STACK_HOME "; then
    echo "$pid"
  else
    return 1
  fi
}

alive() { # alive PID: it runs (a zombie waiting to be reaped counts as gone)
  kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_port_free() { # require_port_free PORT SERVICE
  port_free "$1" || die "port 127.0.0.1:$1 (for $2) is already taken by another process; free it or set STACK_*_PORT"
}

wait_until() { # wait_until SERVICE PID CHECK... : poll CHECK until it passes, the pid dies or time runs out
  local service="$1" pid="$2"; shift 2
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$pid"; then
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

# --- TLS: a throwaway CA and one certificate per service, once per stack folder ------------

make_certificates() {
  [[ -f "$CA_FILE" ]] && return 0
  command -v openssl >/dev/null || die "openssl is required for the TLS listeners (not found on PATH)"
  local tmp="$TLS_DIR.partial" service
  rm -rf "$tmp"; mkdir -p "$tmp"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=prices local stack CA (throwaway)" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$tmp/ca.key" -out "$tmp/ca.pem"
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "extendedKeyUsage=serverAuth" \
      "basicConstraints=CA:FALSE" >"$tmp/server.ext"
    for service in kafka registry; do
      openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$tmp/$service.key" -out "$tmp/$service.csr"
      openssl x509 -req -in "$tmp/$service.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days 825 -extfile "$tmp/server.ext" \
        -out "$tmp/$service.pem"
    done
  } >"$tmp.log" 2>&1 || { cat "$tmp.log" >&2; die "making the TLS certificates failed"; }
  # Kafka's PEM key store: the private key (PKCS#8, unencrypted) and its certificate chain.
  cat "$tmp/kafka.key" "$tmp/kafka.pem" "$tmp/ca.pem" >"$tmp/kafka-keystore.pem"
  rm -f "$tmp"/*.csr "$tmp/server.ext" "$tmp.log"
  chmod 600 "$tmp"/*.key "$tmp/kafka-keystore.pem"
  mv "$tmp" "$TLS_DIR"
  say "made a throwaway CA and certificates in $TLS_DIR"
}

# --- Kafka -----------------------------------------------------------------------------

kafka_java() { # kafka_java MAIN ARGS... : run a Kafka main class with our jars and logging
  java -Xmx512m "${JAVA_OPTIONS[@]}" -Dlog4j2.configurationFile="$RUN/kafka-log4j2.properties" \
    -cp "$KAFKA_LIB/*" "$@"
}

listeners_of() { # listeners_of NODE -> the node's listeners, all on loopback
  local name base list=""
  for name in PLAINTEXT:$KAFKA_PORT CONTROLLER:$KAFKA_CONTROLLER_PORT SASL_PLAINTEXT:$KAFKA_SASL_PORT \
    SSL:$KAFKA_SSL_PORT SASL_SSL:$KAFKA_SASL_SSL_PORT; do
    base="${name#*:}"
    list+="${list:+,}${name%%:*}://127.0.0.1:$(node_port "$base" "$1")"
  done
  echo "$list"
}

quorum_setting() { # one node: a dynamic quorum of itself (as always); more: static voters
  local node voters=""
  if ((BROKERS == 1)); then
    echo "controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT"
    return
  fi
  for ((node = 1; node <= BROKERS; node++)); do
    voters+="${voters:+,}$node@127.0.0.1:$(node_port "$KAFKA_CONTROLLER_PORT" "$node")"
  done
  echo "controller.quorum.voters=$voters"
}

write_kafka_config() { # write_kafka_config NODE
  local service jaas
  service="$(broker_service "$1")"
  jaas="org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USERNAME=\"$SASL_PASSWORD\";"
  mkdir -p "$RUN/$service-data"
  cat >"$RUN/$service.properties" <<PROPERTIES
process.roles=broker,controller
node.id=$1
$(quorum_setting)
listeners=$(listeners_of "$1")
advertised.listeners=$(listeners_of "$1")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=$jaas
listener.name.sasl_ssl.plain.sasl.jaas.config=$jaas
ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/kafka-keystore.pem
log.dirs=$RUN/$service-data
num.partitions=1
default.replication.factor=$REPLICATION
min.insync.replicas=$MIN_INSYNC
offsets.topic.replication.factor=$REPLICATION
transaction.state.log.replication.factor=$REPLICATION
transaction.state.log.min.isr=$MIN_INSYNC
share.coordinator.state.topic.replication.factor=$REPLICATION
share.coordinator.state.topic.min.isr=$MIN_INSYNC
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=2097152
PROPERTIES
  cat >"$RUN/kafka-log4j2.properties" <<PROPERTIES
rootLogger.level=WARN
rootLogger.appenderRef.console.ref=console
appender.console.type=Console
appender.console.name=console
appender.console.layout.type=PatternLayout
appender.console.layout.pattern=[%d] %p %m (%c)%n
logger.started.name=kafka.server.KafkaRaftServer
logger.started.level=INFO
PROPERTIES
}

broker_started() { # broker_started SERVICE PORT: its log says so (a JVM per poll would cost
  # seconds on a small machine) and its port answers
  grep -qF "Kafka Server started" "$RUN/$1.log" && ! port_free "$2"
}

format_storage() { # format_storage NODE: once, before the node's first start
  local service cluster_id
  service="$(broker_service "$1")"
  [[ -f "$RUN/$service-data/meta.properties" ]] && return 0
  local -a mode=()
  if ((BROKERS == 1)); then
    mode=(--standalone)
    cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid)"
  else # the nodes of a cluster share one id, made once
    [[ -f "$RUN/kafka-cluster-id" ]] || kafka_java kafka.tools.StorageTool random-uuid >"$RUN/kafka-cluster-id"
    cluster_id="$(cat "$RUN/kafka-cluster-id")"
  fi
  kafka_java kafka.tools.StorageTool format "${mode[@]}" -t "$cluster_id" \
    -c "$RUN/$service.properties" >"$RUN/$service-format.log" 2>&1 \
    || { cat "$RUN/$service-format.log" >&2; die "formatting $service's log dir failed"; }
}

launch_broker() { # launch_broker NODE: start it unless it runs (wait_for_broker waits)
  local node="$1" service pid base
  service="$(broker_service "$node")"
  if pid="$(pid_of "$service")"; then say "$service already running (pid $pid)"; return; fi
  for base in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SASL_PORT" "$KAFKA_SSL_PORT" "$KAFKA_SASL_SSL_PORT"; do
    require_port_free "$(node_port "$base" "$node")" "$service"
  done
  write_kafka_config "$node"
  format_storage "$node"
  # The stack folder on the command line marks the process as ours (see pid_of).
  nohup java -Xmx512m "${JAVA_OPTIONS[@]}" -Dprices.stack="$STACK_HOME" \
    -Dlog4j2.configurationFile="$RUN/kafka-log4j2.properties" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$RUN/$service.properties" >"$RUN/$service.log" 2>&1 &
  echo $! >"$RUN/$service.pid"
}

wait_for_broker() { # wait_for_broker NODE
  local service bootstrap
  service="$(broker_service "$1")"
  bootstrap="127.0.0.1:$(node_port "$KAFKA_PORT" "$1")"
  wait_until "$service" "$(cat "$RUN/$service.pid")" broker_started "$service" "${bootstrap#*:}"
  say "$service up at $bootstrap"
}

start_kafka() {
  local node
  # A node of a cluster only answers once a majority of the quorum runs: start all, then wait.
  for ((node = 1; node <= BROKERS; node++)); do launch_broker "$node"; done
  for ((node = 1; node <= BROKERS; node++)); do wait_for_broker "$node"; done
  if ((BROKERS > 1)); then
    kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --create \
      --if-not-exists --topic "$PRICES_TOPIC" --partitions "$PRICES_PARTITIONS" \
      --replication-factor "$REPLICATION" --config "min.insync.replicas=$MIN_INSYNC" >/dev/null \
      || die "could not create topic $PRICES_TOPIC on $BOOTSTRAP"
    say "topic $PRICES_TOPIC: $PRICES_PARTITIONS partitions, replication factor $REPLICATION, min.insync.replicas=$MIN_INSYNC"
  fi
}

broker_number() { # broker_number ARG: dies unless ARG numbers a broker of this stack
  if ! [[ "$1" =~ ^[1-9][0-9]{0,2}$ ]] || (($1 > BROKERS)); then
    die "no broker '$1': this stack has $BROKERS broker(s), numbered 1 to $BROKERS"
  fi
}

kill_broker() { # kill_broker N: SIGKILL broker N by its own pid, return once it is gone
  broker_number "$1"
  local service pid
  service="$(broker_service "$1")"
  pid="$(pid_of "$service")" || die "broker $1 ($service) is not running"
  kill -9 "$pid"
  for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && die "broker $1 ($service, pid $pid) still runs after SIGKILL"
  say "broker $1 ($service) killed (pid $pid)"
}

stop_broker() { # stop_broker N: stop broker N as `down` does (SIGTERM: a controlled shutdown)
  broker_number "$1"
  local service; service="$(broker_service "$1")"
  pid_of "$service" >/dev/null || die "broker $1 ($service) is not running"
  stop_services "$service"
}

start_broker() { # start_broker N: start broker N again on its data, return once it answers
  broker_number "$1"
  need
  launch_broker "$1"
  wait_for_broker "$1"
}

# --- Apicurio Registry -------------------------------------------------------------------

registry_answers() { # over HTTP and, checked against our CA, over HTTPS
  curl -sf "$REGISTRY_URL/subjects" && curl -sf --cacert "$CA_FILE" "$REGISTRY_TLS_URL/subjects"
}

start_registry() {
  local pid
  if pid="$(pid_of registry)"; then say "registry already running (pid $pid)"; return; fi
  require_port_free "$REGISTRY_PORT" registry
  require_port_free "$REGISTRY_TLS_PORT" "registry HTTPS"
  require_port_free "$REGISTRY_MANAGEMENT_PORT" "registry management"
  mkdir -p "$RUN/registry-data"
  # H2 in a file under run/ so schemas (and their ids) live as long as the Kafka data.
  local java; java="$(registry_java)"
  nohup "$java" -Xmx384m "${JAVA_OPTIONS[@]}" -Dprices.stack="$STACK_HOME" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.http.ssl-port="$REGISTRY_TLS_PORT" -Dquarkus.http.insecure-requests=enabled \
    -Dquarkus.http.ssl.certificate.files="$TLS_DIR/registry.pem" \
    -Dquarkus.http.ssl.certificate.key-files="$TLS_DIR/registry.key" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
    -Dapicurio.datasource.url="jdbc:h2:file:$RUN/registry-data/registry" \
    -Dquarkus.log.level=WARN -Dquarkus.banner.enabled=false \
    -jar "$REGISTRY_APP/quarkus-run.jar" >"$RUN/registry.log" 2>&1 &
  echo $! >"$RUN/registry.pid"
  wait_until registry $! registry_answers
  curl -sf -X PUT -H 'Content-Type: application/json' \
    -d "{\"compatibility\": \"$COMPATIBILITY_LEVEL\"}" "$REGISTRY_URL/config" >/dev/null \
    || die "could not set the registry's compatibility level to $COMPATIBILITY_LEVEL"
  say "registry up at $REGISTRY_URL and $REGISTRY_TLS_URL (compatibility $COMPATIBILITY_LEVEL)"
}

# --- Spark standalone: a master and STACK_SPARK_WORKERS workers ------------------------------

spark_home() { # the pip-installed pyspark is a Spark home (STACK_SPARK_HOME overrides)
  if [[ -n "${STACK_SPARK_HOME:-}" ]]; then echo "$STACK_SPARK_HOME"; return; fi
  local python="${STACK_PYTHON:-$ROOT/.venv/bin/python}"
  [[ -x "$python" ]] || python="$(command -v python3)" || die "no python to find pyspark with (set STACK_PYTHON)"
  "$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))' 2>/dev/null \
    || die "pyspark is not installed for $python (set STACK_PYTHON or STACK_SPARK_HOME)"
}

alive_workers() { # the number of workers registered with our master
  curl -sf "$SPARK_MASTER_WEBUI/json/" | sed -n 's/.*"aliveworkers" *: *\([0-9]*\).*/\1/p'
}

workers_registered() { (($(alive_workers || echo 0) >= $1)); }

launch_spark() { # launch_spark SERVICE CLASS ARGS...: a Spark daemon, marked as ours
  local service="$1" home="$2"; shift 2
  mkdir -p "$RUN/$service-work"
  SPARK_HOME="$home" SPARK_LOCAL_IP=127.0.0.1 SPARK_DAEMON_MEMORY=512m \
    SPARK_DAEMON_JAVA_OPTS="${JAVA_OPTIONS[*]} -Dprices.stack=$STACK_HOME" \
    SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false" \
    SPARK_WORKER_DIR="$RUN/$service-work" \
    nohup "$home/bin/spark-class" "$@" >"$RUN/$service.log" 2>&1 &
  echo $! >"$RUN/$service.pid"
}

start_spark() {
  ((SPARK_WORKERS > 0)) || return 0
  local home worker service pid
  home="$(spark_home)"
  if pid="$(pid_of spark-master)"; then
    say "spark-master already running (pid $pid)"
  else
    require_port_free "$SPARK_MASTER_PORT" spark-master
    require_port_free "$SPARK_MASTER_WEBUI_PORT" "spark-master web UI"
    launch_spark spark-master "$home" org.apache.spark.deploy.master.Master --host 127.0.0.1 \
      --port "$SPARK_MASTER_PORT" --webui-port "$SPARK_MASTER_WEBUI_PORT"
    wait_until spark-master "$(cat "$RUN/spark-master.pid")" curl -sf "$SPARK_MASTER_WEBUI/json/"
    say "spark-master up at $SPARK_MASTER_URL"
  fi
  for ((worker = 1; worker <= SPARK_WORKERS; worker++)); do
    service="spark-worker-$worker"
    if pid="$(pid_of "$service")"; then say "$service already running (pid $pid)"; continue; fi
    require_port_free "$((SPARK_WORKER_PORT + worker - 1))" "$service"
    require_port_free "$((SPARK_WORKER_WEBUI_PORT + worker - 1))" "$service web UI"
    launch_spark "$service" "$home" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 \
      --port "$((SPARK_WORKER_PORT + worker - 1))" --webui-port "$((SPARK_WORKER_WEBUI_PORT + worker - 1))" \
      --cores "$SPARK_WORKER_CORES" --memory "$SPARK_WORKER_MEMORY" \
      --work-dir "$RUN/$service-work" "$SPARK_MASTER_URL"
  done
  wait_until spark-master "$(cat "$RUN/spark-master.pid")" workers_registered "$SPARK_WORKERS"
  say "$SPARK_WORKERS spark worker(s) registered with $SPARK_MASTER_URL"
}

# --- HDFS: a NameNode and a DataNode in one JVM (Hadoop's MiniDFSClusterManager) ------------

write_hdfs_logging() {
  cat >"$RUN/hdfs-log4j2.properties" <<PROPERTIES
rootLogger.level=WARN
rootLogger.appenderRef.console.ref=console
appender.console.type=Console
appender.console.name=console
appender.console.layout.type=PatternLayout
appender.console.layout.pattern=[%d] %p %m (%c)%n
PROPERTIES
}

hdfs_started() { # the manager has written its details, and the NameNode has left safe mode
  # (after a restart it stays there until the DataNode has reported its blocks)
  [[ -s "$RUN/hdfs-details.json" ]] && ! port_free "$HDFS_PORT" &&
    curl -sf "http://127.0.0.1:$HDFS_HTTP_PORT/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo" |
    grep -q '"Safemode" : ""'
}

start_hdfs() {
  ((HDFS)) || return 0
  local pid
  if pid="$(pid_of hdfs)"; then say "hdfs already running (pid $pid)"; return; fi
  require_port_free "$HDFS_PORT" "hdfs NameNode"
  require_port_free "$HDFS_HTTP_PORT" "hdfs NameNode web UI"
  write_hdfs_logging
  rm -f "$RUN/hdfs-details.json"
  # Formatted at the first start only: a restart keeps the files. Safe mode ends as soon as
  # the DataNode reports (not 30 s later); one replica; no permission checks (loopback only).
  local -a format=()
  [[ -d "$RUN/hdfs-data/name-0-1/current" ]] || format=(-format)
  nohup java -Xmx512m "${JAVA_OPTIONS[@]}" -Dprices.stack="$STACK_HOME" \
    -Dlog4j2.configurationFile="$RUN/hdfs-log4j2.properties" \
    -cp "$HDFS_LIB/*" org.apache.hadoop.test.MiniDFSClusterManager \
    -nnport "$HDFS_PORT" -httpport "$HDFS_HTTP_PORT" "${format[@]}" -datanodes 1 \
    -D "hdfs.minidfs.basedir=$RUN/hdfs-data" -D dfs.namenode.safemode.extension=0 \
    -D dfs.replication=1 -D dfs.permissions.enabled=false \
    -D dfs.namenode.rpc-bind-host=127.0.0.1 -D dfs.namenode.http-bind-host=127.0.0.1 \
    -writeDetails "$RUN/hdfs-details.json" >"$RUN/hdfs.log" 2>&1 &
  echo $! >"$RUN/hdfs.pid"
  wait_until hdfs $! hdfs_started
  say "hdfs up at $HDFS_URL (web UI http://127.0.0.1:$HDFS_HTTP_PORT)"
}

need_hdfs() { ((HDFS)) || die "this stack has no HDFS (start it with STACK_HDFS=1 up)"; }

# --- Kafka's own tools ---------------------------------------------------------------------

consumer_groups() { # Kafka's kafka-consumer-groups.sh, on this stack's jars and brokers
  local -a bootstrap=(--bootstrap-server "$BOOTSTRAP") arg
  for arg in "$@"; do [[ "$arg" == --bootstrap-server ]] && bootstrap=(); done
  [[ -d "$KAFKA_LIB" ]] || die "Kafka's jars are not fetched yet (run \`up\` or \`fetch\`)"
  java -Xmx256m "${JAVA_OPTIONS[@]}" -Dlog4j2.configurationFile="$ROOT/connection/log4j2.properties" -cp "$KAFKA_LIB/*" \
    org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "${bootstrap[@]}" "$@"
}

# --- commands ------------------------------------------------------------------------------

up() {
  if [[ -n "${STACK_BROKERS:-}" && -n "$RECORDED_BROKERS" && "$STACK_BROKERS" != "$RECORDED_BROKERS" ]]; then
    die "this stack's data is for $RECORDED_BROKERS broker(s), not STACK_BROKERS=$STACK_BROKERS: run \`down\` and \`reset\` first, or set another STACK_HOME"
  fi
  fetch
  mkdir -p "$RUN"
  echo "$BROKERS" >"$RUN/brokers"
  echo "$SPARK_WORKERS" >"$RUN/spark-workers"
  echo "$HDFS" >"$RUN/hdfs"
  make_certificates
  start_kafka
  start_registry
  start_spark
  start_hdfs
}

stop_services() { # stop_services SERVICE...: TERM all, KILL what still runs after 20 s; our pids only
  local service pid
  local -a pids=() names=()
  for service in "$@"; do
    if pid="$(pid_of "$service")"; then
      kill "$pid"; pids+=("$pid"); names+=("$service")
    fi
    rm -f "$RUN/$service.pid"
  done
  ((${#pids[@]} > 0)) || return 0
  local i
  for _ in $(seq 1 40); do
    local running=0
    for pid in "${pids[@]}"; do alive "$pid" && running=1; done
    ((running)) || break
    sleep 0.5
  done
  for i in "${!pids[@]}"; do
    alive "${pids[$i]}" && kill -9 "${pids[$i]}"
    say "${names[$i]} stopped (pid ${pids[$i]})"
  done
}

down() {
  # Workers first (each stops its executors), then the master; brokers together, so the
  # last ones do not wait for a quorum that is already gone.
  local -a spark=()
  mapfile -t spark < <(spark_services)
  ((${#spark[@]} == 0)) || stop_services "${spark[@]:1}"
  ((${#spark[@]} == 0)) || stop_services spark-master
  ((HDFS == 0)) || stop_services hdfs
  stop_services registry
  local -a kafka=()
  mapfile -t kafka < <(kafka_services)
  stop_services "${kafka[@]}"
}

status_line() { # status_line SERVICE PID
  local node
  case "$1" in
    kafka | kafka-*)
      node="${1#kafka}"; node="${node#-}"; node="${node:-1}"
      printf '%-14s running  pid %s  127.0.0.1:%s (SASL_PLAINTEXT/PLAIN: 127.0.0.1:%s, SSL: 127.0.0.1:%s, SASL_SSL/PLAIN: 127.0.0.1:%s)\n' \
        "$1" "$2" "$(node_port "$KAFKA_PORT" "$node")" "$(node_port "$KAFKA_SASL_PORT" "$node")" \
        "$(node_port "$KAFKA_SSL_PORT" "$node")" "$(node_port "$KAFKA_SASL_SSL_PORT" "$node")" ;;
    registry) printf '%-14s running  pid %s  %s and %s\n' "$1" "$2" "$REGISTRY_URL" "$REGISTRY_TLS_URL" ;;
    spark-master) printf '%-14s running  pid %s  %s\n' "$1" "$2" "$SPARK_MASTER_URL" ;;
    hdfs) printf '%-14s running  pid %s  %s (web UI http://127.0.0.1:%s)\n' "$1" "$2" "$HDFS_URL" "$HDFS_HTTP_PORT" ;;
    *) printf '%-14s running  pid %s\n' "$1" "$2" ;;
  esac
}

status() {
  local service pid rc=0
  while read -r service; do
    if pid="$(pid_of "$service")"; then
      status_line "$service" "$pid"
    else
      printf '%-14s stopped\n' "$service"; rc=3
    fi
  done < <(all_services)
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
  echo "STACK_SSL_BOOTSTRAP_SERVERS=$SSL_BOOTSTRAP"
  echo "STACK_SASL_SSL_BOOTSTRAP_SERVERS=$SASL_SSL_BOOTSTRAP"
  echo "STACK_REGISTRY_TLS_URL=$REGISTRY_TLS_URL"
  echo "STACK_CA_FILE=$CA_FILE"
  local exported="KAFKA_BOOTSTRAP_SERVERS SCHEMA_REGISTRY_URL SPARK_CONNECTOR_JARS_DIR SPARK_LOCAL_IP"
  if ((SPARK_WORKERS > 0)); then
    echo "SPARK_MASTER=$SPARK_MASTER_URL"
    exported+=" SPARK_MASTER"
  fi
  if ((HDFS)); then
    echo "HDFS_URL=$HDFS_URL"
    exported+=" HDFS_URL"
  fi
  echo "export $exported"
}

logs() {
  local service="${1:-}" services
  services="$(all_services | paste -sd, - | sed 's/,/, /g')"
  if [[ -n "$service" ]]; then
    all_services | grep -qxF -- "$service" || die "no service '$service' (services: $services)"
    [[ -f "$RUN/$service.log" ]] || die "no log for '$service' yet (not started)"
    tail -n 100 "$RUN/$service.log"
  else
    while read -r service; do
      echo "==> $RUN/$service.log <=="; tail -n 30 "$RUN/$service.log" 2>/dev/null || true
    done < <(all_services)
  fi
}

reset() {
  local service
  while read -r service; do
    if pid_of "$service" >/dev/null; then die "stop the stack first (down): $service runs"; fi
  done < <(all_services)
  rm -rf "$RUN"
  say "removed service data in $RUN"
}

usage() {
  echo "usage: $0 up|down|status|env|logs [service]|fetch|reset|kill-broker N|stop-broker N|start-broker N|stop-hdfs|start-hdfs|kafka-consumer-groups ARGS..." >&2
  exit 2
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) print_env ;;
  logs) logs "${2:-}" ;;
  fetch) fetch ;;
  reset) reset ;;
  kill-broker) [[ $# -eq 2 ]] || usage; kill_broker "$2" ;;
  stop-broker) [[ $# -eq 2 ]] || usage; stop_broker "$2" ;;
  start-broker) [[ $# -eq 2 ]] || usage; start_broker "$2" ;;
  stop-hdfs) need_hdfs; pid_of hdfs >/dev/null || die "hdfs is not running"; stop_services hdfs ;;
  start-hdfs) need_hdfs; need; start_hdfs ;;
  kafka-consumer-groups) shift; consumer_groups "$@" ;;
  *) usage ;;
esac
