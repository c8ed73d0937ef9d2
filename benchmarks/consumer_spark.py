"""The consumer in this process: consume() timed warm, Spark knobs, and its limit.

Ours goes through the batch driver's public entry, consume(), as `python -m consumer`
does. The limit is Spark's Kafka source alone, built with the consumer's own read
(consumer.source.read_topic) and the minPartitions consume() would choose for the topic
(consumer.batch.read_min_partitions on what check_sources found), so the two differ only
in what consume() does after the read.
"""

from __future__ import annotations

import time

from pyspark.sql import SparkSession

from benchmarks.machine import load_average
from benchmarks.results import SPARK_CONSUMER, ConsumerRun, SparkVariant
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.batch import ConsumerOptions, check_sources, consume, read_min_partitions
from consumer.report import Report
from consumer.source import read_topic

DEFAULT_OPTIONS = ConsumerOptions()


class WrongCount(RuntimeError):
    """The consumer did not decode exactly the events the topic holds."""


def checked(report: Report, events: int) -> None:
    if report.messages != events or report.decoded != events:
        raise WrongCount(
            f"{report.topic}: {report.decoded} of {report.messages} decoded, expected {events}"
        )


def time_consume(
    spark: SparkSession,
    settings: ConnectionSettings,
    events: int,
    options: ConsumerOptions = DEFAULT_OPTIONS,
) -> ConsumerRun:
    """consume() as `python -m consumer` calls it (with options), in this process's (warm)
    SparkSession."""
    started = time.perf_counter()
    report = consume(spark, Clients.of(settings), settings, options)
    seconds = time.perf_counter() - started
    checked(report, events)
    return ConsumerRun(SPARK_CONSUMER, events, seconds, load_average())


def time_variant(
    spark: SparkSession,
    settings: ConnectionSettings,
    events: int,
    min_partitions: int,
    shuffle_partitions: int,
) -> SparkVariant:
    """consume() with other minPartitions / spark.sql.shuffle.partitions (set on spark)."""
    spark.conf.set("spark.sql.shuffle.partitions", str(shuffle_partitions))
    options = ConsumerOptions(min_partitions=min_partitions)
    started = time.perf_counter()
    report = consume(spark, Clients.of(settings), settings, options)
    seconds = time.perf_counter() - started
    checked(report, events)
    return SparkVariant(min_partitions, shuffle_partitions, events, seconds)


def consume_min_partitions(spark: SparkSession, settings: ConnectionSettings) -> int:
    """The minPartitions consume() with its default options reads settings.topic with."""
    topic = check_sources(Clients.of(settings), settings, DEFAULT_OPTIONS)
    return read_min_partitions(spark, topic, DEFAULT_OPTIONS)


def read_alone_seconds(spark: SparkSession, settings: ConnectionSettings) -> float:
    """Seconds of Spark's Kafka source reading the whole topic to the noop sink, nothing
    decoded: the consumer's limit, read as consume() reads (same function, same
    minPartitions; the broker and registry checks happen before the clock starts)."""
    records = read_topic(spark, settings, consume_min_partitions(spark, settings))
    started = time.perf_counter()
    records.write.format("noop").mode("overwrite").save()
    return time.perf_counter() - started
