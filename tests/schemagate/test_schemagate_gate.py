"""check_online's use of the registry's own verdict, with the registry's answers stubbed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from schemagate_cases import PRICE, record

from connection.settings import RegistrySettings
from schemagate import gate
from schemagate.check import Version, parse
from schemagate.contracts import load_contracts
from schemagate.finding_ids import ViolationId
from schemagate.gate import check_online
from schemagate.levels import Level
from schemagate.registry import Registry, Verdict


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    """A registry whose v1 is the record with `price`, at BACKWARD, that rejects anything."""
    stub = Registry(RegistrySettings("http://registry.invalid"))
    v1 = Version("1", parse(json.dumps(record(PRICE)), "v1"))
    monkeypatch.setattr(stub, "level", lambda subject: Level.BACKWARD)
    monkeypatch.setattr(stub, "history", lambda subject: [v1])

    def verdicts(subject: str, text: str, versions: tuple[str, ...]) -> list[Verdict]:
        return [
            Verdict(version, False, ("READER_FIELD_MISSING_DEFAULT_VALUE",)) for version in versions
        ]

    monkeypatch.setattr(stub, "verdicts", verdicts)
    monkeypatch.setattr(gate, "kept_documents", lambda registry, subject: {})
    return stub


def contract(tmp_path: Path) -> Path:
    (tmp_path / "prices-value.avsc").write_text(json.dumps(record(PRICE)))
    return tmp_path


def test_a_rejection_the_analysis_cannot_explain_is_reported(
    registry: Registry, tmp_path: Path
) -> None:
    report = check_online(load_contracts(contract(tmp_path)), registry, level=None)
    [violation] = report.subjects[0].violations
    assert violation.rule is ViolationId.REGISTRY_REJECTED and violation.against == "1"
    assert violation.message.endswith(
        "at BACKWARD although no rule here found a problem: READER_FIELD_MISSING_DEFAULT_VALUE"
    )


def test_an_explicit_level_does_not_ask_the_registry(registry: Registry, tmp_path: Path) -> None:
    report = check_online(load_contracts(contract(tmp_path)), registry, level=Level.FULL)
    assert report.compatible
