"""Outliers: events far from their own (symbol, currency) group's mean. One judgement
and one order, for a whole topic (batch) and for each micro-batch (follow)."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from consumer.report import Outlier, utc_from_micros
from consumer.statistics import GROUP_COLUMNS, join_groups, statistics_frame
from consumer.summary import GroupKey, RunningStatistics, reported_statistics


def outliers(events: DataFrame, statistics: DataFrame, z_threshold: float) -> DataFrame:
    """Events whose price is more than z_threshold standard deviations from their group's
    mean: ts, symbol, currency, price, z."""
    z = (F.col("price") - F.col("mean")) / F.col("stddev")
    return (
        join_groups(events, statistics, "mean", "stddev")
        .where(F.col("stddev") > 0)
        .select("ts", *GROUP_COLUMNS, "price", z.alias("z"))
        .where(F.abs(F.col("z")) > F.lit(z_threshold))
    )


def judged_statistics(
    spark: SparkSession, groups: Mapping[GroupKey, RunningStatistics], min_count: int
) -> DataFrame | None:
    """The groups with at least min_count events and a spread, as a statistics frame; None
    when no group qualifies (then nothing is judged)."""
    judged = {key: s for key, s in groups.items() if s.n >= min_count and s.stddev}
    return statistics_frame(spark, reported_statistics(judged)) if judged else None


def collect_outliers(events: DataFrame, statistics: DataFrame, z_threshold: float) -> list[Outlier]:
    """The outliers in (time, symbol, currency, price) order (sorted here: they are few, a
    Spark sort is a shuffle).

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
