"""The plain-Python consumer baseline: confluent-kafka Consumer + AvroDeserializer +
the statistics module, reading the whole topic once and keeping prices compactly."""

from __future__ import annotations

import statistics
import time
import uuid
from array import array
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from benchmarks.machine import load_average
from benchmarks.results import PLAIN_PYTHON, ConsumerRun
from connection.clients import registry_client
from connection.defaults import DEFAULTS
from connection.kafka import BROKER_TIMEOUT_S, silent_librdkafka_logger
from connection.settings import ConnectionSettings

BATCH = 10_000
Z_THRESHOLD = DEFAULTS.z_threshold


@dataclass
class SymbolSeries:
    """One symbol's prices and their timestamps (epoch ms), 16 bytes per event."""

    prices: array[float] = field(default_factory=lambda: array("d"))
    times: array[int] = field(default_factory=lambda: array("q"))


@dataclass(frozen=True)
class PlainReport:
    messages: int
    statistics: dict[str, tuple[float, float, float, float]]  # min, max, mean, stdev
    outliers: list[tuple[int, str, float, float]]  # ts ms, symbol, price, z


def read_all(settings: ConnectionSettings) -> tuple[int, dict[str, SymbolSeries]]:
    """Every record of the topic, decoded, grouped by symbol."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"bench-plain-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "logger": silent_librdkafka_logger(),
        }
    )
    deserializer = AvroDeserializer(registry_client(settings.registry))
    context = SerializationContext(settings.topic, MessageField.VALUE)
    topic = consumer.list_topics(settings.topic, timeout=BROKER_TIMEOUT_S).topics[settings.topic]
    ends = {
        p: consumer.get_watermark_offsets(TopicPartition(settings.topic, p))[1]
        for p in topic.partitions
    }
    consumer.assign([TopicPartition(settings.topic, p, OFFSET_BEGINNING) for p in ends])
    pending = {p for p, end in ends.items() if end > 0}
    series: dict[str, SymbolSeries] = {}
    messages = 0
    try:
        while pending:
            for message in consumer.consume(BATCH, timeout=1.0):
                error = message.error()
                if error is not None:
                    raise RuntimeError(error.str())
                record = deserializer(message.value(), context)
                data = series.get(record["symbol"])
                if data is None:
                    data = series[record["symbol"]] = SymbolSeries()
                data.prices.append(record["price"])
                data.times.append(int(record["ts"].timestamp() * 1000))
                messages += 1
                if message.offset() == ends[message.partition()] - 1:
                    pending.discard(message.partition())
    finally:
        consumer.close()
    return messages, series


def analyse_plain(messages: int, series: dict[str, SymbolSeries]) -> PlainReport:
    stats: dict[str, tuple[float, float, float, float]] = {}
    outliers: list[tuple[int, str, float, float]] = []
    for symbol, data in sorted(series.items()):
        mean = statistics.fmean(data.prices)
        stdev = statistics.stdev(data.prices, mean) if len(data.prices) > 1 else 0.0
        stats[symbol] = (min(data.prices), max(data.prices), mean, stdev)
        if stdev > 0:
            for ts, price in zip(data.times, data.prices, strict=True):
                z = (price - mean) / stdev
                if abs(z) > Z_THRESHOLD:
                    outliers.append((ts, symbol, price, z))
    outliers.sort()
    return PlainReport(messages, stats, outliers)


def time_plain_python(settings: ConnectionSettings, events: int) -> ConsumerRun:
    started = time.perf_counter()
    report = analyse_plain(*read_all(settings))
    seconds = time.perf_counter() - started
    if report.messages != events:
        raise RuntimeError(f"{settings.topic}: read {report.messages}, expected {events}")
    return ConsumerRun(PLAIN_PYTHON, events, seconds, load_average())
