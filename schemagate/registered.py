"""What the registry keeps beside each registered version's schema (its major and rules),
for the gate's compatibility groups, migration checks and rules baseline.

``contract.registered.subject_versions`` reads them: what the registry returns with a
version (Confluent's), else what ``register`` kept in the registry itself (Apicurio's
version labels). A version registered by a tool that kept nothing has an empty document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from connection.clients import RegistryFailure
from contract.registered import subject_versions
from contract.rules import RulesDocument, RulesError
from schemagate.check import Version
from schemagate.errors import GateError
from schemagate.registry import Registry


def kept_documents(registry: Registry, subject: str) -> dict[str, RulesDocument]:
    """Per version label, the metadata and rules the registry keeps with it (GateError in
    one line when it cannot be asked, or keeps rules that are not a rule set)."""
    try:
        # The Registry's own client and settings: one client per run (registry.py is where
        # a method for this belongs).
        versions = subject_versions(registry._client, registry._settings, subject)
    except (RegistryFailure, RulesError) as error:
        raise GateError(str(error)) from None
    return {str(version.version): version.document for version in versions}


def with_documents(history: Sequence[Version], kept: Mapping[str, RulesDocument]) -> list[Version]:
    """The history, each version with what the registry keeps beside it."""
    return [replace(v, document=kept.get(v.label, RulesDocument())) for v in history]
