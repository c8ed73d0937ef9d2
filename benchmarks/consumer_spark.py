"""The consumer in this process: consume() timed warm, Spark knobs, a stage breakdown."""

from __future__ import annotations

import time

from pyspark.sql import DataFrame, SparkSession

from benchmarks.machine import load_average
from benchmarks.results import SPARK_CONSUMER, ConsumerRun, SparkVariant, StageTiming
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.batch import ConsumerOptions, check_sources, consume
from consumer.decoding import decode_frames
from consumer.framing import split_frames
from consumer.report import Report
from consumer.source import read_topic
from consumer.statistics import record_summary

DEFAULT_OPTIONS = ConsumerOptions()


class WrongCount(RuntimeError):
    """The consumer did not decode exactly the events the topic holds."""


def checked(report: Report, events: int) -> None:
    if report.messages != events or report.decoded != events:
        raise WrongCount(
            f"{report.topic}: {report.decoded} of {report.messages} decoded, expected {events}"
        )


def time_consume(spark: SparkSession, settings: ConnectionSettings, events: int) -> ConsumerRun:
    """consume() as `python -m consumer` calls it, in this process's (warm) SparkSession."""
    started = time.perf_counter()
    report = consume(spark, Clients.of(settings), settings, DEFAULT_OPTIONS)
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


def run_to_noop(frame: DataFrame) -> float:
    """Seconds to compute every row and column of frame and throw them away."""
    started = time.perf_counter()
    frame.write.format("noop").mode("overwrite").save()
    return time.perf_counter() - started


def read_alone_seconds(
    spark: SparkSession, settings: ConnectionSettings, min_partitions: int
) -> float:
    """Seconds of Spark's Kafka source reading the whole topic, nothing decoded: the
    consumer's limit (the same read consume() starts with)."""
    return run_to_noop(read_topic(spark, settings, min_partitions))


def stage_breakdown(
    spark: SparkSession, settings: ConnectionSettings, events: int, min_partitions: int
) -> list[StageTiming]:
    """Time of a job stopping after each step: read, + frame split, + Avro decode,
    + consume()'s one aggregation (its first job, here without the cache it fills)."""
    contract = check_sources(Clients.of(settings), settings, DEFAULT_OPTIONS).contract
    assert contract is not None, f"{settings.topic} has no contract"
    records = read_topic(spark, settings, min_partitions)
    frames = split_frames(records)
    decoded = decode_frames(frames, contract.writers.known, contract.reader.schema)
    stages = {
        "read Kafka": records,
        "read + split frames": frames,
        "read + split + decode (from_avro)": decoded,
        "read + split + decode + summary (one aggregation)": record_summary(
            decoded.select("reason", "schema_id", "event.*")
        ),
    }
    return [StageTiming(name, events, run_to_noop(frame)) for name, frame in stages.items()]
