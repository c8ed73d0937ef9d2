"""Render a Report: text for people, JSON and JUnit XML for tools, GitHub annotations for CI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from contract.rules import DLQ, ERROR
from schemagate.contracts import rules_path
from schemagate.majors import shown
from schemagate.model import (
    MigrationFinding,
    MigrationRun,
    Report,
    RuleCount,
    RuleFinding,
    RulesCheck,
    Sample,
    SampleJudgement,
    SubjectResult,
    Violation,
)


def _compared(result: SubjectResult) -> str:
    if not result.level.directions:
        return "no check at level NONE"
    if result.new_major:
        return f"first version of major {shown(result.major)}, its migrations checked"
    if result.migrations:
        return f"not compared: major {shown(result.major)} cannot follow the latest version"
    if not result.compared_with:
        return "new subject, nothing to compare with"
    noun = "version" if len(result.compared_with) == 1 else "versions"
    return f"against {noun} {', '.join(result.compared_with)}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _verdict(result: SubjectResult) -> str:
    if result.compatible:
        return "compatible"
    reasons = [_plural(len(result.violations), "violation")] if result.violations else []
    if result.rules and result.rules.breaking:
        reasons.append(_plural(len(result.rules.breaking), "breaking rule change"))
    if result.migration_errors:
        reasons.append(_plural(len(result.migration_errors), "migration error"))
    return f"INCOMPATIBLE, {', '.join(reasons)}"


def _migration_line(finding: MigrationFinding) -> str:
    way = f"{finding.migration}, " if finding.migration else ""
    rules = f" [{', '.join(finding.rules)}]" if finding.rules else ""
    return (
        f"{finding.rule.value} {finding.source} -> {finding.target}{rules} "
        f"({way}{finding.severity.value})"
    )


def _run_line(run: MigrationRun) -> str:
    rules = f" [{', '.join(run.rules)}]" if run.rules else ""
    counts = ", ".join(f"{count} {origin}" for origin, count in run.records.items())
    return f"ran {run.migration} {run.source} -> {run.target}{rules} on {counts} records"


def _example(finding: MigrationFinding) -> str:
    return json.dumps(finding.example, sort_keys=False)


def _migration_lines(finding: MigrationFinding) -> list[str]:
    """The finding's line, its message and its example record."""
    lines = [_migration_line(finding), f"  {finding.message}"]
    if finding.example is not None:
        lines.append(f"  example: {_example(finding)}")
    return lines


def _rules_heading(rules: RulesCheck) -> str:
    if not rules.compared:
        return f"rules ({rules.file}) not compared: {rules.baseline}"
    if not rules.findings:
        return f"rules ({rules.file}) against {rules.baseline}: no changes"
    breaking = len(rules.breaking)
    return (
        f"rules ({rules.file}) against {rules.baseline}: "
        f"{_plural(len(rules.findings), 'change')}, {breaking} breaking"
    )


def _weight(finding: RuleFinding) -> str:
    return "breaking" if finding.breaking else finding.severity.value


def _finding_line(finding: RuleFinding) -> str:
    return f"{finding.rule.value} {finding.name}: {finding.old} -> {finding.new}"


def _where_judged(judgement: SampleJudgement) -> str:
    return "on " + " and ".join(direction.lower() for direction in judgement.directions)


def _count_sentence(count: RuleCount, judged: int) -> str:
    of = f"{count.failed} of {judged} sampled records"
    if count.action == DLQ:
        what = f"would send {of} to the dead-letter topic"
    elif count.action == ERROR:
        what = f"would fail {of} with an error (the write or the read fails)"
    else:
        what = f"fails on {of} (counted only)"
    return f"rule {count.name} ({count.action}) {what}"


def _sample_heading(sample: Sample) -> str:
    partitions = _plural(sample.partitions, "partition")
    parts = [f"{sample.read} read"]
    undecodable = sum(sample.undecodable.values())
    if undecodable:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sample.undecodable.items())
        parts.append(f"{undecodable} not decodable into the new schema ({reasons})")
    if sample.not_judged:
        parts.append(f"{sample.not_judged} not judged (null in a field the rules read)")
    parts.append(f"{sample.judged} judged")
    return (
        f"sample of topic {sample.topic} (the last {sample.per_partition} records of each of "
        f"{partitions}): {', '.join(parts)}"
    )


def _sample_lines(sample: Sample) -> list[str]:
    """The sample's heading, then per judgement its directions and one line per rule."""
    lines = [_sample_heading(sample)]
    if not sample.judgements:
        lines.append("  no rule runs on write or read")
    for judgement in sample.judgements:
        lines.append(
            f"  {_where_judged(judgement)}: {judgement.passed} of {sample.judged} pass "
            "every DLQ and ERROR rule"
        )
        lines.extend(f"    {_count_sentence(c, sample.judged)}" for c in judgement.rules)
    return lines


def _where(violation: Violation) -> str:
    seen_by = f"{violation.direction.value}, " if violation.direction else ""
    return f"{seen_by}version {violation.against}"


def _summary(report: Report) -> str:
    failed = sum(not result.compatible for result in report.subjects)
    total = f"{len(report.subjects)} subject{'s' if len(report.subjects) > 1 else ''}"
    verdict = f"{failed} of {total} incompatible" if failed else f"{total} compatible"
    return f"{verdict} (baseline {report.baseline})"


def render_text(report: Report) -> str:
    lines = []
    for result in report.subjects:
        lines.append(
            f"{result.subject} ({result.file}) at {result.level.value} {_compared(result)}: "
            f"{_verdict(result)}"
        )
        for v in result.violations:
            path = v.path or "(record)"
            lines.append(f"  {v.rule.value} {path}: {v.old_type} -> {v.new_type} ({_where(v)})")
            lines.append(f"    {v.message}")
        if result.rules:
            lines.append(f"  {_rules_heading(result.rules)}")
            for finding in result.rules.findings:
                lines.append(f"  {_finding_line(finding)} ({_weight(finding)})")
                lines.append(f"    {finding.message}")
        lines.extend(f"  {_run_line(run)}" for run in result.migration_runs)
        for migration in result.migrations:
            lines.extend(f"  {line}" for line in _migration_lines(migration))
        if result.sample:
            lines.extend(f"  {line}" for line in _sample_lines(result.sample))
    for r in report.registrations:
        lines.append(f"registered {r.subject} version {r.version} id {r.schema_id}")
        lines.extend(f"  {note}" for note in r.notes)
    lines.append(_summary(report))
    return "\n".join(lines)


def render_json(report: Report) -> str:
    document: dict[str, Any] = {
        "compatible": report.compatible,
        "baseline": report.baseline,
        "subjects": [_subject_document(result) for result in report.subjects],
        "registrations": [asdict(registration) for registration in report.registrations],
    }
    return json.dumps(document, indent=2)


def _subject_document(result: SubjectResult) -> dict[str, Any]:
    document = {**asdict(result), "compatible": result.compatible}
    if result.sample:
        document["sample"]["judged"] = result.sample.judged
    return document


def render_junit(report: Report) -> str:
    """One test case per subject; a failing case lists every violation in its failure."""
    failures = sum(not result.compatible for result in report.subjects)
    suites = ET.Element("testsuites", name="schema-gate")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"schema-gate ({report.baseline})",
        tests=str(len(report.subjects)),
        failures=str(failures),
        errors="0",
    )
    for result in report.subjects:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"schema-gate.{result.subject}",
            name=f"{result.subject} {result.level.value}",
            file=result.file,
        )
        findings = result.rules.findings if result.rules else ()
        migration_errors = result.migration_errors
        if not result.compatible:
            breaking = [f for f in findings if f.breaking]
            ids = (
                {v.rule.value for v in result.violations}
                | {f.rule.value for f in breaking}
                | {f.rule.value for f in migration_errors}
            )
            failure = ET.SubElement(
                case, "failure", message=_verdict(result), type=",".join(sorted(ids))
            )
            failure.text = "\n".join(
                [
                    *(
                        f"{v.rule.value} {v.path or '(record)'} ({_where(v)}): {v.message}"
                        for v in result.violations
                    ),
                    *(f"{_finding_line(f)} (breaking): {f.message}" for f in breaking),
                    *("\n".join(_migration_lines(f)) for f in migration_errors),
                ]
            )
        notes = [
            *(
                f"{_finding_line(f)} ({_weight(f)}): {f.message}"
                for f in findings
                if not f.breaking
            ),
            *(_run_line(run) for run in result.migration_runs),
            *(
                "\n".join(_migration_lines(f))
                for f in result.migrations
                if f not in migration_errors
            ),
            *(_sample_lines(result.sample) if result.sample else ()),
        ]
        if notes:
            ET.SubElement(case, "system-out").text = "\n".join(notes)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report) -> str:
    """GitHub Actions workflow commands: one error annotation per violation, on its file."""
    lines = [
        f"::error file={_escape_property(result.file)},"
        f"title={_escape_property(f'schema-gate {v.rule.value} {v.path}'.rstrip())}"
        f"::{_escape_data(f'{result.subject} ({_where(v)}): {v.message}')}"
        for result in report.subjects
        for v in result.violations
    ]
    for result in report.subjects:
        if result.rules:
            lines.extend(
                f"::{_GITHUB_LEVEL[_weight(f)]} file={_escape_property(result.rules.file)},"
                f"title={_escape_property(f'schema-gate {f.rule.value} {f.name}')}"
                f"::{_escape_data(f'{result.subject} ({_weight(f)}, {f.against}): {f.message}')}"
                for f in result.rules.findings
            )
        rules_file = _escape_property(str(rules_path(Path(result.file))))
        lines.extend(
            f"::{_GITHUB_LEVEL[f.severity.value]} file={rules_file},"
            f"title={_escape_property(f'schema-gate {f.rule.value}')}"
            f"::{_escape_data(chr(10).join([result.subject, *_migration_lines(f)]))}"
            for f in result.migrations
        )
        if result.sample:
            lines.append(
                f"::notice file={_escape_property(result.file)},"
                f"title={_escape_property(f'schema-gate sample of {result.sample.topic}')}"
                f"::{_escape_data(chr(10).join(_sample_lines(result.sample)))}"
            )
    lines.append(_summary(report))
    return "\n".join(lines)


_GITHUB_LEVEL = {"breaking": "error", "error": "error", "warning": "warning", "info": "notice"}

RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "github": render_github,
}
