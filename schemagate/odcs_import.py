"""An ODCS v3 document back into a contract: ``<subject>.avsc`` and ``<subject>.rules.json``.

The reverse of ``schemagate.odcs_export``: the document's schema object is the record
(its name, the ``namespace`` custom property, the description as doc), each property a
field (physicalType, avroLogicalType, required, avroDefault, or the whole type in
avroSchema); the rules come from the CEL each quality check carries in its
``confluentRule`` custom property, the metadata and migration rules from the contract's
custom properties. A quality check without a rule (a foreign SQL, library or text check)
cannot be turned into CEL, nor a property whose type has no Avro mapping: each is an
``Unsupported`` line; the import refuses them unless told to skip them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contract.rules import RulesDocument, RulesError, rules_document_from_json
from schemagate.check import parse
from schemagate.contracts import RULES_SUFFIX, SUFFIX
from schemagate.errors import GateError
from schemagate.odcs import (
    AVRO_ALIASES,
    AVRO_DEFAULT,
    AVRO_LOGICAL_TYPE,
    AVRO_SCHEMA,
    ENABLE_AT,
    FROM_LOGICAL_TYPE,
    IMPLIED_LOGICAL_TYPES,
    KIND,
    METADATA,
    MIGRATION_RULES,
    NAMESPACE,
    PRIMITIVE_LOGICAL_TYPES,
    RULE,
    custom_property,
    default_value,
)

VALUE_SUBJECT_SUFFIX = "-value"


@dataclass(frozen=True)
class ImportedContract:
    """The contract a document holds, and what of it could not be carried (one line each)."""

    subject: str
    schema: dict[str, Any]
    rules: RulesDocument | None
    skipped: tuple[str, ...]


class _Unsupported(Exception):
    """One element of the document that has no counterpart in a contract."""


def load_document(path: Path) -> dict[str, Any]:
    """The ODCS v3 document in a YAML file (GateError in one line if it is not one)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise GateError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise GateError(f"{path}: not YAML (not UTF-8 text)") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise GateError(f"{path}: not YAML{line}") from None
    if not isinstance(document, dict):
        raise GateError(f"{path}: not an ODCS v3 data contract (not a YAML mapping)")
    version = document.get("apiVersion")
    if document.get("kind") != KIND or not (isinstance(version, str) and version.startswith("v3.")):
        raise GateError(
            f"{path}: not an ODCS v3 data contract (kind {document.get('kind')!r}, "
            f"apiVersion {version!r}; expected kind {KIND} and apiVersion v3.x)"
        )
    schema = document.get("schema")
    if not isinstance(schema, list) or not schema:
        raise GateError(f"{path}: the data contract names no schema")
    if len(schema) > 1:
        names = ", ".join(str(item.get("name")) for item in schema if isinstance(item, dict))
        raise GateError(
            f"{path}: the data contract has {len(schema)} schema objects ({names}), not one record"
        )
    if not isinstance(schema[0], dict) or not schema[0].get("name"):
        raise GateError(f"{path}: the data contract's schema object has no name")
    return document


def subject_of(document: Mapping[str, Any]) -> str | None:
    """The topic's value subject: the schema object's physicalName, when the document
    has a kafka server."""
    servers = document.get("servers") or []
    kafka = any(isinstance(server, Mapping) and server.get("type") == "kafka" for server in servers)
    topic = document["schema"][0].get("physicalName")
    return f"{topic}{VALUE_SUBJECT_SUFFIX}" if kafka and isinstance(topic, str) and topic else None


def import_contract(
    document: Mapping[str, Any], origin: str, subject: str | None, skip_unsupported: bool
) -> ImportedContract:
    """The contract a loaded document holds (GateError in one line for what cannot be
    carried, unless skip_unsupported: then each skip is listed)."""
    subject = subject or subject_of(document)
    if subject is None:
        raise GateError(
            f"{origin}: names no topic (a kafka server and the schema's physicalName): "
            "pass --subject"
        )
    record = document["schema"][0]
    skipped: list[str] = []
    schema = _record(record, skipped)
    rules = _rules(document, record, origin, skipped)
    if skipped and not skip_unsupported:
        raise GateError(
            f"{origin}: " + "; ".join(skipped) + " (--skip-unsupported leaves them out)"
        )
    parse(json.dumps(schema), origin)
    return ImportedContract(subject, schema, rules, tuple(skipped))


def _record(record: Mapping[str, Any], skipped: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "record", "name": record["name"]}
    namespace = custom_property(record, NAMESPACE)
    if namespace is not None:
        schema["namespace"] = namespace
    if "description" in record:
        schema["doc"] = record["description"]
    aliases = custom_property(record, AVRO_ALIASES)
    if aliases is not None:
        schema["aliases"] = aliases
    fields = []
    for item in record.get("properties") or []:
        try:
            fields.append(_field(item))
        except _Unsupported as error:
            skipped.append(str(error))
    schema["fields"] = fields
    return schema


def _field(item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping) or not item.get("name"):
        raise _Unsupported(f"a property without a name ({item!r})")
    name = str(item["name"])
    whole = custom_property(item, AVRO_SCHEMA)
    default = custom_property(item, AVRO_DEFAULT)
    avro_type = whole if whole is not None else _simple(item)
    if whole is None and item.get("required") is not True and default is None:
        avro_type = ["null", avro_type]  # not required, no default: a union with null
    field: dict[str, Any] = {"name": name, "type": avro_type}
    if "description" in item:
        field["doc"] = item["description"]
    if default is not None:
        try:
            field["default"] = default_value(avro_type, default)
        except ValueError:
            raise _Unsupported(f"property {name}: avroDefault {default!r} is not JSON") from None
    aliases = custom_property(item, AVRO_ALIASES)
    if aliases is not None:
        field["aliases"] = aliases
    return field


def _simple(item: Mapping[str, Any]) -> Any:
    """The Avro type of a property described by physicalType (or logicalType) and
    avroLogicalType."""
    name = item["name"]
    physical = item.get("physicalType")
    logical = item.get("logicalType")
    avro_logical = custom_property(item, AVRO_LOGICAL_TYPE)
    if physical in PRIMITIVE_LOGICAL_TYPES:
        avro_logical = avro_logical or IMPLIED_LOGICAL_TYPES.get((str(physical), str(logical)))
        if avro_logical is None:
            return physical
        return {"type": physical, "logicalType": avro_logical}
    if physical is None and isinstance(logical, str) and logical in FROM_LOGICAL_TYPE:
        return FROM_LOGICAL_TYPE[logical]
    shown = f"physicalType {physical}" if physical is not None else f"logicalType {logical}"
    raise _Unsupported(f"property {name}: {shown} has no Avro mapping")


def _rules(
    document: Mapping[str, Any], record: Mapping[str, Any], origin: str, skipped: list[str]
) -> RulesDocument | None:
    domain = []
    for index, check in enumerate(_checks(record)):
        rule = custom_property(check, RULE) if isinstance(check, Mapping) else None
        if rule is None:
            skipped.append(f"quality check {_check_name(check, index)} carries no CEL rule")
            continue
        domain.append(rule)
    for item in record.get("properties") or []:
        for index, check in enumerate(
            item.get("quality") or [] if isinstance(item, Mapping) else []
        ):
            skipped.append(
                f"quality check {_check_name(check, index)} on property {item.get('name')} "
                "carries no CEL rule"
            )
    metadata = custom_property(document, METADATA)
    migration = custom_property(document, MIGRATION_RULES)
    enable_at = custom_property(document, ENABLE_AT)
    if not (domain or metadata or migration or enable_at):
        return None
    rule_set: dict[str, Any] = {"domainRules": domain}
    if migration:
        rule_set["migrationRules"] = migration
    if enable_at is not None:
        rule_set["enableAt"] = enable_at
    data = {"metadata": {"properties": metadata}, "ruleSet": rule_set} if metadata else rule_set
    try:
        return rules_document_from_json(data, source=origin)
    except RulesError as error:
        raise GateError(str(error)) from None


def _checks(record: Mapping[str, Any]) -> Sequence[Any]:
    checks = record.get("quality") or []
    return checks if isinstance(checks, list) else []


def _check_name(check: Any, index: int) -> str:
    if isinstance(check, Mapping):
        label = check.get("id") or check.get("name")
        kind = check.get("type") or ("library" if check.get("metric") else "?")
        if label:
            return f"{label!s} ({kind})"
        return f"{index + 1} ({kind})"
    return str(index + 1)


def write_contract(contract: ImportedContract, schemas_dir: Path, force: bool) -> list[Path]:
    """Write the schema file and (when there are rules) the rules file; refuse to
    overwrite either without force, before writing anything."""
    schema_path = schemas_dir / f"{contract.subject}{SUFFIX}"
    rules_path = schemas_dir / f"{contract.subject}{RULES_SUFFIX}"
    targets = {schema_path: json.dumps(contract.schema, indent=2, ensure_ascii=False) + "\n"}
    if contract.rules is not None:
        rules_json = contract.rules.to_json()
        targets[rules_path] = json.dumps(rules_json, indent=2, ensure_ascii=False) + "\n"
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        verb = "exists" if len(existing) == 1 else "exist"
        raise GateError(f"{' and '.join(existing)} {verb} already (--force overwrites)")
    try:
        schemas_dir.mkdir(parents=True, exist_ok=True)
        for path, text in targets.items():
            path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise GateError(f"{schemas_dir}: cannot write: {error.strerror}") from None
    return list(targets)
