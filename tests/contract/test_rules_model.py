"""The rule model: loading the rules file and the registry's rule set, refusing what is
outside the supported subset in one line, file order, and how NONE, DLQ and ERROR
failures judge a record."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE

from connection.paths import REPO_ROOT
from contract.cel import CelType, FieldType, fields_named, parse_condition
from contract.regex import RegexError, parse_pattern
from contract.rules import (
    Rule,
    RulesError,
    RuleSet,
    avro_field_types,
    bind_rule,
    judge,
    load_rule_set,
    missing_fields,
    plan_rules,
    rule_set_from_json,
    rules_document_from_json,
    rules_file,
)

RULES_FILE = rules_file(V2_SCHEMA_FILE)
V2_FIELDS = avro_field_types(json.loads(V2_SCHEMA_FILE.read_text()))
V1_FIELDS = avro_field_types(json.loads(V1_SCHEMA_FILE.read_text()))
TEST_FIELDS = {
    **V2_FIELDS,
    "qty": FieldType(CelType.INT),
    "note": FieldType(CelType.STRING, nullable=True),
    "bid": FieldType(CelType.DOUBLE, nullable=True),
    "open": FieldType(CelType.BOOL, nullable=True),
}


def rule_json(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "r",
        "kind": "CONDITION",
        "mode": "WRITEREAD",
        "type": "CEL",
        "expr": "message.price > 0.0",
        "onFailure": "DLQ",
    } | overrides


def one_line_error(error: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(error.value)
    assert "\n" not in text and text
    return text


# -- the shipped file -------------------------------------------------------------------


def test_the_rules_file_sits_beside_the_schema() -> None:
    assert RULES_FILE == REPO_ROOT / "schemas" / "prices-value.rules.json"
    assert RULES_FILE.is_file()


def test_the_shipped_rules_in_file_order() -> None:
    rule_set = load_rule_set(RULES_FILE)
    assert [rule.name for rule in rule_set.domain_rules] == [
        "price-positive",
        "currency-iso-4217",
        "symbol-ticker",
    ]
    assert [rule.expr for rule in rule_set.domain_rules] == [
        "message.price > 0.0",
        "message.currency.matches('^[A-Z]{3}$')",
        "message.symbol.matches('^[A-Z][A-Z0-9.]{0,9}$')",
    ]
    for rule in rule_set.domain_rules:
        assert (rule.kind, rule.mode, rule.type, rule.on_failure) == (
            "CONDITION",
            "WRITEREAD",
            "CEL",
            "DLQ",
        )
        assert rule.failure_action("WRITE") == rule.failure_action("READ") == "DLQ"
    assert rule_set.applying("WRITE") == rule_set.applying("READ") == rule_set.domain_rules


def test_the_shipped_file_keeps_confluents_key_order() -> None:
    data = json.loads(RULES_FILE.read_text())
    assert list(data) == ["domainRules"]
    for item in data["domainRules"]:
        assert list(item) == ["name", "kind", "mode", "type", "expr", "onFailure"]
    assert load_rule_set(RULES_FILE).to_json() == data


def test_the_registrys_rule_set_loads_as_the_file_does() -> None:
    registry_version = {"schema": "...", "ruleSet": json.loads(RULES_FILE.read_text())}
    assert rule_set_from_json(registry_version["ruleSet"]) == load_rule_set(RULES_FILE)
    assert rule_set_from_json(None) == RuleSet()


def test_fields_named_and_the_rule_a_v1_reader_skips() -> None:
    rule_set = load_rule_set(RULES_FILE)
    assert [sorted(rule.fields()) for rule in rule_set.domain_rules] == [
        ["price"],
        ["currency"],
        ["symbol"],
    ]
    assert fields_named(parse_condition("has(message.a) && message.b > 0; message.c == 'x'")) == {
        "a",
        "b",
        "c",
    }
    plan = plan_rules(rule_set, "READ", V1_FIELDS)
    assert [rule.name for rule in plan.rules] == ["price-positive", "symbol-ticker"]
    assert plan.skipped == ("rule 'currency-iso-4217' skipped: the record has no field currency",)
    assert missing_fields(rule_set.domain_rules[0], V1_FIELDS) is None


def test_a_missing_field_reads_as_an_error_when_not_skipped() -> None:
    plan = plan_rules(load_rule_set(RULES_FILE), "READ", V1_FIELDS, skip_missing=False)
    assert [rule.name for rule in plan.rules] == [
        "price-positive",
        "currency-iso-4217",
        "symbol-ticker",
    ]
    body = plan.rules[1].condition.body
    assert body.type is CelType.ERROR
    guarded = bind_rule(
        Rule("g", "CONDITION", "READ", "CEL", "!has(message.currency) || message.currency == 'X'"),
        "READ",
        V1_FIELDS,
    )
    assert guarded.condition.body.type is CelType.BOOL


def test_avro_field_types() -> None:
    assert V2_FIELDS["price"] == FieldType(CelType.DOUBLE, what="double")
    assert V2_FIELDS["symbol"].type is CelType.STRING
    assert V2_FIELDS["ts"].type is None and V2_FIELDS["ts"].what == "timestamp-millis"
    schema = {
        "type": "record",
        "name": "X",
        "fields": [
            {"name": "n", "type": ["null", "long"]},
            {"name": "u", "type": ["int", "string"]},
            {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A"]}},
        ],
    }
    fields = avro_field_types(schema)
    assert fields["n"] == FieldType(CelType.INT, nullable=True, what="long")
    assert fields["u"].type is None and fields["e"].type is None


def test_the_contract_package_does_not_import_spark() -> None:
    code = (
        "import sys, contract.rules, contract.cel, contract.regex;"
        "from contract.rules import load_rule_set, plan_rules;"
        f"load_rule_set(__import__('pathlib').Path({str(RULES_FILE)!r})).domain_rules[0].fields();"
        "assert 'pyspark' not in sys.modules, 'pyspark imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


# -- malformed files and rule sets ------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "the root must be an object"),
        ({"domainRules": {}}, "domainRules must be a list"),
        ({"domainrules": []}, "unknown key 'domainrules'"),
        ({"domainRules": [], "migrationRules": [rule_json()]}, "mode WRITEREAD (UPGRADE"),
        (
            {
                "migrationRules": [
                    rule_json(mode="UPGRADE", kind="TRANSFORM", type="JSONATA", expr="$merge([")
                ]
            },
            "not a JSONata expression",
        ),
        ({"migrationRules": [rule_json(mode="UPGRADE")]}, "kind CONDITION is not supported"),
        ({"encodingRules": [rule_json()]}, "encodingRules are not supported"),
        ({"metadata": {"properties": {"a": 1}}}, "metadata properties must map names to strings"),
        ({"metadata": [], "ruleSet": {}}, "metadata must be an object with properties"),
        ({"domainRules": ["x"]}, "rule 1: not an object"),
        ({"domainRules": [rule_json(name="")]}, "rule 1: no name"),
        ({"domainRules": [rule_json(), rule_json()]}, "two rules named 'r'"),
        ({"domainRules": [rule_json(onfailure="DLQ")]}, "rule 'r': unknown key 'onfailure'"),
        ({"domainRules": [rule_json(expr=None)]}, "rule 'r': expr must be a string"),
        ({"domainRules": [rule_json(mode="UPGRADE")]}, "rule 'r': mode UPGRADE"),
        ({"domainRules": [rule_json(kind="TRANSFORM")]}, "rule 'r': kind TRANSFORM is not"),
        ({"domainRules": [rule_json(type="JSONATA")]}, "rule 'r': type JSONATA is not"),
        ({"domainRules": [rule_json(type="CEL_FIELD")]}, "rule 'r': type CEL_FIELD is not"),
        ({"domainRules": [rule_json(onFailure="RETRY")]}, "rule 'r': onFailure RETRY"),
        ({"domainRules": [rule_json(onFailure="DLQ,RETRY")]}, "rule 'r': onFailure DLQ,RETRY"),
        ({"domainRules": [rule_json(disabled="yes")]}, "rule 'r': disabled must be"),
        ({"domainRules": [rule_json(expr="message.price >")]}, "rule 'r': not valid CEL"),
    ],
)
def test_a_malformed_rule_set_is_refused_in_one_line(data: Any, fragment: str) -> None:
    with pytest.raises(RulesError) as error:
        rules_document_from_json(data, source="rules file x.json")
    text = one_line_error(error)
    assert text.startswith("rules file x.json: ") and fragment in text


def test_a_malformed_file_is_refused_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.rules.json"
    broken.write_text('{"domainRules": [')
    with pytest.raises(RulesError) as error:
        load_rule_set(broken)
    assert one_line_error(error).startswith(f"rules file {broken}: not JSON")
    with pytest.raises(RulesError) as error:
        load_rule_set(tmp_path / "absent.json")
    assert "No such file" in one_line_error(error)


def test_a_disabled_rule_of_another_kind_is_kept_but_never_runs() -> None:
    rule_set = rule_set_from_json(
        {"domainRules": [rule_json(kind="TRANSFORM", type="JSONATA", disabled=True)]}
    )
    assert rule_set.domain_rules[0].disabled
    assert rule_set.applying("WRITE") == rule_set.applying("READ") == ()


# -- outside the subset -----------------------------------------------------------------

OUTSIDE = [
    ("message.price > 0.0 ? true : false", "the conditional operator ?:"),
    ("message.tags[0] == 'a'", "indexing [...]"),
    ("size({'a': 1}) == 1", "a map literal"),
    ("[1, 2] == [1, 2]", "a list literal outside"),
    ("message.symbol.exists(c, c == 'A')", "method .exists() with 2 arguments"),
    ("int(message.price) > 0", "function int()"),
    ("timestamp(message.ts) > timestamp('2020-01-01T00:00:00Z')", "function timestamp()"),
    ("message.a.b == 1", "field access .b of something other than message"),
    ("message == null", "the whole message"),
    ("price > 0.0", "the name price"),
    ("message.qty == 1u", "an unsigned int literal"),
    ("message.symbol == b'A'", "a bytes literal"),
    ("message.qty > 9223372036854775808", "an int literal out of the 64-bit range"),
    ("message.symbol.matches(message.currency)", "a pattern that is not a string literal"),
    ("message.symbol.matches('(?i)aapl')", "group flags or a named group"),
    ("message.symbol.matches('\\\\bA')", "escape \\b"),
    ("message.symbol.matches('\\\\pL')", "escape \\p"),
    ("message.symbol.matches('[[:alpha:]]')", "POSIX class"),
    ("message.symbol.matches('a{,2}')", "'{' that is not a repetition"),
    ("message.symbol.matches('a**')", "repetition of a repetition"),
    ("message.symbol.matches('a{1001}')", "repetition count above 1000"),
    ("message.symbol.matches('(a')", "missing ')'"),
    ("message.symbol in message.currency", "`in` with something other than a list literal"),
    ("message.symbol in [message.currency]", "a list element that is not a literal"),
    ("message.price + 1 > 0.0", "no such operator for (double, int)"),
    ("message.price > 0", "no such operator for (double, int)"),
    ("message.qty == 1.0", "no such operator for (int, double)"),
    ("message.symbol + 1 == 'A1'", "no such operator for (string, int)"),
    ("message.price % 2.0 == 0.0", "no such operator for (double, double)"),
    ("size(message.price) > 0", "no such operator for (double)"),
    ("message.price in [1]", "an int in a list for a double"),
    ("message.price == null", "a number compared with null"),
    ("message.bid == 1.0", "a nullable number in ==, != or in"),
    ("1.0 != message.bid", "a nullable number in ==, != or in"),
    ("message.bid in [1.0]", "a nullable number in ==, != or in"),
    ("size(message.note) == 0", "size() of a nullable field"),
    ("(message.symbol + 'x').contains('x')", "contains() of a concatenation"),
    ("message.open", "a nullable boolean field"),
    ("message.ts > 0", "field ts is timestamp-millis"),
    ("message.price", "the condition `message.price` is double, not bool"),
    ("message.qty; true", "the guard `message.qty` is int, not bool"),
    ("message.symbol == 'a;b'", "split at its first ';'"),
]


@pytest.mark.parametrize(("expr", "construct"), OUTSIDE)
def test_outside_the_subset_is_refused_in_one_line_naming_rule_and_construct(
    expr: str, construct: str
) -> None:
    rule = Rule("the-rule", "CONDITION", "WRITEREAD", "CEL", expr, on_failure="DLQ")
    with pytest.raises(RulesError) as error:
        rule.condition()
        bind_rule(rule, "WRITE", TEST_FIELDS)
    text = one_line_error(error)
    assert text.startswith("rule 'the-rule': ") and construct in text, text


INSIDE = [
    "message.price > 0.0 && message.price < 1e6",
    "!(message.symbol in ['AAPL', 'MSFT']) || message.currency == 'USD'",
    "size(message.symbol) <= 10 && message.symbol.size() >= 1",
    "message.symbol.startsWith('A') || message.symbol.endsWith('L')",
    "message.symbol.contains('.') || message.symbol.contains(message.currency)",
    "has(message.currency) && message.currency != ''",
    "message.qty % 2 == 0 && -message.qty < 0 && message.qty / 3 * 3 + 1 - 1 >= 0",
    "message.price * 2.0 / 4.0 - 1.0 >= -1.0",
    "message.note == null || message.note.matches('^[a-z ]*$')",
    "message.bid > 0.0 || (message.bid + 1.0) == 2.0",
    "message.symbol + message.currency != ''",
    "r'\\d' == '\\\\d' && '''multi''' == 'multi' && 0x10 == 16",
    "true && !false && null == null",
    "message.currency == 'USD'; message.price < 1000.0",
]


@pytest.mark.parametrize("expr", INSIDE)
def test_inside_the_subset_binds(expr: str) -> None:
    rule = Rule("ok", "CONDITION", "WRITEREAD", "CEL", expr)
    bound = bind_rule(rule, "READ", TEST_FIELDS)
    assert bound.condition.body.type is CelType.BOOL


def test_regex_subset_in_java() -> None:
    assert parse_pattern("^[A-Z]{3}$").java == "^[A-Z]{3}\\z"
    assert parse_pattern("[$]a$").java == "[\\$]a\\z"
    assert parse_pattern("\\$").java == "\\$"
    assert parse_pattern("a.b").java == "a[^\\n]b"
    assert parse_pattern("\\s").java == "[\\x{9}-\\x{A}\\x{C}-\\x{D}\\x{20}]"
    assert parse_pattern("[[&]").java == "[\\[\\&]"
    assert parse_pattern("(US|EU)+?").java == "(?:US|EU)+?"
    assert parse_pattern("é\\x{1F600}").java == "\\x{E9}\\x{1F600}"
    with pytest.raises(RegexError):
        parse_pattern("^*")


# -- judging ----------------------------------------------------------------------------


def bound(*specs: tuple[str, str, str]) -> list[Any]:
    """Rules named r0, r1... with (mode, onFailure, expr), bound for a write."""
    return [
        bind_rule(
            Rule(f"r{i}", "CONDITION", mode, "CEL", expr, on_failure=action or None),
            "WRITE",
            V2_FIELDS,
        )
        for i, (mode, action, expr) in enumerate(specs)
    ]


def test_judging_none_is_counted_and_judging_goes_on() -> None:
    rules = bound(("WRITE", "NONE", "false"), ("WRITE", "NONE", "false"), ("WRITE", "DLQ", "true"))
    verdict = judge(rules, [True, True, False])
    assert verdict.decided_by is None and verdict.none_failures == ("r0", "r1")


def test_judging_the_first_decisive_failure_decides() -> None:
    rules = bound(
        ("WRITE", "NONE", "false"),
        ("WRITE", "DLQ", "false"),
        ("WRITE", "NONE", "false"),
        ("WRITE", "ERROR", "false"),
    )
    assert judge(rules, [True, True, True, True]).decided_by == "r1"
    assert judge(rules, [True, True, True, True]).none_failures == ("r0",)  # r2 never ran
    assert judge(rules, [False, False, True, True]).decided_by == "r3"
    assert judge(rules, [False, False, True, True]).none_failures == ("r2",)
    assert judge(rules, [False, False, False, False]).decided_by is None


def test_error_is_decisive_and_the_default_action() -> None:
    rules = bound(("WRITE", "", "false"), ("WRITE", "DLQ", "false"))
    assert rules[0].action == "ERROR" and rules[0].decisive
    assert judge(rules, [True, True]).decided_by == "r0"


def test_modes_and_per_direction_actions() -> None:
    data = {
        "domainRules": [
            rule_json(name="w", mode="WRITE"),
            rule_json(name="r", mode="READ"),
            rule_json(name="wr", mode="WRITEREAD", onFailure="DLQ,NONE"),
            rule_json(name="off", disabled=True),
        ]
    }
    rule_set = rule_set_from_json(data)
    assert [rule.name for rule in rule_set.applying("WRITE")] == ["w", "wr"]
    assert [rule.name for rule in rule_set.applying("READ")] == ["r", "wr"]
    write = plan_rules(rule_set, "WRITE", V2_FIELDS).rules
    read = plan_rules(rule_set, "READ", V2_FIELDS).rules
    assert [(rule.name, rule.action) for rule in write] == [("w", "DLQ"), ("wr", "DLQ")]
    assert [(rule.name, rule.action) for rule in read] == [("r", "DLQ"), ("wr", "NONE")]


def test_rules_enabled_elsewhere_do_not_run_in_clients() -> None:
    rule_set = rule_set_from_json({"domainRules": [rule_json()], "enableAt": "FLINK"})
    assert rule_set.applying("WRITE") == ()
    assert rule_set_from_json({"domainRules": [rule_json()], "enableAt": "CLIENT"}).applying("READ")
