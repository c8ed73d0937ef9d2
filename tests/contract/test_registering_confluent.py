"""Registering and reading a contract on Confluent's registry: against a loopback stand-in
that answers as its API does (tests/confluent_standin.py), its registry not being
available here. v1 (no rules), v2 (the shipped rules), v3 (major 2, breaking, with
migration rules), read back with subject_versions on a fresh client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_standin import ConfluentStandIn, confluent_standin
from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE, V3_RULES_FILE, V3_SCHEMA_FILE

from connection.clients import RegistryRejected, registry_client
from connection.settings import RegistrySettings
from contract.registered import subject_versions
from contract.registering import RegistrationRefused, register_version
from contract.rules import MAJOR_PROPERTY, RulesDocument, load_rules_document, rules_file

SUBJECT = "prices-value"
V1, V2, V3 = (path.read_text() for path in (V1_SCHEMA_FILE, V2_SCHEMA_FILE, V3_SCHEMA_FILE))
V2_RULES = load_rules_document(rules_file(V2_SCHEMA_FILE))
V3_RULES = load_rules_document(V3_RULES_FILE)
V1_RULES = RulesDocument()


@pytest.fixture
def standin() -> Iterator[ConfluentStandIn]:
    with confluent_standin() as server:
        yield server


def register(server: ConfluentStandIn, schema: str, document: RulesDocument) -> tuple[int, int]:
    settings = RegistrySettings(server.url)
    registered = register_version(
        registry_client(settings), settings, SUBJECT, schema, document, new_major_checked=True
    )
    return registered.version, registered.schema_id


def read_back(server: ConfluentStandIn) -> list[tuple[int, str | None, RulesDocument]]:
    settings = RegistrySettings(server.url)
    versions = subject_versions(registry_client(settings), settings, SUBJECT)
    return [(version.version, version.major, version.document) for version in versions]


def test_majors_and_rules_are_kept_by_the_registry_and_read_back(
    standin: ConfluentStandIn,
) -> None:
    assert register(standin, V1, V1_RULES)[0] == 1
    assert register(standin, V2, V2_RULES)[0] == 2
    assert register(standin, V3, V3_RULES)[0] == 3

    assert read_back(standin) == [(1, None, V1_RULES), (2, None, V2_RULES), (3, "2", V3_RULES)]
    assert standin.config(SUBJECT)["compatibilityGroup"] == MAJOR_PROPERTY
    # every request explicit, an empty rule set and no metadata too (else inherited)
    first, second, third = standin.requests.registrations(SUBJECT)
    assert (first["metadata"], first["ruleSet"]) == ({"properties": {}}, {})
    assert second["ruleSet"]["domainRules"] and not second["ruleSet"].get("migrationRules")
    assert third["metadata"] == {"properties": {MAJOR_PROPERTY: "2"}}
    assert [rule["name"] for rule in third["ruleSet"]["migrationRules"]] == [
        rule.name for rule in V3_RULES.rule_set.migration_rules
    ]


def test_registering_the_same_again_is_the_same_version(standin: ConfluentStandIn) -> None:
    register(standin, V2, V2_RULES)
    assert register(standin, V2, V2_RULES) == (1, 1)
    assert len(standin.requests.registrations(SUBJECT)) == 2


def test_a_version_without_rules_after_one_with_them_does_not_inherit_them(
    standin: ConfluentStandIn,
) -> None:
    register(standin, V1, V1_RULES)
    register(standin, V2, V2_RULES)
    register(standin, V3, V3_RULES)
    v4 = json.loads(V3)
    v4["fields"].append({"name": "venue", "type": "string", "default": ""})
    major_2_without_rules = RulesDocument(metadata=V3_RULES.metadata)
    register(standin, json.dumps(v4), major_2_without_rules)
    assert read_back(standin)[-1] == (4, "2", major_2_without_rules)


def test_the_same_schema_with_other_rules_is_a_new_version_with_an_id_of_its_own(
    standin: ConfluentStandIn,
) -> None:
    version, schema_id = register(standin, V2, V1_RULES)
    assert register(standin, V2, V2_RULES) == (version + 1, schema_id + 1)
    assert [document for _, _, document in read_back(standin)] == [V1_RULES, V2_RULES]


def test_without_the_group_the_registry_refuses_the_breaking_major() -> None:
    """The stand-in keeps its level but not the group: the breaking v3 is refused by the
    registry (409) rather than registered across majors without a check."""
    with confluent_standin(keeps_groups=False) as server:
        register(server, V2, V2_RULES)
        with pytest.raises(RegistrationRefused, match="supports no compatibility groups"):
            register(server, V3, V3_RULES)
        assert len(server.requests.registrations(SUBJECT)) == 1


def test_the_group_is_what_lets_the_breaking_major_in(standin: ConfluentStandIn) -> None:
    register(standin, V2, V2_RULES)
    standin.configs[SUBJECT] = {"compatibilityGroup": "some.other.property"}
    with pytest.raises(RegistrationRefused, match=r"groups versions by 'some\.other\.property'"):
        register(standin, V3, V3_RULES)
    standin.configs[SUBJECT] = {}
    without_major = RulesDocument(V3_RULES.rule_set)
    with pytest.raises(RegistryRejected, match="incompatible with an earlier schema"):
        register(standin, V3, without_major)


def test_a_registry_that_strips_rule_sets_is_named_in_one_line(tmp_path: Path) -> None:
    with confluent_standin(keeps_rule_sets=False) as server:
        settings = RegistrySettings(server.url)
        client = registry_client(settings)
        registered = register_version(client, settings, SUBJECT, V2, V2_RULES)
        assert registered.notes == (
            f"the registry at {server.url} did not keep the ruleSet of {SUBJECT} version 1: "
            "readers of this registry will not find them",
        )
        assert read_back(server) == [(1, None, RulesDocument(metadata={}))]
