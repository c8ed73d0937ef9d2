"""The sample's judging without Kafka: decoded records, the new schema and rules in,
per direction and per rule counts out; and the sampling flags' usage errors."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from schemagate_cases import fld, record

from contract.cel import CelType, FieldType
from contract.columns import null_free, record_columns
from contract.rules import rule_set_from_json
from schemagate.cli import main
from schemagate.model import RuleCount, SampleJudgement
from schemagate.sample import judge

SCHEMA = json.dumps(
    record(
        fld("symbol", "string"),
        fld("price", "double"),
        fld("size", ["null", "long"], default=None),
    )
)


def rule(name: str, expr: str, on_failure: str, mode: str = "WRITEREAD") -> dict[str, Any]:
    return {
        "name": name,
        "kind": "CONDITION",
        "mode": mode,
        "type": "CEL",
        "expr": expr,
        "onFailure": on_failure,
    }


def event(symbol: str = "AAPL", price: float = 1.0, size: int | None = 1) -> dict[str, Any]:
    return {"ts": 0, "symbol": symbol, "price": price, "size": size}


def test_each_direction_is_judged_by_the_rules_that_run_in_it() -> None:
    rules = rule_set_from_json(
        {
            "domainRules": [
                rule("price-positive", "message.price > 0.0", "DLQ"),
                rule("ticker", "message.symbol.matches('^[A-Z]+$')", "ERROR", mode="READ"),
                rule("short", "size(message.symbol) <= 4", "NONE"),
            ]
        }
    )
    records = [
        event(),
        event(price=-1.0, symbol="toolong"),  # price-positive decides: short not counted
        event(symbol="ab"),  # ERROR on read only
        event(symbol="ABCDEF"),  # short counts it
    ]
    not_judged, judgements = judge(records, SCHEMA, rules)
    assert not_judged == 0
    assert judgements == (
        SampleJudgement(
            ("WRITE",),
            (RuleCount("price-positive", "DLQ", 1), RuleCount("short", "NONE", 1)),
            passed=3,
        ),
        SampleJudgement(
            ("READ",),
            (
                RuleCount("price-positive", "DLQ", 1),
                RuleCount("ticker", "ERROR", 1),
                RuleCount("short", "NONE", 1),
            ),
            passed=2,
        ),
    )


def test_a_null_in_a_field_a_rule_reads_is_not_judged() -> None:
    rules = rule_set_from_json(
        {
            "domainRules": [
                rule("price-positive", "message.price > 0.0", "DLQ"),
                rule("size-known", "has(message.size)", "DLQ"),
            ]
        }
    )
    not_judged, _ = judge([event(size=None), event(price=-2.0, size=None)], SCHEMA, rules)
    assert not_judged == 0  # size is only tested with has(): nothing reads it
    rules = rule_set_from_json({"domainRules": [rule("lots", "message.size > 10", "DLQ")]})
    not_judged, [judgement] = judge([event(size=None), event(size=20), event()], SCHEMA, rules)
    assert not_judged == 1
    assert judgement == SampleJudgement(("WRITE", "READ"), (RuleCount("lots", "DLQ", 1),), 1)


def test_without_rules_there_is_nothing_to_judge_with() -> None:
    assert judge([event()], SCHEMA, rule_set_from_json({"domainRules": []})) == (0, ())


def test_columns_are_typed_by_the_fields_cel_types() -> None:
    fields = {
        "symbol": FieldType(CelType.STRING),
        "price": FieldType(CelType.DOUBLE),
        "size": FieldType(CelType.INT, nullable=True),
    }
    records = [event(size=3), event(symbol="MSFT", price=2.5, size=None)]
    assert null_free(records, ["symbol", "size"]).tolist() == [True, False]
    columns = record_columns(records[:1], fields, ["symbol", "price", "size"])
    assert columns["symbol"].dtype == object and columns["symbol"].tolist() == ["AAPL"]
    assert columns["price"].dtype == np.float64 and columns["size"].dtype == np.int64


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--offline", "--sample-topic", "prices"], "--sample-topic needs the registry"),
        (["check", "--sample-topic", "prices", "--sample", "0"], "not a positive number"),
        (["check", "--sample-topic", "no/such"], "not a legal Kafka topic name"),
    ],
)
def test_sampling_usage_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
