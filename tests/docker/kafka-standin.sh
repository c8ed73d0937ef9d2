#!/usr/bin/env bash
# Entry point of the test stand-in: one KRaft Kafka node and Apicurio Registry, both in
# memory/tmp (ephemeral, like the compose file's tmpfs /data). Writes /tmp/standin-ready
# once the broker answers the admin API and the registry's compatibility is set.
set -euo pipefail

ADVERTISED_HOST="${ADVERTISED_HOST:-kafka}"
DATA=/tmp/kafka
mkdir -p "$DATA/logs"

cat >"$DATA/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:9093
listeners=PLAINTEXT://0.0.0.0:9092,CONTROLLER://localhost:9093
advertised.listeners=PLAINTEXT://$ADVERTISED_HOST:9092,CONTROLLER://localhost:9093
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA/logs
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
CONF
cat >"$DATA/log4j2.properties" <<CONF
rootLogger.level=WARN
rootLogger.appenderRef.console.ref=console
appender.console.type=Console
appender.console.name=console
appender.console.layout.type=PatternLayout
appender.console.layout.pattern=[%d] %p %m (%c)%n
logger.started.name=kafka.server.KafkaRaftServer
logger.started.level=INFO
CONF

kafka_java() { java -Xmx512m -Dlog4j2.configurationFile="$DATA/log4j2.properties" -cp '/opt/kafka/libs/*' "$@"; }

kafka_java kafka.tools.StorageTool format --standalone \
  -t "$(kafka_java kafka.tools.StorageTool random-uuid)" -c "$DATA/server.properties" >/dev/null
kafka_java kafka.Kafka "$DATA/server.properties" &
java -Xmx384m -Dquarkus.http.host=0.0.0.0 -Dquarkus.http.port=8081 \
  -Dquarkus.log.level=WARN -Dquarkus.banner.enabled=false \
  -jar /opt/registry/quarkus-run.jar &

trap 'kill $(jobs -p) 2>/dev/null; wait; exit 0' TERM INT
both_alive() { (($(jobs -rp | wc -l) == 2)) || { echo "kafka-standin: a service exited during start-up" >&2; exit 1; }; }

registry=http://localhost:8081/apis/ccompat/v7
until curl -sf "$registry/subjects" >/dev/null; do both_alive; sleep 1; done
# Confluent's default, which fast-data-dev's registry has too.
curl -sf -X PUT -H 'Content-Type: application/json' -d '{"compatibility": "BACKWARD"}' \
  "$registry/config" >/dev/null
until kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server localhost:9092 --list >/dev/null 2>&1; do
  both_alive; sleep 1
done
touch /tmp/standin-ready
echo "kafka-standin: ready (kafka at $ADVERTISED_HOST:9092, registry at http://$ADVERTISED_HOST:8081/apis/ccompat/v7)"

wait -n
echo "kafka-standin: a service exited; stopping" >&2
exit 1
