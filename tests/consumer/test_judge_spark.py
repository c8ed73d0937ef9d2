"""The rules compiled to Spark columns judge as Confluent's own CEL executor does.

Hypothesis draws a handful of random conditions of the subset and a batch of events with
the values where Spark and CEL part ways; each example is one DataFrame and one Spark job:
every condition's verdict per event, the CASE column's deciding rule and the counted NONE
failures, compared with the executor's verdicts (judged in file order by contract.rules).

A SparkSession of its own (local[1], no Kafka or registry), unless one is already running.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from rule_cases import (
    ERROR,
    FIELDS,
    SPARK_SCHEMA,
    conditions,
    events,
    executor_fails,
    executor_result,
    tricky_events,
)

from connection.paths import CONTRACT_FILE
from connection.settings import spark_settings_from_env
from consumer.judge_spark import (
    condition_column,
    decider_column,
    failure_column,
    none_failure_columns,
    struct_fields,
    top_level_fields,
)
from contract.rules import (
    Rule,
    avro_field_types,
    bind_rule,
    judge,
    load_rule_set,
    plan_rules,
    rules_file,
)

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def session() -> Iterator[SparkSession]:
    """A local Spark of its own for these Spark-only tests; a running one is reused (and
    left running)."""
    running = SparkSession.getActiveSession()
    if running is not None:
        yield running
        return
    from connection.spark import build_spark_session

    spark = build_spark_session(spark_settings_from_env("local[1]"), app_name="rules-tests")
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def columns(session: SparkSession) -> dict[str, Column]:
    """The test record's fields, as top-level columns (Columns need a running Spark)."""
    return top_level_fields(list(FIELDS))


def collect(df: DataFrame, selected: list[Column]) -> list[Row]:
    """The selected columns per row, in the rows' order (a local list keeps its order)."""
    rows = df.select("row", *selected).collect()
    assert [row["row"] for row in rows] == list(range(len(rows)))
    return rows


def frame(spark: SparkSession, batch: list[dict[str, Any]]) -> DataFrame:
    rows = [(index, *(event[name] for name in FIELDS)) for index, event in enumerate(batch)]
    return spark.createDataFrame(rows, "row long, " + SPARK_SCHEMA)


def rule(name: str, expr: str, action: str = "DLQ") -> Rule:
    return Rule(name, "CONDITION", "WRITEREAD", "CEL", expr, on_failure=action)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    exprs=st.lists(conditions, min_size=8, max_size=24),
    drawn=st.lists(events(), max_size=8),
    actions=st.lists(st.sampled_from(("DLQ", "ERROR", "NONE")), min_size=24, max_size=24),
)
def test_spark_verdicts_equal_the_executors(
    session: SparkSession,
    columns: dict[str, Column],
    exprs: list[str],
    drawn: list[dict[str, Any]],
    actions: list[str],
) -> None:
    batch = tricky_events() + drawn
    rules = [
        bind_rule(rule(f"r{i}", expr, actions[i]), "READ", FIELDS) for i, expr in enumerate(exprs)
    ]
    nones = none_failure_columns(rules, columns)
    selected = [
        decider_column(rules, columns).alias("decider"),
        *(failure_column(item, columns).alias(f"f{i}") for i, item in enumerate(rules)),
        *(column.alias(f"none:{name}") for name, column in nones.items()),
    ]
    rows = collect(frame(session, batch), selected)
    for event, row in zip(batch, rows, strict=True):
        expected = [executor_fails(expr, event) for expr in exprs]
        actual = [row[f"f{i}"] for i in range(len(exprs))]
        assert actual == expected, (exprs, event, [executor_result(e, event) for e in exprs])
        verdict = judge(rules, expected)
        assert row["decider"] == verdict.decided_by, (exprs, actions, event)
        counted = {name for name in nones if row[f"none:{name}"]}
        assert counted == set(verdict.none_failures), (exprs, actions, event)


# Where Spark and CEL differ, one expression at a time (each also drawn by the property).
EDGES: list[tuple[str, dict[str, Any], bool | str]] = [
    ("message.price > 0.0", {"price": float("nan")}, False),
    ("message.price != message.price", {"price": float("nan")}, True),
    ("message.price == message.price", {"price": float("nan")}, False),
    ("message.price <= message.price", {"price": float("nan")}, False),
    ("message.price in [1.0]", {"price": float("nan")}, False),
    ("message.price / 0.0 > 0.0", {"price": -1.0}, True),  # the Python executor: +inf
    ("message.price / -0.0 > 1e308", {"price": 1.0}, True),
    ("message.price / (message.price - message.price) > 0.0", {"price": 1.0}, True),
    ("(message.price + 0.0) / (message.price - message.price) > 0.0", {"price": 1.0}, ERROR),
    ("-(message.price * 1.0) / (0.0 * message.price) > 0.0", {"price": 1.0}, ERROR),
    ("(message.price + 0.0) / -(message.price - message.price) > 0.0", {"price": 1.0}, ERROR),
    ("(message.price + 0.0) / (message.price / 1.0 - 1.0) > 0.0", {"price": 1.0}, ERROR),
    ("(message.price + 0.0) / (message.price / message.price) > 0.0", {"price": 1.0}, True),
    ("message.qty / 0 == 0", {"qty": 7}, ERROR),
    ("message.qty % 0 == 0", {"qty": 7}, ERROR),
    ("message.qty / 0 == 0 || true", {"qty": 7}, True),
    ("message.qty / -1 > 0", {"qty": -(2**63)}, ERROR),
    ("message.qty % -1 == 0", {"qty": -(2**63)}, True),
    ("message.qty + 1 > 0", {"qty": 2**63 - 1}, ERROR),
    ("-message.qty > 0", {"qty": -(2**63)}, ERROR),
    ("message.qty * 2 < 0", {"qty": 2**62}, ERROR),
    ("message.qty / 2 == -3", {"qty": -7}, True),
    ("message.qty % 2 == -1", {"qty": -7}, True),
    ("message.currency.matches('^[A-Z]{3}$')", {"currency": "USD\n"}, False),
    ("message.currency.matches('^[A-Z]{3}$')", {"currency": "USD"}, True),
    ("message.currency.matches('a.b')", {"currency": "a\rb"}, True),
    ("message.currency.matches('a\\\\sb')", {"currency": "a\x0bb"}, False),
    ("message.currency.matches('[$]')", {"currency": "$"}, True),
    ("message.currency.matches('[[]')", {"currency": "["}, True),
    ("message.currency.matches('^[a&&b]$')", {"currency": "&"}, True),
    ("size(message.currency) == 1", {"currency": "😀"}, True),
    ("message.currency > 'z'", {"currency": "é"}, True),
    ("message.note == null", {"note": None}, True),
    ("message.note != 'x'", {"note": None}, True),
    ("message.note in ['x']", {"note": None}, False),
    ("message.note.startsWith('x') || true", {"note": None}, True),
    ("message.note.startsWith('')", {"note": None}, ERROR),
    ("message.bid > 0.0", {"bid": None}, ERROR),
    ("message.bid < message.price || true", {"bid": None, "price": float("nan")}, True),
    ("message.symbol == null", {"symbol": "A"}, False),
    ("has(message.note)", {"note": None}, True),
    ("has(message.missing)", {}, False),
    ("message.flag; message.price > 0.0", {"flag": False, "price": -1.0}, True),
    ("message.flag; message.price > 0.0", {"flag": True, "price": -1.0}, False),
    ("message.qty / 0 == 0; true", {"qty": 1}, ERROR),
]


def test_edges_equal_the_executor(session: SparkSession, columns: dict[str, Column]) -> None:
    base = {
        "symbol": "AAPL",
        "price": 1.0,
        "currency": "USD",
        "qty": 1,
        "flag": True,
        "note": "n",
        "bid": 1.0,
    }
    batch = [base | event for _, event, _ in EDGES]
    exprs = [expr for expr, _, _ in EDGES]
    bound = [bind_rule(rule(f"r{i}", expr), "READ", FIELDS) for i, expr in enumerate(exprs)]
    selected = [
        condition_column(item.condition, columns).alias(f"c{i}") for i, item in enumerate(bound)
    ]
    rows = collect(frame(session, batch), selected)
    for index, ((expr, _, expected), event, row) in enumerate(zip(EDGES, batch, rows, strict=True)):
        spark_value = row[f"c{index}"]
        assert executor_result(expr, event) == expected, expr
        assert (ERROR if spark_value is None else spark_value) == expected, expr


def test_the_shipped_rules_on_the_decoded_struct(session: SparkSession) -> None:
    """The contract's rules over a struct column, as the consumer decodes records."""
    fields = avro_field_types(json.loads(CONTRACT_FILE.read_text()))
    plan = plan_rules(load_rule_set(rules_file(CONTRACT_FILE)), "READ", fields)
    records = [
        ("AAPL", 1.0, "USD", None),
        ("AAPL", 0.0, "USD", "price-positive"),
        ("AAPL", float("nan"), "usd", "price-positive"),
        ("aapl", 1.0, "USD\n", "currency-iso-4217"),
        ("AAPL\n", 1.0, "EUR", "symbol-ticker"),
        ("BRK.B", 2.0, "CHF", None),
    ]
    df = session.createDataFrame(
        [(i, (0, s, p, c)) for i, (s, p, c, _) in enumerate(records)],
        "row long, event struct<ts: long, symbol: string, price: double, currency: string>",
    )
    columns = struct_fields(F.col("event"), list(fields))
    got = collect(df, [decider_column(plan.rules, columns).alias("d")])
    assert [row.d for row in got] == [expected for *_, expected in records]
