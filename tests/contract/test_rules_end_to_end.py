"""The contract's rules end to end on the real stack: the producer refuses breakers into
the dead-letter topic; the consumer judges every record whoever wrote it (here
confluent-kafka's own AvroSerializer, which runs no rules), counts each rule exactly,
keeps breakers out of the statistics, and dead-letters each bad record once."""

from __future__ import annotations

import json
import statistics
import struct
from collections import Counter
from datetime import datetime, timezone

import pytest
from cli_runs import cli_env, run_cli
from confluent_kafka import Message, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from contract_files import V2_SCHEMA_FILE
from topic_offsets import all_messages

from connection.clients import librdkafka_config
from connection.settings import ConnectionSettings
from contract.dead_letters import dead_letter_topic
from producer.events import VIOLATIONS, GeneratorPlan, violation_positions

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
RULES = ("price-positive", "currency-iso-4217", "symbol-ticker")


def read_all(settings: ConnectionSettings, topic: str) -> list[Message]:
    return all_messages(librdkafka_config(settings), topic)


def report(stack: dict[str, str], topic: str, *args: str) -> dict[str, object]:
    result = run_cli(
        "consumer", cli_env(stack), "--topic", topic, "--format", "json", *args, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def failures(document: dict[str, object]) -> dict[str, int]:
    return {f["rule"]: f["count"] for f in document["rule_failures"]}  # type: ignore[attr-defined, index]


def test_producer_refuses_breakers_into_the_dead_letter_topic_and_no_rules_lets_them_through(
    stack: dict[str, str], settings: ConnectionSettings
) -> None:
    plan = GeneratorPlan(count=10_000, seed=5, start=START, violations=0.02)
    kinds = Counter(violation_positions(plan).values())
    expected = {RULES[kind]: kinds[kind] for kind in range(len(VIOLATIONS))}
    args = ("--count", "10000", "--seed", "5", "--start", "2026-11-27 09:30:00")
    checked = run_cli(
        "producer", cli_env(stack), "--topic", settings.topic, *args, "--inject-violations", "0.02"
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("sent 9800 events, 9800 acknowledged")
    assert "dead-lettered: " + ", ".join(f"{r} {n}" for r, n in expected.items()) in checked.stdout
    letters = read_all(settings, dead_letter_topic(settings.topic))
    assert len(read_all(settings, settings.topic)) + len(letters) == 10_000
    assert Counter(dict(m.headers() or [])["__rule.name"].decode() for m in letters) == expected
    assert all(dict(m.headers() or [])["__rule.mode"] == b"WRITE" for m in letters)
    assert failures(report(stack, settings.topic)) == {}

    unchecked_topic = f"{settings.topic}-unchecked"
    unchecked = run_cli(
        "producer", cli_env(stack), "--topic", unchecked_topic, *args,
        "--inject-violations", "0.02", "--no-rules",
    )  # fmt: skip
    assert unchecked.stdout.startswith("sent 10000 events, 10000 acknowledged"), unchecked.stderr
    assert failures(report(stack, unchecked_topic)) == expected


def test_records_of_a_writer_without_rules_are_judged_counted_and_dead_lettered_once(
    stack: dict[str, str], settings: ConnectionSettings, registry: SchemaRegistryClient
) -> None:
    serializer = AvroSerializer(registry, V2_SCHEMA_FILE.read_text())
    context = SerializationContext(settings.topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    ts = int(START.timestamp() * 1000)
    events = [("AAPL", 100.0 + i % 7, "USD") for i in range(60)] + [
        ("AAPL", -1.0, "USD"),  # price-positive
        ("AAPL", 0.0, "EUR"),  # price-positive
        ("MSFT", 400.0, "usd"),  # currency-iso-4217
        ("MSFT", 401.0, "US"),  # currency-iso-4217
        ("msft", 402.0, "USD"),  # symbol-ticker
        ("TOO-LONG-TICKER", 1.0, "USD"),  # symbol-ticker
        ("bad!", -2.0, "eur"),  # all three: the first in file order decides
        ("MSFT", -3.0, "eu"),  # price-positive and currency-iso-4217
    ]
    poison = [None, b"", b"\x01junk", b"\x00" + struct.pack(">I", 0x7FFF_FFF0) + b"\x02"]
    for offset, (symbol, price, currency) in enumerate(events):
        value = serializer(
            {"ts": ts + offset, "symbol": symbol, "price": price, "currency": currency}, context
        )
        producer.produce(settings.topic, key=symbol.encode(), value=value, headers=[("h", b"v")])
    for value in poison:
        producer.produce(settings.topic, value=value)
    producer.flush(30)

    first = report(stack, settings.topic, "--dlq")
    assert (first["messages"], first["decoded"]) == (72, 68)
    assert failures(first) == {"price-positive": 4, "currency-iso-4217": 2, "symbol-ticker": 2}
    (group,) = first["statistics"]  # type: ignore[misc]
    prices = [price for _, price, _ in events[:60]]
    assert (group["count"], group["min"], group["max"]) == (60, min(prices), max(prices))
    assert group["mean"] == pytest.approx(statistics.fmean(prices), rel=1e-12)
    assert group["stddev"] == pytest.approx(statistics.stdev(prices), rel=1e-12)

    written = {m.offset(): m for m in read_all(settings, settings.topic)}
    letters = read_all(settings, dead_letter_topic(settings.topic))
    assert sorted(int(dict(m.headers() or [])["__connect.errors.offset"]) for m in letters) == (
        list(range(60, 72))
    )
    for letter in letters:
        headers = dict(letter.headers() or [])
        origin = written[int(headers["__connect.errors.offset"])]
        assert (letter.key(), letter.value(), letter.partition()) == (
            origin.key(), origin.value(), origin.partition(),
        )  # fmt: skip
        assert letter.timestamp()[1] == origin.timestamp()[1]
        assert headers["__connect.errors.topic"] == settings.topic.encode()
        assert headers["__connect.errors.partition"] == b"0"
        if origin.offset() < 68:
            assert headers["h"] == b"v"
            assert headers["__rule.mode"] == b"READ"
            assert headers["__rule.subject"] == settings.value_subject.encode()
            assert headers["__rule.topic"] == settings.topic.encode()
            assert headers["__connect.errors.exception.message"].startswith(headers["__rule.name"])
        else:
            assert "__rule.name" not in headers
    decided = {
        int(dict(m.headers() or [])["__connect.errors.offset"]): dict(m.headers() or [])[
            "__rule.name"
        ]
        for m in letters
        if "__rule.name" in dict(m.headers() or [])
    }
    assert decided[66] == decided[67] == b"price-positive"

    report(stack, settings.topic, "--dlq")  # a rerun adds no letter
    assert len(read_all(settings, dead_letter_topic(settings.topic))) == 12
