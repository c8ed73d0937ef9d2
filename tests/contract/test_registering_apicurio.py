"""Registering and reading a contract on the local stack's real Apicurio Registry, whose
Confluent API keeps no metadata or rule set: v1 (no rules), v2 (the shipped rules), v3
(major 2, breaking, with migration rules) kept as version labels through its own API, read
back with subject_versions on a fresh client; the subject's level lowered for a new major
only, and restored in any case."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError
from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE, V3_RULES_FILE, V3_SCHEMA_FILE

from connection.apicurio import ApicurioApi
from connection.clients import RegistryRejected, apicurio_api, registry_client
from connection.settings import RegistrySettings
from contract.registered import RULE_SET_LABEL, subject_versions
from contract.registering import (
    RESTORE_LEVEL_LABEL,
    RegisteredVersion,
    RegistrationRefused,
    register_version,
)
from contract.rules import (
    MAJOR_PROPERTY,
    RulesDocument,
    RulesError,
    load_rules_document,
    rules_file,
)

V1, V2, V3 = (path.read_text() for path in (V1_SCHEMA_FILE, V2_SCHEMA_FILE, V3_SCHEMA_FILE))
V1_RULES = RulesDocument()
V2_RULES = load_rules_document(rules_file(V2_SCHEMA_FILE))
V3_RULES = load_rules_document(V3_RULES_FILE)


@dataclass(frozen=True)
class Subject:
    name: str
    settings: RegistrySettings
    api: ApicurioApi

    def register(
        self, schema: str, document: RulesDocument, checked: bool = True
    ) -> RegisteredVersion:
        """Registered with a client of its own, as a tool's run would."""
        client = registry_client(self.settings)
        return register_version(client, self.settings, self.name, schema, document, checked)

    def read_back(self) -> list[tuple[int, int | None, str | None, RulesDocument]]:
        client = registry_client(self.settings)
        return [
            (v.version, v.schema_id, v.major, v.document)
            for v in subject_versions(client, self.settings, self.name)
        ]

    def level(self) -> str | None:
        return self.api.compatibility_rule(self.name)


@pytest.fixture
def subject(stack: dict[str, str]) -> Iterator[Subject]:
    settings = RegistrySettings(stack["SCHEMA_REGISTRY_URL"])
    api = apicurio_api(settings)
    assert api is not None, "the local stack's registry answers as Apicurio"
    yield Subject(f"test-{uuid.uuid4().hex[:12]}-value", settings, api)


def test_majors_and_rules_are_kept_as_version_labels_and_read_back(
    subject: Subject, registry: SchemaRegistryClient
) -> None:
    first, second = subject.register(V1, V1_RULES), subject.register(V2, V2_RULES)
    third = subject.register(V3, V3_RULES)
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert first.notes == second.notes == ()
    assert third.notes == (
        f"{subject.name}: the registry at {subject.settings.url} has no compatibility groups, "
        "so it cannot check across majors: its level was lowered for this one request and "
        "restored; the gate's check across majors is the check",
    )

    ids = [registry.get_version(subject.name, n).schema_id for n in (1, 2, 3)]
    assert [first.schema_id, second.schema_id, third.schema_id] == ids
    assert subject.read_back() == [
        (1, ids[0], None, V1_RULES),
        (2, ids[1], None, V2_RULES),
        (3, ids[2], "2", V3_RULES),
    ]
    # where they are: the version's labels; the Confluent API still returns none
    labels = subject.api.version_labels(subject.name, 3)
    assert labels[MAJOR_PROPERTY] == "2"
    assert json.loads(labels[RULE_SET_LABEL]) == V3_RULES.rule_set.to_json()
    assert registry.get_version(subject.name, 3).schema.rule_set is None
    # the level is the global one again, with nothing left to restore
    assert subject.level() is None
    assert RESTORE_LEVEL_LABEL not in subject.api.artifact_labels(subject.name)


def test_registering_the_same_again_is_the_same_version_and_lowers_nothing(
    subject: Subject,
) -> None:
    subject.register(V2, V2_RULES)
    subject.register(V3, V3_RULES)
    again = subject.register(V3, V3_RULES)
    assert (again.version, again.notes) == (2, ())
    earlier = subject.register(V2, V2_RULES)  # found: no new major, nothing lowered
    assert (earlier.version, earlier.notes) == (1, ())


def test_the_same_schema_with_other_rules_is_refused_in_one_line(subject: Subject) -> None:
    subject.register(V2, V2_RULES)
    with pytest.raises(RegistrationRefused) as refused:
        subject.register(V2, V1_RULES)
    assert str(refused.value) == (
        f"{subject.name} version 1 already holds this schema with other rules or another "
        "major; a version's rules never change, and on this registry the same schema keeps "
        "the same id, so a new version needs a changed schema"
    )
    assert subject.read_back()[0][3] == V2_RULES


def test_a_new_major_not_checked_by_the_gate_is_left_to_the_registry(subject: Subject) -> None:
    """The producer registers without the gate's check: the level stays, and the
    registry refuses the breaking major."""
    subject.register(V2, V2_RULES)
    with pytest.raises(RegistryRejected, match="Incompatible artifact") as refused:
        subject.register(V3, V3_RULES, checked=False)
    assert refused.value.status == 409
    assert len(subject.read_back()) == 1


def test_the_subjects_own_level_is_restored_after_a_failed_request(
    subject: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject.register(V2, V2_RULES)
    subject.api.set_compatibility_rule(subject.name, "FULL")
    seen: list[str | None] = []

    def failing(self: ApicurioApi, *args: object) -> tuple[int, dict[str, str]]:
        seen.append(self.compatibility_rule(subject.name))
        raise SchemaRegistryError(503, 50301, "the registry went away")

    monkeypatch.setattr(ApicurioApi, "find_or_create_version", failing)
    with pytest.raises(RegistryRejected, match="the registry went away"):
        subject.register(V3, V3_RULES)
    assert seen == ["NONE"]  # lowered for the request
    assert subject.level() == "FULL"
    assert RESTORE_LEVEL_LABEL not in subject.api.artifact_labels(subject.name)


def test_a_level_left_lowered_is_restored_and_said_at_the_next_register(
    subject: Subject,
) -> None:
    subject.register(V2, V2_RULES)
    # what a register killed while the level was lowered leaves behind
    subject.api.set_artifact_labels(subject.name, {RESTORE_LEVEL_LABEL: "(global)"})
    subject.api.set_compatibility_rule(subject.name, "NONE")

    again = subject.register(V2, V2_RULES)
    assert again.notes == (
        f"{subject.name}: its compatibility level was left lowered to NONE by an interrupted "
        "register; restored to the global level",
    )
    assert subject.level() is None
    assert RESTORE_LEVEL_LABEL not in subject.api.artifact_labels(subject.name)


def test_a_rule_set_label_that_is_not_a_rule_set_is_one_line(subject: Subject) -> None:
    version, _ = subject.api.find_or_create_version(
        subject.name, V2, {RULE_SET_LABEL: '{"domainRules": [{"name": "x"}]}'}
    )
    with pytest.raises(RulesError) as error:
        subject.read_back()
    assert str(error.value).startswith(
        f"registry {subject.settings.url}: {subject.name} version {version}, "
        f"label {RULE_SET_LABEL}: rule 'x'"
    )
    assert "\n" not in str(error.value)


def test_labels_are_read_through_the_same_tls_settings(
    subject: Subject, stack: dict[str, str]
) -> None:
    """Apicurio's own API is asked with the registry's settings: over https with the
    stack's CA file, as the Confluent API is."""
    subject.register(V2, V2_RULES)
    tls = RegistrySettings(stack["STACK_REGISTRY_TLS_URL"], ca_location=stack["STACK_CA_FILE"])
    versions = subject_versions(registry_client(tls), tls, subject.name)
    assert [version.document for version in versions] == [V2_RULES]
