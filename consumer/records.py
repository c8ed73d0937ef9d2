"""Typed records, as a registry-aware UI shows them: where each record is, its key, the
writer schema it carries and its value decoded into the reader schema (or why not)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro

from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.decoding import decoded_records, reader_fields
from consumer.errors import ConsumerError, one_line_failures
from consumer.framing import HEADER_BYTES, UNKNOWN_SCHEMA_ID
from consumer.report import utc_from_micros
from consumer.source import OffsetRange, partition_offsets, read_topic, topic_partitions
from contract.schemas import Contract, ReaderChoice, topic_contract


@dataclass(frozen=True)
class RecordsOptions:
    limit: int
    from_offset: int | None = None  # per partition; default: each partition's earliest
    partition: int | None = None  # default: every partition
    reader_schema_file: Path | None = None
    #: Read into the newest version of this major (None: the latest version).
    contract_major: str | None = None


@dataclass(frozen=True)
class TypedRecord:
    partition: int
    offset: int
    timestamp: datetime  # Kafka's record timestamp, UTC
    key: str | None
    schema_id: int | None
    subject_version: int | None  # of the topic's value subject; None for other ids
    value: dict[str, Any] | None  # every reader field; None when not decoded
    reason: str | None  # why the value is not decoded


def wanted_ranges(
    offsets: dict[int, OffsetRange], options: RecordsOptions
) -> dict[int, OffsetRange]:
    """At most limit records from each wanted partition, from the asked offset on."""
    ranges = {}
    for partition, available in offsets.items():
        if options.partition is not None and partition != options.partition:
            continue
        start = min(max(options.from_offset or 0, available.earliest), available.latest)
        ranges[partition] = OffsetRange(start, min(start + options.limit, available.latest))
    return ranges


def framed_string_key(key: Any) -> Any:
    """The key decoded as a Confluent-framed Avro string, else as UTF-8 text."""
    body = key.substr(F.lit(HEADER_BYTES + 1), F.length(key) - HEADER_BYTES)
    avro = from_avro(body, '"string"', {"mode": "PERMISSIVE"})
    framed = (F.length(key) > HEADER_BYTES) & (F.hex(F.substring(key, 1, 1)) == F.lit("00"))
    return F.when(framed & avro.isNotNull(), avro).otherwise(key.cast("string"))


def typed_rows(records: DataFrame, contract: Contract) -> DataFrame:
    """records with their key as text and their value as JSON of the reader's fields
    (migrated from another major where the contract says how)."""
    reader_schema = contract.reader.schema
    decoded = decoded_records(
        records, contract.writers.known, reader_schema, paths=contract.read_paths()
    )
    fields = reader_fields(reader_schema)
    value = F.to_json(F.struct(*fields))
    keys = records.select(
        "partition", "offset", "timestamp", framed_string_key(F.col("key")).alias("key")
    )
    return keys.join(
        decoded.select(
            "partition",
            "offset",
            "schema_id",
            "reason",
            F.when(F.col("reason").isNull(), value).alias("value"),
        ),
        ["partition", "offset"],
    )


def first_rows(records: DataFrame, contract: Contract, limit: int) -> list[Row]:
    """The first limit typed rows in (partition, offset) order, timestamps as epoch micros."""
    return (
        typed_rows(records, contract)
        .orderBy("partition", "offset")
        .limit(limit)
        .select("*", F.unix_micros("timestamp").alias("ts_micros"))
        .collect()
    )


@dataclass(frozen=True)
class RecordsPlan:
    """The offset ranges to read and how to decode them, known before Spark starts."""

    ranges: dict[int, OffsetRange]
    contract: Contract | None  # None when there is nothing to read


def plan_records(
    clients: Clients, settings: ConnectionSettings, options: RecordsOptions
) -> RecordsPlan:
    """Broker, topic, partition, offsets and registry, checked without Spark."""
    partitions = topic_partitions(clients.admin, settings)
    if options.partition is not None and options.partition >= partitions:
        raise ConsumerError(
            f"topic {settings.topic} has no partition {options.partition} (it has {partitions})"
        )
    offsets = partition_offsets(clients.admin, settings.topic, partitions)
    ranges = wanted_ranges(offsets, options)
    if all(r.earliest == r.latest for r in ranges.values()):
        return RecordsPlan(ranges, None)
    with one_line_failures():
        contract = topic_contract(
            clients.registry,
            settings.registry,
            settings.value_subject,
            options.reader_schema_file,
            choice=ReaderChoice(options.contract_major),
        )
    return RecordsPlan(ranges, contract)


def read_records(
    spark: SparkSession, settings: ConnectionSettings, plan: RecordsPlan, limit: int
) -> list[TypedRecord]:
    """The planned records in (partition, offset) order, at most limit of them."""
    contract = plan.contract
    if contract is None:
        return []
    with one_line_failures():
        records = read_topic(spark, settings, len(plan.ranges), plan.ranges)
        result = first_rows(records, contract, limit)
        missing = {r["schema_id"] for r in result if r["reason"] == UNKNOWN_SCHEMA_ID}
        if contract.writers.add_ids(missing):
            result = first_rows(records, contract, limit)
    versions = contract.writers.versions
    return [
        TypedRecord(
            partition=row["partition"],
            offset=row["offset"],
            timestamp=utc_from_micros(row["ts_micros"]),
            key=row["key"],
            schema_id=row["schema_id"],
            subject_version=versions.get(row["schema_id"]),
            value=None if row["value"] is None else json.loads(row["value"]),
            reason=row["reason"],
        )
        for row in result
    ]
