"""Decode every writer schema's records into the reader schema with Spark's from_avro.

Avro binary is positional: bytes written with one schema version cannot be read with
another version's schema alone. Each record is decoded with the schema it was written
with (looked up once per schema id) and resolved into one reader schema (from_avro's
``avroSchema`` option), so every branch yields the same struct type. One CASE over the
schema ids evaluates only the matching branch: each record is decoded once.

A writer version of another major reaches the reader through its migration rules
(consumer.migration_columns, in the same pass); a record whose migration fails names
the rule (MIGRATION_RULE, MIGRATION_MODE) and is counted as migration_failed, one with
no path at all as no_migration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro

from consumer.framing import UNDECODABLE, UNKNOWN_SCHEMA_ID, split_frames
from consumer.judge_spark import decider_column, none_failure_columns, top_level_fields
from consumer.migration_columns import migrated_from, written_record
from contract.migrations import MigrationPath, NoMigration
from contract.reasons import MIGRATION_FAILED, NO_MIGRATION
from contract.rules import BoundRule

CURRENCY = "currency"
#: The deciding rule of a decoded record: the first DLQ or ERROR rule it fails, or null.
RULE = "rule"
#: Prefix of the columns, one per NONE rule, true where the rule's failure is counted.
NONE_FAILED = "none_failed:"
#: The migration rule that failed on a record (and the way it ran), or null.
MIGRATION_RULE = "migration_rule"
MIGRATION_MODE = "migration_mode"
#: What a dead letter copies of a record that does not pass (key, value, timestamp_ms,
#: headers), kept from the decoding pass when asked for; null for a record that passes.
RAW = "raw"

#: Writer ids whose records do not reach the reader by Avro's resolution alone.
Paths = Mapping[int, MigrationPath | NoMigration]


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


def _read(event: Column, rule: Column | None = None, mode: Column | None = None) -> Column:
    no_rule = F.lit(None).cast("string")
    return F.struct(
        event.alias("event"),
        (no_rule if rule is None else rule).alias(MIGRATION_RULE),
        (no_rule if mode is None else mode).alias(MIGRATION_MODE),
    )


def decode_event(
    schema_id: Column,
    body: Column,
    writer_schemas: Mapping[int, str],
    reader_schema: str,
    paths: Paths,
) -> Column:
    """A struct of the decoded event (reader schema's shape; null for unknown ids, bad
    bodies and failed migrations) and the migration rule that failed (and its mode).

    Without migrations (the usual topic) the columns stay as they were: a CASE of
    from_avro calls and null migration columns."""
    options = {"avroSchema": reader_schema, "mode": "PERMISSIVE"}
    # Typed null of the reader's struct: the value for ids without a writer schema.
    no_event = from_avro(F.lit(None).cast("binary"), reader_schema)
    if not paths:
        decoded = F.when(F.lit(False), no_event)
        for writer_id, writer_schema in sorted(writer_schemas.items()):
            decoded = decoded.when(
                schema_id == F.lit(writer_id), from_avro(body, writer_schema, options)
            )
        return _read(decoded)
    read = F.when(F.lit(False), _read(no_event))
    for writer_id, writer_schema in sorted(writer_schemas.items()):
        path = paths.get(writer_id)
        if path is None:
            branch = _read(from_avro(body, writer_schema, options))
        elif isinstance(path, NoMigration):
            branch = _read(no_event)
        else:
            migrated = migrated_from(F.col(written_column(writer_id)), path)
            branch = _read(migrated.event, migrated.failed_rule, migrated.failed_mode)
        read = read.when(schema_id == F.lit(writer_id), branch)
    return read


def written_column(writer_id: int) -> str:
    """The column holding the written record of a migrated writer id's records."""
    return f"written:{writer_id}"


def with_written_records(frames: DataFrame, paths: Paths) -> DataFrame:
    """frames with, per writer id that migrates, its records decoded as its path's rules
    first see them (null on other ids' rows), each in a column of its own: the decode
    runs once per record, however many fields the rules read (decode_event reads them)."""
    columns = {
        written_column(writer_id): F.when(
            F.col("schema_id") == F.lit(writer_id), written_record(F.col("body"), path)
        )
        for writer_id, path in sorted(paths.items())
        if isinstance(path, MigrationPath)
    }
    return frames.withColumns(columns) if columns else frames


def decode_frames(
    frames: DataFrame,
    writer_schemas: Mapping[int, str],
    reader_schema: str,
    paths: Paths | None = None,
    keep: Sequence[str] = (),
) -> DataFrame:
    """Framed records -> partition, offset, schema_id, event (struct or null), reason (null
    if decoded), MIGRATION_RULE, MIGRATION_MODE and the frames' columns named in keep.

    PERMISSIVE mode turns a body that fails to decode into nulls instead of failing the
    job; such a record lacks its required fields and is marked undecodable.
    """
    paths = paths or {}
    schema_id, event = F.col("schema_id"), F.col("read.event")
    known_id = schema_id.isin(list(writer_schemas)) if writer_schemas else F.lit(False)
    missing_required = event.isNull()
    for name in required_fields(reader_schema):
        missing_required = missing_required | event[name].isNull()
    unmigratable = [i for i, path in paths.items() if isinstance(path, NoMigration)]
    reasons = [F.col("reason"), F.when(~known_id, F.lit(UNKNOWN_SCHEMA_ID))]
    if paths:
        reasons += [
            F.when(schema_id.isin(unmigratable), F.lit(NO_MIGRATION)),
            F.when(F.col(f"read.{MIGRATION_RULE}").isNotNull(), F.lit(MIGRATION_FAILED)),
        ]
    reason = F.coalesce(*reasons, F.when(missing_required, F.lit(UNDECODABLE)))
    return (
        with_written_records(frames, paths)
        .withColumn(
            "read", decode_event(schema_id, F.col("body"), writer_schemas, reader_schema, paths)
        )
        .select(
            "partition",
            "offset",
            "schema_id",
            event.alias("event"),
            reason.alias("reason"),
            F.col(f"read.{MIGRATION_RULE}").alias(MIGRATION_RULE),
            F.col(f"read.{MIGRATION_MODE}").alias(MIGRATION_MODE),
            *keep,
        )
    )


def decoded_records(
    records: DataFrame,
    writer_schemas: Mapping[int, str],
    reader_schema: str,
    rules: Sequence[BoundRule] = (),
    paths: Paths | None = None,
    keep_raw: bool = False,
    carry: Sequence[str] = (),
) -> DataFrame:
    """Kafka records -> partition, offset, schema_id, reason, MIGRATION_RULE,
    MIGRATION_MODE, every field of the reader schema as a column of its own (null when
    the record is not decoded), and the record judged by rules in the same pass: the
    deciding rule (RULE) and a NONE_FAILED column per NONE rule. With keep_raw, a RAW
    column too: what a dead letter needs of each record that does not pass, so writing
    the letters never reads Kafka again (null for the others, which are most). The
    columns of records named in carry come along unchanged.

    A reader without the currency field (older than the contract's version 2) gets a null
    currency column, so statistics still group by (symbol, currency).
    """
    fields = reader_fields(reader_schema)
    currency = [] if CURRENCY in fields else [F.lit(None).cast("string").alias(CURRENCY)]
    keep = [*carry, RAW] if keep_raw else list(carry)
    if keep_raw:
        records = records.withColumn(
            RAW,
            F.struct("key", "value", F.unix_millis("timestamp").alias("timestamp_ms"), "headers"),
        )
    frames = split_frames(records, *keep)
    decoded = decode_frames(frames, writer_schemas, reader_schema, paths, keep).select(
        "partition",
        "offset",
        "schema_id",
        "reason",
        MIGRATION_RULE,
        MIGRATION_MODE,
        *(F.col("event")[name].alias(name) for name in fields),
        *currency,
        *keep,
    )
    columns = top_level_fields(fields)
    judged = F.col("reason").isNull()
    counted = none_failure_columns(rules, columns)
    judged_records = decoded.select(
        "*",
        F.when(judged, decider_column(rules, columns)).alias(RULE),
        *(
            F.coalesce(judged & failed, F.lit(False)).alias(NONE_FAILED + name)
            for name, failed in counted.items()
        ),
    )
    if not keep_raw:
        return judged_records
    return judged_records.withColumn(RAW, F.when(~passing(), F.col(RAW)))
