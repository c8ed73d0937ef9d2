"""What the registry's versions carry beside their schemas (their major and rules), for the
gate's compatibility groups and migration checks.

The one place that reads them: each version's ``ruleSet`` as the registry's Confluent API
returns it. That API keeps no ``metadata`` (Apicurio's drops it, and its ``ruleSet``), so
registered versions have no major here, and where no version returns a rule set the
latest takes the rules baseline (the rules file at git's HEAD, see ``gate``). A reader of
what ``schemagate register`` keeps in the registry itself (Apicurio's version labels)
replaces this module's body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from contract.rules import RulesDocument, RulesError, RuleSet, rule_set_from_json
from schemagate.check import Version
from schemagate.registry import Registry


def registered_documents(
    registry: Registry,
    subject: str,
    history: Sequence[Version],
    baseline: tuple[str, RuleSet | None] | None,
) -> list[Version]:
    """The history with each version's rules: the latest's are the rules baseline (its
    registered rule set, else git's), the others' their registered rule set."""
    documented = [replace(v, document=_registered(registry, subject, v)) for v in history[:-1]]
    if history:
        latest = baseline[1] if baseline is not None and baseline[1] is not None else RuleSet()
        documented.append(replace(history[-1], document=RulesDocument(latest)))
    return documented


def _registered(registry: Registry, subject: str, version: Version) -> RulesDocument:
    """An earlier version's registered rules; none where the contract no longer accepts
    them (a registered version cannot be fixed; its rules only direct generated records)."""
    data = registry.rule_set(subject, version.label)
    try:
        return RulesDocument(rule_set_from_json(data, f"{subject} version {version.label}"))
    except RulesError:
        return RulesDocument()
