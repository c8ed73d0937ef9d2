"""The consumer in-process against the real stack: statistics, outliers, schema versions,
undecodable records, empty topics, the JSON shape.

Every test passes the session's SparkSession to consume(); the real CLI runs as a
subprocess only in test_consumer_cli.py.
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
from types import SimpleNamespace
from typing import cast

import jsonschema
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from connection.defaults import DEFAULTS
from connection.paths import CONTRACT_FILE
from connection.services import Clients
from connection.settings import ConnectionSettings, RegistrySettings
from consumer.batch import CheckedTopic, ConsumerOptions, consume, read_min_partitions
from consumer.decoding import decoded_records
from consumer.framing import (
    NULL_VALUE,
    TOO_SHORT,
    UNDECODABLE,
    UNKNOWN_SCHEMA_ID,
    WRONG_MAGIC_BYTE,
)
from consumer.report import Report
from consumer.source import OffsetRange, read_topic
from consumer.views.json import REPORT_SCHEMA_FILE, report_document
from consumer.views.plot import draw_report
from consumer.views.text import render_text
from contract.schemas import topic_contract
from producer.events import GeneratorPlan, PriceEvent, anomaly_positions, generate_events
from producer.run import ProducerOptions, produce

pytestmark = [pytest.mark.integration, pytest.mark.spark]

REPORT_SCHEMA = json.loads(REPORT_SCHEMA_FILE.read_text())
START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
SEEDED_PLAN = GeneratorPlan(count=5000, seed=20261127, start=START, anomalies=12)
Z_THRESHOLD = 3.0
LOCAL = ConsumerOptions()

Group = tuple[str, str | None]  # (symbol, currency)


@dataclass(frozen=True)
class Expected:
    """Statistics and outliers computed in plain Python, independently of Spark."""

    count: int
    statistics: dict[Group, tuple[int, float, float, float, float]]
    outliers: set[tuple[datetime, str, str | None, float]]


def expected_from(
    events: Iterable[PriceEvent], z_threshold: float = Z_THRESHOLD, by_currency: bool = True
) -> Expected:
    """by_currency False: what a reader without the currency field sees (currency None)."""
    events = list(events)

    def group(event: PriceEvent) -> Group:
        return (event.symbol, event.currency if by_currency else None)

    prices: dict[Group, list[float]] = defaultdict(list)
    for event in events:
        prices[group(event)].append(event.price)
    stats = {
        key: (len(p), min(p), max(p), statistics.mean(p), statistics.stdev(p))
        for key, p in prices.items()
    }
    outliers = {
        (e.ts, *group(e), e.price)
        for e in events
        if abs(e.price - stats[group(e)][3]) / stats[group(e)][4] > z_threshold
    }
    return Expected(count=len(events), statistics=stats, outliers=outliers)  # type: ignore[arg-type]


def assert_report_matches(report: Report, expected: Expected) -> None:
    assert report.decoded == expected.count
    actual = {(s.symbol, s.currency): s for s in report.statistics}
    assert sorted(actual, key=str) == sorted(expected.statistics, key=str)
    for key, (count, low, high, mean, stdev) in expected.statistics.items():
        got = actual[key]
        assert (got.count, got.min, got.max) == (count, low, high), key
        assert got.mean == pytest.approx(mean, rel=0, abs=1e-9), key
        assert got.stddev == pytest.approx(stdev, rel=0, abs=1e-9), key
    assert {(o.ts, o.symbol, o.currency, o.price) for o in report.outliers} == expected.outliers


def settings_for(stack: dict[str, str], topic: str) -> ConnectionSettings:
    return ConnectionSettings(
        bootstrap_servers=stack["KAFKA_BOOTSTRAP_SERVERS"],
        registry=RegistrySettings(stack["SCHEMA_REGISTRY_URL"]),
        topic=topic,
    )


def produce_plan(
    settings: ConnectionSettings,
    plan: GeneratorPlan,
    schema_file: Path = CONTRACT_FILE,
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
    return settings, consume(spark, Clients.of(settings), settings, LOCAL)


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
    stats = {(s.symbol, s.currency): s for s in report.statistics}
    for outlier in report.outliers:
        s = stats[(outlier.symbol, outlier.currency)]
        assert s.stddev is not None
        assert outlier.z == pytest.approx((outlier.price - s.mean) / s.stddev, abs=1e-9)
        assert abs(outlier.z) > Z_THRESHOLD


def test_every_injected_anomaly_is_reported(seeded: tuple[ConnectionSettings, Report]) -> None:
    _, report = seeded
    events = list(generate_events(SEEDED_PLAN))
    injected = {
        (events[i].ts, events[i].symbol, events[i].currency, events[i].price)
        for i in anomaly_positions(SEEDED_PLAN)
    }
    assert len(injected) == SEEDED_PLAN.anomalies
    assert injected <= {(o.ts, o.symbol, o.currency, o.price) for o in report.outliers}


def test_report_document_validates_against_the_documented_schema(
    seeded: tuple[ConnectionSettings, Report],
) -> None:
    _, report = seeded
    document = report_document(report)
    jsonschema.validate(json.loads(json.dumps(document)), REPORT_SCHEMA)
    assert document["stddev"] == "sample"


def test_outlier_timestamps_are_utc_whatever_the_driver_time_zone(
    seeded: tuple[ConnectionSettings, Report],
    monkeypatch: pytest.MonkeyPatch,
    spark: SparkSession,
) -> None:
    settings, utc_report = seeded
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        report = consume(spark, Clients.of(settings), settings, LOCAL)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert report.outliers == utc_report.outliers


def test_empty_topic_reports_zero_messages(
    settings: ConnectionSettings, registry: SchemaRegistryClient, spark: SparkSession
) -> None:
    # The subject is registered, so the run goes through Spark (the CLI tests cover an
    # empty topic without a subject, which is answered before Spark starts).
    schema = Schema(CONTRACT_FILE.read_text(), "AVRO")
    registry.register_schema(settings.value_subject, schema)
    report = consume(spark, Clients.of(settings), settings, LOCAL)
    assert (report.messages, report.decoded) == (0, 0)
    assert (report.statistics, report.outliers, report.undecodable) == ([], [], [])
    jsonschema.validate(report_document(report), REPORT_SCHEMA)


# --- the contract's two versions in one topic -------------------------------------------

V1_PLAN = GeneratorPlan(count=1500, seed=1, start=START)
V2_USD_PLAN = GeneratorPlan(count=1000, seed=2, start=START + timedelta(hours=1))
V2_EUR_PLAN = GeneratorPlan(
    count=1000, seed=3, start=START + timedelta(hours=2), anomalies=3, currencies=("EUR",)
)
TWO_VERSION_PLANS = (V1_PLAN, V2_USD_PLAN, V2_EUR_PLAN)


@pytest.fixture(scope="module")
def two_versions(stack: dict[str, str]) -> ConnectionSettings:
    """One partition (offsets in order): v1 events (no currency field), then v2 events in
    USD, then v2 events in EUR, for the same symbols, each written by the real producer."""
    settings = settings_for(stack, f"test-consumer-v2-{uuid.uuid4().hex[:12]}")
    v1_id = produce_plan(settings, V1_PLAN, V1_SCHEMA_FILE, partitions=1)
    v2_id = produce_plan(settings, V2_USD_PLAN, V2_SCHEMA_FILE)
    assert produce_plan(settings, V2_EUR_PLAN, V2_SCHEMA_FILE) == v2_id != v1_id
    return settings


def test_v1_and_v2_events_in_usd_and_eur_give_per_currency_groups_equal_to_python(
    two_versions: ConnectionSettings, spark: SparkSession
) -> None:
    report = consume(spark, Clients.of(two_versions), two_versions, LOCAL)
    assert "version 2" in report.reader_schema
    assert len(report.writer_schema_ids) == 2
    assert report.messages == report.decoded == sum(plan.count for plan in TWO_VERSION_PLANS)
    assert report.undecodable == []
    events = [event for plan in TWO_VERSION_PLANS for event in generate_events(plan)]
    expected = expected_from(events)
    # v1 events are USD prices (the v1 contract says so) and join the v2 USD events.
    assert {currency for _, currency in expected.statistics} == {"USD", "EUR"}
    assert_report_matches(report, expected)
    assert any(o.currency == "EUR" for o in report.outliers)
    # the same groups in every view
    groups = sorted((s.symbol, s.currency) for s in report.statistics)
    document = report_document(report)
    jsonschema.validate(json.loads(json.dumps(document)), REPORT_SCHEMA)
    assert sorted((s["symbol"], s["currency"]) for s in document["statistics"]) == groups  # type: ignore[union-attr]
    text = render_text(report)
    for symbol, currency in groups:
        count = next(
            s.count for s in report.statistics if (s.symbol, s.currency) == (symbol, currency)
        )
        assert any(line.split()[:3] == [symbol, currency, str(count)] for line in text.splitlines())


def test_plot_of_a_mixed_topic_has_a_panel_per_group_labelled_with_its_currency(
    two_versions: ConnectionSettings, spark: SparkSession
) -> None:
    report = consume(
        spark, Clients.of(two_versions), two_versions, ConsumerOptions(histogram_bins=10)
    )
    figure = draw_report(report)
    labels = {
        axis.get_title(loc="left").split(":")[0]: axis.get_xlabel() for axis in figure.get_axes()
    }
    assert labels == {
        f"{s.symbol} in {s.currency}": f"price ({s.currency})" for s in report.statistics
    }
    assert sum(sum(h.counts) for h in report.histograms) == report.decoded


def test_currency_reads_as_usd_for_v1_records_through_the_reader_default(
    two_versions: ConnectionSettings, spark: SparkSession
) -> None:
    contract = topic_contract(
        Clients.of(two_versions).registry,
        two_versions.registry,
        two_versions.value_subject,
        None,
    )
    rows = (
        decoded_records(
            read_topic(spark, two_versions, min_partitions=2),
            contract.writers.known,
            contract.reader.schema,
        )
        .select("offset", "reason", F.unix_millis("ts").alias("ms"), "symbol", "price", "currency")
        .orderBy("offset")
        .collect()
    )
    events = [event for plan in TWO_VERSION_PLANS for event in generate_events(plan)]
    assert len(rows) == len(events)
    for row, event in zip(rows, events, strict=True):
        assert row.reason is None
        assert (row.ms, row.symbol, row.price, row.currency) == (
            int(event.ts.timestamp() * 1000),
            event.symbol,
            event.price,
            event.currency,
        )


def test_v1_reader_schema_file_reads_v2_records_by_symbol_alone(
    two_versions: ConnectionSettings, spark: SparkSession
) -> None:
    report = consume(
        spark,
        Clients.of(two_versions),
        two_versions,
        ConsumerOptions(reader_schema_file=V1_SCHEMA_FILE),
    )
    assert report.reader_schema == str(V1_SCHEMA_FILE)
    events = [event for plan in TWO_VERSION_PLANS for event in generate_events(plan)]
    assert_report_matches(report, expected_from(events, by_currency=False))


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
    report = consume(spark, Clients.of(settings), settings, LOCAL)
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
    report = consume(spark, Clients.of(settings), settings, LOCAL)
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
    schema registered under another subject (so their id is not among the topic
    subject's versions), then records with an id the registry does not know."""
    settings = settings_for(stack, f"test-consumer-subject-{uuid.uuid4().hex[:12]}")
    registry.register_schema(settings.value_subject, Schema(V2_SCHEMA_FILE.read_text(), "AVRO"))
    other_subject = f"{settings.topic}-other-value"
    serializer = AvroSerializer(
        registry,
        Schema(V1_SCHEMA_FILE.read_text(), "AVRO"),
        conf={"subject.name.strategy": lambda _context, _record_name: other_subject},
    )
    context = SerializationContext(settings.topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    for event in generate_events(OTHER_SUBJECT_PLAN):
        record = {"ts": event.ts, "symbol": event.symbol, "price": event.price}
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
    report = consume(spark, Clients.of(settings), settings, LOCAL)
    assert report.messages == OTHER_SUBJECT_PLAN.count + 2
    assert report.writer_schema_ids == [other_id]  # the ids seen, not every version
    assert [(u.reason, u.count) for u in report.undecodable] == [(UNKNOWN_SCHEMA_ID, 2)]
    assert_report_matches(report, expected_from(generate_events(OTHER_SUBJECT_PLAN)))


def test_min_partitions_one_task_per_kafka_partition_when_small_else_every_core() -> None:
    cores = 8
    spark = cast(
        SparkSession, SimpleNamespace(sparkContext=SimpleNamespace(defaultParallelism=cores))
    )

    def checked(records_per_partition: int) -> CheckedTopic:
        offsets = {p: OffsetRange(0, records_per_partition) for p in range(3)}
        return CheckedTopic(3, offsets, None)

    small, large = checked(10), checked(DEFAULTS.small_topic_records)
    assert small.small and not large.small
    assert read_min_partitions(spark, small, ConsumerOptions()) == 3
    assert read_min_partitions(spark, large, ConsumerOptions()) == cores
    assert read_min_partitions(spark, large, ConsumerOptions(min_partitions=5)) == 5
