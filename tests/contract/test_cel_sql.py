"""The rules translated to DuckDB SQL judge as Confluent's own CEL executor does.

Hypothesis draws conditions of the subset and a batch of events with the values where SQL
and CEL part ways (NaN, +-inf, -0.0, int extremes, strings ending in a newline, nulls);
each rule's SQL runs on the events in an in-memory DuckDB table (the engine
datacontract-cli runs the exported checks on) and its verdict per event must be the
executor's.
"""

from __future__ import annotations

import json
import math
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rule_cases import FIELDS, conditions, events, executor_fails, tricky_events

from connection.paths import CONTRACT_FILE
from contract.cel import CelType, FieldType, bind_condition, parse_condition
from contract.cel_sql import (
    SqlUnsupported,
    condition_sql,
    failing_records_query,
    failure_sql,
    field_defaults,
    string_literal,
)
from contract.rules import avro_field_types, load_rule_set, rules_file

COLUMNS = {
    CelType.STRING: "VARCHAR",
    CelType.DOUBLE: "DOUBLE",
    CelType.INT: "BIGINT",
    CelType.BOOL: "BOOLEAN",
}


def sql_failures(
    conditions_sql: list[str],
    records: list[dict[str, Any]],
    fields: dict[str, FieldType],
) -> list[list[bool]]:
    """Per condition, per record (in order): whether DuckDB counts the record as failing."""
    connection = duckdb.connect()
    columns = ", ".join(
        f'"{name}" {COLUMNS[field.type]}' for name, field in fields.items() if field.type
    )
    connection.execute(f"CREATE TABLE events (row_number BIGINT, {columns})")
    names = [name for name, field in fields.items() if field.type]
    placeholders = ", ".join("?" for _ in range(len(names) + 1))
    connection.executemany(
        f"INSERT INTO events VALUES ({placeholders})",
        [[index, *(record.get(name) for name in names)] for index, record in enumerate(records)],
    )
    selected = ", ".join(failure_sql(sql) for sql in conditions_sql)
    rows = connection.execute(f"SELECT {selected} FROM events ORDER BY row_number").fetchall()
    return [[bool(row[index]) for row in rows] for index in range(len(conditions_sql))]


def no_nul(record: dict[str, Any]) -> bool:
    return not any(isinstance(value, str) and "\x00" in value for value in record.values())


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(conditions, min_size=1, max_size=6),
    st.lists(events().filter(no_nul), min_size=1, max_size=25),
)
def test_each_condition_fails_the_records_the_executor_fails(
    drawn: list[str], drawn_events: list[dict[str, Any]]
) -> None:
    records = tricky_events() + drawn_events
    translated: list[tuple[str, str]] = []
    for text in drawn:
        condition = bind_condition(parse_condition(text), FIELDS)
        try:
            translated.append((text, condition_sql(condition, FIELDS)))
        except SqlUnsupported:
            continue
    verdicts = sql_failures([sql for _, sql in translated], records, FIELDS)
    for (text, sql), failures in zip(translated, verdicts, strict=True):
        for record, failed in zip(records, failures, strict=True):
            expected = executor_fails(text, record)
            assert failed == expected, f"{text} on {record!r}: SQL {sql}"


def shipped() -> tuple[dict[str, Any], dict[str, FieldType]]:
    schema = json.loads(CONTRACT_FILE.read_text(encoding="utf-8"))
    return schema, avro_field_types(schema)


def test_a_field_an_older_writer_lacked_reads_as_its_default() -> None:
    schema, fields = shipped()
    rule = next(
        rule
        for rule in load_rule_set(rules_file(CONTRACT_FILE)).domain_rules
        if rule.name == "currency-iso-4217"
    )
    condition = bind_condition(rule.condition(), fields)
    sql = condition_sql(condition, fields, field_defaults(schema, fields))
    assert "coalesce(\"currency\", 'USD')" in sql
    records = [
        {"symbol": "A", "price": 1.0, "currency": None, "ts": 0},  # a v1 record: no currency
        {"symbol": "A", "price": 1.0, "currency": "usd", "ts": 0},
        {"symbol": "A", "price": 1.0, "currency": "USD\n", "ts": 0},
    ]
    fields_read = {"currency": fields["currency"]}
    assert sql_failures([sql], records, fields_read) == [[False, True, True]]


def test_nan_and_a_negative_price_break_price_positive() -> None:
    _, fields = shipped()
    rule = load_rule_set(rules_file(CONTRACT_FILE)).domain_rules[0]
    sql = condition_sql(bind_condition(rule.condition(), fields), fields)
    records = [{"price": value} for value in (1.0, math.nan, -1.0, 0.0, math.inf)]
    assert sql_failures([sql], records, {"price": fields["price"]}) == [
        [False, True, True, True, False]
    ]


def test_a_nullable_field_with_a_non_null_default_is_refused() -> None:
    schema = {
        "type": "record",
        "name": "T",
        "fields": [{"name": "note", "type": ["string", "null"], "default": "x"}],
    }
    fields = avro_field_types(schema)
    condition = bind_condition(parse_condition("message.note == 'x'"), fields)
    with pytest.raises(SqlUnsupported, match="nullable with a non-null default"):
        condition_sql(condition, fields, field_defaults(schema, fields))


def test_literals_never_read_as_datacontract_placeholders() -> None:
    literal = string_literal("{model}${HOME}'[A-Z]{3}")
    assert "{model}" not in literal and "${" not in literal and "{3}" in literal
    assert duckdb.sql(f"SELECT {literal}").fetchone() == ("{model}${HOME}'[A-Z]{3}",)


def test_the_check_counts_the_failing_records() -> None:
    query = failing_records_query('("price" > 0.0)', table="t")
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1.0), (-1.0), (NULL)) v(price)")
    assert connection.execute(query).fetchone() == (2,)
