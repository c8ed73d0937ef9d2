"""The consumer in-process against the real stack: statistics, outliers, schema versions,
undecodable records, empty topics, the JSON shape.

Every test reuses the session's SparkSession (consume() picks it up through getOrCreate);
the real CLI runs as a subprocess only in test_consumer_cli.py.
"""

from __future__ import annotations

import json
import os
import statistics
import struct
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from connection.settings import ConnectionSettings
from consumer.decoding import decode_frames
from consumer.framing import (
    NULL_VALUE,
    TOO_SHORT,
    UNDECODABLE,
    UNKNOWN_SCHEMA_ID,
    WRONG_MAGIC_BYTE,
    split_frames,
)
from consumer.render import report_document
from consumer.report import Report
from consumer.run import ConsumerOptions, consume
from consumer.schemas import latest_reader_schema, writer_schemas
from consumer.source import read_topic
from producer.contract import DEFAULT_SCHEMA_FILE
from producer.events import GeneratorPlan, PriceEvent, anomaly_positions, generate_events
from producer.run import ProducerOptions, produce

pytestmark = [pytest.mark.integration, pytest.mark.spark]

REPO_ROOT = Path(__file__).resolve().parent.parent
V2_SCHEMA_FILE = REPO_ROOT / "tests" / "data" / "prices-value-v2.avsc"
REPORT_SCHEMA = json.loads((REPO_ROOT / "consumer" / "report.schema.json").read_text())
START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
SEEDED_PLAN = GeneratorPlan(count=5000, seed=20261127, start=START, anomalies=12)
Z_THRESHOLD = 3.0
LOCAL = ConsumerOptions(master="local[2]")


@dataclass(frozen=True)
class Expected:
    """Statistics and outliers computed in plain Python, independently of Spark."""

    count: int
    statistics: dict[str, tuple[int, float, float, float, float]]
    outliers: set[tuple[datetime, str, float]]


def expected_from(events: Iterable[PriceEvent], z_threshold: float = Z_THRESHOLD) -> Expected:
    events = list(events)
    prices: dict[str, list[float]] = defaultdict(list)
    for event in events:
        prices[event.symbol].append(event.price)
    stats = {
        symbol: (len(p), min(p), max(p), statistics.mean(p), statistics.stdev(p))
        for symbol, p in prices.items()
    }
    outliers = {
        (e.ts, e.symbol, e.price)
        for e in events
        if abs(e.price - stats[e.symbol][3]) / stats[e.symbol][4] > z_threshold
    }
    return Expected(count=len(events), statistics=stats, outliers=outliers)


def assert_report_matches(report: Report, expected: Expected) -> None:
    assert report.decoded == expected.count
    actual = {s.symbol: s for s in report.statistics}
    assert sorted(actual) == sorted(expected.statistics)
    for symbol, (count, low, high, mean, stdev) in expected.statistics.items():
        got = actual[symbol]
        assert (got.count, got.min, got.max) == (count, low, high), symbol
        assert got.mean == pytest.approx(mean, rel=0, abs=1e-9), symbol
        assert got.stddev == pytest.approx(stdev, rel=0, abs=1e-9), symbol
    assert {(o.ts, o.symbol, o.price) for o in report.outliers} == expected.outliers


def settings_for(stack: dict[str, str], topic: str) -> ConnectionSettings:
    return ConnectionSettings(
        bootstrap_servers=stack["KAFKA_BOOTSTRAP_SERVERS"],
        schema_registry_url=stack["SCHEMA_REGISTRY_URL"],
        topic=topic,
    )


def produce_plan(
    settings: ConnectionSettings,
    plan: GeneratorPlan,
    schema_file: Path = DEFAULT_SCHEMA_FILE,
    partitions: int = 3,
) -> int:
    """Send plan's events with the real producer; the value schema id they carry."""
    options = ProducerOptions(plan=plan, schema_file=schema_file, partitions=partitions)
    return produce(settings, options).schema_id


@pytest.fixture(scope="module")
def seeded(stack: dict[str, str], spark: SparkSession) -> tuple[ConnectionSettings, Report]:
    """A 5000-event seeded run with anomalies (3 partitions), and the consumer's report."""
    settings = settings_for(stack, f"test-consumer-{uuid.uuid4().hex[:12]}")
    produce_plan(settings, SEEDED_PLAN)
    return settings, consume(settings, LOCAL)


def test_statistics_equal_an_independent_python_computation(
    seeded: tuple[ConnectionSettings, Report],
) -> None:
    _, report = seeded
    assert report.messages == SEEDED_PLAN.count
    assert report.undecodable == []
    assert_report_matches(report, expected_from(generate_events(SEEDED_PLAN)))


def test_outliers_are_in_time_order_with_their_z_scores(
    seeded: tuple[ConnectionSettings, Report],
) -> None:
    _, report = seeded
    assert [o.ts for o in report.outliers] == sorted(o.ts for o in report.outliers)
    stats = {s.symbol: s for s in report.statistics}
    for outlier in report.outliers:
        s = stats[outlier.symbol]
        assert s.stddev is not None
        assert outlier.z == pytest.approx((outlier.price - s.mean) / s.stddev, abs=1e-9)
        assert abs(outlier.z) > Z_THRESHOLD


def test_every_injected_anomaly_is_reported(seeded: tuple[ConnectionSettings, Report]) -> None:
    _, report = seeded
    events = list(generate_events(SEEDED_PLAN))
    injected = {
        (events[i].ts, events[i].symbol, events[i].price) for i in anomaly_positions(SEEDED_PLAN)
    }
    assert len(injected) == SEEDED_PLAN.anomalies
    assert injected <= {(o.ts, o.symbol, o.price) for o in report.outliers}


def test_report_document_validates_against_the_documented_schema(
    seeded: tuple[ConnectionSettings, Report],
) -> None:
    _, report = seeded
    document = report_document(report)
    jsonschema.validate(json.loads(json.dumps(document)), REPORT_SCHEMA)
    assert document["stddev"] == "sample"


def test_outlier_timestamps_are_utc_whatever_the_driver_time_zone(
    seeded: tuple[ConnectionSettings, Report], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, utc_report = seeded
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        report = consume(settings, LOCAL)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert report.outliers == utc_report.outliers


def test_empty_topic_reports_zero_messages(
    settings: ConnectionSettings, registry: SchemaRegistryClient, spark: SparkSession
) -> None:
    # The subject is registered, so the run goes through Spark (the CLI tests cover an
    # empty topic without a subject, which is answered before Spark starts).
    schema = Schema(DEFAULT_SCHEMA_FILE.read_text(), "AVRO")
    registry.register_schema(settings.value_subject, schema)
    report = consume(settings, LOCAL)
    assert (report.messages, report.decoded) == (0, 0)
    assert (report.statistics, report.outliers, report.undecodable) == ([], [], [])
    jsonschema.validate(report_document(report), REPORT_SCHEMA)


# --- two schema versions in one topic -------------------------------------------------

V1_PLAN = GeneratorPlan(count=300, seed=1, start=START)
V2_PLAN = GeneratorPlan(count=200, seed=2, start=START + timedelta(hours=1))
V2_EXCHANGES = ("XNAS", "XNYS")


def v2_events_with_exchange(
    settings: ConnectionSettings, registry: SchemaRegistryClient
) -> list[dict[str, object]]:
    """A few v2 records with the new field set (the producer never sets it): written with
    the v2 schema through a registry-bound serializer, like any v2 producer would."""
    serializer = AvroSerializer(
        registry,
        Schema(V2_SCHEMA_FILE.read_text(), "AVRO"),
        conf={"auto.register.schemas": False, "use.latest.version": True},
    )
    context = SerializationContext(settings.topic, MessageField.VALUE)
    records: list[dict[str, object]] = [
        {
            "ts": START + timedelta(hours=2, seconds=i),
            "symbol": "AAPL",
            "price": 200.0 + i,
            "exchange": V2_EXCHANGES[i % 2],
        }
        for i in range(4)
    ]
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    for record in records:
        producer.produce(settings.topic, value=serializer(record, context))
    assert producer.flush(30) == 0
    return records


@pytest.fixture(scope="module")
def two_versions(
    stack: dict[str, str], registry: SchemaRegistryClient
) -> tuple[ConnectionSettings, list[dict[str, object]]]:
    """A topic with v1 events, then v2 events (exchange null), then v2 with exchange set."""
    settings = settings_for(stack, f"test-consumer-v2-{uuid.uuid4().hex[:12]}")
    v1_id = produce_plan(settings, V1_PLAN, partitions=1)  # one partition: offsets in order
    v2_id = produce_plan(settings, V2_PLAN, V2_SCHEMA_FILE)
    assert v1_id != v2_id
    with_exchange = v2_events_with_exchange(settings, registry)
    return settings, with_exchange


def test_topic_with_v1_and_v2_events_decodes_every_record(
    two_versions: tuple[ConnectionSettings, list[dict[str, object]]], spark: SparkSession
) -> None:
    settings, with_exchange = two_versions
    report = consume(settings, LOCAL)
    assert "version 2" in report.reader_schema
    assert len(report.writer_schema_ids) == 2
    assert report.messages == report.decoded == V1_PLAN.count + V2_PLAN.count + len(with_exchange)
    assert report.undecodable == []
    events = [
        *generate_events(V1_PLAN),
        *generate_events(V2_PLAN),
        *(PriceEvent(ts=r["ts"], symbol="AAPL", price=r["price"]) for r in with_exchange),  # type: ignore[arg-type]
    ]
    assert_report_matches(report, expected_from(events))


def test_v2_only_field_is_null_for_v1_records_and_kept_for_v2_records(
    two_versions: tuple[ConnectionSettings, list[dict[str, object]]],
    registry: SchemaRegistryClient,
    spark: SparkSession,
) -> None:
    settings, with_exchange = two_versions
    url = settings.schema_registry_url
    reader = latest_reader_schema(registry, url, settings.value_subject)
    frames = split_frames(read_topic(spark, settings, min_partitions=2))
    ids = [r.schema_id for r in frames.select("schema_id").distinct().collect()]
    decoded = decode_frames(frames, writer_schemas(registry, url, ids), reader.schema)
    rows = (
        decoded.select(
            "offset",
            "reason",
            F.unix_millis("event.ts").alias("ms"),
            "event.symbol",
            "event.price",
            "event.exchange",
        )
        .orderBy("offset")
        .collect()
    )
    events = [*generate_events(V1_PLAN), *generate_events(V2_PLAN)]
    assert len(rows) == len(events) + len(with_exchange)
    for row, event in zip(rows, events, strict=False):
        assert row.reason is None
        assert (row.ms, row.symbol, row.price) == (
            int(event.ts.timestamp() * 1000),
            event.symbol,
            event.price,
        )
        assert row.exchange is None
    assert [row.exchange for row in rows[len(events) :]] == [r["exchange"] for r in with_exchange]


def test_v1_reader_schema_file_reads_v2_records_too(
    two_versions: tuple[ConnectionSettings, list[dict[str, object]]], spark: SparkSession
) -> None:
    settings, with_exchange = two_versions
    report = consume(
        settings, ConsumerOptions(master="local[2]", reader_schema_file=DEFAULT_SCHEMA_FILE)
    )
    assert report.reader_schema == str(DEFAULT_SCHEMA_FILE)
    assert report.decoded == V1_PLAN.count + V2_PLAN.count + len(with_exchange)


# --- good events and bad records in one topic -------------------------------------------

GOOD_PLAN = GeneratorPlan(count=1000, seed=3, start=START, anomalies=2)
UNKNOWN_ID = 0x7FFF_FFF0  # far beyond any id the shared registry hands out


def bad_records(good_value: bytes, other_schema_id: int) -> dict[str, list[bytes | None]]:
    """Records of each kind the consumer must count instead of decoding, by reason.

    Different counts per kind, so a mix-up between reasons shows.
    """
    header, body = good_value[:5], good_value[5:]
    return {
        NULL_VALUE: [None] * 2,
        TOO_SHORT: [os.urandom(3) for _ in range(3)] + [b"", b"\x00\x00\x00\x01"],
        WRONG_MAGIC_BYTE: [b"\x01" + good_value[1:], b"\xff" + good_value[1:], b'{"ts": 1}'],
        UNKNOWN_SCHEMA_ID: [b"\x00" + struct.pack(">I", UNKNOWN_ID) + body] * 4,
        UNDECODABLE: [
            *(header + body[:n] for n in (0, 1, 3, 7, 10)),  # valid header, truncated body
            # framed with a registered id of another schema (a string): no resolution
            b"\x00" + struct.pack(">I", other_schema_id) + b"\x06abc",
        ],
    }


@pytest.fixture(scope="module")
def good_and_bad(
    stack: dict[str, str], registry: SchemaRegistryClient
) -> tuple[ConnectionSettings, dict[str, list[bytes | None]]]:
    """A one-partition topic: GOOD_PLAN's events, then the bad records, reason by reason."""
    settings = settings_for(stack, f"test-consumer-bad-{uuid.uuid4().hex[:12]}")
    produce_plan(settings, GOOD_PLAN, partitions=1)
    key_id = registry.get_latest_version(f"{settings.topic}-key").schema_id  # "string"
    bad = bad_records(first_value(settings), key_id)
    producer = Producer(
        {"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True}
    )
    for values in bad.values():
        for value in values:
            producer.produce(settings.topic, value=value)
    assert producer.flush(30) == 0
    return settings, bad


def first_value(settings: ConnectionSettings) -> bytes:
    consumer = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers, "group.id": uuid.uuid4().hex}
    )
    consumer.assign([TopicPartition(settings.topic, 0, OFFSET_BEGINNING)])
    try:
        (message,) = consumer.consume(1, timeout=10)
    finally:
        consumer.close()
    value = message.value()
    assert value is not None
    return value


def test_bad_records_are_counted_by_reason_and_left_out_of_the_statistics(
    good_and_bad: tuple[ConnectionSettings, dict[str, list[bytes | None]]], spark: SparkSession
) -> None:
    settings, bad = good_and_bad
    report = consume(settings, LOCAL)
    bad_total = sum(len(values) for values in bad.values())
    assert report.messages == GOOD_PLAN.count + bad_total
    assert {u.reason: u.count for u in report.undecodable} == {
        reason: len(values) for reason, values in bad.items()
    }
    assert_report_matches(report, expected_from(generate_events(GOOD_PLAN)))
    jsonschema.validate(report_document(report), REPORT_SCHEMA)


def test_undecodable_examples_are_the_first_three_offsets_of_each_reason(
    good_and_bad: tuple[ConnectionSettings, dict[str, list[bytes | None]]], spark: SparkSession
) -> None:
    settings, bad = good_and_bad
    report = consume(settings, LOCAL)
    expected, offset = {}, GOOD_PLAN.count  # bad records follow the good ones, in order
    for reason, values in bad.items():
        expected[reason] = [(0, offset + i) for i in range(min(3, len(values)))]
        offset += len(values)
    assert {
        u.reason: [(e.partition, e.offset) for e in u.examples] for u in report.undecodable
    } == expected


# --- records written under another subject -------------------------------------------

OTHER_SUBJECT_PLAN = GeneratorPlan(count=200, seed=4, start=START)


@pytest.fixture(scope="module")
def other_subject(
    stack: dict[str, str], registry: SchemaRegistryClient
) -> tuple[ConnectionSettings, int]:
    """A topic whose subject has only the v2 schema, holding events written with the v1
    contract registered under another subject (so their id is not among the topic
    subject's versions), then records with an id the registry does not know."""
    settings = settings_for(stack, f"test-consumer-subject-{uuid.uuid4().hex[:12]}")
    registry.register_schema(settings.value_subject, Schema(V2_SCHEMA_FILE.read_text(), "AVRO"))
    other_subject = f"{settings.topic}-other-value"
    serializer = AvroSerializer(
        registry,
        Schema(DEFAULT_SCHEMA_FILE.read_text(), "AVRO"),
        conf={"subject.name.strategy": lambda _context, _record_name: other_subject},
    )
    context = SerializationContext(settings.topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    for event in generate_events(OTHER_SUBJECT_PLAN):
        record = {"ts": event.ts, "symbol": event.symbol, "price": event.price, "currency": "USD"}
        producer.produce(settings.topic, value=serializer(record, context))
    for _ in range(2):
        producer.produce(settings.topic, value=b"\x00" + struct.pack(">I", UNKNOWN_ID) + b"\x02")
    assert producer.flush(30) == 0
    other_id = registry.get_latest_version(other_subject).schema_id
    subject_ids = {
        registry.get_version(settings.value_subject, v).schema_id
        for v in registry.get_versions(settings.value_subject)
    }
    assert other_id is not None and other_id not in subject_ids
    return settings, other_id


def test_records_with_an_id_of_another_subject_decode_and_unknown_ids_are_counted(
    other_subject: tuple[ConnectionSettings, int], spark: SparkSession
) -> None:
    settings, other_id = other_subject
    report = consume(settings, LOCAL)
    assert report.messages == OTHER_SUBJECT_PLAN.count + 2
    assert report.writer_schema_ids == [other_id]  # the ids seen, not every version
    assert [(u.reason, u.count) for u in report.undecodable] == [(UNKNOWN_SCHEMA_ID, 2)]
    assert_report_matches(report, expected_from(generate_events(OTHER_SUBJECT_PLAN)))
