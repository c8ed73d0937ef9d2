"""Confluent-framed Avro values and keys, written with fastavro against a registered id.

A message is byte for byte what confluent-kafka's ``AvroSerializer`` writes (magic byte 0,
the 4-byte big-endian schema id, the schemaless Avro body; tests/test_producer_serialization.py
checks it against the real registry) without that serializer's per-call work: subject
lookup, schema cache and lock, rule execution and the SerializationContext. That work is
done once, when the contract is registered, and the registry stays the source of the id.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Hashable
from io import BytesIO
from typing import Any

from confluent_kafka.schema_registry import Schema
from fastavro import parse_schema, schemaless_writer

MAGIC_BYTE = b"\x00"

Serializer = Callable[[Any], bytes]


def confluent_header(schema_id: int) -> bytes:
    """The 5-byte Confluent wire-format prefix of a value written with schema_id."""
    return MAGIC_BYTE + schema_id.to_bytes(4, "big")


def underlying_types(schema: Any) -> Any:
    """The schema (parsed JSON) with each logical type replaced by its underlying type.

    A logical type is always serialized as its underlying type (Avro specification), so
    both write the same bytes for the same underlying values; fastavro just skips its
    per-value conversion (about 0.8 µs per event for ``timestamp-millis`` here).
    """
    if isinstance(schema, dict):
        return {
            name: underlying_types(value) for name, value in schema.items() if name != "logicalType"
        }
    if isinstance(schema, list):
        return [underlying_types(item) for item in schema]
    return schema


class FramedAvroSerializer:
    """datum -> the Confluent wire format of datum written with schema under schema_id.

    Datums hold logical types' underlying values, e.g. epoch milliseconds (an int) for a
    ``timestamp-millis`` field, as producer.events.PriceRecord does.
    """

    def __init__(self, schema_id: int, schema: Schema) -> None:
        if schema.schema_str is None:
            raise ValueError("a schema without its text")
        self.schema_id = schema_id
        self._header = confluent_header(schema_id)
        self._parsed: Any = parse_schema(underlying_types(json.loads(schema.schema_str)))

    def __call__(self, datum: Any) -> bytes:
        buffer = BytesIO()
        buffer.write(self._header)
        schemaless_writer(buffer, self._parsed, datum)
        return buffer.getvalue()


class MemoizedSerializer:
    """Serializes each distinct value once: the producer's keys are five symbols."""

    def __init__(self, serialize: Serializer) -> None:
        self._serialize = serialize
        self._cache: dict[Hashable, bytes] = {}

    def __call__(self, value: Hashable) -> bytes:
        cached = self._cache.get(value)
        if cached is None:
            cached = self._cache[value] = self._serialize(value)
        return cached


def zigzag_varint(value: int) -> bytes:
    """An Avro int or long: zig-zag encoded, then 7 bits a byte, low bits first."""
    n = (value << 1) ^ (value >> 63)
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


#: Distinct strings a field's encoder keeps encoded (symbols, currency codes); any more
#: are encoded each time.
STRING_CACHE = 4_096


def string_encoder() -> Callable[[str], bytes]:
    """An Avro string (length, UTF-8 bytes), each distinct value encoded once."""
    cache: dict[str, bytes] = {}

    def encode(value: str) -> bytes:
        encoded = cache.get(value)
        if encoded is None:
            data = value.encode()
            encoded = zigzag_varint(len(data)) + data
            if len(cache) < STRING_CACHE:
                cache[value] = encoded
        return encoded

    return encode


def long_encoder() -> Callable[[int], bytes]:
    """An Avro long: its low 14 bits as two bytes, the rest encoded once per distinct
    value (a timestamp in milliseconds changes those every 16 s)."""
    high: dict[int, bytes] = {}

    def encode(value: int) -> bytes:
        n = (value << 1) ^ (value >> 63)
        if n < 0x4000:
            return zigzag_varint(value)
        rest = high.get(n >> 14)
        if rest is None:
            rest = zigzag_varint(zigzag_decode(n >> 14))
            if len(high) >= STRING_CACHE:
                high.clear()
            high[n >> 14] = rest
        return bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80)) + rest

    return encode


def zigzag_decode(n: int) -> int:
    """The value whose zig-zag encoding is n."""
    return (n >> 1) ^ -(n & 1)


#: Field types a RecordSerializer writes itself, and how.
FIELD_ENCODERS: dict[str, Callable[[], Callable[[Any], bytes]]] = {
    "long": long_encoder,
    "int": lambda: zigzag_varint,
    "double": lambda: struct.Struct("<d").pack,
    "float": lambda: struct.Struct("<f").pack,
    "string": string_encoder,
}


def plain_type(field_type: Any) -> str | None:
    """ "long" for "long" or {"type": "long"} (logical types already removed), else None."""
    if isinstance(field_type, dict) and set(field_type) == {"type"}:
        field_type = field_type["type"]
    return field_type if isinstance(field_type, str) else None


class RecordSerializer:
    """A record of plain fields (long, int, double, float, string) in the Confluent wire
    format: the same bytes as FramedAvroSerializer, written without fastavro's per-value
    type dispatch: one encoder per field, chosen once from the schema, strings encoded
    once per distinct value. ``of(schema_id, schema)`` is None for any other schema."""

    def __init__(self, schema_id: int, fields: list[tuple[str, Callable[[Any], bytes]]]):
        self.schema_id = schema_id
        # One expression, header + each field's encoder on its value, built once: no loop
        # and no type test per value.
        names = {f"e{i}": encode for i, (_, encode) in enumerate(fields)}
        body = " + ".join(f"e{i}(datum[{name!r}])" for i, (name, _) in enumerate(fields))
        scope = {"header": confluent_header(schema_id), **names}
        self._write: Callable[[Any], bytes] = eval(f"lambda datum: header + {body}", scope)

    @classmethod
    def of(cls, schema_id: int, schema: Schema) -> RecordSerializer | None:
        if schema.schema_str is None:
            return None
        parsed = underlying_types(json.loads(schema.schema_str))
        if not isinstance(parsed, dict) or parsed.get("type") != "record":
            return None
        fields = []
        for field in parsed["fields"]:
            kind = plain_type(field["type"])
            if kind not in FIELD_ENCODERS:
                return None
            fields.append((field["name"], FIELD_ENCODERS[kind]()))
        return cls(schema_id, fields)

    def __call__(self, datum: Any) -> bytes:
        return self._write(datum)
