"""Render a Report: text for people, JSON and JUnit XML for tools, GitHub annotations for CI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from schemagate.model import Report, SubjectResult, Violation


def _compared(result: SubjectResult) -> str:
    if not result.level.directions:
        return "no check at level NONE"
    if not result.compared_with:
        return "new subject, nothing to compare with"
    noun = "version" if len(result.compared_with) == 1 else "versions"
    return f"against {noun} {', '.join(result.compared_with)}"


def _verdict(result: SubjectResult) -> str:
    if result.compatible:
        return "compatible"
    count = len(result.violations)
    return f"INCOMPATIBLE, {count} violation{'s' if count > 1 else ''}"


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
    lines.extend(
        f"registered {r.subject} version {r.version} id {r.schema_id}" for r in report.registrations
    )
    lines.append(_summary(report))
    return "\n".join(lines)


def render_json(report: Report) -> str:
    document: dict[str, Any] = {
        "compatible": report.compatible,
        "baseline": report.baseline,
        "subjects": [
            {**asdict(result), "compatible": result.compatible} for result in report.subjects
        ],
        "registrations": [asdict(registration) for registration in report.registrations],
    }
    return json.dumps(document, indent=2)


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
        if not result.compatible:
            failure = ET.SubElement(
                case,
                "failure",
                message=_verdict(result),
                type=",".join(sorted({v.rule.value for v in result.violations})),
            )
            failure.text = "\n".join(
                f"{v.rule.value} {v.path or '(record)'} ({_where(v)}): {v.message}"
                for v in result.violations
            )
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
    lines.append(_summary(report))
    return "\n".join(lines)


RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "github": render_github,
}
