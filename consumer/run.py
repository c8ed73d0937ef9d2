"""One consumer run: check broker, topic and registry first, then analyse in Spark."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from py4j.protocol import Py4JError
from pyspark.errors import PySparkException

from connection.registry import registry_client
from connection.settings import ConnectionSettings
from consumer.analysis import analyse
from consumer.errors import ConsumerError
from consumer.report import Report
from consumer.schemas import (
    ReaderSchema,
    SubjectNotRegistered,
    latest_reader_schema,
    subject_writer_schemas,
    writer_schemas,
)
from consumer.source import check_topic, read_topic, topic_is_empty
from consumer.spark_session import ConnectorJarsMissing, build_spark_session


@dataclass(frozen=True)
class ConsumerOptions:
    master: str = "local[*]"
    z_threshold: float = 3.0
    reader_schema_file: Path | None = None
    min_partitions: int | None = None  # default: the cluster's default parallelism
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


@contextmanager
def interrupts_held_while_spark_starts() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the SparkSession is up, then raise KeyboardInterrupt.

    PySpark starts its JVM ignoring SIGINT; interrupted before that JVM reported its port,
    it leaves the JVM running with nothing to stop it (and holding our stdout). Once up,
    PySpark's own SIGINT handler calls into the JVM from inside the interrupted call, which
    logs py4j tracebacks; the previous handler (KeyboardInterrupt) is put back instead,
    and the JVM exits with this process (its stdin closes).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return
    received: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def consume(settings: ConnectionSettings, options: ConsumerOptions) -> Report:
    """The report on every record in settings.topic; ConsumerError on any failure."""
    partitions = check_topic(settings)
    url = settings.schema_registry_url
    registry = registry_client(url, settings.registry_user_info)
    try:
        reader = (
            reader_schema_from_file(options.reader_schema_file)
            if options.reader_schema_file
            else latest_reader_schema(registry, url, settings.value_subject)
        )
    except SubjectNotRegistered:
        # A topic nobody has written to yet has no contract either: nothing to decode.
        if topic_is_empty(settings, partitions):
            return empty_report(settings, options)
        raise
    writers = subject_writer_schemas(registry, url, settings.value_subject)
    try:
        with interrupts_held_while_spark_starts():
            spark = build_spark_session(master=options.master)
        min_partitions = options.min_partitions or max(
            partitions, spark.sparkContext.defaultParallelism
        )
        return analyse(
            read_topic(spark, settings, min_partitions),
            topic=settings.topic,
            writers=writers,
            writer_lookup=lambda ids: writer_schemas(registry, url, ids),
            reader_schema=reader.schema,
            reader_source=reader.source,
            z_threshold=options.z_threshold,
            histogram_bins=options.histogram_bins,
        )
    except ConnectorJarsMissing as error:
        raise ConsumerError(str(error)) from None
    except (PySparkException, Py4JError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise ConsumerError(f"Spark job failed: {first_line}") from None
