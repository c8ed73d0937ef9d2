"""The subcommands' work: build a Report from contracts and a baseline (git or registry)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from schemagate.check import check_subject
from schemagate.contracts import Contract
from schemagate.git_history import history_at
from schemagate.levels import Level
from schemagate.model import Report, SubjectResult, Violation
from schemagate.registry import Registry, Verdict
from schemagate.rules import Rule

DEFAULT_OFFLINE_LEVEL = Level.BACKWARD
"""Without a registry there is no configured level: the registries' default applies."""


def check_offline(contracts: Sequence[Contract], ref: str, level: Level | None) -> Report:
    """Each contract against its own file's versions in git up to `ref`."""
    results = tuple(
        check_subject(
            contract.subject,
            str(contract.path),
            contract.schema,
            history_at(contract.path, ref),
            level or DEFAULT_OFFLINE_LEVEL,
        )
        for contract in contracts
    )
    return Report(baseline=f"git:{ref}", subjects=results)


def check_online(contracts: Sequence[Contract], registry: Registry, level: Level | None) -> Report:
    """Each contract against its subject's registered versions.

    At the subject's own level the registry is asked too, and a rejection the local
    analysis did not explain is reported rather than hidden (registering would fail).
    """
    results = []
    for contract in contracts:
        subject_level = level or registry.level(contract.subject)
        history = registry.history(contract.subject)
        result = check_subject(
            contract.subject, str(contract.path), contract.schema, history, subject_level
        )
        if level is None and result.compatible:
            verdicts = registry.verdicts(contract.subject, contract.text, result.compared_with)
            rejections = tuple(_rejection(result, verdict) for verdict in verdicts)
            result = replace(result, violations=tuple(v for v in rejections if v is not None))
        results.append(result)
    return Report(baseline=registry.url, subjects=tuple(results))


def register(contracts: Sequence[Contract], registry: Registry) -> Report:
    """Check at each subject's level, then register the contracts that pass."""
    report = check_online(contracts, registry, level=None)
    passing = {result.subject for result in report.subjects if result.compatible}
    registrations = tuple(
        registry.register(contract.subject, contract.text)
        for contract in contracts
        if contract.subject in passing
    )
    return replace(report, registrations=registrations)


def _rejection(result: SubjectResult, verdict: Verdict) -> Violation | None:
    if verdict.compatible:
        return None
    reasons = "; ".join(verdict.messages) or "it gave no reason"
    return Violation(
        rule=Rule.REGISTRY_REJECTED,
        path="",
        old_type=f"version {verdict.version}",
        new_type=result.file,
        message=(
            f"the registry rejects the schema against version {verdict.version} at "
            f"{result.level.value} although no rule here found a problem: {reasons}"
        ),
        direction=None,
        against=verdict.version,
    )
