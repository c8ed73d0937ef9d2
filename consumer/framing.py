"""Split Confluent wire-format values into magic byte, schema id and Avro body, in Spark.

Byte 0 is the magic byte 0, bytes 1-4 the schema id (big-endian), the rest the Avro
body. Records that are not framed that way get a reason instead of a schema id.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# The reason names live in the contract (no Spark there), so readers without Spark share them.
from contract.reasons import (
    HEADER_BYTES,
    NULL_VALUE,
    REASONS,
    TOO_SHORT,
    UNDECODABLE,
    UNKNOWN_SCHEMA_ID,
    WRONG_MAGIC_BYTE,
)

__all__ = [
    "HEADER_BYTES",
    "NULL_VALUE",
    "REASONS",
    "TOO_SHORT",
    "UNDECODABLE",
    "UNKNOWN_SCHEMA_ID",
    "WRONG_MAGIC_BYTE",
    "frame_error",
    "split_frames",
]


def frame_error(value: Column) -> Column:
    """Why value is not a Confluent frame, or null when it is one."""
    return (
        F.when(value.isNull(), F.lit(NULL_VALUE))
        .when(F.length(value) < HEADER_BYTES, F.lit(TOO_SHORT))
        .when(F.hex(F.substring(value, 1, 1)) != F.lit("00"), F.lit(WRONG_MAGIC_BYTE))
    )


def split_frames(records: DataFrame, *keep: str) -> DataFrame:
    """Kafka records -> partition, offset, schema_id, body, reason (null when framed), and
    the columns of records named in keep."""
    value = F.col("value")
    reason = frame_error(value)
    framed = reason.isNull()
    return records.select(
        "partition",
        "offset",
        F.when(framed, F.conv(F.hex(F.substring(value, 2, 4)), 16, 10).cast("long")).alias(
            "schema_id"
        ),
        F.when(framed, value.substr(F.lit(HEADER_BYTES + 1), F.length(value) - HEADER_BYTES)).alias(
            "body"
        ),
        reason.alias("reason"),
        *keep,
    )
