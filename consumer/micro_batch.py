"""One micro-batch of follow mode, as steps over its DataFrame (no registry, no Kafka):
its records decoded with the writer schemas known so far and cached, an overview (what
the batch holds: records, offsets, writer schema ids, times), then, once the driver
knows every writer schema the batch needs, its count: the same summary and outlier steps
as batch mode, judged against the running totals.

The decoded batch is the one cache: the overview's job writes it, and the count reads
it. Only a batch that brings a writer id the driver did not know is decoded again, with
the contract that knows it (as batch mode redoes a topic with ids from outside its
subject); before any contract is known, the overview reads the framed records (the
caller keeps them cached for the decode)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F

from consumer.bad_records import (
    MOST_COLLECTED,
    bad_records,
    dead_letter_count,
    stopping_failure,
)
from consumer.decoding import decoded_records, passing
from consumer.framing import split_frames
from consumer.outliers import collect_outliers, judged_statistics
from consumer.report import Outlier, RecordLocation
from consumer.statistics import GROUP_COLUMNS, summarise
from consumer.summary import GroupKey, RunningStatistics, Summary, merge_groups
from contract.schemas import Contract


@dataclass(frozen=True)
class BatchOverview:
    """What a micro-batch holds, known before it is decoded."""

    records: int
    schema_ids: frozenset[int]  # of its framed records
    next_offsets: Mapping[int, int]  # by partition: 1 + the highest offset in the batch
    oldest_ms: int | None  # Kafka timestamps of its records
    newest_ms: int | None


#: The Kafka timestamp of each record, carried beside its decoded columns.
KAFKA_TIMESTAMP = "kafka_timestamp"


def with_kafka_timestamp(records: DataFrame) -> DataFrame:
    """records with their Kafka timestamp under the name the overview reads it by."""
    return records.withColumn(KAFKA_TIMESTAMP, F.col("timestamp"))


def framed_batch(records: DataFrame) -> DataFrame:
    """records (a Kafka batch DataFrame) split into frames, with their Kafka timestamp:
    what an overview needs when no writer schema is known yet."""
    return split_frames(with_kafka_timestamp(records), KAFKA_TIMESTAMP)


def decoded_batch(records: DataFrame, contract: Contract, keep_raw: bool) -> DataFrame:
    """records (a Kafka batch DataFrame) read through contract (decoded, migrated where
    they were written in another major, judged by its read rules), with their Kafka
    timestamp and, with keep_raw, the raw record of each that does not pass; persisted,
    to be cached by the first job that reads it."""
    decoded = decoded_records(
        with_kafka_timestamp(records),
        contract.writers.known,
        contract.reader.schema,
        contract.read_rules.rules,
        contract.read_paths(),
        keep_raw=keep_raw,
        carry=(KAFKA_TIMESTAMP,),
    )
    return decoded.persist(StorageLevel.MEMORY_AND_DISK)


def overview_rows(frames: DataFrame) -> DataFrame:
    """Per partition: records, next offset, the framed records' schema ids, and the
    oldest and newest Kafka timestamps (ms), of frames (framed_batch's or decoded_batch's
    columns)."""
    ms: Column = F.unix_millis(KAFKA_TIMESTAMP)
    return frames.groupBy("partition").agg(
        F.count(F.lit(1)).alias("records"),
        (F.max("offset") + 1).alias("next_offset"),
        F.collect_set("schema_id").alias("schema_ids"),
        F.min(ms).alias("oldest_ms"),
        F.max(ms).alias("newest_ms"),
    )


def overview_of(rows: list[Row]) -> BatchOverview:
    oldest = [row["oldest_ms"] for row in rows if row["oldest_ms"] is not None]
    newest = [row["newest_ms"] for row in rows if row["newest_ms"] is not None]
    return BatchOverview(
        records=sum(int(row["records"]) for row in rows),
        schema_ids=frozenset(int(i) for row in rows for i in row["schema_ids"]),
        next_offsets={int(row["partition"]): int(row["next_offset"]) for row in rows},
        oldest_ms=min(oldest) if oldest else None,
        newest_ms=max(newest) if newest else None,
    )


def batch_overview(frames: DataFrame) -> BatchOverview:
    """One job: the overview of frames (framed_batch's or decoded_batch's columns)."""
    return overview_of(overview_rows(frames).collect())


@dataclass(frozen=True)
class BatchCount:
    """A micro-batch counted: its own summary, and its outliers judged against the
    running statistics with this batch included."""

    summary: Summary = field(default_factory=Summary)
    new_outliers: list[Outlier] = field(default_factory=list)
    #: The first record each ERROR rule decided against (the run must stop on it).
    stopped_by: dict[str, RecordLocation] = field(default_factory=dict)


def first_decided(decoded: DataFrame, column: str, rule: str) -> dict[str, RecordLocation]:
    """The first record the rule decided against (or, for a migration rule, failed on):
    column is the decoded records' column that names it."""
    first = decoded.where(F.col(column) == F.lit(rule)).agg(
        F.min(F.struct("partition", "offset")).alias("first")
    )
    return {rule: RecordLocation(*first.collect()[0]["first"])}


def count_batch(
    decoded: DataFrame,
    contract: Contract,
    totals: Mapping[GroupKey, RunningStatistics],
    z_threshold: float,
    min_count: int,
    on_bad_records: Callable[[DataFrame], None] | None = None,
) -> BatchCount:
    """decoded (decoded_batch's frame, read through contract) summarised, the bad ones
    handed to on_bad_records (bad_records' frame, from the cache), and their outliers
    among the groups that have min_count events once this batch is merged into totals. A
    record an ERROR rule decided against (or an ERROR migration rule failed on) stops the
    count there."""
    rules, migrations = contract.read_rules, contract.migration_rules()
    summary = summarise(decoded)
    stopping = stopping_failure(summary, rules, migrations)
    if stopping is not None:
        return BatchCount(summary, stopped_by=first_decided(decoded, *stopping))
    letters = dead_letter_count(summary, rules, migrations)
    if on_bad_records is not None and letters:
        on_bad_records(bad_records(decoded, rules, migrations, letters <= MOST_COLLECTED))
    judged = judged_statistics(
        decoded.sparkSession, merge_groups(totals, summary.groups.items()), min_count
    )
    if judged is None or not summary.groups:
        return BatchCount(summary)
    events = decoded.where(passing()).select("ts", *GROUP_COLUMNS, "price")
    return BatchCount(summary, collect_outliers(events, judged, z_threshold))
