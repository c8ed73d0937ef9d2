"""The data path on an in-memory DataFrame of Confluent-framed bytes: no Kafka, no registry.

v1 records (no currency) and v2 records in USD and EUR, framed as the producer frames them,
go through the same steps as a Kafka batch: frame split, decode into the reader schema,
the one aggregation, outliers per group. pyspark.testing compares whole frames.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from io import BytesIO
from typing import Any

import pytest
from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE
from fastavro import parse_schema, schemaless_writer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
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
from consumer.source import KAFKA_RECORDS
from consumer.statistics import record_summary
from producer.serialization import confluent_header

pytestmark = pytest.mark.spark

V1_ID, V2_ID, UNKNOWN_ID = 11, 12, 99
V1, V2 = V1_SCHEMA_FILE.read_text(), V2_SCHEMA_FILE.read_text()
T0 = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
DECODED = StructType(
    [
        StructField("partition", IntegerType()),
        StructField("offset", LongType()),
        StructField("schema_id", LongType()),
        StructField("reason", StringType()),
        StructField("ts", TimestampType()),
        StructField("symbol", StringType()),
        StructField("price", DoubleType()),
        StructField("currency", StringType()),
    ]
)
# (writer schema id, symbol, price, currency as written: None for v1)
WRITTEN: list[tuple[int, str, float, str | None]] = [
    *((V1_ID, "AAPL", 100.0 + i, None) for i in range(6)),
    *((V2_ID, "AAPL", 104.0 + i, "USD") for i in range(4)),
    *((V2_ID, "AAPL", 92.0 + i / 2, "EUR") for i in range(5)),
    *((V2_ID, "MSFT", 400.0 + 3 * i, "EUR") for i in range(3)),
]


def framed(schema_id: int, schema: str, record: dict[str, Any]) -> bytes:
    buffer = BytesIO(confluent_header(schema_id))
    buffer.seek(0, 2)
    parsed = parse_schema(json.loads(schema))
    schemaless_writer(buffer, parsed, record)
    return buffer.getvalue()


def kafka_batch(spark: SparkSession) -> DataFrame:
    rows = []
    for offset, (schema_id, symbol, price, currency) in enumerate(WRITTEN):
        record: dict[str, Any] = {"ts": T0 + timedelta(seconds=offset), "symbol": symbol}
        record["price"] = price
        if currency is not None:
            record["currency"] = currency
        schema = V1 if schema_id == V1_ID else V2
        rows.append((None, framed(schema_id, schema, record), "t", 0, offset, None, 0))
    unknown = confluent_header(UNKNOWN_ID) + b"\x02"
    rows.append((None, unknown, "t", 0, len(WRITTEN), None, 0))
    return spark.createDataFrame(rows, KAFKA_RECORDS)


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
            T0 + timedelta(seconds=offset),
            symbol,
            price,
            currency or "USD",
        )
        for offset, (schema_id, symbol, price, currency) in enumerate(WRITTEN)
    ]
    expected.append((0, len(WRITTEN), UNKNOWN_ID, UNKNOWN_SCHEMA_ID, None, None, None, None))
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
    actual = record_summary(decoded).where(F.col("reason").isNull())
    assertDataFrameEqual(
        actual.select("symbol", "currency", "count", "min", "max", "mean", "stddev"),
        spark.createDataFrame(
            expected,
            "symbol string, currency string, count long, min double, max double, "
            "mean double, stddev double",
        ),
        rtol=1e-12,
    )
    assert len(expected) == 3  # AAPL in USD (v1 and v2 together), AAPL in EUR, MSFT in EUR
