"""From Kafka records to a Report: frame, decode, summarise, find outliers.

The writer schemas registered under the topic's subject are known before Kafka is read,
so the usual topic decodes in one pass. The jobs: one aggregation (reason counts, schema
ids, per-group statistics), one outlier scan, and, only when needed, the first offsets
of each bad reason and the histograms of a plot. Only those small results reach the
driver. Ids outside the subject are looked up after the first job; if the registry knows
any, the analysis is redone with them (the rare topic written under several subjects).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from consumer.decoding import decoded_records
from consumer.framing import REASONS, UNDECODABLE, UNKNOWN_SCHEMA_ID
from consumer.report import (
    GroupStatistics,
    Histogram,
    Outlier,
    RecordLocation,
    Report,
    Undecodable,
)
from consumer.statistics import (
    GROUP_COLUMNS,
    outliers,
    price_histograms,
    record_summary,
    statistics_frame,
)
from consumer.timings import Timings
from consumer.writer_schemas import ReaderSchema, WriterSchemas

UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class AnalysisOptions:
    """What the report holds beyond the statistics, and how outliers are judged."""

    z_threshold: float
    histogram_bins: int = 0  # > 0 when a plot is asked for
    examples_per_reason: int = 3
    #: Cache the decoded records in memory (a small topic) rather than on local disk.
    cache_in_memory: bool = False


@dataclass(frozen=True)
class Summary:
    """What the one aggregation over every record tells."""

    reason_counts: dict[str | None, int]  # None: decoded
    schema_ids: dict[str | None, set[int]]  # by reason
    statistics: list[GroupStatistics]  # by (symbol, currency)


def summarise(decoded: DataFrame) -> Summary:
    """One job: reason counts, schema ids by reason, and the decoded events' statistics."""
    counts: dict[str | None, int] = defaultdict(int)
    schema_ids: dict[str | None, set[int]] = defaultdict(set)
    statistics = []
    for row in record_summary(decoded).collect():
        counts[row["reason"]] += int(row["count"])
        schema_ids[row["reason"]].update(int(schema_id) for schema_id in row["schema_ids"])
        if row["reason"] is None:
            statistics.append(
                GroupStatistics(
                    symbol=row["symbol"],
                    currency=row["currency"],
                    count=int(row["count"]),
                    min=row["min"],
                    max=row["max"],
                    mean=row["mean"],
                    stddev=row["stddev"],
                )
            )
    statistics.sort(key=lambda s: (s.symbol, s.currency or ""))
    return Summary(dict(counts), dict(schema_ids), statistics)


def cached_records(
    records: DataFrame, writers: Mapping[int, str], reader_schema: str, in_memory: bool
) -> DataFrame:
    """The decoded records, to be cached by the first job that reads them.

    The cache spares the outlier job a second read of Kafka (at 10M events the read is
    most of a pass). A large topic's go to local disk, not memory, so the driver's memory
    does not grow with the topic (in local mode the executors live in the driver's JVM);
    a small topic's stay in memory, sparing the disk writes and reads.
    """
    level = StorageLevel.MEMORY_ONLY if in_memory else StorageLevel.DISK_ONLY
    return decoded_records(records, writers, reader_schema).persist(level)


def analyse(
    records: DataFrame,
    topic: str,
    writers: WriterSchemas,
    reader: ReaderSchema,
    options: AnalysisOptions,
    timings: Timings | None = None,
) -> Report:
    """The report for records (a Kafka batch DataFrame), decoded with the writer schemas
    known so far and with the ones the registry has for the ids the records bring.
    Each job is timed as a phase of timings (if given)."""
    if timings is None:
        timings = Timings()
    with timings.phase("plan: decode (from_avro per writer schema) and cache"):
        decoded = cached_records(records, writers.known, reader.schema, options.cache_in_memory)
    try:
        with timings.phase("job: summary (read Kafka, decode, cache, aggregate)"):
            summary = summarise(decoded)
        if writers.add_ids(summary.schema_ids.get(UNKNOWN_SCHEMA_ID, set())):
            decoded.unpersist()
            decoded = cached_records(records, writers.known, reader.schema, options.cache_in_memory)
            with timings.phase("job: summary again, with the ids found"):
                summary = summarise(decoded)
        events = decoded.where(F.col("reason").isNull())
        statistics = statistics_frame(decoded.sparkSession, summary.statistics)
        with timings.phase("job: outliers (from the cache)"):
            outlier_list = collect_outliers(events, statistics, options.z_threshold)
        undecodable: list[Undecodable] = []
        if any(reason is not None for reason in summary.reason_counts):
            with timings.phase("job: first records of each undecodable reason"):
                undecodable = undecodable_records(
                    decoded, summary.reason_counts, options.examples_per_reason
                )
        histograms: list[Histogram] = []
        if options.histogram_bins:
            with timings.phase("job: histograms (for the plot)"):
                histograms = collect_histograms(
                    events, statistics, summary.statistics, options.histogram_bins
                )
    finally:
        decoded.unpersist()
    return Report(
        topic=topic,
        messages=sum(summary.reason_counts.values()),
        decoded=summary.reason_counts.get(None, 0),
        reader_schema=reader.source,
        writer_schema_ids=sorted(
            summary.schema_ids.get(None, set()) | summary.schema_ids.get(UNDECODABLE, set())
        ),
        z_threshold=options.z_threshold,
        statistics=summary.statistics,
        outliers=outlier_list,
        undecodable=undecodable,
        histograms=histograms,
    )


def collect_outliers(events: DataFrame, statistics: DataFrame, z_threshold: float) -> list[Outlier]:
    """The outliers in time order (sorted here: they are few, a Spark sort is a shuffle).

    Timestamps leave Spark as epoch microseconds: collecting a TimestampType gives a naive
    datetime in the driver's local time zone, not UTC.
    """
    rows = (
        outliers(events, statistics, z_threshold)
        .select(F.unix_micros("ts").alias("ts_micros"), *GROUP_COLUMNS, "price", "z")
        .collect()
    )
    rows.sort(
        key=lambda row: (row["ts_micros"], row["symbol"], row["currency"] or "", row["price"])
    )
    return [
        Outlier(
            ts=utc_from_micros(row["ts_micros"]),
            symbol=row["symbol"],
            currency=row["currency"],
            price=row["price"],
            z=row["z"],
        )
        for row in rows
    ]


def utc_from_micros(micros: int) -> datetime:
    """The aware UTC datetime of microseconds since the Unix epoch."""
    return UNIX_EPOCH + timedelta(microseconds=micros)


def undecodable_records(
    decoded: DataFrame, reason_counts: Mapping[str | None, int], examples_per_reason: int
) -> list[Undecodable]:
    """Each reason's count, with the first few (partition, offset) of its records."""
    counts = {reason: count for reason, count in reason_counts.items() if reason is not None}
    if not counts:
        return []  # the usual case: no job needed
    bad = decoded.where(F.col("reason").isNotNull()).select("reason", "partition", "offset")
    first = Window.partitionBy("reason").orderBy("partition", "offset")
    example_rows = (
        bad.withColumn("rank", F.row_number().over(first))
        .where(F.col("rank") <= examples_per_reason)
        .orderBy("reason", "rank")
        .collect()
    )
    return [
        Undecodable(
            reason=reason,
            count=counts[reason],
            examples=[
                RecordLocation(partition=row["partition"], offset=row["offset"])
                for row in example_rows
                if row["reason"] == reason
            ],
        )
        for reason in REASONS
        if reason in counts
    ]


def collect_histograms(
    events: DataFrame, statistics: DataFrame, groups: Iterable[GroupStatistics], bins: int
) -> list[Histogram]:
    """Each group's histogram over [min, max] in `bins` bins."""
    counts = {
        (row["symbol"], row["currency"], row["bin"]): int(row["count"])
        for row in price_histograms(events, statistics, bins).collect()
    }
    return [
        Histogram(
            symbol=g.symbol,
            currency=g.currency,
            low=g.min,
            high=g.max,
            counts=[counts.get((g.symbol, g.currency, index), 0) for index in range(bins)],
        )
        for g in groups
    ]
