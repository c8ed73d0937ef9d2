"""The one edge that reads Kafka: a topic's partitions and offsets, and its records."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from connection.clients import spark_kafka_options
from connection.kafka import (
    BROKER_TIMEOUT_S,
    BrokerCheckFailed,
    WatchedAdminClient,
    cluster_metadata,
)
from connection.settings import ConnectionSettings
from consumer.errors import ConsumerError

TOPIC_POLL_S = 1.0  # seconds between looks for a topic not created yet

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
        StructField(
            "headers",
            ArrayType(
                StructType([StructField("key", StringType()), StructField("value", BinaryType())])
            ),
        ),
    ]
)


def topic_partitions(
    admin: WatchedAdminClient, settings: ConnectionSettings, wait_s: float = 0
) -> int:
    """The topic's partition count, waiting up to wait_s for it to be created (a follower
    may start before the producer's first run); ConsumerError when the broker does not
    answer or the topic is still missing.

    Checked before Spark starts, so a typo fails in seconds with a clear line.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            metadata = cluster_metadata(admin, settings.bootstrap_servers)
        except BrokerCheckFailed as error:
            raise ConsumerError(str(error)) from None
        topic = metadata.topics.get(settings.topic)
        if topic is not None and topic.error is None:
            return len(topic.partitions)
        if time.monotonic() >= deadline:
            waited = f" (waited {wait_s:g} s for it)" if wait_s else ""
            raise ConsumerError(
                f"topic {settings.topic} does not exist on {settings.bootstrap_servers}{waited}"
            )
        time.sleep(TOPIC_POLL_S)


@dataclass(frozen=True)
class OffsetRange:
    """A partition's first offset and the offset after its last record."""

    earliest: int
    latest: int


def partition_offsets(
    admin: WatchedAdminClient, topic: str, partitions: int
) -> dict[int, OffsetRange]:
    """Each partition's offset range, from the brokers; ConsumerError when they do not
    answer within the broker timeout (the request's own: a leader moving to another
    broker is waited for, not cut short)."""
    ends = []
    # confluent-kafka leaves OffsetSpec's factory methods unannotated.
    specs = (OffsetSpec.earliest(), OffsetSpec.latest())  # type: ignore[no-untyped-call]
    for spec in specs:
        requests = {TopicPartition(topic, p): spec for p in range(partitions)}
        try:
            futures = admin.list_offsets(requests, request_timeout=BROKER_TIMEOUT_S)
            ends.append({tp.partition: f.result().offset for tp, f in futures.items()})
        except KafkaException as error:
            raise ConsumerError(
                f"cannot read the offsets of topic {topic}: {error.args[0].str()}"
            ) from None
    earliest, latest = ends
    return {p: OffsetRange(earliest[p], latest[p]) for p in range(partitions)}


def kafka_options(settings: ConnectionSettings) -> dict[str, str]:
    """The options of Spark's Kafka source, batch and streaming alike.

    The security options reach Spark's Java Kafka client; Spark redacts option values
    mentioning a password in its plans and logs.
    """
    return {
        **spark_kafka_options(settings),
        "includeHeaders": "true",  # a dead letter keeps its record's headers
        "startingOffsets": "earliest",  # streaming: only for a query without a checkpoint
        "failOnDataLoss": "true",  # records deleted unread: fail, never skip
    }


def stream_topic(
    spark: SparkSession, settings: ConnectionSettings, max_offsets_per_trigger: int | None = None
) -> DataFrame:
    """The topic's records as a stream (follow mode), each micro-batch at most
    max_offsets_per_trigger records (None: all that arrived)."""
    source = spark.readStream.format("kafka").options(**kafka_options(settings))
    if max_offsets_per_trigger is not None:
        source = source.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    return source.option("subscribe", settings.topic).load()


def read_topic(
    spark: SparkSession,
    settings: ConnectionSettings,
    min_partitions: int,
    offsets: dict[int, OffsetRange] | None = None,
) -> DataFrame:
    """The topic's records as a batch (key, value, topic, partition, offset, timestamp, ...):
    all of them, or those in offsets' ranges.

    minPartitions splits large offset ranges so a one-partition topic still keeps every
    core busy.
    """
    reader = (
        spark.read.format("kafka")
        .options(**kafka_options(settings))
        .option("minPartitions", str(min_partitions))
    )
    if offsets is None:
        return reader.option("subscribe", settings.topic).option("endingOffsets", "latest").load()
    return (
        reader.option("assign", json.dumps({settings.topic: sorted(offsets)}))
        .option("startingOffsets", offsets_json(settings.topic, offsets, "earliest"))
        .option("endingOffsets", offsets_json(settings.topic, offsets, "latest"))
        .load()
    )


def offsets_json(topic: str, offsets: dict[int, OffsetRange], end: str) -> str:
    """Spark's per-partition offsets option for one end of the ranges."""
    return json.dumps({topic: {str(p): getattr(r, end) for p, r in sorted(offsets.items())}})
