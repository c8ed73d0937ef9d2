"""The fast-path prototype writes exactly what AvroSerializer writes, id from the registry."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from benchmarks.fast_path import (
    FastAvroSerializer,
    MemoizedSerializer,
    confluent_header,
    registered_serializer,
)
from benchmarks.producing import benchmark_plan, value_schema
from connection.settings import ConnectionSettings
from producer.contract import KEY_SCHEMA, register_contract, serializers
from producer.events import generate_events

EVENTS = 3_000


def test_header_is_magic_byte_then_big_endian_schema_id() -> None:
    assert confluent_header(1) == b"\x00\x00\x00\x00\x01"
    assert confluent_header(0x01020304) == b"\x00\x01\x02\x03\x04"


def test_memoized_serializer_serializes_each_value_once() -> None:
    calls: list[object] = []

    def serialize(value: object, ctx: SerializationContext | None) -> bytes:
        calls.append(value)
        return str(value).encode()

    memoized = MemoizedSerializer(serialize)
    assert [memoized(s) for s in ("AAPL", "MSFT", "AAPL")] == [b"AAPL", b"MSFT", b"AAPL"]
    assert calls == ["AAPL", "MSFT"]


def test_value_is_header_plus_avro_body() -> None:
    schema = Schema(json.dumps({"type": "string"}), "AVRO")
    assert FastAvroSerializer(7, schema)("AAPL") == confluent_header(7) + b"\x08AAPL"


@pytest.mark.integration
def test_fast_path_is_byte_identical_to_avro_serializer(
    settings: ConnectionSettings, registry: SchemaRegistryClient
) -> None:
    plan = benchmark_plan(EVENTS)
    schema = value_schema(plan)
    contract = register_contract(
        registry, settings.schema_registry_url, settings.value_subject, schema
    )
    avro_key, avro_value = serializers(registry, contract, schema)
    fast_key = MemoizedSerializer(registered_serializer(registry, contract.key_subject, KEY_SCHEMA))
    fast_value = registered_serializer(registry, contract.value_subject, schema)
    key_context = SerializationContext(settings.topic, MessageField.KEY)
    value_context = SerializationContext(settings.topic, MessageField.VALUE)

    assert fast_value.schema_id == contract.value.schema_id
    for event in generate_events(plan):
        record = event.to_record()
        assert fast_value(record, value_context) == avro_value(record, value_context)
        assert fast_key(event.symbol, key_context) == avro_key(event.symbol, key_context)


@pytest.mark.integration
def test_fast_path_refuses_a_schema_the_subject_does_not_have(
    settings: ConnectionSettings, registry: SchemaRegistryClient
) -> None:
    with pytest.raises(SchemaRegistryError):
        registered_serializer(registry, settings.value_subject, value_schema(benchmark_plan(1)))
