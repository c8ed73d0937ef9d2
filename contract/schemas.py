"""The schemas records are decoded with: writer schemas by id, and the reader schema.

One cache of writer schemas serves every reader: batch mode fills it from the subject's
versions before Kafka is read (so the usual topic decodes in one pass), and any reader
adds the ids its records bring that the cache lacks, fetched by id. The reader schema
comes from a file or from the subject's latest version, and is checked here, before any
work starts, to hold the fields the report is computed from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka.schema_registry import RegisteredSchema, Schema, SchemaRegistryClient
from fastavro.schema import SchemaParseException, UnknownType

from connection.clients import RegistryNotFound, registry_call
from connection.paths import REPO_ROOT, RULES_FILE
from connection.settings import RegistrySettings
from contract.rules import (
    RulePlan,
    RuleSet,
    avro_field_types,
    load_rule_set,
    plan_rules,
    rule_set_from_json,
)

#: The fields the report is computed from, and the Avro types each may have (a union
#: with null is accepted too: a record whose value is null there is undecodable).
REPORT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "ts": ("timestamp-millis", "timestamp-micros"),
    "symbol": ("string",),
    "price": ("double", "float"),
}
#: Fields the report uses when the reader has them (a v1 reader has no currency).
OPTIONAL_REPORT_FIELDS: Mapping[str, tuple[str, ...]] = {"currency": ("string",)}


class ContractError(Exception):
    """The contract cannot be used as it is; str() is one line naming its source."""


class SubjectNotRegistered(ContractError):
    """The registry has no version of the subject the reader schema comes from."""


def type_name(avro_type: Any) -> str | None:
    """A field type's name as REPORT_FIELDS spells it (a logical type's name wins); None
    for a type with several non-null branches."""
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        return type_name(branches[0]) if len(branches) == 1 else None
    if isinstance(avro_type, dict):
        return str(avro_type.get("logicalType") or avro_type.get("type"))
    return str(avro_type)


def report_field_problem(document: Any) -> str | None:
    """Why a parsed reader schema cannot give the report's fields, or None."""
    if not isinstance(document, dict) or document.get("type") != "record":
        return "is not an Avro record schema"
    fields = {f.get("name"): f.get("type") for f in document.get("fields", [])}
    wanted = {**REPORT_FIELDS, **OPTIONAL_REPORT_FIELDS}
    for name, allowed in wanted.items():
        if name not in fields:
            if name in REPORT_FIELDS:
                return f"has no field {name!r} (the report needs {' or '.join(allowed)})"
            continue
        found = type_name(fields[name])
        if found not in allowed:
            return f"has field {name!r} of type {found}, not {' or '.join(allowed)}"
    return None


@dataclass(frozen=True)
class ReaderSchema:
    """The schema every record is resolved into, and where it came from."""

    schema: str
    source: str  # "prices-value version 2 (id 3)" or a file path
    #: The registry version's ruleSet, when the registry keeps one (Apicurio does not).
    rule_set: Mapping[str, Any] | None = None

    @property
    def fields(self) -> list[str]:
        """The reader's field names, in order."""
        return [f["name"] for f in json.loads(self.schema)["fields"]]

    def default_of(self, name: str) -> Any:
        """The default of field name (what records written without it read as), or None."""
        for field_ in json.loads(self.schema)["fields"]:
            if field_["name"] == name:
                return field_.get("default")
        return None


def checked_reader_schema(
    text: str, source: str, rule_set: Mapping[str, Any] | None = None
) -> ReaderSchema:
    """text as the reader schema; ContractError (naming source) when it is not JSON, not
    Avro, or lacks a field the report needs."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ContractError(f"reader schema {source} is not JSON: {error}") from None
    problem = report_field_problem(document)
    if problem is None:
        try:
            fastavro.parse_schema(document)
        except (SchemaParseException, UnknownType, ValueError, TypeError, KeyError) as error:
            problem = f"is not a valid Avro schema: {' '.join(str(error).split())}"
    if problem is not None:
        raise ContractError(f"reader schema {source} {problem}")
    return ReaderSchema(schema=text, source=source, rule_set=rule_set)


def reader_schema_from_file(path: Path) -> ReaderSchema:
    """The reader schema in path, checked; ContractError when it cannot be used."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ContractError(f"cannot read reader schema {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ContractError(f"reader schema {path} is not text") from None
    return checked_reader_schema(text, str(path))


def latest_version(
    client: SchemaRegistryClient, registry: RegistrySettings, subject: str
) -> RegisteredSchema | None:
    """The latest version registered under subject, asked afresh (the client's
    get_latest_version answers from a cache that never expires); None when there is none."""
    try:
        with registry_call(registry, f"versions of {subject}"):
            latest = max(client.get_versions(subject))
        with registry_call(registry, f"{subject} version {latest}"):
            return client.get_version(subject, latest)
    except RegistryNotFound:
        return None


def version_source(subject: str, registered: RegisteredSchema) -> str:
    """How a reader schema from the registry names itself: its subject, version and id."""
    return f"{subject} version {registered.version} (id {registered.schema_id})"


def registered_rule_set(registered: RegisteredSchema) -> dict[str, Any] | None:
    """The ruleSet the registry keeps with a version (None: none, or it keeps none)."""
    rules = registered.schema.rule_set
    return rules.to_dict() if rules is not None and rules.domain_rules else None


def latest_reader_schema(
    client: SchemaRegistryClient, registry: RegistrySettings, subject: str
) -> ReaderSchema:
    """The latest version registered under subject, checked (with the ruleSet the registry
    keeps with it, if any); SubjectNotRegistered when there is none."""
    registered = latest_version(client, registry, subject)
    if registered is None:
        raise SubjectNotRegistered(
            f"subject {subject} is not in the registry at {registry.url}: "
            "nothing says how to read the topic (give --reader-schema FILE)"
        )
    schema = registered.schema.schema_str or ""
    source = version_source(subject, registered)
    return checked_reader_schema(schema, source, registered_rule_set(registered))


def avro_text(schema: Schema) -> str | None:
    """The schema's text when it is an Avro schema (nothing else is decodable as Avro)."""
    return schema.schema_str if schema.schema_type in (None, "AVRO") and schema.schema_str else None


@dataclass
class WriterSchemas:
    """Writer schemas by id, fetched from the registry once each.

    Registry failures other than "not found" raise connection.clients.RegistryFailure:
    an id the registry could not be asked about is not unknown.
    """

    client: SchemaRegistryClient
    registry: RegistrySettings
    known: dict[int, str] = field(default_factory=dict)
    #: The subject version of each id registered under the subject (for display).
    versions: dict[int, int] = field(default_factory=dict)
    #: Ids the registry answered "not found" for.
    unknown: set[int] = field(default_factory=set)

    def add_subject(self, subject: str) -> None:
        """Every Avro version registered under subject (none when it is not registered)."""
        try:
            with registry_call(self.registry, f"versions of {subject}"):
                numbers = self.client.get_versions(subject)
        except RegistryNotFound:
            return
        for number in numbers:
            try:
                with registry_call(self.registry, f"{subject} version {number}"):
                    registered = self.client.get_version(subject, number)
            except RegistryNotFound:
                continue  # deleted since get_versions answered
            text = avro_text(registered.schema)
            if registered.schema_id is not None and text is not None:
                self.known[registered.schema_id] = text
                self.versions[registered.schema_id] = number

    def new_ids(self, schema_ids: set[int]) -> set[int]:
        """The ids in schema_ids the registry has not been asked about yet."""
        return schema_ids - set(self.known) - self.unknown

    def add_ids(self, schema_ids: set[int]) -> set[int]:
        """Fetch the ids not yet known or unknown; the ids newly found."""
        found = set()
        for schema_id in sorted(self.new_ids(schema_ids)):
            try:
                with registry_call(self.registry, f"schema id {schema_id}"):
                    schema = self.client.get_schema(schema_id)
            except RegistryNotFound:
                self.unknown.add(schema_id)
                continue
            text = avro_text(schema)
            if text is None:
                self.unknown.add(schema_id)  # not Avro: it cannot be decoded as Avro
            else:
                self.known[schema_id] = text
                found.add(schema_id)
        return found


@dataclass(frozen=True)
class ContractRules:
    """The rules records are judged by, and where they came from."""

    rule_set: RuleSet
    source: str


def contract_rules(reader: ReaderSchema, rules_file: Path | None) -> ContractRules:
    """The rules of the contract read with reader: rules_file (--rules) when given, else
    the registry version's ruleSet when the registry kept one, else the shipped rules
    file. RulesError (one line) when they cannot be used."""
    if rules_file is not None:
        return ContractRules(load_rule_set(rules_file), str(rules_file))
    if reader.rule_set is not None:
        source = f"the ruleSet of {reader.source}"
        return ContractRules(rule_set_from_json(reader.rule_set, source), source)
    return ContractRules(load_rule_set(RULES_FILE), str(RULES_FILE.relative_to(REPO_ROOT)))


def read_rules(rules: ContractRules, reader: ReaderSchema) -> RulePlan:
    """The rules that judge records on read, bound to the reader's fields (a rule naming
    a field the reader lacks is skipped, with its one line in the plan)."""
    return plan_rules(rules.rule_set, "READ", avro_field_types(json.loads(reader.schema)))


@dataclass(frozen=True)
class Contract:
    """How a topic's records are read: the reader schema, the writer schemas by id, and
    the rules records are judged by on read."""

    reader: ReaderSchema
    writers: WriterSchemas
    rules: ContractRules

    @property
    def read_rules(self) -> RulePlan:
        return read_rules(self.rules, self.reader)


def topic_contract(
    client: SchemaRegistryClient,
    registry: RegistrySettings,
    subject: str,
    reader_schema_file: Path | None,
    rules_file: Path | None = None,
) -> Contract:
    """The reader schema (the file, else the subject's latest version), the writer
    schemas registered under subject and the rules (contract_rules);
    SubjectNotRegistered without a reader schema, RulesError for unusable rules."""
    reader = (
        reader_schema_from_file(reader_schema_file)
        if reader_schema_file
        else latest_reader_schema(client, registry, subject)
    )
    rules = contract_rules(reader, rules_file)
    writers = WriterSchemas(client, registry)
    writers.add_subject(subject)
    return Contract(reader, writers, rules)
