"""The record summary, outliers and histograms on small DataFrames (no Kafka)."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta, timezone

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from consumer.outliers import outliers
from consumer.statistics import price_histograms, record_summary, statistics_frame, summarise
from consumer.summary import reported_statistics

pytestmark = pytest.mark.spark

EVENTS = StructType(
    [
        StructField("reason", StringType()),
        StructField("schema_id", LongType()),
        StructField("ts", TimestampType()),
        StructField("symbol", StringType()),
        StructField("price", DoubleType()),
        StructField("currency", StringType()),
        StructField("rule", StringType()),  # the deciding rule: none here
    ]
)
T0 = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
PRICES = {
    "SPIKE": [10.0, 10.0, 10.0, 10.0, 20.0],  # mean 12, sample stddev sqrt(20) = 4.47
    "FLAT": [5.0, 5.0, 5.0],  # stddev 0: nothing is an outlier
    "ONCE": [7.0],  # stddev undefined (null): nothing is an outlier
}


def events(
    spark: SparkSession, prices: dict[str, list[float]], currency: str | None = "USD"
) -> DataFrame:
    """Decoded records (reason null, schema id 1) of each symbol's prices in currency."""
    rows = [
        (None, 1, T0 + timedelta(seconds=i), symbol, price, currency)
        for symbol, series in prices.items()
        for i, price in enumerate(series)
    ]
    return spark.createDataFrame([(*row, None) for row in rows], EVENTS)


def symbol_statistics(spark: SparkSession, frame: DataFrame) -> DataFrame:
    """frame's statistics the way the consumer gets them: collected, then a local frame."""
    return statistics_frame(spark, reported_statistics(summarise(frame).groups))


def test_stddev_is_the_sample_standard_deviation_and_null_for_one_event(
    spark: SparkSession,
) -> None:
    groups = {s.symbol: s for s in reported_statistics(summarise(events(spark, PRICES)).groups)}
    spike = groups["SPIKE"]
    assert (spike.count, spike.min, spike.max) == (5, 10.0, 20.0)
    assert spike.mean == pytest.approx(12.0)
    assert spike.stddev == pytest.approx(statistics.stdev(PRICES["SPIKE"]))
    assert spike.stddev != pytest.approx(statistics.pstdev(PRICES["SPIKE"]))
    assert groups["FLAT"].stddev == 0.0
    assert groups["ONCE"].count == 1 and groups["ONCE"].stddev is None


def test_m2_is_the_sum_of_squared_deviations_and_zero_for_one_event(spark: SparkSession) -> None:
    rows = {r.symbol: r for r in record_summary(events(spark, PRICES)).collect()}
    spike = PRICES["SPIKE"]
    mean = sum(spike) / len(spike)
    assert rows["SPIKE"]["m2"] == pytest.approx(sum((p - mean) ** 2 for p in spike))
    assert rows["ONCE"]["m2"] == 0.0


def test_a_symbol_in_two_currencies_is_two_groups_each_judging_its_own_outliers(
    spark: SparkSession,
) -> None:
    usd = {"AAPL": [100.0, 100.0, 100.0, 100.0, 130.0]}
    eur = {"AAPL": [90.0, 91.0, 89.0, 90.0, 90.0]}
    frame = events(spark, usd, "USD").union(events(spark, eur, "EUR"))
    summary = summarise(frame)
    assert [(s.symbol, s.currency, s.count) for s in reported_statistics(summary.groups)] == [
        ("AAPL", "EUR", 5),
        ("AAPL", "USD", 5),
    ]
    assert [s.mean for s in reported_statistics(summary.groups)] == pytest.approx([90.0, 106.0])
    found = outliers(
        frame, statistics_frame(spark, reported_statistics(summary.groups)), 1.5
    ).collect()
    # 130 is far from the USD mean; judged against both currencies at once it would also
    # drag every EUR price out as an outlier.
    assert {(r.currency, r.price) for r in found} == {("USD", 130.0)}


def test_a_reader_without_currency_groups_by_symbol_alone(spark: SparkSession) -> None:
    frame = events(spark, {"AAPL": [1.0, 3.0]}, currency=None)
    (group,) = reported_statistics(summarise(frame).groups)
    assert (group.symbol, group.currency, group.count, group.mean) == ("AAPL", None, 2, 2.0)


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
    found = outliers(frame, symbol_statistics(spark, frame), threshold).collect()
    assert {(r.symbol, r.price) for r in found} == expected
    for row in found:
        assert row.z == pytest.approx((row.price - 12.0) / statistics.stdev(PRICES["SPIKE"]))


def test_histograms_count_every_event_once_with_the_max_in_the_last_bin(
    spark: SparkSession,
) -> None:
    frame = events(spark, {**PRICES, "RAMP": [float(p) for p in range(11)]})
    counts = {
        (r.symbol, r.bin): r["count"]
        for r in price_histograms(frame, symbol_statistics(spark, frame), 4).collect()
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


def test_summary_counts_every_reason_with_its_schema_ids_and_keeps_bad_records_out(
    spark: SparkSession,
) -> None:
    bad = [
        ("undecodable", 1, None, None, None, None, None),
        ("undecodable", 4, None, None, None, None, None),
        ("unknown_schema_id", 9, None, None, None, None, None),
        ("unknown_schema_id", 9, None, None, None, None, None),
        ("too_short", None, None, None, None, None, None),
    ]
    decoded = events(spark, PRICES).union(spark.createDataFrame(bad, EVENTS))
    summary = summarise(decoded)
    assert summary.decoded == 9
    assert summary.undecodable == {"undecodable": 2, "unknown_schema_id": 2, "too_short": 1}
    assert summary.schema_ids_by_reason == {
        None: {1},
        "undecodable": {1, 4},
        "unknown_schema_id": {9},
        "too_short": set(),
    }
    assert summary.writer_schema_ids == {1, 4}
    assert [(s.symbol, s.count) for s in reported_statistics(summary.groups)] == [
        ("FLAT", 3),
        ("ONCE", 1),
        ("SPIKE", 5),
    ]
