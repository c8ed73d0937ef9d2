"""The data path on an in-memory DataFrame of Confluent-framed bytes: no Kafka, no registry.

v1 records (no currency) and v2 records in USD and EUR, framed as the producer frames them,
go through the same steps as a Kafka batch: frame split, decode into the reader schema,
the one aggregation, outliers per group. pyspark.testing compares whole frames.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import astuple
from datetime import timedelta

import pytest
from framed_records import T0, UNKNOWN_ID, V1, V1_ID, V2, V2_ID, WRITTEN, kafka_batch
from pyspark.sql import SparkSession
from pyspark.sql.types import (
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)
from pyspark.testing import assertDataFrameEqual

from consumer.decoding import decoded_records
from consumer.framing import UNKNOWN_SCHEMA_ID
from consumer.statistics import summarise
from consumer.summary import reported_statistics

pytestmark = pytest.mark.spark

DECODED = StructType(
    [
        StructField("partition", IntegerType()),
        StructField("offset", LongType()),
        StructField("schema_id", LongType()),
        StructField("reason", StringType()),
        StructField("migration_rule", StringType()),  # no other major here: never failed
        StructField("migration_mode", StringType()),
        StructField("ts", TimestampType()),
        StructField("symbol", StringType()),
        StructField("price", DoubleType()),
        StructField("currency", StringType()),
        StructField("rule", StringType()),  # no rules here: never decided
    ]
)


def test_every_reader_field_reaches_the_rows_and_v1_reads_as_the_default_currency(
    spark: SparkSession,
) -> None:
    decoded = decoded_records(kafka_batch(spark), {V1_ID: V1, V2_ID: V2}, V2)
    expected = [
        (
            0,
            offset,
            schema_id,
            None,
            None,
            None,
            T0 + timedelta(seconds=offset),
            symbol,
            price,
            currency or "USD",
            None,
        )
        for offset, (schema_id, symbol, price, currency) in enumerate(WRITTEN)
    ]
    expected.append(
        (0, len(WRITTEN), UNKNOWN_ID, UNKNOWN_SCHEMA_ID, None, None, None, None, None, None, None)
    )
    assertDataFrameEqual(decoded, spark.createDataFrame(expected, DECODED))


def test_one_aggregation_gives_each_symbol_and_currency_its_own_exact_statistics(
    spark: SparkSession,
) -> None:
    decoded = decoded_records(kafka_batch(spark), {V1_ID: V1, V2_ID: V2}, V2)
    prices: dict[tuple[str, str], list[float]] = defaultdict(list)
    for _, symbol, price, currency in WRITTEN:
        prices[(symbol, currency or "USD")].append(price)
    expected = [
        (symbol, currency, len(p), min(p), max(p), statistics.fmean(p), statistics.stdev(p))
        for (symbol, currency), p in prices.items()
    ]
    actual = [astuple(s) for s in reported_statistics(summarise(decoded).groups)]
    assert len(actual) == len(expected)
    for got, want in zip(sorted(actual), sorted(expected), strict=True):
        assert got[:3] == want[:3] and got[3:] == pytest.approx(want[3:], rel=1e-12)
    assert len(expected) == 3  # AAPL in USD (v1 and v2 together), AAPL in EUR, MSFT in EUR
