"""The schemas records are decoded with: writer schemas by id, and the reader schema.

One cache of writer schemas serves every reader: batch mode fills it from the subject's
versions before Kafka is read (so the usual topic decodes in one pass), and any reader
adds the ids its records bring that the cache lacks, fetched by id. The subject's
versions come with what each carries beside its schema (its major, its rules). The
reader schema comes from a file or from one of those versions (``ReaderChoice``), and
is checked here, before any work starts, to hold the fields the report is computed
from. A record written in a version of another major reaches the reader through the
migration rules between them (``Contract.read_path``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from fastavro.schema import SchemaParseException, UnknownType

from connection.clients import RegistryNotFound, registry_call
from connection.paths import RULES_FILE, shown
from connection.settings import RegistrySettings
from contract.migrations import (
    ContractVersion,
    MigrationPath,
    MigrationRules,
    NoMigration,
    migration_path,
    rules_on_paths,
)
from contract.registered import subject_versions
from contract.rules import (
    READ,
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
    #: The registered version it is (None: a file matching no registered version).
    version: ContractVersion | None = None

    @property
    def described(self) -> str:
        """Its source and, for a registered version, its major."""
        if self.version is None:
            return self.source
        major = self.version.major
        return f"{self.source}, major {'none' if major is None else major}"

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
    text: str,
    source: str,
    rule_set: Mapping[str, Any] | None = None,
    version: ContractVersion | None = None,
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
    return ReaderSchema(schema=text, source=source, rule_set=rule_set, version=version)


def reader_schema_from_file(path: Path) -> ReaderSchema:
    """The reader schema in path, checked; ContractError when it cannot be used."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ContractError(f"cannot read reader schema {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ContractError(f"reader schema {path} is not text") from None
    return checked_reader_schema(text, str(path))


@dataclass(frozen=True)
class ReaderChoice:
    """Which registered version reads a topic: the newest of ``major`` (None: of any
    major); with ``report_fields`` the newest that has the report's fields (report and
    follow), else the newest at all (records, the inspector)."""

    major: str | None = None
    report_fields: bool = False

    def pick(self, versions: Mapping[int, ContractVersion]) -> ContractVersion | None:
        """The chosen version (None when no version qualifies)."""
        for number in sorted(versions, reverse=True):
            version = versions[number]
            if self.major is not None and version.major != self.major:
                continue
            if self.report_fields and report_field_problem(version.parsed) is not None:
                continue
            return version
        return None

    def described(self) -> str:
        """What was asked for, as "no <described>" says it."""
        what = "version" if self.major is None else f"version of major {self.major}"
        return f"{what} with the report's fields" if self.report_fields else what


#: What report and follow read into unless told: the newest version with the report's
#: fields.
REPORT_READER = ReaderChoice(report_fields=True)


def registered_reader_schema(
    writers: WriterSchemas, subject: str, choice: ReaderChoice
) -> ReaderSchema:
    """The chosen version of subject (writers filled by add_subject), checked;
    SubjectNotRegistered when there is none, ContractError when none qualifies."""
    if not writers.contract_versions:
        raise SubjectNotRegistered(
            f"subject {subject} is not in the registry at {writers.registry.url}: "
            "nothing says how to read the topic (give --reader-schema FILE)"
        )
    version = choice.pick(writers.contract_versions)
    if version is None:
        latest = writers.contract_versions[max(writers.contract_versions)]
        problem = report_field_problem(latest.parsed) if choice.report_fields else None
        why = f" (its latest, version {latest.version}, {problem})" if problem else ""
        raise ContractError(f"subject {subject} has no {choice.described()}{why}")
    source = f"{subject} version {version.version} (id {version.schema_id})"
    rule_set = version.document.rule_set
    registered_rules = rule_set.to_json() if rule_set.domain_rules else None
    if choice.report_fields:
        return checked_reader_schema(version.schema, source, registered_rules, version)
    return ReaderSchema(version.schema, source, registered_rules, version)


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
    #: The subject's versions, by number, with what each carries beside its schema.
    contract_versions: dict[int, ContractVersion] = field(default_factory=dict)

    def add_subject(self, subject: str) -> None:
        """Every Avro version registered under subject, with its major and rules as the
        registry keeps them (contract.registered; none when it is not registered);
        RulesError when what a version carries cannot be used."""
        for version in subject_versions(self.client, self.registry, subject):
            if version.schema_id is None:
                continue
            self.known[version.schema_id] = version.schema
            self.versions[version.schema_id] = version.version
            self.contract_versions[version.version] = version

    def version_of(self, schema_id: int) -> ContractVersion | None:
        """The subject's version an id is (None: an id of another subject)."""
        number = self.versions.get(schema_id)
        return None if number is None else self.contract_versions.get(number)

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
    return ContractRules(load_rule_set(RULES_FILE), shown(RULES_FILE))


def read_rules(rules: ContractRules, reader: ReaderSchema) -> RulePlan:
    """The rules that judge records on read, bound to the reader's fields (a rule naming
    a field the reader lacks is skipped, with its one line in the plan)."""
    return plan_rules(rules.rule_set, READ, avro_field_types(json.loads(reader.schema)))


#: How a record of one writer schema id reaches the reader: None for Avro's resolution
#: alone (the usual case), a path through migration rules, or no path.
ReadPath = MigrationPath | NoMigration | None


def read_path(
    writer: ContractVersion | None, reader: ReaderSchema, writers: WriterSchemas
) -> ReadPath:
    """How records of the writer version reach reader: None when either is not a version
    of the subject, or when nothing but resolution lies between them."""
    if writer is None or reader.version is None:
        return None
    path = migration_path(list(writers.contract_versions.values()), writer, reader.version)
    if isinstance(path, MigrationPath) and not path.transforms:
        return None
    return path


def matching_version(reader: ReaderSchema, writers: WriterSchemas) -> ReaderSchema:
    """A reader from a file as the registered version whose schema it is (by Avro's
    parsing canonical form), so that records of another major migrate to it; unchanged
    when it matches none."""
    canonical = fastavro.schema.to_parsing_canonical_form(json.loads(reader.schema))
    for number in sorted(writers.contract_versions, reverse=True):
        version = writers.contract_versions[number]
        if fastavro.schema.to_parsing_canonical_form(version.parsed) == canonical:
            return ReaderSchema(reader.schema, reader.source, reader.rule_set, version)
    return reader


@dataclass
class Contract:
    """How a topic's records are read: the reader schema, the writer schemas by id (with
    the subject's versions), the rules records are judged by on read, and each writer
    id's path to the reader, planned once."""

    reader: ReaderSchema
    writers: WriterSchemas
    rules: ContractRules
    _paths: dict[int, ReadPath] = field(default_factory=dict, repr=False)
    _read_rules: RulePlan | None = field(default=None, repr=False)

    @property
    def read_rules(self) -> RulePlan:
        """The reader's rules, bound to its fields once."""
        if self._read_rules is None:
            self._read_rules = read_rules(self.rules, self.reader)
        return self._read_rules

    def read_path(self, schema_id: int) -> ReadPath:
        """How records of schema_id reach the reader."""
        if schema_id not in self._paths:
            self._paths[schema_id] = read_path(
                self.writers.version_of(schema_id), self.reader, self.writers
            )
        return self._paths[schema_id]

    def read_paths(self) -> dict[int, MigrationPath | NoMigration]:
        """The known ids whose records do not reach the reader by resolution alone."""
        paths = {i: self.read_path(i) for i in sorted(self.writers.known)}
        return {i: path for i, path in paths.items() if path is not None}

    def migration_rules(self) -> MigrationRules:
        """The migration rules on the known ids' paths, by name (what names a failure)."""
        return rules_on_paths(self.read_paths().values())

    @property
    def unmatched_file(self) -> bool:
        """A reader from a file that is no registered version: records of another major
        cannot migrate to it."""
        return self.reader.version is None and bool(self.writers.contract_versions)


def topic_contract(
    client: SchemaRegistryClient,
    registry: RegistrySettings,
    subject: str,
    reader_schema_file: Path | None,
    rules_file: Path | None = None,
    choice: ReaderChoice = REPORT_READER,
) -> Contract:
    """The reader schema (the file, else the chosen version of the subject), the writer
    schemas registered under subject and the rules (contract_rules);
    SubjectNotRegistered without a reader schema, ContractError when no version
    qualifies, RulesError for unusable rules."""
    writers = WriterSchemas(client, registry)
    writers.add_subject(subject)
    if reader_schema_file:
        reader = matching_version(reader_schema_from_file(reader_schema_file), writers)
    else:
        reader = registered_reader_schema(writers, subject, choice)
    return Contract(reader, writers, contract_rules(reader, rules_file))
