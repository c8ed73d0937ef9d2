"""Compatibility groups: a subject's versions grouped by major (``application.major.version``
in their metadata), as Confluent's ``compatibilityGroup`` groups them.

The level is checked only among versions of the same major; a version without a major is
in a group of its own (major "none"). Majors are whole numbers that only go up, one at a
time: after versions without a major, the first named major is 1 or 2 (the unnamed
versions being, in practice, the first major); after major N comes N+1. Anything else is a
finding, not a new group: a major that goes down (or back to none), one that skips, one
that is not a whole number.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.rules import MAJOR_PROPERTY
from schemagate.finding_ids import MigrationId


def shown(major: str | None) -> str:
    return "none" if major is None else major


@dataclass(frozen=True)
class MajorProblem:
    """Why the new version's major cannot follow the subject's latest one."""

    id: MigrationId
    message: str


def major_problem(latest: str | None, new: str | None) -> MajorProblem | None:
    """What is wrong with `new` as the major after `latest` (None: the same major, or the
    next one)."""
    if new == latest:
        return None
    if new is not None and not (new.isascii() and new.isdigit() and new == str(int(new))):
        return MajorProblem(
            MigrationId.MAJOR_NOT_A_NUMBER,
            f"{MAJOR_PROPERTY} is {new!r}: a major is a whole number written plainly (1, 2, 3...)",
        )
    if latest is not None and not (latest.isascii() and latest.isdigit()):
        return None  # a history the gate did not check: nothing to order against
    if new is None or (latest is not None and int(new) < int(latest)):
        return MajorProblem(
            MigrationId.MAJOR_WENT_DOWN,
            f"the major goes down from {latest} to {shown(new)}: a subject's majors only go "
            f"up (a fix for consumers of major {shown(new)} is a migration rule of a version "
            f"of major {latest})",
        )
    allowed = (1, 2) if latest is None else (int(latest) + 1,)
    if int(new) not in allowed:
        after = " or ".join(map(str, allowed))
        return MajorProblem(
            MigrationId.MAJOR_SKIPPED,
            f"the major goes from {shown(latest)} to {new}: the next major is {after}",
        )
    return None
