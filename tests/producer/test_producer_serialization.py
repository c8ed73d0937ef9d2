"""The producer's serializers write exactly what AvroSerializer writes, ids from the registry."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from connection.paths import CONTRACT_FILE
from connection.settings import ConnectionSettings
from contract.columns import Categorical, Column
from producer.contract import (
    KEY_SCHEMA,
    load_schema,
    message_encoder,
    register_contract,
)
from producer.events import GeneratorPlan, generate_batches, generate_records
from producer.serialization import (
    ColumnSerializer,
    FramedAvroSerializer,
    MessageEncoder,
    confluent_header,
    underlying_types,
)

EVENTS = 3_000
START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)


def test_header_is_magic_byte_then_big_endian_schema_id() -> None:
    assert confluent_header(1) == b"\x00\x00\x00\x00\x01"
    assert confluent_header(0x01020304) == b"\x00\x01\x02\x03\x04"


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
    plan = GeneratorPlan(count=EVENTS, seed=5, start=START, anomalies=30, currencies=("USD", "EUR"))
    schema = load_schema(CONTRACT_FILE, dict(next(generate_records(plan))))
    contract = register_contract(registry, settings.registry, settings.value_subject, schema)
    encode = message_encoder(contract, schema)
    reference_key = avro_serializer(registry, KEY_SCHEMA, contract.key_subject)
    reference_value = avro_serializer(registry, schema, contract.value_subject)
    key_context = SerializationContext(settings.topic, MessageField.KEY)
    value_context = SerializationContext(settings.topic, MessageField.VALUE)

    for batch in generate_batches(plan):
        keys, values = encode(batch)
        records = list(batch.records())
        assert values == [reference_value(dict(record), value_context) for record in records]
        assert keys == [reference_key(record["symbol"], key_context) for record in records]


def test_column_serializer_writes_what_fastavro_writes() -> None:
    plan = GeneratorPlan(count=EVENTS, seed=8, start=START, anomalies=30, currencies=("USD", "JPY"))
    schema = load_schema(CONTRACT_FILE, dict(next(generate_records(plan))))
    fast = ColumnSerializer.of(12345, schema)
    reference = FramedAvroSerializer(12345, schema)
    assert fast is not None
    for batch in generate_batches(plan, size=700):
        assert fast(batch.columns()) == [reference(record) for record in batch.records()]


LONGS = [0, 1, -1, 63, -64, 64, 8191, -8192, 8192, 2**31, -(2**31), 2**62, -(2**63), 2**63 - 1]


def test_column_serializer_writes_any_long_double_and_string() -> None:
    """Rows of different sizes in one batch: every varint length, strings of 0 to 200
    bytes, multi-byte UTF-8."""
    fields = [
        {"name": "n", "type": "long"},
        {"name": "i", "type": "int"},
        {"name": "x", "type": "double"},
        {"name": "f", "type": "float"},
        {"name": "s", "type": "string"},
    ]
    schema = Schema(json.dumps({"type": "record", "name": "R", "fields": fields}), "AVRO")
    texts = ("", "€uro ✓", "x" * 200)
    rows = [(value, text) for value in LONGS for text in range(len(texts))]
    longs = np.array([value for value, _ in rows], np.int64)
    ints = np.clip(longs, -(2**31), 2**31 - 1)
    columns: dict[str, Column] = {
        "n": longs,
        "i": ints,
        "x": longs / 7.0,
        "f": np.full(len(rows), 1.5),
        "s": Categorical(np.array([text for _, text in rows], np.int64), texts),
    }
    fast = ColumnSerializer.of(3, schema)
    reference = FramedAvroSerializer(3, schema)
    assert fast is not None
    expected = [
        reference({"n": value, "i": int(small), "x": value / 7.0, "f": 1.5, "s": texts[text]})
        for (value, text), small in zip(rows, ints.tolist(), strict=True)
    ]
    assert fast(columns) == expected


def test_rows_of_one_size_keep_their_trailing_zero_bytes() -> None:
    fields = [{"name": "s", "type": "string"}, {"name": "n", "type": "long"}]
    schema = Schema(json.dumps({"type": "record", "name": "R", "fields": fields}), "AVRO")
    fast = ColumnSerializer.of(0, schema)
    assert fast is not None
    columns: dict[str, Column] = {
        "s": Categorical(np.zeros(3, np.int64), ("",)),
        "n": np.zeros(3, np.int64),
    }
    assert fast(columns) == [b"\x00" * 7] * 3


def test_column_serializer_leaves_other_schemas_to_fastavro() -> None:
    union = {"type": "record", "name": "R", "fields": [{"name": "u", "type": ["null", "long"]}]}
    assert ColumnSerializer.of(1, Schema(json.dumps(union), "AVRO")) is None
    assert ColumnSerializer.of(1, Schema(json.dumps({"type": "string"}), "AVRO")) is None


def test_a_schema_with_a_field_the_events_lack_is_written_by_fastavro() -> None:
    """An extra field with a default: no column holds it, so fastavro writes the default."""
    contract = json.loads(CONTRACT_FILE.read_text())
    contract["fields"].append({"name": "venue", "type": "string", "default": "XNAS"})
    schema = Schema(json.dumps(contract), "AVRO")
    plan = GeneratorPlan(count=50, seed=2, start=START)
    encode = MessageEncoder(FramedAvroSerializer(1, KEY_SCHEMA), FramedAvroSerializer(2, schema))
    batch = next(generate_batches(plan))
    _, values = encode(batch)
    reference = FramedAvroSerializer(2, schema)
    assert values == [reference({**record, "venue": "XNAS"}) for record in batch.records()]
    assert all(value.endswith(b"\x08XNAS") for value in values)
