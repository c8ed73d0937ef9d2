"""A topic across a breaking change, on the real stack: v1 and v2 (major none), then a
major 2 (docs/examples/major-2: ticker, price in cents) registered with its migration
rules, records of each written by confluent-kafka's AvroSerializer, plus poison and a v2
record whose migration up fails (a NaN price). Batch reads it as major 1 (the newest
version with the report's fields), exact per (symbol, currency); records and follow
read it through the same contract."""

from __future__ import annotations

import json
import math
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_runs import cli_env, run_cli
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE, V3_RULES_FILE, V3_SCHEMA_FILE
from pyspark.sql import SparkSession

from connection.paths import RULES_FILE
from connection.services import Clients
from connection.settings import ConnectionSettings, RegistrySettings
from consumer.batch import ConsumerOptions, consume
from consumer.views.json import REPORT_SCHEMA_FILE, report_document
from contract.reasons import MIGRATION_FAILED, WRONG_MAGIC_BYTE
from contract.registering import register_version
from contract.rules import RulesDocument, load_rules_document

pytestmark = [pytest.mark.integration, pytest.mark.spark]

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
POISON = b"not avro at all"


@dataclass(frozen=True)
class Written:
    settings: ConnectionSettings
    #: Each record as major 1 reads it: (symbol, currency, price); None for poison.
    as_major_1: list[tuple[str, str, float] | None]
    v3_id: int


def price_records() -> Iterator[tuple[str, dict[str, Any]]]:
    """(version, record) in topic order: v1, v2 in two currencies, major 2, then one v2
    record whose price is NaN."""
    for i in range(4):
        yield "v1", {"ts": T0 + timedelta(seconds=i), "symbol": "AAPL", "price": 100.25 + i}
    for i in range(4):
        ts = T0 + timedelta(minutes=1, seconds=i)
        yield "v2", {"ts": ts, "symbol": "AAPL", "price": 110.5 + i, "currency": "EUR"}
    for i in range(5):
        ts = T0 + timedelta(minutes=2, seconds=i)
        record = {"ts": ts, "ticker": "MSFT", "price_cents": 40_012 + i, "currency": "USD"}
        yield "v3", record
    for i in range(3):
        ts = T0 + timedelta(minutes=3, seconds=i)
        yield "v3", {"ts": ts, "ticker": "AAPL", "price_cents": 11_099 - i, "currency": "EUR"}
    nan = {"ts": T0 + timedelta(minutes=4), "symbol": "TSLA", "price": math.nan}
    yield "v2", {**nan, "currency": "USD"}


def as_major_1(version: str, record: dict[str, Any]) -> tuple[str, str, float]:
    if version == "v3":
        return record["ticker"], record["currency"], record["price_cents"] / 100
    return record["symbol"], record.get("currency", "USD"), record["price"]


@pytest.fixture(scope="module")
def written(stack: dict[str, str], registry: SchemaRegistryClient) -> Written:
    topic = f"test-major-{uuid.uuid4().hex[:12]}"
    settings = ConnectionSettings(
        bootstrap_servers=stack["KAFKA_BOOTSTRAP_SERVERS"],
        registry=RegistrySettings(stack["SCHEMA_REGISTRY_URL"]),
        topic=topic,
    )
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(30)
    subject = settings.value_subject
    shipped = load_rules_document(RULES_FILE)
    register_version(
        registry, settings.registry, subject, V1_SCHEMA_FILE.read_text(), RulesDocument()
    )
    register_version(registry, settings.registry, subject, V2_SCHEMA_FILE.read_text(), shipped)
    major_2 = register_version(
        registry,
        settings.registry,
        subject,
        V3_SCHEMA_FILE.read_text(),
        load_rules_document(V3_RULES_FILE),
        new_major_checked=True,
    )
    files = {"v1": V1_SCHEMA_FILE, "v2": V2_SCHEMA_FILE, "v3": V3_SCHEMA_FILE}
    no_register = {"auto.register.schemas": False, "use.latest.version": False}
    serializers = {
        version: AvroSerializer(registry, Schema(path.read_text(), "AVRO"), conf=no_register)
        for version, path in files.items()
    }
    context = SerializationContext(topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    expected: list[tuple[str, str, float] | None] = []
    for index, (version, record) in enumerate(price_records()):
        value = serializers[version](record, context)
        producer.produce(topic, value=value, partition=index % 2)
        expected.append(as_major_1(version, record))
        if index == 6:
            producer.produce(topic, value=POISON, partition=index % 2)
            expected.append(None)
    assert producer.flush(30) == 0
    return Written(settings, expected, major_2.schema_id)


def groups_of(rows: list[tuple[str, str, float] | None]) -> dict[tuple[str, str], list[float]]:
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in rows:
        if row is not None and not math.isnan(row[2]):
            groups[(row[0], row[1])].append(row[2])
    return groups


def test_batch_reads_the_whole_topic_as_major_1_exact_per_symbol_and_currency(
    written: Written, spark: SparkSession
) -> None:
    report = consume(spark, Clients.of(written.settings), written.settings, ConsumerOptions())
    assert report.messages == len(written.as_major_1)
    assert (report.reader_version, report.reader_major) == (2, None)
    expected = groups_of(written.as_major_1)
    got = {(s.symbol, s.currency): s for s in report.statistics}
    assert set(got) == set(expected)
    for group, prices in expected.items():
        stats = got[group]
        assert stats.count == len(prices)
        assert stats.min == min(prices) and stats.max == max(prices)
        assert stats.mean == pytest.approx(sum(prices) / len(prices), rel=1e-12)
    assert [(u.reason, u.count) for u in report.undecodable] == [(WRONG_MAGIC_BYTE, 1)]
    assert [(f.rule, f.count) for f in report.rule_failures] == [("price-positive", 1)]
    [migration] = report.migrations
    assert (migration.schema_id, migration.version, migration.major) == (written.v3_id, 3, "2")
    assert (migration.mode, migration.rules, migration.python_rules) == (
        "DOWNGRADE",
        ["cents-to-price"],
        [],
    )
    document = report_document(report)
    jsonschema.validate(document, json.loads(REPORT_SCHEMA_FILE.read_text()))


def test_records_as_major_2_show_the_whole_history_migrated_up(
    written: Written, stack: dict[str, str]
) -> None:
    env = cli_env(stack, KAFKA_TOPIC=written.settings.topic)
    run = run_cli(
        "consumer", env, "records", "--contract-major", "2", "--limit", "100", "--format", "jsonl"
    )
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(records) == len(written.as_major_1)
    read = [r for r in records if r["reason"] is None]
    assert all(set(r["value"]) == {"ts", "ticker", "price_cents", "currency"} for r in read)
    cents = sorted((r["value"]["ticker"], r["value"]["price_cents"]) for r in read)
    expected = sorted(
        (row[0], round(row[2] * 100))
        for row in written.as_major_1
        if row is not None and not math.isnan(row[2])
    )
    assert cents == expected
    reasons = sorted(r["reason"] for r in records if r["reason"] is not None)
    assert reasons == [MIGRATION_FAILED, WRONG_MAGIC_BYTE]


def test_follow_counts_the_same_as_batch_across_the_new_major(
    written: Written, stack: dict[str, str], tmp_path: Path
) -> None:
    env = cli_env(stack, KAFKA_TOPIC=written.settings.topic)
    run = run_cli(
        "consumer",
        env,
        "follow",
        "--checkpoint",
        str(tmp_path / "checkpoint"),
        "--until-idle",
        "5",
        "--trigger-seconds",
        "1",
        "--dlq-topic",
        "none",
        "--format",
        "jsonl",
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "reading into" in run.stderr and "version 2" in run.stderr
    last = json.loads(run.stdout.splitlines()[-1])
    counted = {(g["symbol"], g["currency"]): g["count"] for g in last["statistics"]}
    expected = {group: len(prices) for group, prices in groups_of(written.as_major_1).items()}
    assert counted == expected
