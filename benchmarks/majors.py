"""Topics written in the contract's major 2 for the migration row, and their rules.

The example major 2 (docs/examples/major-2: ``ticker``, ``price_cents``) is registered
with its metadata and migration rules (contract.registering.register_version) on a
subject that already holds the contract's version of major none (the shipped schema and
rules, as the producer registers them), so a report reading the topic by default reads
it as that version and every record runs the DOWNGRADE rule ``cents-to-price``.

The records are the benchmark plan's events (benchmarks.producing.benchmark_plan), each
as major 2 writes it: the same events as the major-1 topic of that count, so the two
sides of a pair differ only in the migration. They are encoded with fastavro against
the id the registry gave major 2 (producer.serialization.FramedAvroSerializer, the bytes
confluent-kafka's AvroSerializer writes) and handed in batches to the producer's send
loop with its client settings, keyed by symbol as the producer keys them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema

from benchmarks.baselines import DELIVERY_TIMEOUT_S, DeliveryFailed
from benchmarks.producing import benchmark_plan
from benchmarks.topics import RunTopics
from connection.clients import registry_client
from connection.paths import CONTRACT_FILE, REPO_ROOT, RULES_FILE
from connection.settings import ConnectionSettings
from contract.registering import register_version
from contract.rules import RulesDocument, load_rules_document
from producer.contract import KEY_SCHEMA
from producer.events import generate_batches
from producer.send import DEFAULT_COMPRESSION, producer_config, send_events
from producer.serialization import FramedAvroSerializer

MAJOR_2_DIR = REPO_ROOT / "docs" / "examples" / "major-2"
MAJOR_2_SCHEMA_FILE = MAJOR_2_DIR / "prices-value.avsc"
MAJOR_2_RULES_FILE = MAJOR_2_DIR / "prices-value.rules.json"

#: The rule a report reading major 2 as major 1 runs.
DOWNGRADE_RULE = "cents-to-price"

#: ``cents-to-price`` with the same result for whole cents, written with a function
#: outside the subset compiled to Spark columns (contract.jsonata_subset), so it runs in
#: jsonata-python in an Arrow UDF: the fallback's rate.
FALLBACK_DOWNGRADE = (
    "$merge([$sift($, function($v, $k) {$k != 'ticker' and $k != 'price_cents'}), "
    "{'symbol': ticker, 'price': $number($formatNumber(price_cents / 100, '0.00'))}])"
)


def major_2_document() -> RulesDocument:
    """The example major 2's metadata and rules, as the rules file holds them."""
    return load_rules_document(MAJOR_2_RULES_FILE)


def fallback_document() -> RulesDocument:
    """major_2_document() with ``cents-to-price`` written as FALLBACK_DOWNGRADE."""
    document = major_2_document()
    rules = tuple(
        replace(rule, expr=FALLBACK_DOWNGRADE) if rule.name == DOWNGRADE_RULE else rule
        for rule in document.rule_set.migration_rules
    )
    if rules == document.rule_set.migration_rules:
        raise ValueError(f"{MAJOR_2_RULES_FILE} has no migration rule {DOWNGRADE_RULE!r}")
    return replace(document, rule_set=replace(document.rule_set, migration_rules=rules))


def as_major_2(record: Mapping[str, Any]) -> dict[str, Any]:
    """A major-1 record (plain values) as major 2 writes it: ``ticker``, ``price_cents``."""
    return {
        "ts": record["ts"],
        "ticker": record["symbol"],
        "price_cents": round(record["price"] * 100),
        "currency": record["currency"],
    }


Messages = tuple[list[bytes], list[bytes]]


def major_2_messages(
    count: int, value: FramedAvroSerializer, key: FramedAvroSerializer
) -> Iterator[Messages]:
    """The benchmark plan's count events as major 2's messages, a batch at a time (each
    symbol's key encoded once)."""
    keys: dict[str, bytes] = {}
    for batch in generate_batches(benchmark_plan(count)):
        records = [as_major_2(record) for record in batch.records()]
        yield (
            [
                keys.get(r["ticker"]) or keys.setdefault(r["ticker"], key(r["ticker"]))
                for r in records
            ],
            [value(record) for record in records],
        )


def register_major_2(settings: ConnectionSettings, document: RulesDocument) -> tuple[int, int]:
    """The contract's version (major none) and then major 2 with document registered on
    settings' subjects; the ids of major 2's value schema and of the key schema."""
    client = registry_client(settings.registry)
    subject = settings.value_subject
    register_version(
        client,
        settings.registry,
        subject,
        CONTRACT_FILE.read_text(),
        load_rules_document(RULES_FILE),
    )
    major_2 = register_version(
        client,
        settings.registry,
        subject,
        MAJOR_2_SCHEMA_FILE.read_text(),
        document,
        new_major_checked=True,  # the example passes the gate (tests/schemagate)
    )
    key_id = client.register_schema(subject.removesuffix("-value") + "-key", KEY_SCHEMA)
    return major_2.schema_id, key_id


def write_major_2(
    topics: RunTopics, count: int, purpose: str, document: RulesDocument
) -> ConnectionSettings:
    """A fresh topic of count events written in major 2 registered with document."""
    settings = topics.fresh(purpose, count)
    topics.create(settings)
    value_id, key_id = register_major_2(settings, document)
    value = FramedAvroSerializer(value_id, Schema(MAJOR_2_SCHEMA_FILE.read_text(), "AVRO"))
    key = FramedAvroSerializer(key_id, KEY_SCHEMA)
    producer = Producer(producer_config(settings, DELIVERY_TIMEOUT_S, DEFAULT_COMPRESSION))
    report = send_events(producer, settings.topic, major_2_messages(count, value, key), count)
    if not report.complete:
        raise DeliveryFailed(f"{settings.topic}: {report.acknowledged} of {count} acknowledged")
    return settings
