"""Compatibility levels and the reading directions each one checks."""

from __future__ import annotations

from enum import Enum


class Direction(str, Enum):
    """Which side reads which side's data.

    BACKWARD: the new schema reads data written with an old one (upgrade consumers first).
    FORWARD: an old schema reads data written with the new one (upgrade producers first).
    """

    BACKWARD = "backward"
    FORWARD = "forward"

    @property
    def consequence(self) -> str:
        """What breaks when a change violates this direction, for messages."""
        if self is Direction.BACKWARD:
            return "old events cannot be read with the new schema"
        return "consumers still on the old schema cannot read new events"


class Level(str, Enum):
    """The seven compatibility levels of Confluent Schema Registry."""

    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"

    @property
    def directions(self) -> tuple[Direction, ...]:
        base = self.value.removesuffix("_TRANSITIVE")
        if base == "FULL":
            return (Direction.BACKWARD, Direction.FORWARD)
        if base == "NONE":
            return ()
        return (Direction(base.lower()),)

    @property
    def transitive(self) -> bool:
        """Transitive levels compare with every earlier version, the others with the latest."""
        return self.value.endswith("_TRANSITIVE")
