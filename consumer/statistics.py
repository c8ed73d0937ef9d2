"""Per-symbol price statistics and the outliers they reveal, as DataFrame -> DataFrame."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def symbol_statistics(events: DataFrame) -> DataFrame:
    """symbol, count, min, max, mean, stddev of price; stddev is the sample standard
    deviation (n - 1), null for a symbol seen once."""
    price = F.col("price")
    return events.groupBy("symbol").agg(
        F.count(price).alias("count"),
        F.min(price).alias("min"),
        F.max(price).alias("max"),
        F.mean(price).alias("mean"),
        F.stddev_samp(price).alias("stddev"),
    )


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
