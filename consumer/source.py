"""The one edge that reads Kafka: a topic's partitions and offsets, and its records."""

from __future__ import annotations

import json
from dataclasses import dataclass

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (
    BinaryType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from connection.clients import spark_kafka_options
from connection.kafka import BROKER_TIMEOUT_S, BrokerCheckFailed, admin_client, cluster_metadata
from connection.settings import ConnectionSettings
from consumer.errors import ConsumerError

#: The columns of a Kafka batch DataFrame, as Spark's Kafka source gives them.
KAFKA_RECORDS = StructType(
    [
        StructField("key", BinaryType()),
        StructField("value", BinaryType()),
        StructField("topic", StringType()),
        StructField("partition", IntegerType()),
        StructField("offset", LongType()),
        StructField("timestamp", TimestampType()),
        StructField("timestampType", IntegerType()),
    ]
)


def check_topic(settings: ConnectionSettings) -> int:
    """The topic's partition count; ConsumerError when the broker or topic is missing.

    Checked before Spark starts, so a typo fails in seconds with a clear line.
    """
    admin = admin_client(settings)
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


@dataclass(frozen=True)
class OffsetRange:
    """A partition's first offset and the offset after its last record."""

    earliest: int
    latest: int


def partition_offsets(settings: ConnectionSettings, partitions: int) -> dict[int, OffsetRange]:
    """Each partition's offset range, from the brokers."""
    admin = admin_client(settings)
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
    return {p: OffsetRange(earliest[p], latest[p]) for p in range(partitions)}


def read_topic(
    spark: SparkSession,
    settings: ConnectionSettings,
    min_partitions: int,
    offsets: dict[int, OffsetRange] | None = None,
) -> DataFrame:
    """The topic's records as a batch (key, value, topic, partition, offset, timestamp, ...):
    all of them, or those in offsets' ranges.

    minPartitions splits large offset ranges so a one-partition topic still keeps every
    core busy. The security options reach Spark's Java Kafka client; Spark redacts option
    values mentioning a password in its plans and logs.
    """
    reader = (
        spark.read.format("kafka")
        .options(**spark_kafka_options(settings))
        .option("minPartitions", str(min_partitions))
    )
    if offsets is None:
        return (
            reader.option("subscribe", settings.topic)
            .option("startingOffsets", "earliest")
            .option("endingOffsets", "latest")
            .load()
        )
    return (
        reader.option("assign", json.dumps({settings.topic: sorted(offsets)}))
        .option("startingOffsets", offsets_json(settings.topic, offsets, "earliest"))
        .option("endingOffsets", offsets_json(settings.topic, offsets, "latest"))
        .load()
    )


def offsets_json(topic: str, offsets: dict[int, OffsetRange], end: str) -> str:
    """Spark's per-partition offsets option for one end of the ranges."""
    return json.dumps({topic: {str(p): getattr(r, end) for p, r in sorted(offsets.items())}})
