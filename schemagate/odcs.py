"""What an ODCS v3 document of a contract holds, for the export and the import alike.

The names follow datacontract-cli's own Avro import and export where it has one
(``namespace``, ``avroLogicalType``, ``avroDefault``, ``avroAliases``), so its tools read
our documents as they read theirs. What ODCS has no field for goes in custom properties:

- ``avroSchema``: a field's whole Avro type where physicalType and logicalType cannot say
  it (records, arrays, maps, enums, fixed, unions other than ``["null", T]``, logical types
  with attributes such as decimal's precision);
- ``confluentRule`` on each quality check: the rule as Confluent's JSON (name, kind, mode,
  type, the CEL in ``expr``, onFailure...);
- ``confluentMetadata``, ``confluentMigrationRules``, ``confluentEnableAt`` on the contract:
  the rules file's metadata properties (the major), migration rules and ``enableAt``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

#: What datacontract-cli 1.2.8 writes with ``init``.
API_VERSION = "v3.2.0"
KIND = "DataContract"
SERVER_NAME = "kafka"

NAMESPACE = "namespace"
AVRO_LOGICAL_TYPE = "avroLogicalType"
AVRO_DEFAULT = "avroDefault"
AVRO_ALIASES = "avroAliases"
AVRO_SCHEMA = "avroSchema"
RULE = "confluentRule"
METADATA = "confluentMetadata"
MIGRATION_RULES = "confluentMigrationRules"
ENABLE_AT = "confluentEnableAt"

#: Avro primitives and the ODCS logical type each is. Every property gets a logicalType:
#: the standard's JSON schema (3.2.0) asks a property without one for a ``map`` block.
PRIMITIVE_LOGICAL_TYPES: Mapping[str, str] = {
    "string": "string",
    "bytes": "string",
    "int": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
}
#: Avro logical types written with physicalType and avroLogicalType alone, and the ODCS
#: logical type each is.
LOGICAL_TYPES: Mapping[tuple[str, str], str] = {
    ("long", "timestamp-millis"): "timestamp",
    ("long", "timestamp-micros"): "timestamp",
    ("long", "local-timestamp-millis"): "timestamp",
    ("long", "local-timestamp-micros"): "timestamp",
    ("int", "date"): "date",
    ("int", "time-millis"): "time",
    ("long", "time-micros"): "time",
    ("string", "uuid"): "string",
}
#: A property with an Avro primitive as physicalType and a temporal logicalType but no
#: avroLogicalType (as datacontract-cli's own Avro import writes a timestamp-millis).
IMPLIED_LOGICAL_TYPES: Mapping[tuple[str, str], str] = {
    ("long", "timestamp"): "timestamp-millis",
    ("int", "date"): "date",
    ("int", "time"): "time-millis",
    ("long", "time"): "time-micros",
}
#: A property with no physicalType: the Avro type of its ODCS logical type.
FROM_LOGICAL_TYPE: Mapping[str, Any] = {
    "string": "string",
    "integer": "long",
    "number": "double",
    "boolean": "boolean",
    "timestamp": {"type": "long", "logicalType": "timestamp-millis"},
    "date": {"type": "int", "logicalType": "date"},
}
#: The ODCS logical type of a complex Avro type (an avroSchema property holds the type);
#: any other (a union of several types, a named type's name) is an object.
COMPLEX_LOGICAL_TYPES: Mapping[str, str] = {
    "record": "object",
    "array": "array",
    "map": "map",
    "enum": "string",
    "fixed": "string",
}


def custom_properties(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """ODCS customProperties from name -> value (None values left out)."""
    return [
        {"property": name, "value": value} for name, value in values.items() if value is not None
    ]


def custom_property(item: Mapping[str, Any], name: str) -> Any:
    """A custom property's value on a document element, None if it has none."""
    entries = item.get("customProperties")
    if not isinstance(entries, Sequence):
        return None
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("property") == name:
            return entry.get("value")
    return None


def _first_branch(avro_type: Any) -> Any:
    """The type a default is written in: a union's first branch."""
    first = avro_type[0] if isinstance(avro_type, list) and avro_type else avro_type
    return first.get("type") if isinstance(first, Mapping) else first


def _textual(avro_type: Any) -> bool:
    """Whether the field's default is a JSON string in Avro (string, bytes, enum, fixed)."""
    return _first_branch(avro_type) in ("string", "bytes", "enum", "fixed")


def default_text(avro_type: Any, default: Any) -> str:
    """A field's default as avroDefault holds it: a string default as itself (as
    datacontract-cli writes it), any other as JSON."""
    if _textual(avro_type) and isinstance(default, str):
        return default
    return json.dumps(default, ensure_ascii=False)


def default_value(avro_type: Any, text: Any) -> Any:
    """The reverse of default_text (ValueError for JSON that does not parse)."""
    if _textual(avro_type) and isinstance(text, str):
        return text
    return json.loads(text) if isinstance(text, str) else text


def dump_yaml(document: Mapping[str, Any]) -> str:
    """The document as YAML, its keys in the order they were built."""
    return str(yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, width=100))
