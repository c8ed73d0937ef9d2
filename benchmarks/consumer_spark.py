"""The consumer in this process: consume() timed warm, Spark knobs, and its limit.

Ours goes through the batch driver's public entry, consume(), as `python -m consumer`
does; on a topic written in a newer major, checked to have read every record through
its migration rules (compiled to Spark columns, or in jsonata-python). The limit is
Spark's Kafka source alone, built with the consumer's own read
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


class NotMigrated(RuntimeError):
    """consume() did not read the records through migration rules as expected."""


def checked(report: Report, events: int) -> None:
    if report.messages != events or report.decoded != events:
        raise WrongCount(
            f"{report.topic}: {report.decoded} of {report.messages} decoded, expected {events}"
        )


def timed_report(
    spark: SparkSession,
    settings: ConnectionSettings,
    events: int,
    options: ConsumerOptions = DEFAULT_OPTIONS,
) -> tuple[Report, float]:
    """consume() as `python -m consumer` calls it (with options), in this process's (warm)
    SparkSession: its report, checked to count every event, and its seconds."""
    started = time.perf_counter()
    report = consume(spark, Clients.of(settings), settings, options)
    seconds = time.perf_counter() - started
    checked(report, events)
    return report, seconds


def time_consume(
    spark: SparkSession,
    settings: ConnectionSettings,
    events: int,
    options: ConsumerOptions = DEFAULT_OPTIONS,
) -> ConsumerRun:
    """consume() (timed_report) as a run of ours."""
    _, seconds = timed_report(spark, settings, events, options)
    return ConsumerRun(SPARK_CONSUMER, events, seconds, load_average())


def python_rules(report: Report, in_python: bool) -> tuple[str, ...]:
    """The migration rules the report says ran in jsonata-python; NotMigrated unless
    every writer's records were migrated by rules, none failed, and some ran in
    jsonata-python exactly when in_python."""
    if not report.migrations or not all(writer.rules for writer in report.migrations):
        raise NotMigrated(f"{report.topic}: not every writer's records went through rules")
    if report.migration_failures:
        failed = ", ".join(f"{f.rule} ({f.count:,})" for f in report.migration_failures)
        raise NotMigrated(f"{report.topic}: migrations failed: {failed}")
    ran = tuple(rule for writer in report.migrations for rule in writer.python_rules)
    if bool(ran) != in_python:
        where = "in jsonata-python" if in_python else "compiled to Spark columns"
        raise NotMigrated(
            f"{report.topic}: rules in jsonata-python: {', '.join(ran) or 'none'}; "
            f"expected every rule {where}"
        )
    return ran


def time_migrated(
    spark: SparkSession, settings: ConnectionSettings, events: int, in_python: bool
) -> tuple[float, tuple[str, ...]]:
    """Seconds of consume() on a topic whose events were written in a newer major, read
    through its migration rules (checked: python_rules), and the rules that ran in
    jsonata-python."""
    report, seconds = timed_report(spark, settings, events)
    return seconds, python_rules(report, in_python)


def time_variant(
    spark: SparkSession,
    settings: ConnectionSettings,
    events: int,
    min_partitions: int,
    shuffle_partitions: int,
) -> SparkVariant:
    """consume() with other minPartitions / spark.sql.shuffle.partitions (set on spark)."""
    spark.conf.set("spark.sql.shuffle.partitions", str(shuffle_partitions))
    _, seconds = timed_report(
        spark, settings, events, ConsumerOptions(min_partitions=min_partitions)
    )
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
