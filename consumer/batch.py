"""One batch run: check broker, topic and registry first, then analyse in Spark."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from connection.clients import RegistryFailure, registry_client
from connection.defaults import DEFAULTS
from connection.settings import ConnectionSettings
from consumer.analysis import AnalysisOptions, analyse
from consumer.errors import ConsumerError
from consumer.report import Report
from consumer.source import OffsetRange, check_topic, partition_offsets, read_topic
from consumer.timings import Timings
from consumer.writer_schemas import (
    ReaderSchema,
    SubjectNotRegistered,
    WriterSchemas,
    latest_reader_schema,
)


@dataclass(frozen=True)
class ConsumerOptions:
    z_threshold: float = DEFAULTS.z_threshold
    reader_schema_file: Path | None = None
    min_partitions: int | None = None  # default: partitions or cores, whichever is more
    histogram_bins: int = 0  # > 0 when a plot is asked for


def reader_schema_from_file(path: Path) -> ReaderSchema:
    try:
        return ReaderSchema(schema=path.read_text(), source=str(path))
    except OSError as error:
        raise ConsumerError(f"cannot read reader schema {path}: {error.strerror}") from None


def empty_report(settings: ConnectionSettings, options: ConsumerOptions) -> Report:
    """The report on a topic without records (and without a registered subject)."""
    return Report(
        topic=settings.topic,
        messages=0,
        decoded=0,
        reader_schema=f"none ({settings.value_subject} is not registered)",
        writer_schema_ids=[],
        z_threshold=options.z_threshold,
        statistics=[],
        outliers=[],
    )


@dataclass(frozen=True)
class Contract:
    """How a topic's records are read: the reader schema, and the writer schemas by id."""

    reader: ReaderSchema
    writers: WriterSchemas


def topic_contract(settings: ConnectionSettings, reader_schema_file: Path | None) -> Contract:
    """The reader schema (the file, else the subject's latest version) and the writer
    schemas registered under the subject; SubjectNotRegistered without either."""
    client = registry_client(settings.registry)
    reader = (
        reader_schema_from_file(reader_schema_file)
        if reader_schema_file
        else latest_reader_schema(client, settings.registry, settings.value_subject)
    )
    writers = WriterSchemas(client, settings.registry)
    writers.add_subject(settings.value_subject)
    return Contract(reader, writers)


def spark_errors(error: Exception) -> ConsumerError:
    """A Spark or py4j failure as one line."""
    text = str(error).strip()
    return ConsumerError(f"Spark job failed: {text.splitlines()[0] if text else repr(error)}")


@dataclass(frozen=True)
class CheckedTopic:
    """What is known before Spark starts: the topic's partitions, their offsets, and how
    to read it (None for a topic without records and without a registered subject:
    nothing to decode)."""

    partitions: int
    offsets: dict[int, OffsetRange]
    contract: Contract | None

    @property
    def records(self) -> int:
        """The records in the offset ranges (at most: transaction markers take offsets)."""
        return sum(r.latest - r.earliest for r in self.offsets.values())

    @property
    def small(self) -> bool:
        """Small enough to cache in memory and to aggregate in one shuffle partition."""
        return self.records <= DEFAULTS.small_topic_records


def check_sources(settings: ConnectionSettings, options: ConsumerOptions) -> CheckedTopic:
    """Broker, topic and registry, checked without Spark, so a missing topic or an
    unreachable service fails in seconds with one line; ConsumerError when one fails."""
    partitions = check_topic(settings)
    offsets = partition_offsets(settings, partitions)
    try:
        contract = topic_contract(settings, options.reader_schema_file)
    except SubjectNotRegistered:
        # A topic nobody has written to yet has no contract either: nothing to decode.
        if all(r.earliest == r.latest for r in offsets.values()):
            return CheckedTopic(partitions, offsets, None)
        raise
    except RegistryFailure as error:
        raise ConsumerError(str(error)) from None
    return CheckedTopic(partitions, offsets, contract)


#: Spark's setting for the partitions of a shuffle (here: the aggregations' exchanges).
SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"


def report_on(
    spark: SparkSession,
    settings: ConnectionSettings,
    options: ConsumerOptions,
    topic: CheckedTopic,
    contract: Contract,
    timings: Timings | None = None,
) -> Report:
    """The report on the checked topic's records, read with contract; ConsumerError on
    any failure.

    A small topic is read with one task per Kafka partition (splitting it more costs more
    in tasks than it saves), cached in memory and aggregated in one shuffle partition
    (set for these jobs only, then restored).
    """
    if timings is None:
        timings = Timings()
    min_partitions = options.min_partitions or (
        topic.partitions
        if topic.small
        else max(topic.partitions, spark.sparkContext.defaultParallelism)
    )
    analysis = AnalysisOptions(
        z_threshold=options.z_threshold,
        histogram_bins=options.histogram_bins,
        cache_in_memory=topic.small,
    )
    shuffle_partitions = spark.conf.get(SHUFFLE_PARTITIONS)
    try:
        if topic.small:
            spark.conf.set(SHUFFLE_PARTITIONS, "1")
        with timings.phase("Kafka source (Spark looks up the topic's offsets)"):
            records = read_topic(spark, settings, min_partitions)
        return analyse(
            records,
            settings.topic,
            contract.writers,
            contract.reader,
            analysis,
            timings,
        )
    except RegistryFailure as error:
        raise ConsumerError(str(error)) from None
    except (PySparkException, Py4JError) as error:
        raise spark_errors(error) from None
    finally:
        if shuffle_partitions is None:
            spark.conf.unset(SHUFFLE_PARTITIONS)
        else:
            spark.conf.set(SHUFFLE_PARTITIONS, shuffle_partitions)


def consume(spark: SparkSession, settings: ConnectionSettings, options: ConsumerOptions) -> Report:
    """The report on every record in settings.topic; ConsumerError on any failure."""
    topic = check_sources(settings, options)
    if topic.contract is None:
        return empty_report(settings, options)
    return report_on(spark, settings, options, topic, topic.contract)
