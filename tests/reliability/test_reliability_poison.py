"""Poison records at scale: 100,000 good events mixed with 10,000 bad records of every kind.

The consumer must finish, count every bad record under its reason, and report exactly
the statistics of the good events alone. The framing parser itself is checked against a
plain-Python wire-format reference on arbitrary bytes (hypothesis) in tests/test_framing.py.
"""

from __future__ import annotations

import random
import statistics
import struct
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timezone

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from pyspark.sql import SparkSession

from connection.paths import CONTRACT_FILE
from connection.services import Clients
from connection.settings import ConnectionSettings, RegistrySettings
from consumer.batch import ConsumerOptions, consume
from consumer.framing import NULL_VALUE, TOO_SHORT, UNDECODABLE, UNKNOWN_SCHEMA_ID, WRONG_MAGIC_BYTE
from consumer.report import Report
from producer.events import GeneratorPlan, PriceEvent, generate_events
from producer.run import ProducerOptions, produce

pytestmark = [pytest.mark.reliability, pytest.mark.integration, pytest.mark.spark]

START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
# Good events in two runs, bad records before, between and after them.
FIRST_GOOD = GeneratorPlan(count=50_000, seed=8_001, start=START, anomalies=5)
SECOND_GOOD = GeneratorPlan(count=50_000, seed=8_002, start=START, anomalies=5)
PARTITIONS = 3
OVERSIZED_BYTES = 900 * 1024
# Bad records by kind (10,000 in all): different counts, so a mix-up between kinds shows.
KIND_COUNTS = {
    "random_bytes": 3000,
    "wrong_magic_byte": 2000,
    "unknown_schema_id": 1900,
    "truncated_header": 500,
    "truncated_body": 1600,
    "null_value": 980,
    "oversized_framed": 10,
    "oversized_unframed": 10,
}
FIRST_UNKNOWN_ID = 1 << 30  # far beyond any id the shared registry hands out


def random_bytes(rng: random.Random) -> bytes:
    """Arbitrary bytes, except a frame that would point at a registered schema id: such
    bytes are indistinguishable from a real event (Avro carries no checksum)."""
    while True:
        value = rng.randbytes(rng.randrange(0, 200))
        if not (len(value) >= 5 and value[0] == 0 and struct.unpack(">I", value[1:5])[0] < 1 << 24):
            return value


def bad_record(kind: str, rng: random.Random, good: bytes) -> bytes | None:
    """One bad record of the given kind, derived from a good value where that helps."""
    header, body = good[:5], good[5:]
    if kind == "random_bytes":
        return random_bytes(rng)
    if kind == "wrong_magic_byte":
        return bytes([rng.randrange(1, 256)]) + good[1:]
    if kind == "unknown_schema_id":
        unknown = FIRST_UNKNOWN_ID + rng.randrange(1 << 20)
        return b"\x00" + struct.pack(">I", unknown) + body
    if kind == "truncated_header":
        return good[: rng.randrange(0, 5)]
    if kind == "truncated_body":
        return header + body[: rng.randrange(0, len(body))]
    if kind == "null_value":
        return None
    if kind == "oversized_framed":  # a registered id, then a varint that never ends
        return header + b"\xff" * OVERSIZED_BYTES
    if kind == "oversized_unframed":  # e.g. a JSON document written to the wrong topic
        return b'{"blob": "' + b"x" * OVERSIZED_BYTES + b'"}'
    raise ValueError(kind)


def expected_reason(kind: str, value: bytes | None) -> str:
    """The consumer's reason for a bad record, from the wire format alone."""
    if value is None:
        return NULL_VALUE
    if len(value) < 5:
        return TOO_SHORT
    if value[0] != 0:
        return WRONG_MAGIC_BYTE
    if kind in ("random_bytes", "unknown_schema_id"):
        return UNKNOWN_SCHEMA_ID
    return UNDECODABLE  # a registered id with a body that is not an event


def good_values(settings: ConnectionSettings, count: int) -> list[bytes]:
    """The first values of partition-by-partition reads of the topic (real events)."""
    consumer = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers, "group.id": uuid.uuid4().hex}
    )
    consumer.assign(
        [TopicPartition(settings.topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)]
    )
    try:
        values = [m.value() for m in consumer.consume(count, timeout=10) if m.error() is None]
    finally:
        consumer.close()
    return [value for value in values if value is not None]


def write_bad_records(
    settings: ConnectionSettings, records: Iterable[bytes | None], rng: random.Random
) -> None:
    producer = Producer(
        {"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True}
    )
    for value in records:
        while True:
            try:
                producer.produce(settings.topic, value=value, partition=rng.randrange(PARTITIONS))
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0


@pytest.fixture(scope="module")
def poisoned(
    stack: dict[str, str], spark: SparkSession
) -> tuple[Counter[str], list[PriceEvent], Report]:
    """The topic, written as bad / good / bad / good / bad, and the consumer's report."""
    settings = ConnectionSettings(
        stack["KAFKA_BOOTSTRAP_SERVERS"],
        RegistrySettings(stack["SCHEMA_REGISTRY_URL"]),
        f"test-reliability-poison-{uuid.uuid4().hex[:12]}",
    )
    rng = random.Random(20261127)
    produce(settings, ProducerOptions(FIRST_GOOD, CONTRACT_FILE, partitions=PARTITIONS))
    samples = good_values(settings, 100)
    assert samples
    kinds = [kind for kind, count in KIND_COUNTS.items() for _ in range(count)]
    rng.shuffle(kinds)
    bad = [(kind, bad_record(kind, rng, rng.choice(samples))) for kind in kinds]
    thirds = [
        bad[: len(bad) // 3],
        bad[len(bad) // 3 : 2 * len(bad) // 3],
        bad[2 * len(bad) // 3 :],
    ]
    write_bad_records(settings, (value for _, value in thirds[0]), rng)
    produce(settings, ProducerOptions(SECOND_GOOD, CONTRACT_FILE))
    write_bad_records(settings, (value for _, value in thirds[1] + thirds[2]), rng)

    reasons = Counter(expected_reason(kind, value) for kind, value in bad)
    good = [*generate_events(FIRST_GOOD), *generate_events(SECOND_GOOD)]
    return reasons, good, consume(spark, Clients.of(settings), settings, ConsumerOptions())


def test_consumer_reads_every_record_of_a_poisoned_topic(
    poisoned: tuple[Counter[str], list[PriceEvent], Report],
) -> None:
    _, good, report = poisoned
    assert report.messages == len(good) + sum(KIND_COUNTS.values()) == 110_000
    assert report.decoded == len(good)


def test_every_bad_record_is_counted_under_its_reason(
    poisoned: tuple[Counter[str], list[PriceEvent], Report],
) -> None:
    reasons, _, report = poisoned
    assert {u.reason: u.count for u in report.undecodable} == reasons
    assert set(reasons) == {NULL_VALUE, TOO_SHORT, WRONG_MAGIC_BYTE, UNKNOWN_SCHEMA_ID, UNDECODABLE}


def test_statistics_equal_those_of_the_good_events_alone(
    poisoned: tuple[Counter[str], list[PriceEvent], Report],
) -> None:
    _, good, report = poisoned
    prices: dict[str, list[float]] = defaultdict(list)
    for event in good:
        prices[event.symbol].append(event.price)
    actual = {s.symbol: s for s in report.statistics}
    assert sorted(actual) == sorted(prices)
    for symbol, values in prices.items():
        got = actual[symbol]
        assert (got.count, got.min, got.max) == (len(values), min(values), max(values))
        assert got.mean == pytest.approx(statistics.fmean(values), rel=0, abs=1e-9)
        assert got.stddev == pytest.approx(statistics.stdev(values), rel=0, abs=1e-9)
    means = {symbol: statistics.fmean(values) for symbol, values in prices.items()}
    stdevs = {symbol: statistics.stdev(values) for symbol, values in prices.items()}
    outliers = {
        (e.ts, e.symbol, e.price)
        for e in good
        if abs(e.price - means[e.symbol]) / stdevs[e.symbol] > report.z_threshold
    }
    assert {(o.ts, o.symbol, o.price) for o in report.outliers} == outliers
