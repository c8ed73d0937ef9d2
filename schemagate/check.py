"""A level's verdict: which old versions to compare with (those of the contract's major),
in which directions; a new major's migrations checked instead (schemagate.migration_check)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import avro.errors
import avro.schema
import fastavro
from avro.schema import Schema

from contract.migrations import ContractVersion, MigrationPath, NoMigration, migration_path
from contract.rules import MAJOR_PROPERTY, RulesDocument
from schemagate.compare import find_violations
from schemagate.errors import GateError
from schemagate.levels import Level
from schemagate.majors import major_problem, shown
from schemagate.migration_check import Labelled, check_new_major
from schemagate.model import MigrationFinding, Severity, SubjectResult

#: What a violation within a major adds: the way to break the level on purpose.
NEW_MAJOR_HINT = (
    f"; to break it on purpose, make a new major ({MAJOR_PROPERTY} in the rules file's "
    "metadata) with migration rules"
)


@dataclass(frozen=True)
class Version:
    """One earlier version of a subject's schema, oldest first in a history, and what it
    carries beside it (its major and rules)."""

    label: str
    schema: Schema
    document: RulesDocument = field(default_factory=RulesDocument)

    def contract_version(self, number: int) -> ContractVersion:
        """As the migration model has it, numbered by its place in the history."""
        return ContractVersion(number, None, json.dumps(self.schema.to_json()), self.document)


@dataclass(frozen=True)
class Options:
    """How a new major's migrations are checked."""

    strict: bool = False
    """Warnings (problems only on generated or extreme values) are errors."""
    topic_records: Mapping[str, Sequence[dict[str, Any]]] | None = None
    """Per registry version label, records of the sampled topic written in it."""


def parse(text: str, origin: str) -> Schema:
    """Parse Avro schema JSON, naming `origin` in the error if it is not one."""
    try:
        return avro.schema.parse(text)
    except avro.errors.AvroException as error:
        raise GateError(f"{origin}: not a valid Avro schema: {error}") from error


def check_subject(
    subject: str,
    file: str,
    new: Schema,
    history: Sequence[Version],
    level: Level,
    document: RulesDocument | None = None,
    options: Options = Options(),
) -> SubjectResult:
    """Compare `new` with the latest version of its major, or every version of its major
    for transitive levels. A new major is compared with none: its migration rules are
    checked instead (`check_new_major`); a major that cannot follow the latest is a
    finding."""
    major = document.major if document else None
    latest = history[-1].document.major if history else None
    problem = major_problem(latest, major) if history else None
    if problem is not None:
        finding = MigrationFinding(
            rule=problem.id,
            source=f"version {history[-1].label} (major {shown(latest)})",
            target=f"{file} (major {shown(major)})",
            migration="",
            rules=(),
            severity=Severity.ERROR,
            records=0,
            sampled=0,
            origin="",
            example=None,
            message=problem.message,
        )
        return SubjectResult(subject, file, level, (), (), major=major, migrations=(finding,))
    if history and major != latest:
        labelled, latest_version = contract_chain(history, new, document)
        checked = check_new_major(
            labelled, latest_version, level, options.topic_records, options.strict
        )
        return SubjectResult(
            subject,
            file,
            level,
            (),
            (),
            major=major,
            new_major=True,
            migrations=checked.findings,
            migration_runs=checked.runs,
        )
    group = [old for old in history if old.document.major == major]
    targets = list(group if level.transitive else group[-1:]) if level.directions else []
    violations = [
        replace(violation, message=violation.message + NEW_MAJOR_HINT)
        for old in targets
        for direction in level.directions
        for violation in find_violations(old.schema, new, direction, old.label)
    ]
    return SubjectResult(
        subject=subject,
        file=file,
        level=level,
        compared_with=tuple(old.label for old in targets),
        violations=tuple(violations),
        major=major,
    )


def contract_chain(
    history: Sequence[Version], new: Schema, document: RulesDocument | None
) -> tuple[list[Labelled], Labelled]:
    """The history and the new version as the migration model has them."""
    labelled = [Labelled(v.label, v.contract_version(n)) for n, v in enumerate(history, 1)]
    text = json.dumps(new.to_json())
    latest = ContractVersion(len(history) + 1, None, text, document or RulesDocument())
    return labelled, Labelled("new", latest)


def paths_into(
    history: Sequence[Version], new: Schema, document: RulesDocument | None
) -> dict[str, MigrationPath | NoMigration]:
    """Per history version (by its schema's canonical form), how its records become the
    new version's."""
    labelled, latest = contract_chain(history, new, document)
    chain = [v.version for v in (*labelled, latest)]
    return {
        canonical_form(v.version.parsed): migration_path(chain, v.version, latest.version)
        for v in labelled
    }


def canonical_form(schema: Any) -> str:
    """A schema document's Parsing Canonical Form: the same for the same schema however
    it is written (docs, key order, defaults aside)."""
    return str(fastavro.schema.to_parsing_canonical_form(fastavro.parse_schema(schema)))
