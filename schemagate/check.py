"""A level's verdict: which old versions to compare with, in which directions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import avro.errors
import avro.schema
from avro.schema import Schema

from schemagate.compare import find_violations
from schemagate.errors import GateError
from schemagate.levels import Level
from schemagate.model import SubjectResult


@dataclass(frozen=True)
class Version:
    """One earlier version of a subject's schema, oldest first in a history."""

    label: str
    schema: Schema


def parse(text: str, origin: str) -> Schema:
    """Parse Avro schema JSON, naming `origin` in the error if it is not one."""
    try:
        return avro.schema.parse(text)
    except avro.errors.AvroException as error:
        raise GateError(f"{origin}: not a valid Avro schema: {error}") from error


def check_subject(
    subject: str, file: str, new: Schema, history: Sequence[Version], level: Level
) -> SubjectResult:
    """Compare `new` with the latest version, or every version for transitive levels."""
    targets = list(history if level.transitive else history[-1:]) if level.directions else []
    violations = [
        violation
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
    )
