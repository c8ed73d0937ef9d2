"""Why a record cannot be read as an event: the reason names every reader reports (the
consumer's report, follow mode, the dead-letter headers and the inspector), and the
Confluent wire-format frame they are about.

A framed value is byte 0, the magic byte 0, then the schema id in 4 bytes (big-endian),
then the Avro body. No Spark here.
"""

from __future__ import annotations

HEADER_BYTES = 5
MAGIC_BYTE = 0

NULL_VALUE = "null_value"
TOO_SHORT = "too_short"
WRONG_MAGIC_BYTE = "wrong_magic_byte"
UNKNOWN_SCHEMA_ID = "unknown_schema_id"
UNDECODABLE = "undecodable"
#: Written in a version of another major: its migration rules failed on it, or there is
#: no rule to take it across (contract.migrations).
MIGRATION_FAILED = "migration_failed"
NO_MIGRATION = "no_migration"

#: Every reason a record can be left out of the statistics, in report order.
REASONS: tuple[str, ...] = (
    NULL_VALUE,
    TOO_SHORT,
    WRONG_MAGIC_BYTE,
    UNKNOWN_SCHEMA_ID,
    UNDECODABLE,
    MIGRATION_FAILED,
    NO_MIGRATION,
)


def frame_problem(value: bytes | None) -> str | None:
    """Why value is not a Confluent frame (NULL_VALUE, TOO_SHORT, WRONG_MAGIC_BYTE), or
    None when it is one: the same checks, in the same order, as the consumer's framing."""
    if value is None:
        return NULL_VALUE
    if len(value) < HEADER_BYTES:
        return TOO_SHORT
    if value[0] != MAGIC_BYTE:
        return WRONG_MAGIC_BYTE
    return None


def frame_schema_id(value: bytes) -> int:
    """The schema id of a framed value (bytes 1-4, big-endian)."""
    return int.from_bytes(value[1:HEADER_BYTES], "big")
