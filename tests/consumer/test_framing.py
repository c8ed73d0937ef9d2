"""The Confluent frame split in Spark, against a plain-Python reference on arbitrary bytes.

Hypothesis generates whole batches: each example is one DataFrame, one Spark job.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession
from pyspark.sql.types import BinaryType, IntegerType, LongType, StructField, StructType

from consumer.framing import NULL_VALUE, TOO_SHORT, WRONG_MAGIC_BYTE, split_frames

pytestmark = pytest.mark.spark

KAFKA_RECORDS = StructType(
    [
        StructField("partition", IntegerType()),
        StructField("offset", LongType()),
        StructField("value", BinaryType()),
    ]
)

Frame = tuple[int | None, bytes | None, str | None]


def reference_frame(value: bytes | None) -> Frame:
    """(schema id, body, reason) as the wire format defines them."""
    if value is None:
        return None, None, NULL_VALUE
    if len(value) < 5:
        return None, None, TOO_SHORT
    if value[0] != 0:
        return None, None, WRONG_MAGIC_BYTE
    (schema_id,) = struct.unpack(">I", value[1:5])
    return schema_id, value[5:], None


# Mostly values that get past the first checks: arbitrary bytes rarely start with 0.
values = st.one_of(
    st.none(),
    st.binary(max_size=12),
    st.binary(max_size=12).map(lambda rest: b"\x00" + rest),
    st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=30)).map(
        lambda pair: b"\x00" + struct.pack(">I", pair[0]) + pair[1]
    ),
)


def spark_frames(spark: SparkSession, batch: list[bytes | None]) -> list[Frame]:
    records = spark.createDataFrame(
        [(0, offset, value) for offset, value in enumerate(batch)], KAFKA_RECORDS
    )
    rows = split_frames(records).orderBy("offset").collect()
    return [
        (row.schema_id, None if row.body is None else bytes(row.body), row.reason) for row in rows
    ]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(values, min_size=1, max_size=300))
def test_split_frames_agrees_with_the_wire_format_on_arbitrary_bytes(
    spark: SparkSession, batch: list[bytes | None]
) -> None:
    assert spark_frames(spark, batch) == [reference_frame(value) for value in batch]


def test_header_only_value_is_framed_and_schema_ids_read_unsigned(spark: SparkSession) -> None:
    batch: list[bytes | None] = [
        b"\x00\x00\x00\x00\x07",  # header only: framed, empty body
        b"\x00\xff\xff\xff\xff\x02",  # the largest id reads unsigned, not -1
        b"\x00\x00\x00\x01",  # four bytes: too short
        b"",
        b"\x80\x00\x00\x00\x01",  # magic byte with the high bit set
    ]
    assert spark_frames(spark, batch) == [
        (7, b"", None),
        (2**32 - 1, b"\x02", None),
        (None, None, TOO_SHORT),
        (None, None, TOO_SHORT),
        (None, None, WRONG_MAGIC_BYTE),
    ]
