"""A record through its migration path in Spark equals contract.migrations.run_path:
the example rules, the event's type, failing and non-conforming rules and the rules that
run in jsonata-python. The compiled rules on the edge cases and on drawn expressions are
test_migration_columns_edges.py and test_migration_columns_drawn.py (files of their own,
so pytest-xdist runs them on different workers); the helpers they share, migration_runs.

Records are written with fastavro (the writer's schema) into in-memory frames; the
reference is run_path (jsonata-python, conformed to each hop's target). The Spark session
is conftest's (local[2], no Kafka or registry), the one every Spark test of the worker
shares: a session of a file's own would be the same SparkContext (getOrCreate), and
stopping it at the file's end stopped it under every later test of the worker.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from migration_runs import (
    HISTORY,
    TS,
    V1,
    V2,
    V3,
    encoded,
    major_2,
    migrated_as_the_reference,
    path_between,
)
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro

from consumer.migration_columns import (
    MigratedEvent,
    migrated_event,
    python_rule_names,
    reader_type,
)
from contract.migrations import ContractVersion

pytestmark = pytest.mark.spark


V1_RECORDS = [
    {"ts": TS, "symbol": "MSFT", "price": 224.25},
    {"ts": TS, "symbol": "A", "price": 0.29},
    {"ts": 0, "symbol": "", "price": 0.0},
    {"ts": -1, "symbol": "😀", "price": -0.0},
    {"ts": 253402300799999, "symbol": "X", "price": 1e300},
    {"ts": TS, "symbol": "X", "price": 92233720368547758.07},
    {"ts": TS, "symbol": "X", "price": math.nan},
    {"ts": TS, "symbol": "X", "price": math.inf},
    {"ts": TS, "symbol": "X", "price": -math.inf},
    {"ts": TS, "symbol": "X", "price": 5e-324},
    {"ts": TS, "symbol": "X", "price": 0.005},
    {"ts": TS, "symbol": "X", "price": 0.015},
]
V3_RECORDS = [
    {"ts": TS, "ticker": "MSFT", "price_cents": 22425, "currency": "EUR"},
    {"ts": TS, "ticker": "", "price_cents": 0, "currency": ""},
    {"ts": 253402300799999, "ticker": "A", "price_cents": 2**63 - 1, "currency": "USD"},
    {"ts": TS, "ticker": "A", "price_cents": -(2**63), "currency": "USD"},
    {"ts": TS, "ticker": "A", "price_cents": 2**53 + 1, "currency": "USD"},
    {"ts": TS, "ticker": "A", "price_cents": 1, "currency": "USD"},
]


def v2_record(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "currency": "CHF"}


@pytest.mark.parametrize(
    ("writer", "reader", "records"),
    [
        (V1, V3, V1_RECORDS),
        (V2, V3, [v2_record(r) for r in V1_RECORDS]),
        (V3, V1, V3_RECORDS),
        (V3, V2, V3_RECORDS),
        (V1, V2, V1_RECORDS),
        (V3, V3, V3_RECORDS),
    ],
    ids=["v1-up-v3", "v2-up-v3", "v3-down-v1", "v3-down-v2", "v1-v2", "v3-v3"],
)
def test_the_example_rules_equal_run_path(
    spark: SparkSession,
    writer: ContractVersion,
    reader: ContractVersion,
    records: list[dict[str, Any]],
) -> None:
    path = path_between(HISTORY, writer, reader)
    assert python_rule_names(path) == ()
    migrated_as_the_reference(spark, [path], writer, records)


def test_the_event_has_from_avros_type_and_bad_bodies_are_no_failures(
    spark: SparkSession,
) -> None:
    path = path_between(HISTORY, V3, V1)
    frame = spark.createDataFrame(
        [(encoded(V3, V3_RECORDS[0]),), (b"\x07",), (None,)], "body binary"
    )
    migrated: MigratedEvent = migrated_event(F.col("body"), path)
    plain_read = from_avro(F.col("body"), V1.schema, {"mode": "PERMISSIVE"})
    selected = frame.select(
        migrated.event.alias("event"), migrated.failed_rule.alias("rule"), plain_read.alias("v1")
    )
    assert selected.schema["event"].dataType == selected.schema["v1"].dataType
    assert selected.schema["event"].dataType == reader_type(V1)
    rows = selected.collect()
    assert rows[0].event.symbol == "MSFT" and rows[0].event.price == 224.25
    assert [(row.event, row.rule) for row in rows[1:]] == [(None, None), (None, None)]


UP = "$merge([$sift($, function($v, $k) {$k != 'symbol'}), {'ticker': symbol}])"


def test_failing_non_conforming_and_python_rules_name_the_rule(spark: SparkSession) -> None:
    """Two rules in a hop (the first may fail, the second's result may not conform), and
    the same hop with a rule outside the subset, run in jsonata-python in the UDF."""
    drop_price = "$sift($, function($v, $k) {$k != 'price'})"
    cents = f"$merge([{drop_price}, {{'price_cents': price * 100}}])"
    compiled = ContractVersion(
        3, 3, V3.schema, major_2(("a", "UPGRADE", UP), ("b", "UPGRADE", cents))
    )
    # $join is outside the subset: the whole hop runs in jsonata-python
    joined = f"$merge([{drop_price}, {{'price_cents': price * 100, 'ticker': $join([ticker])}}])"
    python = ContractVersion(
        3, 3, V3.schema, major_2(("a", "UPGRADE", UP), ("j", "UPGRADE", joined))
    )
    paths = [path_between([V2, version], V2, version) for version in (compiled, python)]
    assert python_rule_names(paths[0]) == ()
    assert python_rule_names(paths[1]) == ("a", "j")
    records = [
        {"ts": TS, "symbol": "A", "price": 1.25, "currency": "USD"},  # conforms
        {"ts": TS, "symbol": "A", "price": 1.255, "currency": "USD"},  # 125.49999...: not a long
        {"ts": TS, "symbol": "A", "price": math.nan, "currency": "USD"},  # rule b fails
        {"ts": TS, "symbol": "A", "price": 1e300, "currency": "USD"},  # whole, beyond a long
    ]
    got = migrated_as_the_reference(spark, paths, V2, records)
    assert [rule for rule, _ in got[0]] == [None, "b", "b", "b"]
    assert [rule for rule, _ in got[1]] == [None, "j", "j", "j"]
