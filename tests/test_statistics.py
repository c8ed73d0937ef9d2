"""Per-symbol statistics, outliers and histograms on small DataFrames (no Kafka)."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta, timezone

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import DoubleType, StringType, StructField, StructType, TimestampType

from consumer.statistics import outliers, price_histograms, symbol_statistics

pytestmark = pytest.mark.spark

EVENTS = StructType(
    [
        StructField("ts", TimestampType()),
        StructField("symbol", StringType()),
        StructField("price", DoubleType()),
    ]
)
T0 = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
PRICES = {
    "SPIKE": [10.0, 10.0, 10.0, 10.0, 20.0],  # mean 12, sample stddev sqrt(20) = 4.47
    "FLAT": [5.0, 5.0, 5.0],  # stddev 0: nothing is an outlier
    "ONCE": [7.0],  # stddev undefined (null): nothing is an outlier
}


def events(spark: SparkSession, prices: dict[str, list[float]]) -> DataFrame:
    rows = [
        (T0 + timedelta(seconds=i), symbol, price)
        for symbol, series in prices.items()
        for i, price in enumerate(series)
    ]
    return spark.createDataFrame(rows, EVENTS)


def test_stddev_is_the_sample_standard_deviation_and_null_for_one_event(
    spark: SparkSession,
) -> None:
    rows = {r.symbol: r for r in symbol_statistics(events(spark, PRICES)).collect()}
    spike = rows["SPIKE"]
    assert (spike["count"], spike["min"], spike["max"]) == (5, 10.0, 20.0)
    assert spike["mean"] == pytest.approx(12.0)
    assert spike["stddev"] == pytest.approx(statistics.stdev(PRICES["SPIKE"]))
    assert spike["stddev"] != pytest.approx(statistics.pstdev(PRICES["SPIKE"]))
    assert rows["FLAT"]["stddev"] == 0.0
    assert rows["ONCE"]["count"] == 1 and rows["ONCE"]["stddev"] is None


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (1.0, {("SPIKE", 20.0)}),  # z = 8 / sqrt(20) = 1.79
        (1.78, {("SPIKE", 20.0)}),
        (1.79, set()),  # strictly more than the threshold
        (0.4, {("SPIKE", 20.0), ("SPIKE", 10.0)}),  # |z| = 2 / sqrt(20) = 0.447 below the mean
    ],
)
def test_outliers_are_strictly_beyond_threshold_stddevs_on_either_side(
    spark: SparkSession, threshold: float, expected: set[tuple[str, float]]
) -> None:
    frame = events(spark, PRICES)
    found = outliers(frame, symbol_statistics(frame), threshold).collect()
    assert {(r.symbol, r.price) for r in found} == expected
    for row in found:
        assert row.z == pytest.approx((row.price - 12.0) / statistics.stdev(PRICES["SPIKE"]))


def test_histograms_count_every_event_once_with_the_max_in_the_last_bin(
    spark: SparkSession,
) -> None:
    frame = events(spark, {**PRICES, "RAMP": [float(p) for p in range(11)]})
    counts = {
        (r.symbol, r.bin): r["count"]
        for r in price_histograms(frame, symbol_statistics(frame), 4).collect()
    }
    assert counts == {
        ("SPIKE", 0): 4,
        ("SPIKE", 3): 1,
        ("FLAT", 0): 3,
        ("ONCE", 0): 1,
        ("RAMP", 0): 3,  # 0, 1, 2 (width 2.5)
        ("RAMP", 1): 2,  # 3, 4
        ("RAMP", 2): 3,  # 5, 6, 7
        ("RAMP", 3): 3,  # 8, 9, 10 (the max stays in the last bin)
    }
