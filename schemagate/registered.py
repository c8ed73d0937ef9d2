"""What the registry keeps beside each registered version's schema (its major and rules),
for the gate's compatibility groups, migration checks and rules baseline.

``contract.registered.subject_versions`` reads them: what the registry returns with a
version (Confluent's), else what ``register`` kept in the registry itself (Apicurio's
version labels). A version registered by a tool that kept nothing has an empty document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from contract.rules import RulesDocument
from schemagate.check import Version
from schemagate.registry import Registry


def kept_documents(registry: Registry, subject: str) -> dict[str, RulesDocument]:
    """Per version label, the metadata and rules the registry keeps with it (GateError in
    one line when it cannot be asked, or keeps rules that are not a rule set)."""
    return {str(v.version): v.document for v in registry.contract_versions(subject)}


def with_documents(history: Sequence[Version], kept: Mapping[str, RulesDocument]) -> list[Version]:
    """The history, each version with what the registry keeps beside it."""
    return [replace(v, document=kept.get(v.label, RulesDocument())) for v in history]
