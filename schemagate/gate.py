"""The subcommands' work: build a Report from contracts and a baseline (git or registry)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from contract.rules import RulesDocument, RuleSet
from schemagate.check import Options, Version, check_subject, paths_into
from schemagate.contracts import Contract, major_only, parse_rules
from schemagate.errors import GateError
from schemagate.finding_ids import ViolationId
from schemagate.git_history import history_at, in_work_tree, text_at, texts_at
from schemagate.levels import Level
from schemagate.majors import shown
from schemagate.model import Report, RulesCheck, SubjectResult, Violation
from schemagate.registered import kept_documents, with_documents
from schemagate.registry import Registry, Verdict
from schemagate.rule_changes import compare_rule_sets
from schemagate.sample import Sampling, read_topic, take_sample, topic_records

DEFAULT_OFFLINE_LEVEL = Level.BACKWARD
"""Without a registry there is no configured level: the registries' default applies."""


def check_offline(
    contracts: Sequence[Contract], ref: str, level: Level | None, strict: bool = False
) -> Report:
    """Each contract against its own files' versions in git up to `ref`: the schema
    against its versions of the same major (every one, at transitive levels), or a new
    major's migrations run; the rules against the rules file as it is at `ref`."""
    results = []
    for contract in contracts:
        history = _documented_in_git(contract, history_at(contract.path, ref), ref)
        result = check_subject(
            contract.subject,
            str(contract.path),
            contract.schema,
            history,
            level or DEFAULT_OFFLINE_LEVEL,
            contract.document,
            Options(strict=strict),
        )
        baseline = _rules_in_git(contract, ref) if history else None
        results.append(replace(result, rules=_rules_check(contract, _within(result, baseline))))
    return Report(baseline=f"git:{ref}", subjects=tuple(results))


def check_online(
    contracts: Sequence[Contract],
    registry: Registry,
    level: Level | None,
    sampling: Sampling | None = None,
    strict: bool = False,
) -> Report:
    """Each contract against its subject's registered versions.

    At the subject's own level the registry is asked too, and a rejection the local
    analysis did not explain is reported rather than hidden (registering would fail).
    The rules are compared with the latest version's rule set when the registry returns
    one, else with the rules file at git's HEAD. With `sampling`, the sampled topic's
    contract judges the topic's last records.
    """
    sampled = sampled_contract(contracts, sampling.topic) if sampling else None
    results = []
    for contract in contracts:
        subject_level = level or registry.level(contract.subject)
        history = registry.history(contract.subject)
        history = with_documents(history, kept_documents(registry, contract.subject))
        baseline = _rules_in_registry(contract, history[-1]) if history else None
        history = _latest_with_rules(history, baseline)
        read = read_topic(sampling) if sampling is not None and contract is sampled else None
        by_version = topic_records(sampling, read, history) if sampling and read else None
        options = Options(strict, by_version)
        result = check_subject(
            contract.subject,
            str(contract.path),
            contract.schema,
            history,
            subject_level,
            contract.document,
            options,
        )
        if level is None and result.compatible and result.compared_with:
            verdicts = registry.verdicts(contract.subject, contract.text, result.compared_with)
            rejections = tuple(_rejection(result, verdict) for verdict in verdicts)
            result = replace(result, violations=tuple(v for v in rejections if v is not None))
        result = replace(result, rules=_rules_check(contract, _within(result, baseline)))
        if sampling is not None and read is not None:
            across = (
                paths_into(history, contract.schema, contract.document)
                if result.new_major
                else None
            )
            sample = take_sample(sampling, contract.text, contract.rules, read, across)
            result = replace(result, sample=sample)
        results.append(result)
    return Report(baseline=registry.url, subjects=tuple(results))


def register(
    contracts: Sequence[Contract],
    registry: Registry,
    sampling: Sampling | None = None,
    strict: bool = False,
) -> Report:
    """Check at each subject's level (and take the sample), then register the contracts
    that pass."""
    report = check_online(contracts, registry, level=None, sampling=sampling, strict=strict)
    passing = {result.subject for result in report.subjects if result.compatible}
    registrations = tuple(
        registry.register(contract.subject, contract.text, contract.document)
        for contract in contracts
        if contract.subject in passing
    )
    return replace(report, registrations=registrations)


def sampled_contract(contracts: Sequence[Contract], topic: str) -> Contract:
    """The contract of the topic's values: subject `<topic>-value` (the registry's
    TopicNameStrategy), or the only contract checked."""
    for contract in contracts:
        if contract.subject == f"{topic}-value":
            return contract
    if len(contracts) == 1:
        return contracts[0]
    raise GateError(
        f"no contract for topic {topic} among the files checked (expected {topic}-value.avsc, "
        "or name the one file to check)"
    )


Baseline = tuple[str, RuleSet | None]
"""Where the old rule set came from, and the old rule set (None: nothing to compare with)."""


def _within(result: SubjectResult, baseline: Baseline | None) -> Baseline | None:
    """The rules baseline within the contract's major: none for a new major's first
    version (its fields are not the previous major's; its migrations are checked)."""
    if result.major_changed and baseline is not None:
        major = shown(result.major)
        return f"major {major} is not the latest's: rules are compared within a major", None
    return baseline


def _rules_check(contract: Contract, baseline: Baseline | None) -> RulesCheck | None:
    """The contract's rules against the baseline's (None: a new subject); None when
    neither has rules."""
    file = str(contract.rules_path)
    if baseline is None:
        if contract.rules is None:
            return None
        return RulesCheck(file, "new subject, nothing to compare with", compared=False)
    label, old = baseline
    if old is None:
        if contract.rules is None:
            return None
        return RulesCheck(file, label, compared=False)
    if contract.rules is None and not old.domain_rules:
        return None
    findings = compare_rule_sets(old, contract.rules or RuleSet(), label)
    return RulesCheck(file, label, compared=True, findings=findings)


def _documented_in_git(contract: Contract, history: list[Version], ref: str) -> list[Version]:
    """Each version with the rules file beside it (its major and rules): as in the commit
    the version is labelled with, the latest as at `ref`. An earlier version's rules file
    that the contract no longer accepts (the rules' subset may have changed since) gives
    its major only: history cannot be fixed, and its rules only direct generated records."""
    documented = []
    for index, version in enumerate(history):
        latest = index == len(history) - 1
        text = text_at(contract.rules_path, ref if latest else version.label)
        if text is not None:
            origin = f"{contract.rules_path} at {version.label}"
            try:
                document = parse_rules(text, origin)
            except GateError:
                if latest:
                    raise
                document = major_only(text)
            version = replace(version, document=document)
        documented.append(version)
    return documented


def _rules_in_git(contract: Contract, ref: str, why: str = "") -> Baseline:
    """The rules file as it is at `ref` (an empty rule set where it is absent)."""
    path = contract.rules_path
    versions = texts_at(path, ref)
    if not versions:
        return f"git:{ref}, no rules file{why}", RuleSet()
    label, text = versions[-1]
    return f"git {label}{why}", parse_rules(text, f"{path} at {label}").rule_set


def _rules_in_registry(contract: Contract, latest: Version) -> Baseline:
    """The latest version's rule set when the registry keeps one with it (its metadata
    and rules: schemagate.registered), else git's HEAD."""
    if latest.document != RulesDocument():
        return f"registry version {latest.label}", latest.document.rule_set
    if not in_work_tree(contract.rules_path):
        return (
            f"the registry returned no rule set with version {latest.label} and the rules "
            "file is not in a git repository"
        ), None
    return _rules_in_git(
        contract, "HEAD", f" (the registry returned no rule set with version {latest.label})"
    )


def _latest_with_rules(history: list[Version], baseline: Baseline | None) -> list[Version]:
    """The history, its latest version with the baseline's rules where the registry keeps
    none with it (git's HEAD): the rules its records were judged by."""
    if not history or baseline is None or baseline[1] is None:
        return history
    if history[-1].document.rule_set != RuleSet():
        return history
    latest = history[-1]
    document = RulesDocument(baseline[1], latest.document.metadata)
    return [*history[:-1], replace(latest, document=document)]


def _rejection(result: SubjectResult, verdict: Verdict) -> Violation | None:
    if verdict.compatible:
        return None
    reasons = "; ".join(verdict.messages) or "it gave no reason"
    return Violation(
        rule=ViolationId.REGISTRY_REJECTED,
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
