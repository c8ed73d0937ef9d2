"""The contracts under check: a rules file in either form, from the checkout or from git."""

from __future__ import annotations

from contract_files import V3_RULES_FILE

from contract.rules import load_rules_document
from schemagate.contracts import load_contracts, parse_rules


def test_a_git_baseline_of_metadata_and_rule_set_is_that_document() -> None:
    document = load_rules_document(V3_RULES_FILE)
    assert parse_rules(V3_RULES_FILE.read_text(), "at HEAD") == document


def test_a_contract_carries_its_rules_files_metadata() -> None:
    [contract] = load_contracts(V3_RULES_FILE.parent)
    assert contract.document == load_rules_document(V3_RULES_FILE)
    assert contract.document is not None and contract.document.major == "2"
    assert contract.rules == contract.document.rule_set
