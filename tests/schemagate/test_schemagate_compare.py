"""The offline engine: verdicts at every level, rule ids, paths and sentences."""

from __future__ import annotations

import json

import pytest
from avro.schema import NamedSchema, Schema
from contract_files import V1_SCHEMA_FILE
from schemagate_cases import CASES, PRICE, Case, fld, record

from schemagate.check import Version, check_subject, parse
from schemagate.compare import find_violations, names_match
from schemagate.finding_ids import ViolationId
from schemagate.levels import Direction, Level
from schemagate.model import SubjectResult


def schema(value: object) -> Schema:
    return parse(json.dumps(value), "test")


def check(case: Case, level: Level) -> SubjectResult:
    history = [Version(str(i + 1), schema(old)) for i, old in enumerate(case.history)]
    return check_subject(case.name, f"{case.name}.avsc", schema(case.new), history, level)


@pytest.mark.parametrize("level", list(Level), ids=lambda level: level.value)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_verdict_matches_the_documented_one_at_every_level(case: Case, level: Level) -> None:
    assert check(case, level).compatible == case.expected(level)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_change_is_reported_with_its_rule_id(case: Case) -> None:
    rules = {v.rule for v in check(case, Level.FULL_TRANSITIVE).violations}
    assert rules == case.rules


def test_type_change_is_explained_in_a_sentence() -> None:
    [violation] = find_violations(
        schema(record(PRICE)), schema(record(fld("price", "string"))), Direction.BACKWARD, "1"
    )
    assert violation.rule is ViolationId.TYPE_CHANGED
    assert (violation.path, violation.old_type, violation.new_type) == ("price", "double", "string")
    assert violation.message == (
        "field `price` changed from double to string: old events cannot be read with the new schema"
    )


def test_every_violation_is_listed_not_only_the_first() -> None:
    old = record(PRICE, fld("size", "long"), fld("venue", ["null", "string"], default=None))
    new = record(
        fld("price", "string"), fld("size", "int"), fld("venue", "string"), fld("x", "int")
    )
    found = find_violations(schema(old), schema(new), Direction.BACKWARD, "1")
    assert [(v.rule, v.path) for v in found] == [
        (ViolationId.TYPE_CHANGED, "price"),
        (ViolationId.TYPE_CHANGED, "size"),
        (ViolationId.FIELD_MADE_REQUIRED, "venue"),
        (ViolationId.FIELD_ADDED_WITHOUT_DEFAULT, "x"),
    ]


def test_logical_type_change_names_both_logical_types() -> None:
    new = {
        **record(PRICE),
        "fields": [fld("ts", {"type": "long", "logicalType": "timestamp-micros"})],
    }
    [violation] = find_violations(schema(record()), schema(new), Direction.FORWARD, "1")
    assert violation.rule is ViolationId.LOGICAL_TYPE_CHANGED
    assert (violation.old_type, violation.new_type) == (
        "long (timestamp-millis)",
        "long (timestamp-micros)",
    )
    assert "consumers still on the old schema cannot read new events" in violation.message


def test_nested_fields_are_reported_by_dotted_path() -> None:
    nested = next(case for case in CASES if case.name == "nested_record_field_changed")
    paths = {v.path for v in check(nested, Level.FULL).violations}
    assert paths == {"quote.bid"}


def test_fields_inside_optional_records_and_arrays_are_walked() -> None:
    def with_leg(bid: str) -> Schema:
        leg = record(fld("bid", bid), name="Leg")
        return schema(record(fld("legs", ["null", {"type": "array", "items": leg}], default=None)))

    found = find_violations(with_leg("double"), with_leg("string"), Direction.BACKWARD, "1")
    assert [(v.rule, v.path) for v in found] == [(ViolationId.TYPE_CHANGED, "legs[].bid")]


def test_a_record_type_used_by_two_fields_is_reported_for_each() -> None:
    def quotes(bid: str) -> Schema:
        quote = record(fld("bid", bid), name="Quote")
        return schema(record(fld("best", quote), fld("last", "Quote")))

    found = find_violations(quotes("double"), quotes("string"), Direction.BACKWARD, "1")
    assert [v.path for v in found] == ["best.bid", "last.bid"]


def test_recursive_records_terminate() -> None:
    def linked(value: str) -> Schema:
        node = {
            "type": "record",
            "name": "Node",
            "fields": [fld("value", value), fld("next", ["null", "Node"], default=None)],
        }
        return schema(node)

    found = find_violations(linked("int"), linked("string"), Direction.BACKWARD, "1")
    assert [(v.rule, v.path) for v in found] == [(ViolationId.TYPE_CHANGED, "value")]


def test_violations_name_the_old_version_they_break() -> None:
    readded = next(case for case in CASES if case.name == "field_readded_with_other_type")
    result = check(readded, Level.BACKWARD_TRANSITIVE)
    assert result.compared_with == ("1", "2")
    assert [v.against for v in result.violations] == ["1"]


def test_level_none_compares_with_nothing() -> None:
    result = check(CASES[0], Level.NONE)
    assert (result.compared_with, result.violations) == ((), ())


def test_unqualified_alias_matches_like_java_avro() -> None:
    old = schema(record(PRICE))
    renamed = schema(record(PRICE, name="Quote", aliases=["Price"]))
    assert isinstance(old, NamedSchema) and isinstance(renamed, NamedSchema)
    assert names_match(renamed, old)


def test_v1_contract_evolves_to_the_proposed_v2_under_backward() -> None:
    v1 = json.loads(V1_SCHEMA_FILE.read_text())
    v2 = {**v1, "fields": [*v1["fields"], fld("currency", "string", default="USD")]}
    result = check_subject("prices-value", "v2", schema(v2), [Version("1", schema(v1))], Level.FULL)
    assert result.compatible
