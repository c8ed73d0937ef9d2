"""Decode every writer schema's records into the reader schema with Spark's from_avro.

Avro binary is positional: bytes written with one schema version cannot be read with
another version's schema alone. Each record is decoded with the schema it was written
with (looked up once per schema id) and resolved into one reader schema (from_avro's
``avroSchema`` option), so every branch yields the same struct type. One CASE over the
schema ids evaluates only the matching branch: each record is decoded once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro

from consumer.framing import UNDECODABLE, UNKNOWN_SCHEMA_ID, split_frames
from consumer.rules import decider_column, none_failure_columns, top_level_fields
from contract.rules import BoundRule

CURRENCY = "currency"
#: The deciding rule of a decoded record: the first DLQ or ERROR rule it fails, or null.
RULE = "rule"
#: Prefix of the columns, one per NONE rule, true where the rule's failure is counted.
NONE_FAILED = "none_failed:"


def passing() -> Column:
    """Decoded, and no DLQ or ERROR rule failed: what statistics and outliers are over."""
    return F.col("reason").isNull() & F.col(RULE).isNull()


def reader_fields(reader_schema: str) -> list[str]:
    """The reader schema's field names, in order."""
    return [field["name"] for field in json.loads(reader_schema)["fields"]]


def required_fields(reader_schema: str) -> list[str]:
    """Reader fields that a successfully decoded record always has (no null branch)."""
    fields = json.loads(reader_schema)["fields"]
    return [
        field["name"]
        for field in fields
        if not (isinstance(field["type"], list) and "null" in field["type"])
    ]


def decode_event(
    schema_id: Column, body: Column, writer_schemas: Mapping[int, str], reader_schema: str
) -> Column:
    """The decoded struct (reader schema's shape); null for unknown ids and bad bodies."""
    options = {"avroSchema": reader_schema, "mode": "PERMISSIVE"}
    # Typed null of the reader's struct: the value for ids without a writer schema.
    decoded = F.when(F.lit(False), from_avro(F.lit(None).cast("binary"), reader_schema))
    for writer_id, writer_schema in sorted(writer_schemas.items()):
        decoded = decoded.when(
            schema_id == F.lit(writer_id), from_avro(body, writer_schema, options)
        )
    return decoded


def decode_frames(
    frames: DataFrame, writer_schemas: Mapping[int, str], reader_schema: str
) -> DataFrame:
    """Framed records -> partition, offset, schema_id, event (struct or null), reason (null
    if decoded).

    PERMISSIVE mode turns a body that fails to decode into nulls instead of failing the
    job; such a record lacks its required fields and is marked undecodable.
    """
    schema_id, event = F.col("schema_id"), F.col("event")
    known_id = schema_id.isin(list(writer_schemas)) if writer_schemas else F.lit(False)
    missing_required = event.isNull()
    for name in required_fields(reader_schema):
        missing_required = missing_required | event[name].isNull()
    reason = F.coalesce(
        F.col("reason"),
        F.when(~known_id, F.lit(UNKNOWN_SCHEMA_ID)),
        F.when(missing_required, F.lit(UNDECODABLE)),
    )
    return frames.withColumn(
        "event", decode_event(schema_id, F.col("body"), writer_schemas, reader_schema)
    ).select("partition", "offset", "schema_id", "event", reason.alias("reason"))


def decoded_records(
    records: DataFrame,
    writer_schemas: Mapping[int, str],
    reader_schema: str,
    rules: Sequence[BoundRule] = (),
) -> DataFrame:
    """Kafka records -> partition, offset, schema_id, reason, every field of the reader
    schema as a column of its own (null when the record is not decoded), and the record
    judged by rules in the same pass: the deciding rule (RULE) and a NONE_FAILED column
    per NONE rule.

    A reader without the currency field (older than the contract's version 2) gets a null
    currency column, so statistics still group by (symbol, currency).
    """
    fields = reader_fields(reader_schema)
    currency = [] if CURRENCY in fields else [F.lit(None).cast("string").alias(CURRENCY)]
    decoded = decode_frames(split_frames(records), writer_schemas, reader_schema).select(
        "partition",
        "offset",
        "schema_id",
        "reason",
        *(F.col("event")[name].alias(name) for name in fields),
        *currency,
    )
    columns = top_level_fields(fields)
    judged = F.col("reason").isNull()
    counted = none_failure_columns(rules, columns)
    return decoded.select(
        "*",
        F.when(judged, decider_column(rules, columns)).alias(RULE),
        *(
            F.coalesce(judged & failed, F.lit(False)).alias(NONE_FAILED + name)
            for name, failed in counted.items()
        ),
    )
