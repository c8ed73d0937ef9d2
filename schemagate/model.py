"""The result objects: computed once by the checks, rendered by schemagate.render."""

from __future__ import annotations

from dataclasses import dataclass

from schemagate.levels import Direction, Level
from schemagate.rules import Rule


@dataclass(frozen=True)
class Violation:
    """One reason the new schema is not compatible with one old version."""

    rule: Rule
    path: str
    """Dotted field path from the top-level record ("" for the record itself)."""
    old_type: str
    new_type: str
    message: str
    direction: Direction | None
    """None when the registry, not a direction of the analysis, found the problem."""
    against: str
    """Label of the old version: a registry version number or a git commit."""


@dataclass(frozen=True)
class SubjectResult:
    """The verdict for one schema file against its subject's history."""

    subject: str
    file: str
    level: Level
    compared_with: tuple[str, ...]
    violations: tuple[Violation, ...]

    @property
    def compatible(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class Registration:
    """A schema that `register` stored in the registry."""

    subject: str
    version: int
    schema_id: int


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
