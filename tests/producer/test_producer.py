"""python -m producer against the real local stack: exactly N events, the contract, failures.

The main run (the real CLI as a subprocess, 5000 events into a topic it creates) is
shared by the module; failure cases each get their own topic.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from cli_runs import cli_env, run_cli
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from topic_offsets import end_offsets, message_count

from connection.paths import CONTRACT_FILE
from connection.settings import ConnectionSettings
from connection.timestamps import format_timestamp, parse_timestamp
from producer.events import (
    ANOMALY_MIN_SIGMA,
    SYMBOL_MODELS,
    SYMBOLS,
    GeneratorPlan,
    PriceEvent,
    anomaly_positions,
    generate_events,
)
from producer.run import ProducerOptions, produce

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
TIMESTAMP_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}")
SUMMARY = re.compile(
    r"sent (?P<sent>\d+) events, (?P<acked>\d+) acknowledged, to topic (?P<topic>\S+) "
    r"\(subject (?P<subject>\S+), schema id (?P<id>\d+), version (?P<version>\d+)\) "
    r"in (?P<seconds>[\d.]+) s; dead-lettered: (?P<dead>[^;]+); "
    r"replay: --seed (?P<seed>\d+) --start '(?P<start>[^']+)'"
)
DEAD_PORT = "127.0.0.1:1"  # nothing listens on port 1: connection refused at once


@pytest.fixture(scope="module")
def registry(registry_url: str) -> SchemaRegistryClient:
    """conftest's registry client, but with a timeout: a stuck HTTP call fails the test
    instead of hanging the session (seen once with the shared registry under load)."""
    return SchemaRegistryClient({"url": registry_url, "timeout": 30})


def new_topic_name() -> str:
    return f"test-producer-{uuid.uuid4().hex[:12]}"


def run_producer(
    stack: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """python -m producer as users run it: connection from the environment."""
    return run_cli("producer", cli_env(stack), *args, timeout=timeout)


def read_all(bootstrap: str, topic: str) -> list[Message]:
    """Every message of topic, partition by partition, up to the end offsets."""
    ends = end_offsets(bootstrap, topic) or {}
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
    messages: list[Message] = []
    try:
        while (missing := sum(ends.values()) - len(messages)) > 0:
            batch = consumer.consume(min(missing, 1000), timeout=10)
            assert batch, f"read {len(messages)} of {sum(ends.values())} messages, then nothing"
            for message in batch:
                assert message.error() is None, message.error()
                messages.append(message)
    finally:
        consumer.close()
    return messages


@dataclass(frozen=True)
class Decoded:
    """A message's key and value as a consumer sees them."""

    key: str
    event: PriceEvent
    partition: int
    key_schema_id: int
    value_schema_id: int


def decode(registry: SchemaRegistryClient, topic: str, messages: list[Message]) -> list[Decoded]:
    key_deserializer = AvroDeserializer(registry)
    value_deserializer = AvroDeserializer(registry)
    key_context = SerializationContext(topic, MessageField.KEY)
    value_context = SerializationContext(topic, MessageField.VALUE)
    decoded = []
    for message in messages:
        key, value = message.key(), message.value()
        assert key is not None and value is not None
        assert key[0] == 0 and value[0] == 0  # Confluent wire format magic byte
        record = value_deserializer(value, value_context)
        decoded.append(
            Decoded(
                key=key_deserializer(key, key_context),
                event=PriceEvent(ts=record["ts"], symbol=record["symbol"], price=record["price"]),
                partition=message.partition() or 0,
                key_schema_id=int.from_bytes(key[1:5], "big"),
                value_schema_id=int.from_bytes(value[1:5], "big"),
            )
        )
    return decoded


def schema_json(text: str | None) -> object:
    assert text is not None
    return json.loads(text)


@dataclass(frozen=True)
class ProducerRun:
    topic: str
    plan: GeneratorPlan
    result: subprocess.CompletedProcess[str]
    messages: list[Message]
    decoded: list[Decoded]


@pytest.fixture(scope="module")
def main_run(stack: dict[str, str], registry: SchemaRegistryClient) -> ProducerRun:
    """`python -m producer --count 5000 --topic T` into a topic it has to create."""
    topic = new_topic_name()
    plan = GeneratorPlan(count=5000, seed=20261127, start=START)
    result = run_producer(
        stack,
        *("--count", "5000", "--topic", topic, "--seed", str(plan.seed)),
        *("--start", format_timestamp(START), "--partitions", "4"),
    )
    assert result.returncode == 0, result.stderr
    messages = read_all(stack["KAFKA_BOOTSTRAP_SERVERS"], topic)
    return ProducerRun(topic, plan, result, messages, decode(registry, topic, messages))


def test_producer_sends_exactly_count_messages(
    stack: dict[str, str], main_run: ProducerRun
) -> None:
    ends = end_offsets(stack["KAFKA_BOOTSTRAP_SERVERS"], main_run.topic)
    assert ends is not None
    assert sum(ends.values()) == 5000
    assert len(main_run.messages) == 5000


def test_decoded_events_are_exactly_the_generated_ones(main_run: ProducerRun) -> None:
    expected = Counter(generate_events(main_run.plan))
    assert Counter(d.event for d in main_run.decoded) == expected


def test_every_event_has_a_known_symbol_cents_and_a_formattable_ts(main_run: ProducerRun) -> None:
    for decoded in main_run.decoded:
        event = decoded.event
        assert event.symbol in SYMBOLS
        assert Decimal(repr(event.price)).as_tuple().exponent >= -2, event  # type: ignore[operator]
        assert event.ts.tzinfo is not None
        text = format_timestamp(event.ts)
        assert TIMESTAMP_FORMAT.fullmatch(text), text
        assert parse_timestamp(text) == event.ts  # nothing below the millisecond is lost


def test_key_is_the_symbol_as_avro_string_under_topic_key(
    main_run: ProducerRun, registry: SchemaRegistryClient
) -> None:
    assert all(d.key == d.event.symbol for d in main_run.decoded)
    (key_schema_id,) = {d.key_schema_id for d in main_run.decoded}
    key_schema = schema_json(registry.get_schema(key_schema_id).schema_str)
    assert key_schema in ("string", {"type": "string"})  # the registry may store either form
    latest = registry.get_latest_version(f"{main_run.topic}-key")
    assert latest.schema_id == key_schema_id


def test_schema_under_topic_value_is_the_schema_file_and_messages_point_to_it(
    main_run: ProducerRun, registry: SchemaRegistryClient
) -> None:
    file_schema = schema_json(CONTRACT_FILE.read_text())
    latest = registry.get_latest_version(f"{main_run.topic}-value")
    assert schema_json(latest.schema.schema_str) == file_schema
    (value_schema_id,) = {d.value_schema_id for d in main_run.decoded}
    assert value_schema_id == latest.schema_id
    assert schema_json(registry.get_schema(value_schema_id).schema_str) == file_schema


def test_created_topic_has_the_requested_partitions_and_symbols_keep_order(
    stack: dict[str, str], main_run: ProducerRun
) -> None:
    ends = end_offsets(stack["KAFKA_BOOTSTRAP_SERVERS"], main_run.topic)
    assert ends is not None and sorted(ends) == [0, 1, 2, 3]  # --partitions 4
    for symbol in SYMBOLS:
        mine = [d for d in main_run.decoded if d.event.symbol == symbol]
        assert len({d.partition for d in mine}) == 1, symbol  # keyed by symbol
        timestamps = [d.event.ts for d in mine]  # in offset order, as read
        assert timestamps == sorted(timestamps), symbol


def test_summary_line_reports_the_run(
    main_run: ProducerRun, registry: SchemaRegistryClient
) -> None:
    assert main_run.result.stderr == ""
    lines = main_run.result.stdout.splitlines()
    assert len(lines) == 1, main_run.result.stdout
    match = SUMMARY.fullmatch(lines[0])
    assert match, lines[0]
    latest = registry.get_latest_version(f"{main_run.topic}-value")
    assert match["sent"] == match["acked"] == "5000"
    assert (match["topic"], match["subject"]) == (main_run.topic, f"{main_run.topic}-value")
    assert (int(match["id"]), int(match["version"])) == (latest.schema_id, latest.version)
    assert int(match["seed"]) == main_run.plan.seed
    assert match["start"] == format_timestamp(START)


def test_printed_seed_and_start_replay_a_run_without_seed(
    stack: dict[str, str], registry: SchemaRegistryClient
) -> None:
    topic = new_topic_name()
    result = run_producer(stack, "--count", "300", "--topic", topic)
    assert result.returncode == 0, result.stderr
    match = SUMMARY.fullmatch(result.stdout.strip())
    assert match, result.stdout
    plan = GeneratorPlan(300, int(match["seed"]), parse_timestamp(match["start"]))
    decoded = decode(registry, topic, read_all(stack["KAFKA_BOOTSTRAP_SERVERS"], topic))
    assert Counter(d.event for d in decoded) == Counter(generate_events(plan))


def test_injected_anomalies_are_exactly_k_far_off_prices(
    stack: dict[str, str], registry: SchemaRegistryClient
) -> None:
    topic = new_topic_name()
    plan = GeneratorPlan(count=2000, seed=99, start=START, anomalies=7)
    result = run_producer(
        stack,
        *("--count", "2000", "--anomalies", "7", "--seed", "99", "--topic", topic),
        *("--start", format_timestamp(START)),
    )
    assert result.returncode == 0, result.stderr
    decoded = [
        d.event for d in decode(registry, topic, read_all(stack["KAFKA_BOOTSTRAP_SERVERS"], topic))
    ]

    def far_off(event: PriceEvent) -> bool:
        model = SYMBOL_MODELS[event.symbol]
        return abs(event.price - model.level) >= (ANOMALY_MIN_SIGMA * model.sigma) - 0.01

    generated = list(generate_events(plan))
    ground_truth = {generated[i] for i in anomaly_positions(plan)}
    assert len(ground_truth) == 7
    assert {e for e in decoded if far_off(e)} == ground_truth
    assert len(decoded) == 2000


def test_second_run_appends_exactly_count_more(
    settings: ConnectionSettings, registry: SchemaRegistryClient
) -> None:
    first = GeneratorPlan(count=400, seed=1, start=START)
    second = GeneratorPlan(count=400, seed=2, start=START)
    for plan in (first, second):
        summary = produce(settings, ProducerOptions(plan=plan, schema_file=CONTRACT_FILE))
        assert (summary.report.sent, summary.report.acknowledged) == (400, 400)
    assert message_count(settings.bootstrap_servers, settings.topic) == 800
    decoded = decode(registry, settings.topic, read_all(settings.bootstrap_servers, settings.topic))
    # one partition (the fixture's topic): the second run follows the first, in order
    assert [d.event for d in decoded] == [*generate_events(first), *generate_events(second)]


@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_every_compression_writes_the_same_events(
    stack: dict[str, str], registry: SchemaRegistryClient, codec: str
) -> None:
    topic = new_topic_name()
    plan = GeneratorPlan(count=1500, seed=31, start=START)
    result = run_producer(
        stack,
        *("--count", "1500", "--seed", "31", "--start", format_timestamp(START)),
        *("--topic", topic, "--compression", codec),
    )
    assert result.returncode == 0, result.stderr
    decoded = decode(registry, topic, read_all(stack["KAFKA_BOOTSTRAP_SERVERS"], topic))
    assert Counter(d.event for d in decoded) == Counter(generate_events(plan))


def assert_one_line_failure(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    assert result.returncode == exit_code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert re.match(r"(python -m )?producer: error: \S", lines[0]), lines[0]
    return lines[0]


@pytest.mark.parametrize(("count", "exit_code"), [("0", 2), ("-1", 2), ("abc", 2)])
def test_bad_count_fails_in_one_line_and_writes_nothing(
    stack: dict[str, str], topic: str, count: str, exit_code: int
) -> None:
    line = assert_one_line_failure(
        run_producer(stack, "--count", count, "--topic", topic), exit_code
    )
    assert "--count" in line
    assert message_count(stack["KAFKA_BOOTSTRAP_SERVERS"], topic) == 0


def test_registry_down_fails_in_one_line_and_writes_nothing(
    stack: dict[str, str], topic: str
) -> None:
    url = f"http://{DEAD_PORT}"
    result = run_producer(stack, "--topic", topic, "--schema-registry-url", url)
    assert "schema registry unreachable at http://127.0.0.1:1" in assert_one_line_failure(result, 1)
    assert message_count(stack["KAFKA_BOOTSTRAP_SERVERS"], topic) == 0


def test_registry_down_leaves_a_missing_topic_missing(stack: dict[str, str]) -> None:
    topic = new_topic_name()
    result = run_producer(stack, "--topic", topic, "--schema-registry-url", f"http://{DEAD_PORT}")
    assert_one_line_failure(result, 1)
    assert end_offsets(stack["KAFKA_BOOTSTRAP_SERVERS"], topic) is None


def test_broker_down_fails_in_one_line_within_bounded_time(
    stack: dict[str, str], topic: str, registry: SchemaRegistryClient
) -> None:
    result = run_producer(stack, "--topic", topic, "--bootstrap-servers", DEAD_PORT, timeout=30)
    line = assert_one_line_failure(result, 1)
    assert f"Kafka broker unreachable at {DEAD_PORT}" in line
    assert message_count(stack["KAFKA_BOOTSTRAP_SERVERS"], topic) == 0
    assert f"{topic}-value" not in registry.get_subjects()  # stopped before the registry


def test_incompatible_schema_is_refused_in_one_line_and_writes_nothing(
    stack: dict[str, str], topic: str, registry: SchemaRegistryClient
) -> None:
    existing = {
        "type": "record",
        "name": "PriceEvent",
        "namespace": "prices.events",
        "fields": [{"name": "volume", "type": "long"}],
    }
    subject = f"{topic}-value"
    registry.register_schema(subject, Schema(json.dumps(existing), "AVRO"))
    registry.set_compatibility(subject_name=subject, level="BACKWARD")

    line = assert_one_line_failure(run_producer(stack, "--topic", topic), 1)
    assert f"incompatible with subject {subject} (409)" in line
    assert message_count(stack["KAFKA_BOOTSTRAP_SERVERS"], topic) == 0
    assert schema_json(registry.get_latest_version(subject).schema.schema_str) == existing
    assert f"{topic}-key" not in registry.get_subjects()  # the refused run registered nothing


def test_schema_file_that_does_not_fit_the_events_fails_before_registering(
    stack: dict[str, str], topic: str, registry: SchemaRegistryClient, tmp_path: Path
) -> None:
    other = tmp_path / "other.avsc"
    other.write_text(
        json.dumps({"type": "record", "name": "X", "fields": [{"name": "a", "type": "int"}]})
    )
    line = assert_one_line_failure(run_producer(stack, "--topic", topic, "--schema", str(other)), 1)
    assert "does not fit the price events" in line
    assert message_count(stack["KAFKA_BOOTSTRAP_SERVERS"], topic) == 0
    assert f"{topic}-value" not in registry.get_subjects()


def test_topic_that_cannot_be_created_fails_in_one_line(stack: dict[str, str]) -> None:
    bootstrap = stack["KAFKA_BOOTSTRAP_SERVERS"]
    dotted = new_topic_name().replace("-", ".")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(dotted, 1, 1)])[dotted].result(30)
    colliding = dotted.replace(".", "_")  # Kafka refuses names that differ only in . and _
    line = assert_one_line_failure(run_producer(stack, "--topic", colliding, "--count", "10"), 1)
    assert f"cannot create topic {colliding}" in line
    assert end_offsets(bootstrap, colliding) is None


@pytest.fixture
def tiny_message_topic(stack: dict[str, str]) -> Iterator[str]:
    """A topic whose broker refuses any batch of events as too large."""
    name = new_topic_name()
    admin = AdminClient({"bootstrap.servers": stack["KAFKA_BOOTSTRAP_SERVERS"]})
    config = {"max.message.bytes": "64"}
    admin.create_topics([NewTopic(name, 1, 1, config=config)])[name].result(30)
    yield name
    admin.delete_topics([name])[name].result(30)


def test_failed_deliveries_make_the_exit_code_non_zero(
    stack: dict[str, str], tiny_message_topic: str
) -> None:
    result = run_producer(
        stack, "--topic", tiny_message_topic, "--count", "50", "--delivery-timeout", "1"
    )
    line = assert_one_line_failure(result, 1)
    assert "only 0 of 50 events were acknowledged" in line
    assert "Message size too large" in line
    assert message_count(stack["KAFKA_BOOTSTRAP_SERVERS"], tiny_message_topic) == 0
