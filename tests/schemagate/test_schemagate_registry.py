"""Against the real registry: offline verdicts equal the registry's, case by case, level by level.

Each case gets its own subject. Its old versions are registered at level NONE, then for
each of the seven levels the subject is set to that level and the registry's
compatibility endpoint (`POST /compatibility/subjects/{s}/versions/{v}?verbose=true`)
is asked about the new schema against the versions the level compares with.
"""

from __future__ import annotations

import json
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from contract_files import V1_SCHEMA_FILE
from schemagate_cases import CASES, Case, fld

from connection.paths import REPO_ROOT
from connection.settings import RegistrySettings
from schemagate.check import Version, check_subject, parse
from schemagate.levels import Level
from schemagate.registry import Registry

pytestmark = pytest.mark.integration

GATE = REPO_ROOT / "scripts" / "schema-gate"


def unique_subject(name: str) -> str:
    return f"gate-{name}-{uuid.uuid4().hex[:10]}"


def offline_verdict(case: Case, level: Level) -> bool:
    """The gate's verdict from the case's own schemas: no registry involved."""
    history = [
        Version(str(i + 1), parse(text, case.name)) for i, text in enumerate(case.history_texts)
    ]
    new = parse(case.new_text, case.name)
    return check_subject(case.name, case.name, new, history, level).compatible


def registry_verdicts(
    client: SchemaRegistryClient, registry: Registry, case: Case
) -> dict[Level, bool]:
    subject = unique_subject(case.name.replace("_", "-"))
    client.set_compatibility(subject, Level.NONE.value)
    for text in case.history_texts:
        client.register_schema(subject, Schema(text, "AVRO"))
    versions = [str(number) for number in sorted(client.get_versions(subject))]
    assert len(versions) == len(case.history), "the registry merged two old versions"
    answers = {}
    for level in Level:
        client.set_compatibility(subject, level.value)
        assert registry.level(subject) is level
        targets = versions if level.transitive else versions[-1:]
        verdicts = registry.verdicts(subject, case.new_text, targets)
        answers[level] = all(verdict.compatible for verdict in verdicts)
    return answers


@pytest.fixture(scope="module")
def client(registry_url: str) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": registry_url})


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_offline_verdicts_equal_the_registrys_at_every_level(
    case: Case, client: SchemaRegistryClient, registry_url: str
) -> None:
    registry = registry_verdicts(client, Registry(RegistrySettings(registry_url)), case)
    documented = {level: case.registry_expected(level) for level in Level}
    offline = {level: offline_verdict(case, level) for level in Level}

    assert registry == documented
    if case.stricter_than_registry:
        assert offline == {level: level is Level.NONE for level in Level}
    else:
        assert offline == registry


@pytest.fixture
def contract_dir(tmp_path: Path) -> tuple[Path, str]:
    """A schemas directory holding one contract under a fresh subject."""
    subject = unique_subject("prices-value")
    v1 = json.loads(V1_SCHEMA_FILE.read_text())
    (tmp_path / f"{subject}.avsc").write_text(json.dumps(v1))
    return tmp_path, subject


def run_gate(registry_url: str, schemas: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GATE), *args, "--schemas-dir", str(schemas), "--schema-registry-url", registry_url],
        capture_output=True,
        text=True,
        check=False,
    )


def test_register_then_check_an_evolution_against_the_registry(
    contract_dir: tuple[Path, str], registry_url: str, client: SchemaRegistryClient
) -> None:
    schemas, subject = contract_dir
    file = schemas / f"{subject}.avsc"
    v1 = json.loads(file.read_text())

    first = run_gate(registry_url, schemas, "register")
    assert first.returncode == 0, first.stderr
    assert f"registered {subject} version 1 id " in first.stdout

    broken = {**v1, "fields": [fld("ts", "string"), fld("symbol", "int"), fld("price", "string")]}
    file.write_text(json.dumps(broken))
    check = run_gate(registry_url, schemas, "check", "--format", "json")
    assert check.returncode == 1, check.stderr
    [result] = json.loads(check.stdout)["subjects"]
    # no subject-level setting: the global level applies (Apicurio's plain GET says NONE)
    assert result["level"] == client.get_compatibility() and result["compared_with"] == ["1"]
    assert [(v["rule"], v["path"]) for v in result["violations"]] == [
        ("TYPE_CHANGED", "ts"),
        ("TYPE_CHANGED", "symbol"),
        ("TYPE_CHANGED", "price"),
    ]
    junit = run_gate(registry_url, schemas, "check", "--format", "junit")
    assert ET.fromstring(junit.stdout).find("testsuite/testcase/failure") is not None
    refused = run_gate(registry_url, schemas, "register")
    assert refused.returncode == 1 and "registered" not in refused.stdout

    v2 = {**v1, "fields": [*v1["fields"], fld("currency", "string", default="USD")]}
    file.write_text(json.dumps(v2))
    second = run_gate(registry_url, schemas, "register")
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"registered {subject} version 2 id " in second.stdout


def test_transitive_level_set_in_the_registry_is_used(
    contract_dir: tuple[Path, str], registry_url: str, client: SchemaRegistryClient
) -> None:
    schemas, subject = contract_dir
    file = schemas / f"{subject}.avsc"
    v1 = json.loads(file.read_text())
    client.set_compatibility(subject, Level.NONE.value)
    client.register_schema(subject, Schema(json.dumps(v1), "AVRO"))
    without_price = {**v1, "fields": v1["fields"][:2]}
    client.register_schema(subject, Schema(json.dumps(without_price), "AVRO"))
    readded = {**v1, "fields": [*v1["fields"][:2], fld("price", "string", default="")]}
    file.write_text(json.dumps(readded))

    client.set_compatibility(subject, Level.BACKWARD.value)
    assert run_gate(registry_url, schemas, "check").returncode == 0
    client.set_compatibility(subject, Level.BACKWARD_TRANSITIVE.value)
    transitive = run_gate(registry_url, schemas, "check")
    assert transitive.returncode == 1
    assert "TYPE_CHANGED price: double -> string (backward, version 1)" in transitive.stdout
