"""The schema changes the gate is tested on, with the verdicts Confluent documents.

Each case lists the old versions (oldest first) and the new schema. `backward[i]` says
whether the new schema can read data written with old version i, `forward[i]` whether
old version i can read data written with the new schema: Confluent Schema Registry
runs Java Avro's SchemaCompatibility for these, so that is the reference. The local
Apicurio registry gives the same answers for every case here (see the registry test);
a case where it did not would need a mark saying why, and the test would follow Confluent.
A level's verdict follows: the latest version (or all, when transitive) in the level's
directions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from schemagate.finding_ids import ViolationId
from schemagate.levels import Direction, Level

Json = dict[str, Any]

TS_MILLIS = {"type": "long", "logicalType": "timestamp-millis"}
TS_MICROS = {"type": "long", "logicalType": "timestamp-micros"}
SIDE = ["BUY", "SELL"]


def record(*fields: Json, name: str = "Price", namespace: str = "test", **extra: Any) -> Json:
    """A record schema: `ts` first, then `fields`."""
    return {
        "type": "record",
        "name": name,
        "namespace": namespace,
        "fields": [{"name": "ts", "type": TS_MILLIS}, *fields],
        **extra,
    }


def fld(name: str, type_: Any, **extra: Any) -> Json:
    return {"name": name, "type": type_, **extra}


def side(symbols: list[str], **extra: Any) -> Json:
    return fld("side", {"type": "enum", "name": "Side", "symbols": symbols, **extra})


PRICE = fld("price", "double")


@dataclass(frozen=True)
class Case:
    name: str
    history: tuple[Json, ...]
    new: Json
    backward: tuple[bool, ...]
    forward: tuple[bool, ...]
    rules: frozenset[ViolationId] = frozenset()
    """The rule ids the gate reports over all levels (empty when compatible at all)."""
    stricter_than_registry: str = ""
    """Why the gate rejects what the registries (Confluent and Apicurio) accept."""

    def __post_init__(self) -> None:
        assert len(self.backward) == len(self.forward) == len(self.history), self.name

    def expected(self, level: Level) -> bool:
        """Confluent's documented verdict at `level` (the gate's, for stricter cases)."""
        if self.stricter_than_registry and level is not Level.NONE:
            return False
        return self.registry_expected(level)

    def registry_expected(self, level: Level) -> bool:
        """What Confluent Schema Registry answers at `level`."""
        versions = range(len(self.history)) if level.transitive else [len(self.history) - 1]
        verdicts = {Direction.BACKWARD: self.backward, Direction.FORWARD: self.forward}
        return all(verdicts[direction][i] for direction in level.directions for i in versions)

    @property
    def history_texts(self) -> list[str]:
        return [json.dumps(schema) for schema in self.history]

    @property
    def new_text(self) -> str:
        return json.dumps(self.new)


CASES = (
    Case(
        "field_added_with_default",
        (record(PRICE),),
        record(PRICE, fld("currency", "string", default="USD")),
        backward=(True,),
        forward=(True,),
    ),
    Case(
        "field_added_without_default",
        (record(PRICE),),
        record(PRICE, fld("currency", "string")),
        backward=(False,),
        forward=(True,),
        rules=frozenset({ViolationId.FIELD_ADDED_WITHOUT_DEFAULT}),
    ),
    Case(
        "field_removed_with_default",
        (record(PRICE, fld("venue", "string", default="")),),
        record(PRICE),
        backward=(True,),
        forward=(True,),
    ),
    Case(
        "field_removed_without_default",
        (record(PRICE, fld("venue", "string")),),
        record(PRICE),
        backward=(True,),
        forward=(False,),
        rules=frozenset({ViolationId.FIELD_REMOVED_WITHOUT_DEFAULT}),
    ),
    Case(
        "int_promoted_to_long",
        (record(fld("size", "int")),),
        record(fld("size", "long")),
        backward=(True,),
        forward=(False,),
        rules=frozenset({ViolationId.TYPE_CHANGED}),
    ),
    Case(
        "long_promoted_to_double",
        (record(fld("size", "long")),),
        record(fld("size", "double")),
        backward=(True,),
        forward=(False,),
        rules=frozenset({ViolationId.TYPE_CHANGED}),
    ),
    Case(
        "int_then_long_then_double",
        (record(fld("size", "int")), record(fld("size", "long"))),
        record(fld("size", "double")),
        backward=(True, True),
        forward=(False, False),
        rules=frozenset({ViolationId.TYPE_CHANGED}),
    ),
    Case(
        "double_narrowed_to_int",
        (record(fld("size", "double")),),
        record(fld("size", "int")),
        backward=(False,),
        forward=(True,),
        rules=frozenset({ViolationId.TYPE_CHANGED}),
    ),
    Case(
        "long_narrowed_to_int_after_int",
        (record(fld("size", "int")), record(fld("size", "long"))),
        record(fld("size", "int")),
        backward=(True, False),
        forward=(True, True),
        rules=frozenset({ViolationId.TYPE_CHANGED}),
    ),
    Case(
        "string_to_bytes",
        (record(fld("symbol", "string")),),
        record(fld("symbol", "bytes")),
        backward=(True,),
        forward=(True,),
    ),
    Case(
        "bytes_to_string",
        (record(fld("symbol", "bytes")),),
        record(fld("symbol", "string")),
        backward=(True,),
        forward=(True,),
    ),
    Case(
        "double_to_string",
        (record(PRICE),),
        record(fld("price", "string")),
        backward=(False,),
        forward=(False,),
        rules=frozenset({ViolationId.TYPE_CHANGED}),
    ),
    Case(
        "field_renamed_without_alias",
        (record(PRICE),),
        record(fld("amount", "double")),
        backward=(False,),
        forward=(False,),
        rules=frozenset(
            {ViolationId.FIELD_ADDED_WITHOUT_DEFAULT, ViolationId.FIELD_REMOVED_WITHOUT_DEFAULT}
        ),
    ),
    Case(
        "field_renamed_with_alias",
        (record(PRICE),),
        record(fld("amount", "double", aliases=["price"])),
        backward=(True,),
        forward=(False,),
        rules=frozenset({ViolationId.FIELD_REMOVED_WITHOUT_DEFAULT}),
    ),
    Case(
        "enum_symbol_added",
        (record(side(SIDE)),),
        record(side([*SIDE, "HOLD"])),
        backward=(True,),
        forward=(False,),
        rules=frozenset({ViolationId.ENUM_SYMBOL_ADDED}),
    ),
    Case(
        "enum_symbol_removed",
        (record(side([*SIDE, "HOLD"])),),
        record(side(SIDE)),
        backward=(False,),
        forward=(True,),
        rules=frozenset({ViolationId.ENUM_SYMBOL_REMOVED}),
    ),
    Case(
        "enum_symbol_removed_new_enum_default",
        (record(side([*SIDE, "HOLD"])),),
        record(side(SIDE, default="BUY")),
        backward=(True,),
        forward=(True,),
    ),
    Case(
        "enum_symbol_added_old_enum_default",
        (record(side([*SIDE, "OTHER"], default="OTHER")),),
        record(side([*SIDE, "OTHER", "HOLD"], default="OTHER")),
        backward=(True,),
        forward=(True,),
    ),
    Case(
        "union_branch_added",
        (record(fld("venue", ["null", "string"], default=None)),),
        record(fld("venue", ["null", "string", "int"], default=None)),
        backward=(True,),
        forward=(False,),
        rules=frozenset({ViolationId.UNION_BRANCH_ADDED}),
    ),
    Case(
        "union_branch_removed",
        (record(fld("venue", ["null", "string", "int"], default=None)),),
        record(fld("venue", ["null", "string"], default=None)),
        backward=(False,),
        forward=(True,),
        rules=frozenset({ViolationId.UNION_BRANCH_REMOVED}),
    ),
    Case(
        "nullable_made_required",
        (record(fld("price", ["null", "double"], default=None)),),
        record(PRICE),
        backward=(False,),
        forward=(True,),
        rules=frozenset({ViolationId.FIELD_MADE_REQUIRED}),
    ),
    Case(
        "required_made_nullable",
        (record(PRICE),),
        record(fld("price", ["null", "double"], default=None)),
        backward=(True,),
        forward=(False,),
        rules=frozenset({ViolationId.FIELD_MADE_NULLABLE}),
    ),
    Case(
        "timestamp_millis_to_micros",
        (record(PRICE),),
        {**record(PRICE), "fields": [{"name": "ts", "type": TS_MICROS}, PRICE]},
        backward=(True,),
        forward=(True,),
        rules=frozenset({ViolationId.LOGICAL_TYPE_CHANGED}),
        stricter_than_registry=(
            "Java Avro's SchemaCompatibility, which both registries run, ignores logicalType: "
            "millisecond values would be read as microseconds (the issue requires a failure)"
        ),
    ),
    Case(
        "namespace_changed",
        (record(PRICE),),
        record(PRICE, namespace="test.v2"),
        backward=(True,),
        forward=(True,),
    ),
    Case(
        "record_renamed_without_alias",
        (record(PRICE),),
        record(PRICE, name="Quote"),
        backward=(False,),
        forward=(False,),
        rules=frozenset({ViolationId.NAME_CHANGED}),
    ),
    Case(
        "record_renamed_with_alias",
        (record(PRICE),),
        record(PRICE, name="Quote", aliases=["Price"]),
        backward=(True,),
        forward=(False,),
        rules=frozenset({ViolationId.NAME_CHANGED}),
    ),
    Case(
        "field_readded_with_other_type",
        (record(fld("size", "int")), record()),
        record(fld("size", "string", default="")),
        backward=(False, True),
        forward=(False, True),
        rules=frozenset({ViolationId.TYPE_CHANGED}),
    ),
    Case(
        "nested_record_field_changed",
        (record(fld("quote", record(fld("bid", "double"), name="Quote"))),),
        record(fld("quote", record(fld("bid", "string"), name="Quote"))),
        backward=(False,),
        forward=(False,),
        rules=frozenset({ViolationId.TYPE_CHANGED}),
    ),
    Case(
        "fixed_size_changed",
        (record(fld("id", {"type": "fixed", "name": "Id", "size": 16})),),
        record(fld("id", {"type": "fixed", "name": "Id", "size": 8})),
        backward=(False,),
        forward=(False,),
        rules=frozenset({ViolationId.FIXED_SIZE_CHANGED}),
    ),
    Case(
        "union_reordered",
        (record(fld("venue", ["null", "string"], default=None)),),
        record(fld("venue", ["string", "null"], default="")),
        backward=(True,),
        forward=(True,),
    ),
    Case(
        "array_items_int_to_long",
        (record(fld("sizes", {"type": "array", "items": "int"})),),
        record(fld("sizes", {"type": "array", "items": "long"})),
        backward=(True,),
        forward=(False,),
        rules=frozenset({ViolationId.TYPE_CHANGED}),
    ),
    Case(
        "map_values_string_to_int",
        (record(fld("tags", {"type": "map", "values": "string"})),),
        record(fld("tags", {"type": "map", "values": "int"})),
        backward=(False,),
        forward=(False,),
        rules=frozenset({ViolationId.TYPE_CHANGED}),
    ),
    Case(
        "field_default_changed",
        (record(fld("currency", "string", default="USD")),),
        record(fld("currency", "string", default="EUR")),
        backward=(True,),
        forward=(True,),
    ),
)
