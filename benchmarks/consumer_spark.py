"""The consumer in this process: consume() timed warm, Spark knobs, a stage breakdown."""

from __future__ import annotations

import time

from pyspark.sql import DataFrame

from benchmarks.machine import load_average
from benchmarks.results import SPARK_CONSUMER, ConsumerRun, SparkVariant, StageTiming
from connection.registry import registry_client
from connection.settings import ConnectionSettings
from consumer.analysis import analyse
from consumer.decoding import decode_frames
from consumer.framing import split_frames
from consumer.report import Report
from consumer.run import ConsumerOptions, consume
from consumer.schemas import latest_reader_schema, subject_writer_schemas, writer_schemas
from consumer.source import read_topic
from consumer.spark_session import build_spark_session
from consumer.statistics import record_summary

Z_THRESHOLD = ConsumerOptions().z_threshold


class WrongCount(RuntimeError):
    """The consumer did not decode exactly the events the topic holds."""


def checked(report: Report, events: int) -> None:
    if report.messages != events or report.decoded != events:
        raise WrongCount(
            f"{report.topic}: {report.decoded} of {report.messages} decoded, expected {events}"
        )


def time_consume(settings: ConnectionSettings, events: int) -> ConsumerRun:
    """consume() as `python -m consumer` calls it, in this process's (warm) SparkSession."""
    started = time.perf_counter()
    report = consume(settings, ConsumerOptions())
    seconds = time.perf_counter() - started
    checked(report, events)
    return ConsumerRun(SPARK_CONSUMER, events, seconds, load_average())


def time_variant(
    settings: ConnectionSettings, events: int, min_partitions: int, shuffle_partitions: int
) -> SparkVariant:
    """consume()'s analysis with other minPartitions / spark.sql.shuffle.partitions.

    consume() builds its session with a fixed shuffle setting, so this calls the same
    pieces (session, source, analyse) directly.
    """
    url = settings.schema_registry_url
    registry = registry_client(url)
    reader = latest_reader_schema(registry, url, settings.value_subject)
    spark = build_spark_session(shuffle_partitions=shuffle_partitions)
    started = time.perf_counter()
    writers = subject_writer_schemas(registry, url, settings.value_subject)
    report = analyse(
        read_topic(spark, settings, min_partitions),
        topic=settings.topic,
        writers=writers,
        writer_lookup=lambda ids: writer_schemas(registry, url, ids),
        reader_schema=reader.schema,
        reader_source=reader.source,
        z_threshold=Z_THRESHOLD,
    )
    seconds = time.perf_counter() - started
    checked(report, events)
    return SparkVariant(min_partitions, shuffle_partitions, events, seconds)


def run_to_noop(frame: DataFrame) -> float:
    """Seconds to compute every row and column of frame and throw them away."""
    started = time.perf_counter()
    frame.write.format("noop").mode("overwrite").save()
    return time.perf_counter() - started


def stage_breakdown(
    settings: ConnectionSettings, events: int, min_partitions: int
) -> list[StageTiming]:
    """Time of a job stopping after each step: read, + frame split, + Avro decode,
    + consume()'s one aggregation (its first job, here without the cache it fills)."""
    url = settings.schema_registry_url
    registry = registry_client(url)
    reader = latest_reader_schema(registry, url, settings.value_subject)
    writers = subject_writer_schemas(registry, url, settings.value_subject)
    records = read_topic(build_spark_session(), settings, min_partitions)
    frames = split_frames(records)
    decoded = decode_frames(frames, writers, reader.schema)
    stages = {
        "read Kafka": records,
        "read + split frames": frames,
        "read + split + decode (from_avro)": decoded,
        "read + split + decode + summary (one aggregation)": record_summary(
            decoded.select("reason", "schema_id", "event.symbol", "event.price")
        ),
    }
    return [StageTiming(name, events, run_to_noop(frame)) for name, frame in stages.items()]
