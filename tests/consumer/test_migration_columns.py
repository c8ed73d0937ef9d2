"""A record through its migration path in Spark equals contract.migrations.run_path.

Records are written with fastavro (the writer's schema) into in-memory frames; the
reference is run_path (jsonata-python, conformed to each hop's target). A SparkSession of
its own (local[1], no Kafka or registry), unless one is already running.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator, Sequence
from typing import Any

import fastavro
import pytest
from pyspark.sql import Column, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro

from connection.settings import spark_settings_from_env
from consumer.migration_columns import (
    MigratedEvent,
    migrated_event,
    python_rule_names,
    reader_type,
)
from contract.migrations import (
    ContractVersion,
    MigrationFailed,
    MigrationPath,
    migration_path,
    run_path,
)
from contract.rules import RulesDocument, rules_document_from_json
from tests.contract_files import BREAKING_RULES, V1_SCHEMA, V2_SCHEMA, V3_SCHEMA

pytestmark = pytest.mark.spark

V1 = ContractVersion(1, 1, json.dumps(V1_SCHEMA))
V2 = ContractVersion(2, 2, json.dumps(V2_SCHEMA))
V3 = ContractVersion(3, 3, json.dumps(V3_SCHEMA), rules_document_from_json(BREAKING_RULES))
HISTORY = [V1, V2, V3]
TS = 1_700_000_000_123


@pytest.fixture(scope="module")
def session() -> Iterator[SparkSession]:
    """A local Spark of its own for these Spark-only tests; a running one is reused (and
    left running)."""
    running = SparkSession.getActiveSession()
    if running is not None:
        yield running
        return
    from connection.spark import build_spark_session

    spark = build_spark_session(spark_settings_from_env("local[1]"), app_name="migration-tests")
    yield spark
    spark.stop()


def path_between(
    versions: Sequence[ContractVersion], writer: ContractVersion, reader: ContractVersion
) -> MigrationPath:
    path = migration_path(versions, writer, reader)
    assert isinstance(path, MigrationPath), path
    return path


def encoded(version: ContractVersion, record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, version.plain, record)
    return buffer.getvalue()


def plain(event: Column, reader: ContractVersion) -> Column:
    """The event with timestamps as epoch milliseconds (what run_path returns)."""
    fields = []
    for f in reader.parsed["fields"]:
        column = event.getField(f["name"])
        logical = f["type"].get("logicalType") if isinstance(f["type"], dict) else None
        if logical == "timestamp-millis":
            column = F.unix_millis(column)
        fields.append(column.alias(f["name"]))
    return F.when(event.isNotNull(), F.struct(*fields))


Outcome = tuple[str | None, dict[str, Any] | None]


def expected(path: MigrationPath, record: dict[str, Any]) -> Outcome:
    """The reference: (failed rule, None) or (None, the reader's record)."""
    try:
        return None, run_path(path, record)
    except MigrationFailed as failed:
        return failed.rule.name, None


def migrate(
    session: SparkSession, paths: Sequence[MigrationPath], bodies: Sequence[bytes | None]
) -> list[list[Outcome]]:
    """Each body through each path (the bodies written in each path's writer version are
    the caller's business), one Spark job: per path, per body, (failed rule, record)."""
    frame = session.createDataFrame(
        [(index, body) for index, body in enumerate(bodies)], "row long, body binary"
    )
    selected: list[Column] = []
    for number, path in enumerate(paths):
        migrated = migrated_event(F.col("body"), path)
        selected += [
            migrated.failed_rule.alias(f"rule{number}"),
            migrated.failed_mode.alias(f"mode{number}"),
            plain(migrated.event, path.reader).alias(f"event{number}"),
        ]
    rows = frame.select("row", *selected).orderBy("row").collect()
    return [[outcome(row, number, path) for row in rows] for number, path in enumerate(paths)]


def outcome(row: Row, number: int, path: MigrationPath) -> Outcome:
    rule, mode, event = row[f"rule{number}"], row[f"mode{number}"], row[f"event{number}"]
    if rule is not None:
        assert mode == path.transforms[0].migration
        assert event is None
        return rule, None
    assert mode is None
    return None, None if event is None else event.asDict(recursive=True)


def same(actual: Outcome, wanted: Outcome) -> bool:
    """Equal, NaN equal to NaN."""
    if actual[0] != wanted[0] or (actual[1] is None) != (wanted[1] is None):
        return False
    if actual[1] is None or wanted[1] is None:
        return True
    return json.dumps(actual[1], sort_keys=True) == json.dumps(wanted[1], sort_keys=True)


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
    session: SparkSession,
    writer: ContractVersion,
    reader: ContractVersion,
    records: list[dict[str, Any]],
) -> None:
    path = path_between(HISTORY, writer, reader)
    assert python_rule_names(path) == ()
    (got,) = migrate(session, [path], [encoded(writer, r) for r in records])
    for record, actual in zip(records, got, strict=True):
        wanted = expected(path, record)
        assert same(actual, wanted), (record, actual, wanted)


def test_the_event_has_from_avros_type_and_bad_bodies_are_no_failures(
    session: SparkSession,
) -> None:
    path = path_between(HISTORY, V3, V1)
    frame = session.createDataFrame(
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


def major_2(*rules: tuple[str, str, str]) -> RulesDocument:
    """Version 3's document with these (name, mode, expr) migration rules."""
    return rules_document_from_json(
        {
            "metadata": {"properties": {"application.major.version": "2"}},
            "ruleSet": {
                "migrationRules": [
                    {"name": name, "kind": "TRANSFORM", "type": "JSONATA", "mode": mode, "expr": e}
                    for name, mode, e in rules
                ]
            },
        }
    )


UP = "$merge([$sift($, function($v, $k) {$k != 'symbol'}), {'ticker': symbol}])"


def test_failing_non_conforming_and_python_rules_name_the_rule(session: SparkSession) -> None:
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
    got = migrate(session, paths, [encoded(V2, r) for r in records])
    assert [rule for rule, _ in got[0]] == [None, "b", "b", "b"]
    assert [rule for rule, _ in got[1]] == [None, "j", "j", "j"]
    for path, outcomes in zip(paths, got, strict=True):
        for record, actual in zip(records, outcomes, strict=True):
            assert same(actual, expected(path, record)), (record, actual)
