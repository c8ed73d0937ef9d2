"""From Kafka records to a Report: frame, decode, count, aggregate, find outliers.

Kafka is read once: the framed records are cached while the distinct schema ids are
collected, the decoded events are cached for the aggregations, and only small results
(ids, reason counts, statistics, outliers) reach the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Row, Window
from pyspark.sql import functions as F

from consumer.decoding import decode_frames
from consumer.framing import REASONS, split_frames
from consumer.report import (
    Histogram,
    Outlier,
    RecordLocation,
    Report,
    SymbolStatistics,
    Undecodable,
)
from consumer.statistics import outliers, price_histograms, symbol_statistics

WriterSchemaLookup = Callable[[list[int]], Mapping[int, str]]

UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def analyse(
    records: DataFrame,
    topic: str,
    writer_lookup: WriterSchemaLookup,
    reader_schema: str,
    reader_source: str,
    z_threshold: float,
    examples_per_reason: int = 3,
    histogram_bins: int = 0,
) -> Report:
    """The report for records (a Kafka batch DataFrame)."""
    frames = split_frames(records).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        ids = [
            int(row.schema_id)
            for row in frames.where(F.col("reason").isNull())
            .select("schema_id")
            .distinct()
            .collect()
        ]
        writers = writer_lookup(ids)
        decoded = (
            decode_frames(frames, writers, reader_schema)
            .select("partition", "offset", "reason", "event.ts", "event.symbol", "event.price")
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        # One job both fills the cache (before the frames are dropped) and counts reasons.
        reason_counts = {
            row["reason"]: int(row["count"]) for row in decoded.groupBy("reason").count().collect()
        }
    finally:
        frames.unpersist()
    try:
        events = decoded.where(F.col("reason").isNull()).select("ts", "symbol", "price")
        statistics = symbol_statistics(events).persist()
        stats_rows = statistics.orderBy("symbol").collect()
        # Timestamps leave Spark as epoch microseconds: collecting a TimestampType gives a
        # naive datetime in the driver's local time zone, not UTC.
        outlier_rows = (
            outliers(events, statistics, z_threshold)
            .select(F.unix_micros("ts").alias("ts_micros"), "symbol", "price", "z")
            .orderBy("ts_micros", "symbol")
            .collect()
        )
        undecodable = undecodable_records(decoded, reason_counts, examples_per_reason)
        histograms = (
            collect_histograms(events, statistics, stats_rows, histogram_bins)
            if histogram_bins
            else []
        )
        statistics.unpersist()
    finally:
        decoded.unpersist()
    return Report(
        topic=topic,
        messages=sum(reason_counts.values()),
        decoded=reason_counts.get(None, 0),
        reader_schema=reader_source,
        writer_schema_ids=sorted(writers),
        z_threshold=z_threshold,
        statistics=[
            SymbolStatistics(
                symbol=row["symbol"],
                count=int(row["count"]),
                min=row["min"],
                max=row["max"],
                mean=row["mean"],
                stddev=row["stddev"],
            )
            for row in stats_rows
        ],
        outliers=[
            Outlier(
                ts=utc_from_micros(row["ts_micros"]),
                symbol=row["symbol"],
                price=row["price"],
                z=row["z"],
            )
            for row in outlier_rows
        ],
        undecodable=undecodable,
        histograms=histograms,
    )


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
    events: DataFrame, statistics: DataFrame, stats_rows: list[Row], bins: int
) -> list[Histogram]:
    """Each symbol's histogram over [min, max] in `bins` bins."""
    counts = {
        (row["symbol"], row["bin"]): int(row["count"])
        for row in price_histograms(events, statistics, bins).collect()
    }
    return [
        Histogram(
            symbol=row["symbol"],
            low=row["min"],
            high=row["max"],
            counts=[counts.get((row["symbol"], index), 0) for index in range(bins)],
        )
        for row in stats_rows
    ]
