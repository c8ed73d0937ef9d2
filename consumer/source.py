"""The one edge that reads Kafka: every partition of a topic, earliest to latest."""

from __future__ import annotations

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec
from pyspark.sql import DataFrame, SparkSession

from connection.kafka import BROKER_TIMEOUT_S, BrokerCheckFailed, admin_client, cluster_metadata
from connection.settings import ConnectionSettings
from consumer.errors import ConsumerError


def check_topic(settings: ConnectionSettings) -> int:
    """The topic's partition count; ConsumerError when the broker or topic is missing.

    Checked before Spark starts, so a typo fails in seconds with a clear line.
    """
    admin = admin_client(settings.bootstrap_servers, settings.security)
    try:
        metadata = cluster_metadata(admin, settings.bootstrap_servers)
    except BrokerCheckFailed as error:
        raise ConsumerError(str(error)) from None
    topic = metadata.topics.get(settings.topic)
    if topic is None:
        raise ConsumerError(
            f"topic {settings.topic} does not exist on {settings.bootstrap_servers}"
        )
    return len(topic.partitions)


def topic_is_empty(settings: ConnectionSettings, partitions: int) -> bool:
    """True when no partition of the topic holds a record (earliest == latest offset)."""
    admin = admin_client(settings.bootstrap_servers, settings.security)
    ends = []
    # confluent-kafka leaves OffsetSpec's factory methods unannotated.
    specs = (OffsetSpec.earliest(), OffsetSpec.latest())  # type: ignore[no-untyped-call]
    for spec in specs:
        requests = {TopicPartition(settings.topic, p): spec for p in range(partitions)}
        try:
            futures = admin.list_offsets(requests, request_timeout=BROKER_TIMEOUT_S)
            ends.append({tp.partition: f.result().offset for tp, f in futures.items()})
        except KafkaException as error:
            raise ConsumerError(
                f"cannot read the offsets of topic {settings.topic}: {error.args[0].str()}"
            ) from None
    earliest, latest = ends
    return all(earliest[p] == latest[p] for p in range(partitions))


def read_topic(spark: SparkSession, settings: ConnectionSettings, min_partitions: int) -> DataFrame:
    """All records of the topic as a batch (key, value, topic, partition, offset, ...).

    minPartitions splits large offset ranges so a one-partition topic still keeps every
    core busy. The security options reach Spark's Java Kafka client; Spark redacts option
    values mentioning a password in its plans and logs.
    """
    return (
        spark.read.format("kafka")
        .options(**settings.security.spark_kafka_options())
        .option("kafka.bootstrap.servers", settings.bootstrap_servers)
        .option("subscribe", settings.topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        .option("minPartitions", str(min_partitions))
        .load()
    )
