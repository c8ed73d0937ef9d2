"""Per-symbol price statistics and the outliers they reveal.

One aggregation grouped by (reason, symbol) gives, in a single job, every reason's record
count, the schema ids seen, and (in the rows whose reason is null) each symbol's
statistics. The statistics are collected (one row per symbol) and come back into Spark as
literals for the outlier and histogram jobs.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from consumer.report import SymbolStatistics

STATISTICS = StructType(
    [
        StructField("symbol", StringType(), nullable=False),
        StructField("count", LongType(), nullable=False),
        StructField("min", DoubleType(), nullable=False),
        StructField("max", DoubleType(), nullable=False),
        StructField("mean", DoubleType(), nullable=False),
        StructField("stddev", DoubleType(), nullable=True),
    ]
)


def record_summary(records: DataFrame) -> DataFrame:
    """reason, symbol, count, schema_ids, min, max, mean, stddev of price per (reason,
    symbol) of records (reason, schema_id, symbol, price). stddev is the sample standard
    deviation (n - 1), null for a symbol seen once."""
    price = F.col("price")
    return records.groupBy("reason", "symbol").agg(
        F.count(F.lit(1)).alias("count"),
        F.collect_set("schema_id").alias("schema_ids"),
        F.min(price).alias("min"),
        F.max(price).alias("max"),
        F.mean(price).alias("mean"),
        F.stddev_samp(price).alias("stddev"),
    )


def statistics_frame(spark: SparkSession, statistics: Iterable[SymbolStatistics]) -> DataFrame:
    """Collected statistics as a DataFrame (symbol, count, min, max, mean, stddev).

    Built from literals in the JVM: spark.createDataFrame on Python rows would need a
    Python worker on every executor.
    """
    rows = [
        F.struct(*(F.lit(getattr(s, field.name)).alias(field.name) for field in STATISTICS))
        for s in statistics
    ]
    return spark.range(1).select(F.inline(F.array(*rows).cast(ArrayType(STATISTICS))))


def outliers(events: DataFrame, statistics: DataFrame, z_threshold: float) -> DataFrame:
    """Events whose price is more than z_threshold standard deviations from their
    symbol's mean: ts, symbol, price, z. The statistics are small: broadcast them."""
    z = (F.col("price") - F.col("mean")) / F.col("stddev")
    return (
        events.join(F.broadcast(statistics.select("symbol", "mean", "stddev")), "symbol")
        .where(F.col("stddev") > 0)
        .select("ts", "symbol", "price", z.alias("z"))
        .where(F.abs(F.col("z")) > F.lit(z_threshold))
    )


def price_histograms(events: DataFrame, statistics: DataFrame, bins: int) -> DataFrame:
    """symbol, bin, count: each symbol's prices in `bins` equal-width bins from its min to
    its max (bin bins - 1 includes the max). Small enough to collect for a plot."""
    width = (F.col("max") - F.col("min")) / F.lit(bins)
    raw_bin = F.floor((F.col("price") - F.col("min")) / width)
    bin_index = F.when(width == 0, F.lit(0)).otherwise(F.least(raw_bin, F.lit(bins - 1)))
    return (
        events.join(F.broadcast(statistics.select("symbol", "min", "max")), "symbol")
        .groupBy("symbol", bin_index.cast("int").alias("bin"))
        .count()
    )
