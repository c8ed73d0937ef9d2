"""The contract's rules, old -> new: each change's id, whether it breaks, and its severity;
offline against the rules file in git, online against the registry's rule set or git."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gate_repo import Repo
from schemagate_cases import PRICE, fld, record

from connection.settings import RegistrySettings
from contract.rules import RulesDocument, rule_set_from_json, rules_document_from_json
from schemagate import gate
from schemagate.check import Version, parse
from schemagate.cli import main
from schemagate.contracts import load_contracts
from schemagate.finding_ids import RuleChange
from schemagate.gate import check_online
from schemagate.levels import Level
from schemagate.model import RuleFinding, Severity
from schemagate.registry import Registry
from schemagate.rule_changes import compare_rule_sets

SCHEMA = record(fld("symbol", "string"), PRICE, fld("currency", "string", default="USD"))


def rule(name: str, expr: str, on_failure: str | None = "DLQ", **extra: Any) -> dict[str, Any]:
    found = {"name": name, "kind": "CONDITION", "mode": "WRITEREAD", "type": "CEL", "expr": expr}
    if on_failure is not None:
        found["onFailure"] = on_failure
    return {**found, **extra}


POSITIVE = rule("price-positive", "message.price > 0.0")
TICKER = rule("symbol-ticker", "message.symbol.matches('^[A-Z][A-Z0-9.]{0,9}$')")
CURRENCY = rule("currency-iso-4217", "message.currency.matches('^[A-Z]{3}$')")


def changes(old: list[dict[str, Any]], new: list[dict[str, Any]], **new_set: Any) -> list[Any]:
    """(id, rule name, breaking, severity) of each finding from old to new."""
    found = compare_rule_sets(
        rule_set_from_json({"domainRules": old}),
        rule_set_from_json({"domainRules": new, **new_set}),
        "git 0123456789ab",
    )
    return [(f.rule, f.name, f.breaking, f.severity) for f in found]


ADDED, REMOVED = RuleChange.RULE_ADDED, RuleChange.RULE_REMOVED
EXPR, ACTION, MODE = (
    RuleChange.RULE_EXPR_CHANGED,
    RuleChange.RULE_ACTION_CHANGED,
    RuleChange.RULE_MODE_CHANGED,
)
ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param([POSITIVE], [POSITIVE], [], id="unchanged"),
        pytest.param(
            [POSITIVE], [rule("price-positive", "message.price>0.0 ")], [], id="reformatted"
        ),
        pytest.param(
            [POSITIVE], [POSITIVE, TICKER], [(ADDED, "symbol-ticker", True, ERROR)], id="added-dlq"
        ),
        pytest.param(
            [POSITIVE],
            [POSITIVE, rule("short", "size(message.symbol) <= 5", "NONE")],
            [(ADDED, "short", False, INFO)],
            id="added-none",
        ),
        pytest.param(
            [],
            [rule("cap", "message.price < 1e6", "ERROR", mode="READ")],
            [(ADDED, "cap", True, ERROR)],
            id="added-error-on-read",
        ),
        pytest.param(
            [],
            [rule("cap", "message.price < 1e6", None)],
            [(ADDED, "cap", True, ERROR)],
            id="added-without-onFailure-is-ERROR",
        ),
        pytest.param(
            [POSITIVE, TICKER],
            [POSITIVE],
            [(REMOVED, "symbol-ticker", False, WARNING)],
            id="removed-dlq",
        ),
        pytest.param(
            [rule("short", "size(message.symbol) <= 5", "NONE")],
            [],
            [(REMOVED, "short", False, INFO)],
            id="removed-none",
        ),
        pytest.param(
            [TICKER],
            [rule("symbol-ticker", "message.symbol.matches('^[A-Z]{1,5}$')")],
            [(EXPR, "symbol-ticker", True, ERROR)],
            id="expression-changed",
        ),
        pytest.param(
            [rule("short", "size(message.symbol) <= 5", "NONE")],
            [rule("short", "size(message.symbol) <= 4", "NONE")],
            [(EXPR, "short", False, INFO)],
            id="expression-of-a-none-rule-changed",
        ),
        pytest.param(
            [rule("p", "message.price > 0.0", "NONE")],
            [rule("p", "message.price > 0.0", "DLQ")],
            [(ACTION, "p", True, ERROR)],
            id="none-to-dlq",
        ),
        pytest.param(
            [POSITIVE],
            [rule("price-positive", "message.price > 0.0", "NONE")],
            [(ACTION, "price-positive", False, WARNING)],
            id="relaxed-to-none",
        ),
        pytest.param(
            [POSITIVE],
            [rule("price-positive", "message.price > 0.0", "ERROR")],
            [(ACTION, "price-positive", True, ERROR)],
            id="dlq-to-error",
        ),
        pytest.param(
            [rule("p", "message.price > 0.0", "ERROR")],
            [rule("p", "message.price > 0.0", "DLQ")],
            [(ACTION, "p", False, WARNING)],
            id="error-to-dlq",
        ),
        pytest.param(
            [rule("p", "message.price > 0.0", None)],
            [rule("p", "message.price > 0.0", "ERROR")],
            [],
            id="the-default-action-spelled-out",
        ),
        pytest.param(
            [POSITIVE],
            [rule("price-positive", "message.price > 0.0", "DLQ,NONE")],
            [(ACTION, "price-positive", False, WARNING)],
            id="relaxed-on-read-only",
        ),
        pytest.param(
            [rule("p", "message.price > 0.0", mode="WRITE")],
            [rule("p", "message.price > 0.0")],
            [(MODE, "p", True, ERROR)],
            id="write-to-writeread",
        ),
        pytest.param(
            [POSITIVE],
            [rule("price-positive", "message.price > 0.0", mode="WRITE")],
            [(MODE, "price-positive", False, WARNING)],
            id="writeread-to-write",
        ),
        pytest.param(
            [rule("short", "size(message.symbol) <= 5", "NONE", mode="WRITE")],
            [rule("short", "size(message.symbol) <= 5", "NONE")],
            [(MODE, "short", False, INFO)],
            id="mode-of-a-none-rule",
        ),
        pytest.param(
            [rule("p", "message.price > 0.0", "NONE")],
            [rule("p", "message.price >= 0.01", "DLQ")],
            [(EXPR, "p", True, ERROR), (ACTION, "p", True, ERROR)],
            id="expression-and-action",
        ),
        pytest.param(
            [POSITIVE],
            [{**POSITIVE, "disabled": True}],
            [(REMOVED, "price-positive", False, WARNING)],
            id="disabled",
        ),
        pytest.param(
            [{**POSITIVE, "disabled": True}],
            [POSITIVE],
            [(ADDED, "price-positive", True, ERROR)],
            id="enabled-again",
        ),
    ],
)
def test_each_change_has_its_id_and_verdict(
    old: list[dict[str, Any]], new: list[dict[str, Any]], expected: list[Any]
) -> None:
    assert changes(old, new) == expected


def test_a_rule_set_enabled_outside_clients_runs_no_rule() -> None:
    found = compare_rule_sets(
        rule_set_from_json({"domainRules": [POSITIVE]}),
        rule_set_from_json({"domainRules": [POSITIVE], "enableAt": "FLINK"}),
        "here",
    )
    [removed] = found
    assert (removed.rule, removed.breaking) == (REMOVED, False)
    assert "enabled at FLINK, not in clients" in removed.message


def test_messages_say_what_happens_to_a_record() -> None:
    [added] = compare_rule_sets(
        rule_set_from_json({"domainRules": []}),
        rule_set_from_json({"domainRules": [rule("cap", "message.price < 1e6", "ERROR")]}),
        "git 0123456789ab",
    )
    assert added == RuleFinding(
        rule=ADDED,
        name="cap",
        old="absent",
        new="message.price < 1e6 [WRITEREAD, ERROR]",
        breaking=True,
        severity=ERROR,
        message="rule `cap` was added with ERROR on write and read: records that passed "
        "before may now fail it on write and read: such a record fails the write or the read",
        against="git 0123456789ab",
    )


# -- offline, against the rules file in git ---------------------------------------------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(tmp_path)
    return Repo(tmp_path)


def gate_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["check", "--offline", "--format", "json", *args])
    [subject] = json.loads(capsys.readouterr().out)["subjects"]
    return code, subject


def test_a_changed_rule_is_breaking_offline(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write_rules(POSITIVE, TICKER)
    sha = repo.commit(SCHEMA)
    repo.write_rules(POSITIVE, rule("symbol-ticker", "message.symbol.matches('^[A-Z]{1,5}$')"))
    code, subject = gate_json(capsys)
    assert code == 1 and subject["compatible"] is False and subject["violations"] == []
    assert subject["rules"]["baseline"] == f"git {sha}"
    [finding] = subject["rules"]["findings"]
    assert finding["rule"] == "RULE_EXPR_CHANGED" and finding["name"] == "symbol-ticker"
    assert (finding["breaking"], finding["severity"]) == (True, "error")
    assert finding["old"] == "message.symbol.matches('^[A-Z][A-Z0-9.]{0,9}$')"
    assert finding["new"] == "message.symbol.matches('^[A-Z]{1,5}$')"

    assert main(["check", "--offline"]) == 1
    out = capsys.readouterr().out
    assert "at BACKWARD against version" in out and "INCOMPATIBLE, 1 breaking rule change" in out
    assert f"rules (schemas/prices-value.rules.json) against git {sha}: 1 change, 1 breaking" in out
    assert (
        "RULE_EXPR_CHANGED symbol-ticker: message.symbol.matches('^[A-Z][A-Z0-9.]{0,9}$') -> "
        "message.symbol.matches('^[A-Z]{1,5}$') (breaking)"
    ) in out


def test_an_added_none_rule_is_not_breaking(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write_rules(POSITIVE)
    repo.commit(SCHEMA)
    repo.write_rules(POSITIVE, rule("short", "size(message.symbol) <= 5", "NONE"))
    code, subject = gate_json(capsys)
    assert code == 0 and subject["compatible"] is True
    [finding] = subject["rules"]["findings"]
    assert (finding["rule"], finding["breaking"], finding["severity"]) == (
        "RULE_ADDED",
        False,
        "info",
    )


def test_a_removed_rule_is_not_breaking(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write_rules(POSITIVE, TICKER, CURRENCY)
    repo.commit(SCHEMA)
    repo.write_rules(POSITIVE, CURRENCY)
    code, subject = gate_json(capsys)
    assert code == 0 and subject["compatible"] is True
    [finding] = subject["rules"]["findings"]
    assert (finding["rule"], finding["name"], finding["breaking"], finding["severity"]) == (
        "RULE_REMOVED",
        "symbol-ticker",
        False,
        "warning",
    )


def test_a_removed_rules_file_removes_every_rule(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write_rules(POSITIVE, TICKER)
    repo.commit(SCHEMA)
    repo.rules.unlink()
    code, subject = gate_json(capsys)
    assert code == 0
    assert [(f["rule"], f["name"]) for f in subject["rules"]["findings"]] == [
        ("RULE_REMOVED", "price-positive"),
        ("RULE_REMOVED", "symbol-ticker"),
    ]


def test_rules_for_a_contract_that_had_none_are_added(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit(SCHEMA)
    repo.write_rules(POSITIVE, rule("short", "size(message.symbol) <= 5", "NONE"))
    code, subject = gate_json(capsys)
    assert code == 1
    assert subject["rules"]["baseline"] == "git:HEAD, no rules file"
    assert [(f["rule"], f["breaking"]) for f in subject["rules"]["findings"]] == [
        ("RULE_ADDED", True),
        ("RULE_ADDED", False),
    ]


def test_rules_are_compared_with_the_file_at_the_ref(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write_rules(POSITIVE)
    first = repo.commit(SCHEMA)
    repo.git("tag", "release")
    repo.write_rules(POSITIVE, TICKER)
    repo.commit()
    code, subject = gate_json(capsys)  # HEAD has the ticker rule: no change
    assert code == 0 and subject["rules"]["findings"] == []
    code, subject = gate_json(capsys, "--against", "release")
    assert code == 1 and subject["rules"]["baseline"] == f"git {first}"
    assert [f["rule"] for f in subject["rules"]["findings"]] == ["RULE_ADDED"]


def test_a_new_subjects_rules_are_not_compared(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo.root / "README").write_text("x")
    repo.git("add", "README")
    repo.git("commit", "-q", "-m", "start")
    repo.write(SCHEMA)
    repo.write_rules(POSITIVE)
    code, subject = gate_json(capsys)
    assert code == 0
    assert subject["rules"] == {
        "file": "schemas/prices-value.rules.json",
        "baseline": "new subject, nothing to compare with",
        "compared": False,
        "findings": [],
    }


def test_a_contract_without_rules_has_no_rules_section(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit(SCHEMA)
    code, subject = gate_json(capsys)
    assert code == 0 and subject["rules"] is None


def test_breaking_rule_changes_annotate_the_rules_file(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write_rules(POSITIVE, TICKER)
    repo.commit(SCHEMA)
    repo.write_rules(rule("price-positive", "message.price > 0.0", "ERROR"))
    assert main(["check", "--offline", "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(
        "::error file=schemas/prices-value.rules.json,"
        "title=schema-gate RULE_ACTION_CHANGED price-positive::prices-value (breaking, git "
    )
    assert lines[1].startswith(
        "::warning file=schemas/prices-value.rules.json,"
        "title=schema-gate RULE_REMOVED symbol-ticker::"
    )


def test_junit_fails_on_breaking_rule_changes_and_lists_the_others(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    import xml.etree.ElementTree as ET

    repo.write_rules(POSITIVE, TICKER)
    repo.commit(SCHEMA)
    repo.write_rules(rule("price-positive", "message.price > 0.0", "ERROR"))
    assert main(["check", "--offline", "--format", "junit"]) == 1
    case = ET.fromstring(capsys.readouterr().out).find("testsuite/testcase")
    assert case is not None
    failure, notes = case.find("failure"), case.find("system-out")
    assert failure is not None and notes is not None
    assert failure.get("type") == "RULE_ACTION_CHANGED"
    assert notes.text is not None and notes.text.startswith("RULE_REMOVED symbol-ticker:")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "prices-value.rules.json: not JSON"),
        (
            json.dumps({"domainRules": [rule("p", "message.price >", "DLQ")]}),
            "rules file schemas/prices-value.rules.json: rule 'p'",
        ),
    ],
)
def test_an_unusable_rules_file_is_one_line_and_exit_2(
    repo: Repo, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    repo.commit(SCHEMA)
    repo.rules.write_text(text)
    assert main(["check", "--offline"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


# -- online: the registry's rule set, else git's HEAD -------------------------------------


def stub_registry(
    monkeypatch: pytest.MonkeyPatch, rule_set: dict[str, Any] | None
) -> tuple[Registry, list[tuple[str, str]]]:
    """A registry whose version 1 is SCHEMA at BACKWARD, keeping rule_set with it."""
    stub = Registry(RegistrySettings("http://registry.invalid"))
    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(stub, "level", lambda subject: Level.BACKWARD)
    monkeypatch.setattr(
        stub, "history", lambda subject: [Version("1", parse(json.dumps(SCHEMA), "v1"))]
    )
    monkeypatch.setattr(stub, "verdicts", lambda subject, text, versions: [])

    def kept(registry: Registry, subject: str) -> dict[str, RulesDocument]:
        asked.append((subject, "1"))
        return {} if rule_set is None else {"1": rules_document_from_json(rule_set)}

    monkeypatch.setattr(gate, "kept_documents", kept)
    return stub, asked


def test_online_rules_are_compared_with_the_registrys_rule_set(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write_rules(POSITIVE, TICKER)
    repo.commit(SCHEMA)  # git agrees with the new rules: the registry's set is the baseline
    registry, asked = stub_registry(monkeypatch, {"domainRules": [POSITIVE]})
    report = check_online(load_contracts(Path("schemas")), registry, level=None)
    rules = report.subjects[0].rules
    assert asked == [("prices-value", "1")]
    assert rules is not None and rules.baseline == "registry version 1"
    assert [(f.rule, f.name, f.breaking) for f in rules.findings] == [
        (ADDED, "symbol-ticker", True)
    ]
    assert not report.compatible


def test_online_rules_fall_back_to_git_head_without_a_registry_rule_set(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write_rules(POSITIVE)
    sha = repo.commit(SCHEMA)
    repo.write_rules(POSITIVE, rule("short", "size(message.symbol) <= 5", "NONE"))
    registry, _ = stub_registry(monkeypatch, None)
    report = check_online(load_contracts(Path("schemas")), registry, level=None)
    rules = report.subjects[0].rules
    assert rules is not None and rules.compared
    assert rules.baseline == f"git {sha} (the registry returned no rule set with version 1)"
    assert [(f.rule, f.breaking) for f in rules.findings] == [(ADDED, False)]
    assert report.compatible


def test_online_rules_outside_git_without_a_registry_rule_set_are_not_compared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "prices-value.avsc").write_text(json.dumps(SCHEMA))
    (tmp_path / "prices-value.rules.json").write_text(json.dumps({"domainRules": [POSITIVE]}))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    registry, _ = stub_registry(monkeypatch, None)
    report = check_online(load_contracts(tmp_path), registry, level=None)
    rules = report.subjects[0].rules
    assert rules is not None and not rules.compared and report.compatible
    assert rules.baseline == (
        "the registry returned no rule set with version 1 and the rules file is not in a git "
        "repository"
    )
