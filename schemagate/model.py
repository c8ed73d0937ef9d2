"""The result objects: computed once by the checks, rendered by schemagate.render."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from schemagate.finding_ids import MigrationId, RuleChange, ViolationId
from schemagate.levels import Direction, Level


@dataclass(frozen=True)
class Violation:
    """One reason the new schema is not compatible with one old version."""

    rule: ViolationId
    path: str
    """Dotted field path from the top-level record ("" for the record itself)."""
    old_type: str
    new_type: str
    message: str
    direction: Direction | None
    """None when the registry, not a direction of the analysis, found the problem."""
    against: str
    """Label of the old version: a registry version number or a git commit."""


class Severity(str, Enum):
    """How much a rule change matters. ERROR: breaking (it makes the verdict "not
    compatible"); WARNING: not breaking, but a DLQ or ERROR check is loosened or gone, so
    records the old rules stopped now pass; INFO: only counted (NONE) failures change."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class RuleFinding:
    """One change to one rule of the contract's rule set, old version -> new."""

    rule: RuleChange
    name: str
    """The contract rule's name (rules are compared by name)."""
    old: str
    """What the rule had (its expression, action or mode; "absent" when added)."""
    new: str
    breaking: bool
    """Some record that passed the old rules may fail a DLQ or ERROR rule of the new ones
    (when written, or when read: data already written too)."""
    severity: Severity
    message: str
    against: str
    """Where the old rule set came from (see RulesCheck.baseline)."""


@dataclass(frozen=True)
class RulesCheck:
    """The contract's new rule set against the old one."""

    file: str
    """The rules file: the schema file's path with .rules.json for .avsc."""
    baseline: str
    """Where the old rule set came from: "registry version 3", "git 1a2b3c4d5e6f" (the
    commit that made the file's content current), "git:HEAD, no rules file", or why
    nothing was compared."""
    compared: bool
    findings: tuple[RuleFinding, ...] = ()

    @property
    def breaking(self) -> tuple[RuleFinding, ...]:
        return tuple(finding for finding in self.findings if finding.breaking)


@dataclass(frozen=True)
class RuleCount:
    """How one rule of the new rule set judged the sample in one direction."""

    name: str
    action: str
    """ERROR, DLQ or NONE: the rule's action in this direction."""
    failed: int
    """DLQ or ERROR: the records this rule decided (the first such rule each failed);
    NONE: the records whose failure it counted (judging reached it)."""


@dataclass(frozen=True)
class SampleJudgement:
    """The sample judged by the new rules that run in the given directions."""

    directions: tuple[str, ...]
    """("WRITE", "READ") when both directions run the same rules with the same actions."""
    rules: tuple[RuleCount, ...]
    passed: int
    """Records no DLQ or ERROR rule failed."""


@dataclass(frozen=True)
class Sample:
    """The last records of a topic, decoded into the new schema and judged by the new
    rules, before anything is registered."""

    topic: str
    per_partition: int
    partitions: int
    read: int
    undecodable: Mapping[str, int] = field(default_factory=dict)
    """Records not decoded into the new schema, by reason (contract.reasons' names)."""
    not_judged: int = 0
    """Decoded records with null in a field a rule reads (the evaluator holds no nulls)."""
    judgements: tuple[SampleJudgement, ...] = ()

    @property
    def judged(self) -> int:
        return self.read - sum(self.undecodable.values()) - self.not_judged


@dataclass(frozen=True)
class MigrationRun:
    """One migration path the gate ran, and on how many records of each origin."""

    source: str
    target: str
    migration: str
    """UPGRADE or DOWNGRADE."""
    rules: tuple[str, ...]
    records: Mapping[str, int]
    """Per origin ("topic", "generated", "extreme"), the records run."""


@dataclass(frozen=True)
class MigrationFinding:
    """A problem with a new major: its number, or its migration rules on sample records
    (all the records of one kind that met the same problem on the same path, with one
    of them as the example)."""

    rule: MigrationId
    source: str
    """The version the records come from (the writer), labelled as the baseline labels it."""
    target: str
    """The version they are migrated into."""
    migration: str
    """UPGRADE or DOWNGRADE; "" for a problem with the major's number."""
    rules: tuple[str, ...]
    """The migration rules on the path, in run order."""
    severity: Severity
    """ERROR makes the verdict "not compatible"; WARNING does not (but does with --strict)."""
    records: int
    """How many of the sample records met the problem (0: not about records)."""
    sampled: int
    """How many records of this origin went through the path."""
    origin: str
    """Where the records came from: "topic", "generated" (ordinary values that keep the
    source's domain rules) or "extreme" (NaN, the largest numbers, empty strings)."""
    example: Mapping[str, Any] | None
    """One such record as written (JSON values; NaN and infinities as strings)."""
    message: str


@dataclass(frozen=True)
class SubjectResult:
    """The verdict for one schema file (and its rules) against its subject's history."""

    subject: str
    file: str
    level: Level
    compared_with: tuple[str, ...]
    violations: tuple[Violation, ...]
    rules: RulesCheck | None = None
    """None when the contract has no rules file and its baseline had no rules either."""
    sample: Sample | None = None
    major: str | None = None
    """The contract's major (its compatibility group: only versions of the same major are
    compared at the level); None: no major, a group of its own."""
    new_major: bool = False
    """The contract is the first version of its major: migrations replace the comparison."""
    migrations: tuple[MigrationFinding, ...] = ()
    migration_runs: tuple[MigrationRun, ...] = ()
    """The paths a new major's check ran (none when it has none to run)."""

    @property
    def major_changed(self) -> bool:
        """The contract's major is not its latest version's: a new major, or one that
        cannot follow."""
        return self.new_major or any(f.rule.value.startswith("MAJOR_") for f in self.migrations)

    @property
    def migration_errors(self) -> tuple[MigrationFinding, ...]:
        return tuple(f for f in self.migrations if f.severity is Severity.ERROR)

    @property
    def compatible(self) -> bool:
        return (
            not self.violations
            and not (self.rules and self.rules.breaking)
            and not self.migration_errors
        )


@dataclass(frozen=True)
class Registration:
    """A schema that `register` stored in the registry."""

    subject: str
    version: int
    schema_id: int
    notes: tuple[str, ...] = ()
    """How the registry keeps the version's rules, when the user should know (one line
    each): e.g. a registry without compatibility groups, where the gate is the check
    across majors."""


@dataclass(frozen=True)
class Report:
    """The verdicts of one run of `check` (or the check that `register` runs first)."""

    baseline: str
    """Where the old versions came from: the registry URL or "git:<ref>"."""
    subjects: tuple[SubjectResult, ...]
    registrations: tuple[Registration, ...] = ()

    @property
    def compatible(self) -> bool:
        return all(subject.compatible for subject in self.subjects)
