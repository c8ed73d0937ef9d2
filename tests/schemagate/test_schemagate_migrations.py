"""A new major through the gate, offline against git: compatibility groups, the migration
rules a level asks for, and those rules run on generated records (the cases in
migration_cases.py), in the four renderers."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from contract_files import V1_SCHEMA, V2_SCHEMA, V3_SCHEMA
from gate_repo import Repo
from migration_cases import CASES, V2_RULES, Case, major

from contract.migrations import ContractVersion
from contract.rules import rules_document_from_json
from schemagate.cli import main
from schemagate.levels import Level
from schemagate.majors import major_problem
from schemagate.migration_check import Labelled, check_new_major
from schemagate.model import Severity
from schemagate.sample_records import ORDINARY_RECORDS, extreme_records, ordinary_records


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """v1 (no rules), then v2 with the shipped rules, committed."""
    monkeypatch.chdir(tmp_path)
    repo = Repo(tmp_path)
    repo.commit(V1_SCHEMA)
    repo.rules.write_text(json.dumps(V2_RULES))
    repo.commit(V2_SCHEMA)
    return repo


def write(repo: Repo, schema: object, rules: object) -> None:
    repo.write(schema)
    repo.rules.write_text(json.dumps(rules))


def gate_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["check", "--offline", "--format", "json", *args])
    [subject] = json.loads(capsys.readouterr().out)["subjects"]
    return code, subject


def ids(subject: dict) -> set[str]:
    return {v["rule"] for v in subject["violations"]} | {m["rule"] for m in subject["migrations"]}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_gate_on_a_new_major(
    case: Case, repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, case.schema, case.rules)
    strict = ["--strict"] if case.strict else []
    code, subject = gate_json(capsys, "--level", case.level, *strict)
    assert (code, ids(subject)) == (case.exit_code, case.ids), subject["migrations"]
    for finding in subject["migrations"]:
        assert finding["message"] and finding["severity"] in ("error", "warning")
        if finding["rule"].startswith("MIGRATION_"):
            assert isinstance(finding["example"], dict)  # one example record each


def test_a_breaking_change_within_a_major_says_a_new_major_is_the_way(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, V3_SCHEMA, major(None))
    code = main(["check", "--offline"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FIELD_ADDED_WITHOUT_DEFAULT ticker: absent -> string (backward" in out
    assert "to break it on purpose, make a new major (application.major.version" in out


def test_the_example_warns_of_sub_cent_prices_and_names_the_value(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, V3_SCHEMA, major("2"))
    code, subject = gate_json(capsys)
    assert code == 0 and subject["new_major"] and subject["major"] == "2"
    assert subject["compared_with"] == []
    assert subject["rules"]["compared"] is False
    runs = [(r["migration"], r["rules"], r["records"]) for r in subject["migration_runs"]]
    assert runs == [
        ("UPGRADE", ["price-to-cents"], {"generated": 300, "extreme": 9}),
        ("DOWNGRADE", ["cents-to-price"], {"generated": 300, "extreme": 6}),
    ]
    [trip] = [m for m in subject["migrations"] if m["rule"] == "MIGRATION_ROUND_TRIP"]
    assert trip["severity"] == "warning" and trip["origin"] == "generated"
    assert trip["rules"] == ["price-to-cents", "cents-to-price"]
    price = trip["example"]["price"]
    assert round(price, 2) != price  # a sub-cent price
    assert f"price {price} comes back as {round(price, 2)}" in trip["message"]
    fails = [m for m in subject["migrations"] if m["rule"] == "MIGRATION_FAILS"]
    assert [m["origin"] for m in fails] == ["extreme"]
    assert '(price = "NaN")' in fails[0]["message"] and fails[0]["example"]["price"] == "NaN"


def test_generated_records_are_the_same_every_run(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, V3_SCHEMA, major("2"))
    first = gate_json(capsys, "--level", "FULL")
    assert gate_json(capsys, "--level", "FULL") == first


def test_within_a_major_only_its_versions_are_compared(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, V3_SCHEMA, major("2"))
    bump = repo.commit()
    with_venue = {
        **V3_SCHEMA,
        "fields": [*V3_SCHEMA["fields"], {"name": "venue", "type": "string", "default": ""}],
    }
    write(repo, with_venue, major("2"))
    code, subject = gate_json(capsys, "--level", "FULL_TRANSITIVE")
    assert (code, subject["compared_with"], subject["migrations"]) == (0, [bump], [])


def test_a_major_that_goes_down_is_a_finding(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, V3_SCHEMA, major("2"))
    repo.commit()
    write(repo, V2_SCHEMA, V2_RULES)  # back to no major
    code, subject = gate_json(capsys)
    [finding] = subject["migrations"]
    assert (code, finding["rule"], finding["severity"]) == (1, "MAJOR_WENT_DOWN", "error")
    assert "the major goes down from 2 to none" in finding["message"]


def test_a_record_of_the_topic_that_loses_something_is_an_error() -> None:
    v2 = ContractVersion(1, 1, json.dumps(V2_SCHEMA), rules_document_from_json(V2_RULES))
    v3 = ContractVersion(2, None, json.dumps(V3_SCHEMA), rules_document_from_json(major("2")))
    written = {"ts": 1_700_000_000_000, "symbol": "MSFT", "price": 224.255, "currency": "USD"}
    checked = check_new_major(
        [Labelled("1", v2)], Labelled("new", v3), Level.BACKWARD, {"1": [written]}
    )
    assert [(run.migration, dict(run.records)) for run in checked.runs] == [
        ("UPGRADE", {"topic": 1, "extreme": 9}),
        ("DOWNGRADE", {"generated": 300, "extreme": 6}),
    ]
    [trip] = [f for f in checked.findings if f.rule.value == "MIGRATION_ROUND_TRIP"]
    assert (trip.origin, trip.severity, trip.records, trip.sampled) == (
        "topic",
        Severity.ERROR,
        1,
        1,
    )
    assert trip.example == written


def test_the_four_renderers_carry_the_findings(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, V3_SCHEMA, major("2", migrations=None))
    assert main(["check", "--offline"]) == 1
    text = capsys.readouterr().out
    heading = "at BACKWARD first version of major 2, its migrations checked: INCOMPATIBLE"
    assert f"{heading}, 1 migration error" in text
    assert (
        "MIGRATION_MISSING version " in text
        and "-> the new version (major 2) (UPGRADE, error)" in text
    )
    assert "  example: {" in text
    assert main(["check", "--offline", "--format", "junit"]) == 1
    failure = ET.fromstring(capsys.readouterr().out).find("testsuite/testcase/failure")
    assert failure is not None and failure.get("type") == "MIGRATION_MISSING"
    assert failure.text is not None and "example: {" in failure.text
    assert main(["check", "--offline", "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(
        "::error file=schemas/prices-value.rules.json,title=schema-gate MIGRATION_MISSING::"
    )
    assert main(["check", "--offline", "--format", "json"]) == 1
    [subject] = json.loads(capsys.readouterr().out)["subjects"]
    [missing] = subject["migrations"]
    assert missing["rule"] == "MIGRATION_MISSING" and missing["migration"] == "UPGRADE"


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (
            {"properties": {"application.major.version": 2}},
            "metadata properties must map names to strings",
        ),
        ([], "metadata must be an object with properties"),
    ],
)
def test_bad_metadata_is_one_line_and_exit_2(
    repo: Repo, capsys: pytest.CaptureFixture[str], metadata: object, expected: str
) -> None:
    write(repo, V3_SCHEMA, {**major("2"), "metadata": metadata})
    assert main(["check", "--offline"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "prices-value.rules.json" in err


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"expr": "$merge([ price"}, "not a JSONata expression"),
        ({"mode": "SIDEWAYS"}, "mode SIDEWAYS (UPGRADE, DOWNGRADE or UPDOWN)"),
        ({"type": "CEL"}, "type CEL is not supported (JSONATA only)"),
    ],
)
def test_a_migration_rule_the_gate_cannot_run_is_one_line_and_exit_2(
    repo: Repo, capsys: pytest.CaptureFixture[str], change: dict, expected: str
) -> None:
    broken = {**major("2")["ruleSet"]["migrationRules"][0], **change}
    write(repo, V3_SCHEMA, major("2", migrations=[broken]))
    assert main(["check", "--offline"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "migration rule 'price-to-cents'" in err and expected in err
    assert "prices-value.rules.json" in err


@pytest.mark.parametrize(
    ("latest", "new", "problem"),
    [
        (None, None, None),
        (None, "1", None),
        (None, "2", None),
        ("2", "2", None),
        ("2", "3", None),
        (None, "3", "MAJOR_SKIPPED"),
        ("1", "3", "MAJOR_SKIPPED"),
        ("2", "1", "MAJOR_WENT_DOWN"),
        ("2", None, "MAJOR_WENT_DOWN"),
        ("1", "02", "MAJOR_NOT_A_NUMBER"),
        ("1", "2.0", "MAJOR_NOT_A_NUMBER"),
        (None, "", "MAJOR_NOT_A_NUMBER"),
    ],
)
def test_majors_go_up_one_at_a_time(
    latest: str | None, new: str | None, problem: str | None
) -> None:
    found = major_problem(latest, new)
    assert (found.id.value if found else None) == problem


def test_generated_records_keep_the_versions_rules_and_extremes_break_one_field() -> None:
    v2 = ContractVersion(1, None, json.dumps(V2_SCHEMA), rules_document_from_json(V2_RULES))
    records = ordinary_records(v2)
    assert len(records) == ORDINARY_RECORDS and records == ordinary_records(v2)
    assert all(
        r["price"] > 0
        and re.fullmatch("[A-Z]{3}", r["currency"])
        and re.fullmatch("[A-Z][A-Z0-9.]{0,9}", r["symbol"])
        for r in records
    )
    assert len({r["symbol"] for r in records}) > 100  # drawn, not one value
    extremes = {str(e) for e in extreme_records(v2, records[0])}
    assert {'price = "NaN"', 'price = "Infinity"', 'symbol = ""', 'currency = ""'} <= extremes
    assert "ts = 9223372036854775807" in extremes


def test_generated_records_of_a_recursive_schema_end() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "children", "type": {"type": "array", "items": "Node"}},
            {"name": "next", "type": ["null", "Node"]},
            {"name": "side", "type": {"type": "enum", "name": "Side", "symbols": ["BUY", "SELL"]}},
        ],
    }
    records = ordinary_records(ContractVersion(1, None, json.dumps(node)), count=20)
    assert len(records) == 20 and {r["side"] for r in records} == {"BUY", "SELL"}


def test_an_earlier_rules_file_the_contract_no_longer_accepts_gives_its_major_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    repo = Repo(tmp_path)
    outside = {**V2_RULES["domainRules"][0], "name": "old", "expr": "message.price.foo()"}
    repo.rules.write_text(json.dumps({"domainRules": [outside]}))
    first = repo.commit(V1_SCHEMA)
    repo.rules.write_text(json.dumps(V2_RULES))
    repo.commit(V2_SCHEMA)
    write(repo, V3_SCHEMA, major("2"))
    code, subject = gate_json(capsys, "--level", "BACKWARD_TRANSITIVE")
    assert code == 0, subject["migrations"]
    assert {r["source"] for r in subject["migration_runs"]} >= {f"version {first} (major none)"}
