"""A contract (an Avro schema file and its rules file) as an ODCS v3 document.

The record is the document's one schema object (its name the record's name, the topic its
physicalName when there is one), each field a property. Each domain rule that judges on
read becomes a quality check: a ``sql`` check counting the records that break it
(``contract.cel_sql``, ``mustBe: 0``, ``id`` the rule's name), or a ``text`` check holding
the CEL where the translation cannot keep the rule's verdict, or where the rule does not
judge on read (WRITE only, disabled). Every rule is carried whole in its check's
``confluentRule`` custom property, so the import gives the rules file back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.cel_sql import SqlUnsupported, condition_sql, failing_records_query, field_defaults
from contract.rules import (
    READ,
    RulesDocument,
    RulesError,
    avro_field_types,
    bind_rule,
    load_rules_document,
    rules_file,
)
from schemagate.check import parse
from schemagate.errors import GateError
from schemagate.odcs import (
    API_VERSION,
    AVRO_ALIASES,
    AVRO_DEFAULT,
    AVRO_LOGICAL_TYPE,
    AVRO_SCHEMA,
    COMPLEX_LOGICAL_TYPES,
    ENABLE_AT,
    KIND,
    LOGICAL_TYPES,
    METADATA,
    MIGRATION_RULES,
    NAMESPACE,
    PRIMITIVE_LOGICAL_TYPES,
    RULE,
    SERVER_NAME,
    custom_properties,
    default_text,
)

#: The contract version when the rules file names no major.
DEFAULT_VERSION = "1.0.0"


@dataclass(frozen=True)
class KafkaServer:
    """Where the contract's records are: the topic and the brokers."""

    topic: str
    bootstrap_servers: str


@dataclass(frozen=True)
class Export:
    """The ODCS document, and one line per rule that went out as a text check because
    the SQL translation cannot express it."""

    document: dict[str, Any]
    untranslated: tuple[str, ...] = ()


def export_contract(schema_file: Path, server: KafkaServer | None = None) -> Export:
    """The ODCS document of a schema file and the rules file beside it (GateError in one
    line for a file that cannot be read)."""
    try:
        text = schema_file.read_text(encoding="utf-8")
    except OSError as error:
        raise GateError(f"{schema_file}: cannot read: {error.strerror}") from None
    parse(text, str(schema_file))
    schema = json.loads(text)
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise GateError(f"{schema_file}: not an Avro record schema")
    rules_path = rules_file(schema_file)
    try:
        rules = load_rules_document(rules_path) if rules_path.exists() else RulesDocument()
    except RulesError as error:
        raise GateError(str(error)) from None
    subject = schema_file.name.removesuffix(schema_file.suffix)
    checks, untranslated = _quality_checks(schema, rules)
    return Export(_document(subject, schema, rules, checks, server), tuple(untranslated))


def _document(
    subject: str,
    schema: Mapping[str, Any],
    rules: RulesDocument,
    checks: list[dict[str, Any]],
    server: KafkaServer | None,
) -> dict[str, Any]:
    major = rules.major
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "id": subject,
        "name": subject,
        "version": f"{major}.0.0" if major and major.isdigit() else DEFAULT_VERSION,
        "status": "active",
    }
    if server is not None:
        document["servers"] = [
            {
                "server": SERVER_NAME,
                "type": "kafka",
                "host": server.bootstrap_servers,
                "format": "avro",
            }
        ]
    document["schema"] = [_schema_object(schema, checks, server)]
    rule_set = rules.rule_set
    extra = custom_properties(
        {
            METADATA: dict(rules.metadata) or None,
            MIGRATION_RULES: [rule.to_json() for rule in rule_set.migration_rules] or None,
            ENABLE_AT: rule_set.enable_at,
        }
    )
    if extra:
        document["customProperties"] = extra
    return document


def _schema_object(
    schema: Mapping[str, Any], checks: list[dict[str, Any]], server: KafkaServer | None
) -> dict[str, Any]:
    record: dict[str, Any] = {"name": schema["name"]}
    if server is not None:
        record["physicalName"] = server.topic
    record |= {"physicalType": "record", "logicalType": "object"}
    if "doc" in schema:
        record["description"] = schema["doc"]
    extra = custom_properties(
        {NAMESPACE: schema.get("namespace"), AVRO_ALIASES: schema.get("aliases")}
    )
    if extra:
        record["customProperties"] = extra
    record["properties"] = [_property(field) for field in schema["fields"]]
    if checks:
        record["quality"] = checks
    return record


def _property(field: Mapping[str, Any]) -> dict[str, Any]:
    avro_type = field["type"]
    nullable_of = _nullable_branch(avro_type)
    simple = nullable_of if nullable_of is not None else avro_type
    physical, _, logical_name = _simple_type(simple)
    out: dict[str, Any] = {"name": field["name"]}
    out |= _odcs_type(simple if physical is not None else avro_type)
    if "doc" in field:
        out["description"] = field["doc"]
    # a union, or a field with a default, may have no value in a record read without a
    # reader schema (a version written before the field existed)
    out["required"] = not isinstance(avro_type, list) and "default" not in field
    # physicalType, avroLogicalType and required say T (with or without a default) and
    # ["null", T] without one; anything else goes whole
    described = physical is not None and (nullable_of is None or "default" not in field)
    extra = custom_properties(
        {
            AVRO_LOGICAL_TYPE: logical_name,
            AVRO_DEFAULT: default_text(avro_type, field["default"]) if "default" in field else None,
            AVRO_ALIASES: field.get("aliases"),
            AVRO_SCHEMA: None if described else avro_type,
        }
    )
    if extra:
        out["customProperties"] = extra
    return out


def _odcs_type(avro_type: Any) -> dict[str, Any]:
    """physicalType and logicalType of an Avro type (a map's ``map`` block too: the
    standard asks a map for its key's and value's types)."""
    physical, logical, _ = _simple_type(avro_type)
    if physical is not None and logical is not None:
        return {"physicalType": physical, "logicalType": logical}
    name = _type_name(avro_type)
    out: dict[str, Any] = {
        "physicalType": name,
        "logicalType": COMPLEX_LOGICAL_TYPES.get(name, "object"),
    }
    if name == "map":
        out["map"] = {
            "key": {"physicalType": "string", "logicalType": "string"},
            "value": _odcs_type(avro_type["values"]),
        }
    return out


def _nullable_branch(avro_type: Any) -> Any:
    """T of a ``["null", T]`` union, else None."""
    if isinstance(avro_type, list) and len(avro_type) == 2 and avro_type[0] == "null":
        return avro_type[1]
    return None


def _simple_type(avro_type: Any) -> tuple[str | None, str | None, str | None]:
    """(physicalType, ODCS logicalType, Avro logicalType) of a primitive or a logical type
    with no attributes but its base; physicalType None for anything else."""
    if isinstance(avro_type, str) and avro_type in PRIMITIVE_LOGICAL_TYPES:
        return avro_type, PRIMITIVE_LOGICAL_TYPES[avro_type], None
    if isinstance(avro_type, Mapping) and set(avro_type) == {"type", "logicalType"}:
        key = (avro_type["type"], avro_type["logicalType"])
        if key in LOGICAL_TYPES:
            return key[0], LOGICAL_TYPES[key], key[1]
    return None, None, None


def _type_name(avro_type: Any) -> str:
    if isinstance(avro_type, list):
        return "union"
    if isinstance(avro_type, Mapping):
        return str(avro_type.get("type"))
    return str(avro_type)  # a named type referred to by name


_STABLE_ID = re.compile(r"[^A-Za-z0-9_-]")


def _quality_checks(
    schema: Mapping[str, Any], rules: RulesDocument
) -> tuple[list[dict[str, Any]], list[str]]:
    fields = avro_field_types(schema)
    defaults = field_defaults(schema, fields)
    on_read = {rule.name for rule in rules.rule_set.applying(READ)}
    checks: list[dict[str, Any]] = []
    untranslated: list[str] = []
    for rule in rules.rule_set.domain_rules:
        check: dict[str, Any] = {"id": _STABLE_ID.sub("_", rule.name), "name": rule.name}
        if rule.name not in on_read:
            check |= {
                "type": "text",
                "description": f"{rule.expr} (does not judge on read: mode {rule.mode}"
                + (", disabled" if rule.disabled else "")
                + ")",
            }
        else:
            action = rule.failure_action(READ)
            description = rule.doc or f"{rule.expr} ({action} on read)"
            try:
                bound = bind_rule(rule, READ, fields)
                query = failing_records_query(condition_sql(bound.condition, fields, defaults))
            except (RulesError, SqlUnsupported) as error:
                untranslated.append(f"rule {rule.name!r} goes out as a text check: {error}")
                check |= {"type": "text", "description": f"{description}; not in SQL: {error}"}
            else:
                check |= {
                    "type": "sql",
                    "description": description,
                    "query": query,
                    "mustBe": 0,
                    "severity": "error" if bound.decisive else "warning",
                }
        check["customProperties"] = custom_properties({RULE: rule.to_json()})
        checks.append(check)
    return checks, untranslated
