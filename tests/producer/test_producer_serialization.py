"""The producer's serializers write exactly what AvroSerializer writes, ids from the registry."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from connection.paths import CONTRACT_FILE
from connection.settings import ConnectionSettings
from producer.contract import (
    KEY_SCHEMA,
    load_schema,
    register_contract,
    serializers,
)
from producer.events import GeneratorPlan, generate_records
from producer.serialization import (
    FramedAvroSerializer,
    MemoizedSerializer,
    RecordSerializer,
    confluent_header,
    underlying_types,
)

EVENTS = 3_000
START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)


def test_header_is_magic_byte_then_big_endian_schema_id() -> None:
    assert confluent_header(1) == b"\x00\x00\x00\x00\x01"
    assert confluent_header(0x01020304) == b"\x00\x01\x02\x03\x04"


def test_memoized_serializer_serializes_each_value_once() -> None:
    calls: list[object] = []

    def serialize(value: object) -> bytes:
        calls.append(value)
        return str(value).encode()

    memoized = MemoizedSerializer(serialize)
    assert [memoized(s) for s in ("AAPL", "MSFT", "AAPL")] == [b"AAPL", b"MSFT", b"AAPL"]
    assert calls == ["AAPL", "MSFT"]


def test_value_is_header_plus_avro_body() -> None:
    schema = Schema(json.dumps({"type": "string"}), "AVRO")
    assert FramedAvroSerializer(7, schema)("AAPL") == confluent_header(7) + b"\x08AAPL"


def test_logical_types_give_way_to_their_underlying_types_everywhere() -> None:
    millis = {"type": "long", "logicalType": "timestamp-millis"}
    schema = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "ts", "type": millis},
            {"name": "maybe", "type": ["null", millis], "default": None},
            {
                "name": "days",
                "type": {"type": "array", "items": {"type": "int", "logicalType": "date"}},
            },
        ],
    }
    assert underlying_types(schema) == {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "ts", "type": {"type": "long"}},
            {"name": "maybe", "type": ["null", {"type": "long"}], "default": None},
            {"name": "days", "type": {"type": "array", "items": {"type": "int"}}},
        ],
    }


def avro_serializer(registry: SchemaRegistryClient, schema: Schema, subject: str) -> AvroSerializer:
    """confluent-kafka's serializer as its docs use it, never registering (the contract is)."""
    return AvroSerializer(
        registry,
        schema,
        conf={
            "auto.register.schemas": False,
            "subject.name.strategy": lambda _ctx, _record_name: subject,
        },
    )


@pytest.mark.integration
def test_messages_are_byte_identical_to_avro_serializer(
    settings: ConnectionSettings, registry: SchemaRegistryClient
) -> None:
    plan = GeneratorPlan(count=EVENTS, seed=5, start=START, anomalies=30)
    schema = load_schema(CONTRACT_FILE, dict(next(generate_records(plan))))
    contract = register_contract(registry, settings.registry, settings.value_subject, schema)
    key, value = serializers(contract, schema)
    reference_key = avro_serializer(registry, KEY_SCHEMA, contract.key_subject)
    reference_value = avro_serializer(registry, schema, contract.value_subject)
    key_context = SerializationContext(settings.topic, MessageField.KEY)
    value_context = SerializationContext(settings.topic, MessageField.VALUE)

    for record in generate_records(plan):
        assert value(record) == reference_value(dict(record), value_context)
        assert key(record["symbol"]) == reference_key(record["symbol"], key_context)


def test_record_serializer_writes_what_fastavro_writes() -> None:
    plan = GeneratorPlan(count=EVENTS, seed=8, start=START, anomalies=30, currencies=("USD", "JPY"))
    schema = load_schema(CONTRACT_FILE, dict(next(generate_records(plan))))
    fast = RecordSerializer.of(12345, schema)
    reference = FramedAvroSerializer(12345, schema)
    assert fast is not None
    for record in generate_records(plan):
        assert fast(record) == reference(record)


@pytest.mark.parametrize(
    "value", [0, 1, -1, 63, -64, 64, 8191, -8192, 8192, 2**31, -(2**31), 2**62, -(2**63), 2**63 - 1]
)
def test_record_serializer_writes_any_long_double_and_string(value: int) -> None:
    fields = [
        {"name": "n", "type": "long"},
        {"name": "i", "type": "int"},
        {"name": "x", "type": "double"},
        {"name": "f", "type": "float"},
        {"name": "s", "type": "string"},
    ]
    schema = Schema(json.dumps({"type": "record", "name": "R", "fields": fields}), "AVRO")
    fast = RecordSerializer.of(3, schema)
    reference = FramedAvroSerializer(3, schema)
    assert fast is not None
    small = max(-(2**31), min(2**31 - 1, value))
    for text in ("", "€uro ✓", "x" * 200):
        datum = {"n": value, "i": small, "x": value / 7.0, "f": 1.5, "s": text}
        assert fast(datum) == reference(datum)


def test_record_serializer_leaves_other_schemas_to_fastavro() -> None:
    union = {"type": "record", "name": "R", "fields": [{"name": "u", "type": ["null", "long"]}]}
    assert RecordSerializer.of(1, Schema(json.dumps(union), "AVRO")) is None
    assert RecordSerializer.of(1, Schema(json.dumps({"type": "string"}), "AVRO")) is None
