"""`schema-gate register` against the real registry (the local Apicurio): the contract's
metadata and rules registered with its schema and read back by any client; what it cannot
use is one line and exit 2, with nothing registered."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE

from connection.clients import apicurio_api, registry_client
from connection.paths import REPO_ROOT
from connection.settings import RegistrySettings
from contract.registered import RULE_SET_LABEL, subject_versions
from contract.registering import RESTORE_LEVEL_LABEL
from contract.rules import load_rules_document, rules_file

pytestmark = pytest.mark.integration

GATE = REPO_ROOT / "scripts" / "schema-gate"
V2_RULES_FILE = rules_file(V2_SCHEMA_FILE)


@pytest.fixture
def contract_dir(tmp_path: Path) -> tuple[Path, str]:
    """A schemas directory with the shipped schema and rules under a fresh subject."""
    subject = f"gate-rules-{uuid.uuid4().hex[:10]}-value"
    shutil.copy(V2_SCHEMA_FILE, tmp_path / f"{subject}.avsc")
    shutil.copy(V2_RULES_FILE, tmp_path / f"{subject}.rules.json")
    return tmp_path, subject


def run_gate(registry_url: str, schemas: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GATE), *args, "--schemas-dir", str(schemas), "--schema-registry-url", registry_url],
        capture_output=True,
        text=True,
        check=False,
    )


def test_register_keeps_the_rules_in_the_registry(
    contract_dir: tuple[Path, str], registry_url: str
) -> None:
    schemas, subject = contract_dir
    registered = run_gate(registry_url, schemas, "register", "--format", "json")
    assert registered.returncode == 0, registered.stderr
    [registration] = json.loads(registered.stdout)["registrations"]
    assert registration == {
        "subject": subject,
        "version": 1,
        "schema_id": registration["schema_id"],
        "notes": [],
    }

    settings = RegistrySettings(registry_url)
    [version] = subject_versions(registry_client(settings), settings, subject)
    assert version.document == load_rules_document(V2_RULES_FILE)
    assert version.schema_id == registration["schema_id"]
    again = run_gate(registry_url, schemas, "register")
    assert again.returncode == 0, again.stderr
    assert f"registered {subject} version 1 id {version.schema_id}\n" in again.stdout


def test_metadata_that_is_not_an_object_of_strings_is_one_line(
    contract_dir: tuple[Path, str], registry_url: str
) -> None:
    schemas, subject = contract_dir
    rules = schemas / f"{subject}.rules.json"
    rule_set = json.loads(rules.read_text())
    rules.write_text(
        json.dumps(
            {"metadata": {"properties": {"application.major.version": 2}}, "ruleSet": rule_set}
        )
    )
    refused = run_gate(registry_url, schemas, "register")
    assert refused.returncode == 2
    assert refused.stderr == (
        f"schema-gate: error: rules file {rules}: metadata properties must map names to strings\n"
    )
    settings = RegistrySettings(registry_url)
    assert subject_versions(registry_client(settings), settings, subject) == []


def test_rules_in_the_registry_that_are_not_a_rule_set_are_one_line(
    contract_dir: tuple[Path, str], registry_url: str
) -> None:
    schemas, subject = contract_dir
    api = apicurio_api(RegistrySettings(registry_url))
    assert api is not None
    api.find_or_create_version(subject, V1_SCHEMA_FILE.read_text(), {RULE_SET_LABEL: "{not json"})
    refused = run_gate(registry_url, schemas, "register")
    assert refused.returncode == 2, refused.stdout
    [line] = refused.stderr.splitlines()
    assert line.startswith(
        f"schema-gate: error: registry {registry_url}: {subject} version 1, "
        f"label {RULE_SET_LABEL}: not JSON"
    )


def test_a_level_left_lowered_is_restored_before_the_check_and_said(
    contract_dir: tuple[Path, str], registry_url: str
) -> None:
    """A register killed while the subject's level was lowered left NONE behind: the next
    register restores the level first, so its check runs at the real level."""
    schemas, subject = contract_dir
    assert run_gate(registry_url, schemas, "register").returncode == 0
    api = apicurio_api(RegistrySettings(registry_url))
    assert api is not None
    api.set_artifact_labels(subject, {RESTORE_LEVEL_LABEL: "BACKWARD"})
    api.set_compatibility_rule(subject, "NONE")
    breaking = json.loads(V2_SCHEMA_FILE.read_text())
    breaking["fields"][2] = {"name": "price", "type": "string"}
    (schemas / f"{subject}.avsc").write_text(json.dumps(breaking))

    refused = run_gate(registry_url, schemas, "register")
    assert refused.stderr == (
        f"schema-gate: {subject}: its compatibility level was left lowered to NONE by an "
        "interrupted register; restored to BACKWARD\n"
    )
    assert refused.returncode == 1, refused.stdout
    assert f"{subject} ({schemas / subject}.avsc) at BACKWARD against version 1: INCOMPATIBLE" in (
        refused.stdout
    )
    assert api.compatibility_rule(subject) == "BACKWARD"
    assert RESTORE_LEVEL_LABEL not in api.artifact_labels(subject)
