"""Confluent-framed Avro values and keys against a registered id: with fastavro record
by record, or a whole batch of records at once from its columns with numpy.

A message is byte for byte what confluent-kafka's ``AvroSerializer`` writes (magic byte 0,
the 4-byte big-endian schema id, the schemaless Avro body;
tests/producer/test_producer_serialization.py checks it against the real registry)
without that serializer's per-call work: subject lookup, schema cache and lock, rule
execution and the SerializationContext. That work is done once, when the contract is
registered, and the registry stays the source of the id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from io import BytesIO
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
from confluent_kafka.schema_registry import Schema
from fastavro import parse_schema, schemaless_writer

from contract.columns import Categorical, Column
from producer.events import COLUMN_NAMES, SYMBOLS, EventBatch

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
        self.schema = schema
        self._header = confluent_header(schema_id)
        self._parsed: Any = parse_schema(underlying_types(json.loads(schema.schema_str)))

    def __call__(self, datum: Any) -> bytes:
        buffer = BytesIO()
        buffer.write(self._header)
        schemaless_writer(buffer, self._parsed, datum)
        return buffer.getvalue()


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


#: Bytes of each fixed-size Avro type, as numpy writes them (little-endian IEEE 754).
FIXED_TYPES: dict[str, str] = {"double": "<f8", "float": "<f4"}
VARINT_TYPES = ("long", "int")
MAX_VARINT_BYTES = 10  # a 64-bit value, 7 bits a byte


@dataclass(frozen=True)
class Piece:
    """One field of every row of a batch, encoded: row i's bytes are
    ``data[i, :sizes[i]]`` (``sizes`` None: every row uses the whole width)."""

    data: npt.NDArray[np.uint8]
    sizes: npt.NDArray[np.int64] | None

    def used(self) -> npt.NDArray[np.bool_]:
        """Which bytes of data are row's own."""
        if self.sizes is None:
            return np.ones(self.data.shape, np.bool_)
        return np.arange(self.data.shape[1]) < self.sizes[:, None]


def varint_piece(values: npt.NDArray[np.int64]) -> Piece:
    """Avro longs (or ints) of a column: zig-zag, then 7 bits a byte, low bits first."""
    zigzag = ((values << 1) ^ (values >> 63)).view(np.uint64)
    sizes = np.ones(len(values), np.int64)
    for group in range(1, MAX_VARINT_BYTES):
        sizes += (zigzag >> np.uint64(7 * group)) != 0
    width = int(sizes.max(initial=1))
    data = np.empty((len(values), width), np.uint8)
    for group in range(width):
        low_bits = (zigzag >> np.uint64(7 * group)) & np.uint64(0x7F)
        data[:, group] = low_bits | np.where(sizes > group + 1, np.uint64(0x80), np.uint64(0))
    return Piece(data, None if width == 1 or (sizes == width).all() else sizes)


def string_piece(column: Categorical) -> Piece:
    """Avro strings (length, UTF-8 bytes) of a column, each distinct value encoded once."""
    encoded = [zigzag_varint(len(data)) + data for data in map(str.encode, column.values)]
    widths = np.array([len(value) for value in encoded], np.int64)
    table = np.zeros((len(encoded), int(widths.max(initial=0))), np.uint8)
    for row, value in enumerate(encoded):
        table[row, : len(value)] = np.frombuffer(value, np.uint8)
    uniform = len(set(widths.tolist())) <= 1
    return Piece(table[column.codes], None if uniform else widths[column.codes])


def fixed_piece(values: npt.NDArray[Any], dtype: str) -> Piece:
    """A column of doubles or floats, each as its little-endian IEEE 754 bytes."""
    data = np.ascontiguousarray(values, dtype=dtype).view(np.uint8)
    return Piece(data.reshape(len(values), np.dtype(dtype).itemsize), None)


def encode_column(avro_type: str, column: Column) -> Piece:
    if isinstance(column, Categorical):
        if avro_type != "string":
            raise TypeError(f"a text column for an Avro {avro_type}")
        return string_piece(column)
    if avro_type in VARINT_TYPES and np.issubdtype(column.dtype, np.integer):
        return varint_piece(column.astype(np.int64, copy=False))
    if avro_type in FIXED_TYPES and np.issubdtype(column.dtype, np.floating):
        return fixed_piece(column, FIXED_TYPES[avro_type])
    raise TypeError(f"a column of {column.dtype} for an Avro {avro_type}")


def row_count(column: Column) -> int:
    return len(column.codes) if isinstance(column, Categorical) else len(column)


def plain_type(field_type: Any) -> str | None:
    """ "long" for "long" or {"type": "long"} (logical types already removed), else None."""
    if isinstance(field_type, dict) and set(field_type) == {"type"}:
        field_type = field_type["type"]
    return field_type if isinstance(field_type, str) else None


class ColumnSerializer:
    """A batch of records, as columns, to each record in the Confluent wire format: the
    same bytes as FramedAvroSerializer, written with a few numpy operations per field
    for the whole batch instead of Python work per value. For a record of plain fields
    (long, int, double, float, string); ``of(schema_id, schema)`` is None for others.
    """

    def __init__(self, schema_id: int, fields: list[tuple[str, str]]) -> None:
        self.schema_id = schema_id
        self._header = np.frombuffer(confluent_header(schema_id), np.uint8)
        self._fields = fields

    @classmethod
    def of(cls, schema_id: int, schema: Schema) -> ColumnSerializer | None:
        if schema.schema_str is None:
            return None
        parsed = underlying_types(json.loads(schema.schema_str))
        if not isinstance(parsed, dict) or parsed.get("type") != "record":
            return None
        fields = []
        for field in parsed["fields"]:
            kind = plain_type(field["type"])
            if kind is None or kind not in (*VARINT_TYPES, *FIXED_TYPES, "string"):
                return None
            fields.append((field["name"], kind))
        return cls(schema_id, fields) if fields else None

    def fits(self, column_names: Collection[str]) -> bool:
        """Every field of the schema has a column of that name."""
        return all(name in column_names for name, _ in self._fields)

    def __call__(self, columns: Mapping[str, Column]) -> list[bytes]:
        """Each row's message: the rows' pieces side by side, the unused bytes of the
        variable-size ones dropped, then the whole batch cut into rows."""
        rows = row_count(columns[self._fields[0][0]])
        header = Piece(np.broadcast_to(self._header, (rows, len(self._header))), None)
        pieces = [header, *(encode_column(kind, columns[name]) for name, kind in self._fields)]
        matrix = np.concatenate([piece.data for piece in pieces], axis=1)
        if all(piece.sizes is None for piece in pieces):
            # Rows of one size: each row as one opaque item, whose tolist() is its bytes.
            return np.ascontiguousarray(matrix).view(f"V{matrix.shape[1]}").ravel().tolist()
        used = np.concatenate([piece.used() for piece in pieces], axis=1)
        raw = matrix[used].tobytes()
        ends = np.cumsum(used.sum(axis=1)).tolist()
        return [raw[start:end] for start, end in pairwise([0, *ends])]


#: A batch's messages: their keys and their values, in event order.
Messages = tuple[list[bytes], list[bytes]]


class MessageEncoder:
    """An EventBatch to its messages as the registered contract writes them: keyed by
    symbol (each symbol's key serialized once), values by ColumnSerializer when the value
    schema is a record of plain fields with a column each (the contract's), otherwise by
    fastavro record by record."""

    def __init__(self, key: Serializer, value: FramedAvroSerializer) -> None:
        self._key = key
        self._keys = {symbol: key(symbol) for symbol in SYMBOLS}
        self._value = value
        columns = ColumnSerializer.of(value.schema_id, value.schema)
        self._columns = columns if columns is not None and columns.fits(COLUMN_NAMES) else None

    def __call__(self, batch: EventBatch) -> Messages:
        keys = [self._keys.get(name) or self._key(name) for name in batch.symbol_names]
        if self._columns is not None:
            values = self._columns(batch.columns())
        else:
            values = [self._value(record) for record in batch.records()]
        return [keys[symbol] for symbol in batch.symbols.tolist()], values
