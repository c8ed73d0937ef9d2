"""The migration model: rules files with metadata and migration rules, the path between
two versions, and running it on a record with jsonata-python."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from contract.migrations import (
    ContractVersion,
    MigrationFailed,
    MigrationPath,
    NoMigration,
    Resolve,
    Transform,
    migration_path,
    run_path,
)
from contract.rules import RulesDocument, rules_document_from_json
from tests.contract_files import BREAKING_RULES, V1_SCHEMA, V2_SCHEMA, V3_SCHEMA

PLAIN = RulesDocument()


def version(
    number: int, schema: dict[str, Any], document: RulesDocument = PLAIN
) -> ContractVersion:
    return ContractVersion(number, number, json.dumps(schema), document)


V1 = version(1, V1_SCHEMA)
V2 = version(2, V2_SCHEMA)
V3 = version(3, V3_SCHEMA, rules_document_from_json(BREAKING_RULES))
HISTORY = [V3, V1, V2]  # any order


def test_the_rules_document_carries_the_major_and_round_trips() -> None:
    assert V3.major == "2" and V2.major is None
    assert rules_document_from_json(V3.document.to_json()) == V3.document
    assert V3.document.rule_set.migrating("UPGRADE")[0].name == "price-to-cents"
    assert V3.document.rule_set.migrating("DOWNGRADE")[0].name == "cents-to-price"


def test_up_resolves_first_then_runs_the_newer_versions_rules() -> None:
    path = migration_path(HISTORY, V1, V3)
    assert isinstance(path, MigrationPath)
    assert [type(step) for step in path.steps] == [Resolve, Transform]
    assert path.rule_names == ("price-to-cents",)
    record = {"ts": 1_700_000_000_000, "symbol": "MSFT", "price": 224.25}
    assert run_path(path, record) == {
        "ts": 1_700_000_000_000,
        "ticker": "MSFT",
        "price_cents": 22425,
        "currency": "USD",  # v1 has no currency: resolution into v2 gave its default
    }


def test_down_runs_the_rules_then_resolves_into_the_reader() -> None:
    path = migration_path(HISTORY, V3, V1)
    assert isinstance(path, MigrationPath)
    assert [type(step) for step in path.steps] == [Transform, Resolve]
    record = {"ts": 5, "ticker": "MSFT", "price_cents": 12345, "currency": "EUR"}
    assert run_path(path, record) == {"ts": 5, "symbol": "MSFT", "price": 123.45}


def test_within_a_major_a_path_is_resolution_alone() -> None:
    path = migration_path(HISTORY, V1, V2)
    assert isinstance(path, MigrationPath) and path.steps == (Resolve(V2),)
    assert migration_path(HISTORY, V2, V2) == MigrationPath(V2, V2, ())


def test_a_hop_across_majors_without_a_rule_is_no_path() -> None:
    bare = version(3, V3_SCHEMA, RulesDocument(metadata=V3.document.metadata))
    found = migration_path([V1, V2, bare], V2, bare)
    assert isinstance(found, NoMigration)
    assert str(found) == "no UPGRADE rule from version 2 (major none) to version 3 (major 2)"


@pytest.mark.parametrize("price", [math.nan, math.inf])
def test_what_jsonata_calls_an_error_fails_the_record_naming_the_rule(price: float) -> None:
    path = migration_path(HISTORY, V2, V3)
    assert isinstance(path, MigrationPath)
    with pytest.raises(MigrationFailed) as failed:
        run_path(path, {"ts": 1, "symbol": "A", "price": price, "currency": "USD"})
    assert failed.value.rule.name == "price-to-cents" and failed.value.migration == "UPGRADE"


def test_a_result_that_does_not_conform_fails_the_record() -> None:
    document = rules_document_from_json(
        json.loads(json.dumps(BREAKING_RULES).replace("price_cents", "cents"))
    )
    cents = version(3, V3_SCHEMA, document)
    path = migration_path([V2, cents], V2, cents)
    assert isinstance(path, MigrationPath)
    with pytest.raises(MigrationFailed, match="field price_cents is missing and has no default"):
        run_path(path, {"ts": 1, "symbol": "A", "price": 1.0, "currency": "USD"})
