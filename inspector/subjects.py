"""A subject's versions: each schema with its major and rules (domain and migration, as
the registry keeps them), what changed from the version before, and the schema gate's
verdict on that step (schemagate's own check: within a major at the subject's level, a
new major by its migration rules run on generated records)."""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from connection.clients import RegistryFailure, registry_call
from contract.rules import RulesDocument
from inspector.decoding import Contracts
from schemagate.check import Version, check_subject, parse
from schemagate.errors import GateError
from schemagate.levels import Level
from schemagate.registry import Registry


class SubjectNotFound(Exception):
    """The registry has no such subject; str() is one line."""


@dataclass(frozen=True)
class Violation:
    rule: str
    path: str
    old_type: str
    new_type: str
    message: str
    direction: str | None


@dataclass(frozen=True)
class MigrationCheck:
    """One of the gate's findings on a new major (its number, or its migration rules)."""

    rule: str
    severity: str
    migration: str
    rules: list[str]
    message: str


@dataclass(frozen=True)
class StepVerdict:
    """The gate's verdict on a version against the versions before it."""

    level: str
    compared_with: list[str]
    compatible: bool
    violations: list[Violation]
    error: str | None = None  # why there is no verdict (a schema that is not Avro)
    new_major: bool = False
    migrations: list[MigrationCheck] = field(default_factory=list)


@dataclass(frozen=True)
class SubjectVersion:
    version: int
    schema_id: int | None
    schema_type: str
    schema: str  # pretty-printed
    major: str | None
    rules: list[dict[str, Any]]
    diff: list[tuple[str, str]] | None  # (kind, line) against the version before
    verdict: StepVerdict | None  # None for the first version


@dataclass(frozen=True)
class SubjectPage:
    subject: str
    level: str
    versions: list[SubjectVersion]

    def document(self) -> dict[str, Any]:
        document = asdict(self)
        for version in document["versions"]:
            if version["diff"] is not None:
                version["diff"] = [{"kind": k, "line": line} for k, line in version["diff"]]
        return document


def pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2)
    except ValueError:
        return text


def diff_lines(old: str, new: str) -> list[tuple[str, str]]:
    """A unified diff of two schemas' pretty text: (kind, line) with kind one of add,
    remove, context or hunk."""
    kinds = {"+": "add", "-": "remove", " ": "context", "@": "hunk"}
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=3)
    return [
        (kinds.get(line[:1], "context"), line)
        for line in lines
        if not line.startswith(("---", "+++"))
    ]


def rules_of(document: RulesDocument) -> list[dict[str, Any]]:
    """The version's domain and migration rules, as the page lists them."""
    return [
        {
            "group": group,
            "name": rule.name,
            "kind": rule.kind,
            "mode": rule.mode,
            "type": rule.type,
            "expr": rule.expr,
            "on_failure": rule.on_failure,
        }
        for group, rules in (
            ("domain", document.rule_set.domain_rules),
            ("migration", document.rule_set.migration_rules),
        )
        for rule in rules
    ]


def step_verdict(
    subject: str,
    level: Level,
    number: int,
    text: str,
    document: RulesDocument,
    earlier: list[tuple[int, str, RulesDocument]],
) -> StepVerdict:
    """The gate's check of version number (with what it carries) against the versions
    before it."""
    try:
        history = [
            Version(str(n), parse(t, f"{subject} version {n}"), kept) for n, t, kept in earlier
        ]
        new = parse(text, f"{subject} version {number}")
        result = check_subject(subject, f"version {number}", new, history, level, document)
    except GateError as error:
        return StepVerdict(level.value, [], False, [], error=" ".join(str(error).split()))
    violations = [
        Violation(
            rule=v.rule.value,
            path=v.path,
            old_type=v.old_type,
            new_type=v.new_type,
            message=v.message,
            direction=None if v.direction is None else v.direction.value,
        )
        for v in result.violations
    ]
    migrations = [
        MigrationCheck(
            rule=f.rule.value,
            severity=f.severity.value,
            migration=f.migration,
            rules=list(f.rules),
            message=f.message,
        )
        for f in result.migrations
    ]
    return StepVerdict(
        level.value,
        list(result.compared_with),
        result.compatible,
        violations,
        new_major=result.new_major,
        migrations=migrations,
    )


def subject_page(contracts: Contracts, gate: Registry, subject: str) -> SubjectPage:
    """Every version of subject (SubjectNotFound, RegistryFailure)."""
    client, registry = contracts.client, contracts.registry
    try:
        with registry_call(registry, f"versions of {subject}"):
            numbers = sorted(client.get_versions(subject))
    except RegistryFailure as error:
        if "404" in str(error) or "not found" in str(error).lower():
            raise SubjectNotFound(
                f"no subject {subject} in the registry at {registry.url}"
            ) from None
        raise
    try:
        level = gate.level(subject)
    except GateError as error:
        raise RegistryFailure(" ".join(str(error).split())) from None
    registered = []
    for number in numbers:
        with registry_call(registry, f"{subject} version {number}"):
            registered.append(client.get_version(subject, number))
    try:
        kept = {v.version: v.document for v in gate.contract_versions(subject)}
    except GateError as error:
        raise RegistryFailure(" ".join(str(error).split())) from None
    versions = []
    earlier: list[tuple[int, str, RulesDocument]] = []
    previous_pretty: str | None = None
    for entry in registered:
        text = entry.schema.schema_str or ""
        schema_type = entry.schema.schema_type or "AVRO"
        document = kept.get(entry.version or 0, RulesDocument())
        shown = pretty(text)
        verdict = None
        if earlier:
            verdict = (
                step_verdict(subject, level, entry.version or 0, text, document, earlier)
                if schema_type == "AVRO"
                else StepVerdict(
                    level.value,
                    [],
                    False,
                    [],
                    error=f"a {schema_type} schema: the gate checks Avro",
                )
            )
        versions.append(
            SubjectVersion(
                version=entry.version or 0,
                schema_id=entry.schema_id,
                schema_type=schema_type,
                schema=shown,
                major=document.major,
                rules=rules_of(document),
                diff=None if previous_pretty is None else diff_lines(previous_pretty, shown),
                verdict=verdict,
            )
        )
        if schema_type == "AVRO":
            earlier.append((entry.version or 0, text, document))
        previous_pretty = shown
    return SubjectPage(subject, level.value, versions)
