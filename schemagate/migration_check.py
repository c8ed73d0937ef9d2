"""A new major, checked: the migration rules its level asks for, run on sample records.

``BACKWARD`` asks for an UPGRADE path from the previous major into the new version (an
UPDOWN rule counts for both ways), ``FORWARD`` a DOWNGRADE path from it back, ``FULL``
both; the transitive levels ask the same of every earlier version, through the chain of
versions between (``contract.migrations.migration_path``). Every path that exists runs
(``run_path``, the reference semantics): on the earlier version's records going up (the
sampled topic's, else generated ones that keep its rules, and extreme values), on the new
version's generated records going down. Records the latest version of their own major
refuses on read are left out: the old major's readers stop them already. A result must
conform to the version it is migrated into and pass that version's DLQ and ERROR rules on
read; where both ways exist, down(up(x)) must give every field of x back.

What is an error and what a warning: any problem on a record of the topic, and a failing
or non-conforming result on an ordinary generated record, are errors (exit 1); a problem
only on an extreme value, or a round trip that loses something on generated records (a
sub-cent price into cents), is a warning (a writer may never send it), an error with
``strict``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contract.migrations import (
    ContractVersion,
    MigrationFailed,
    MigrationPath,
    NoMigration,
    ResultNotConforming,
    migration_path,
    run_path,
)
from contract.rules import Migration
from schemagate.finding_ids import MigrationId
from schemagate.levels import Direction, Level
from schemagate.majors import shown
from schemagate.model import MigrationFinding, MigrationRun, Severity
from schemagate.sample_records import (
    ORDINARY_RECORDS,
    decisive_read_rules,
    extreme_records,
    first_failures,
    json_safe,
    ordinary_records,
    shown_value,
)

TOPIC, GENERATED, EXTREME = "topic", "generated", "extreme"


@dataclass(frozen=True)
class Labelled:
    """A contract version and its label in the baseline (a registry version number or a
    git commit; "new" for the version under check)."""

    label: str
    version: ContractVersion

    def describe(self) -> str:
        name = "the new version" if self.label == "new" else f"version {self.label}"
        return f"{name} (major {shown(self.version.major)})"


@dataclass(frozen=True)
class _Record:
    origin: str
    written: dict[str, Any]
    """The record as written, in the source version's shape (plain values)."""
    note: str = ""
    """What makes it extreme ("price = NaN")."""


@dataclass
class _Problem:
    """The records of one origin that met one problem on one path."""

    id: MigrationId
    origin: str
    example: _Record
    detail: str
    count: int = 0


@dataclass(frozen=True)
class _Run:
    """A path and the records run through it."""

    source: Labelled
    target: Labelled
    path: MigrationPath
    records: tuple[_Record, ...]

    def summary(self) -> MigrationRun:
        up = self.path.writer.version <= self.path.reader.version
        counts = Counter(record.origin for record in self.records)
        return MigrationRun(
            source=self.source.describe(),
            target=self.target.describe(),
            migration="UPGRADE" if up else "DOWNGRADE",
            rules=self.path.rule_names,
            records={
                origin: counts[origin] for origin in (TOPIC, GENERATED, EXTREME) if counts[origin]
            },
        )


@dataclass(frozen=True)
class NewMajorCheck:
    """The paths run on a new major's records, and what they found."""

    runs: tuple[MigrationRun, ...] = ()
    findings: tuple[MigrationFinding, ...] = ()


def check_new_major(
    history: Sequence[Labelled],
    new: Labelled,
    level: Level,
    topic_records: Mapping[str, Sequence[dict[str, Any]]] | None = None,
    strict: bool = False,
) -> NewMajorCheck:
    """The check of `new`, the first version of a new major after `history` (oldest
    first), at `level`. `topic_records`: per history label, records of that version read
    from the sampled topic (writer-shaped plain values)."""
    if not level.directions or not history:
        return NewMajorCheck()
    versions = [labelled.version for labelled in (*history, new)]
    labels = {labelled.version.version: labelled for labelled in (*history, new)}
    sources = list(history) if level.transitive else [history[-1]]
    new_records = _samples(new)
    findings: list[MigrationFinding] = []
    runs: list[MigrationRun] = []
    for source in sources:
        up = migration_path(versions, source.version, new.version)
        down = migration_path(versions, new.version, source.version)
        judge = [h for h in history if h.version.major == source.version.major][-1]
        from_topic = (topic_records or {}).get(source.label, ())
        records = _samples(source, from_topic, judge, versions)
        for path, direction, run_on in (
            (up, Direction.BACKWARD, records),
            (down, Direction.FORWARD, new_records),
        ):
            if isinstance(path, NoMigration):
                if direction in level.directions:
                    findings.append(_missing(path, labels, source, level, run_on, new))
                continue
            run = _Run(*_ends(source, new, path), path, run_on)
            runs.append(run.summary())
            findings.extend(_run(run, strict))
        if isinstance(up, MigrationPath) and isinstance(down, MigrationPath):
            findings.extend(_round_trips(source, new, up, down, records, strict))
    return NewMajorCheck(tuple(runs), tuple(findings))


def _ends(source: Labelled, new: Labelled, path: MigrationPath) -> tuple[Labelled, Labelled]:
    return (source, new) if path.writer is source.version else (new, source)


def _samples(
    labelled: Labelled,
    from_topic: Sequence[dict[str, Any]] = (),
    judge: Labelled | None = None,
    versions: Sequence[ContractVersion] = (),
) -> tuple[_Record, ...]:
    """The topic's records of the version, else generated ones; then extreme values.
    With `judge` (the latest version of the version's major), only the records its
    readers let through."""
    hints = decisive_read_rules(judge.version) if judge else ()
    drawn = ordinary_records(labelled.version, hints, ORDINARY_RECORDS * (2 if judge else 1))
    generated = [_Record(GENERATED, r) for r in drawn]
    topic = [_Record(TOPIC, dict(r)) for r in from_topic]
    if judge is not None:  # twice as many drawn, as its readers may refuse some
        generated = _accepted(generated, labelled, judge, versions)[:ORDINARY_RECORDS]
        topic = _accepted(topic, labelled, judge, versions)
    records = topic or generated
    if generated:
        base = generated[0].written
        extremes = extreme_records(labelled.version, base)
        records = [*records, *(_Record(EXTREME, e.record, str(e)) for e in extremes)]
    return tuple(records)


def _accepted(
    records: Sequence[_Record],
    source: Labelled,
    judge: Labelled,
    versions: Sequence[ContractVersion],
) -> list[_Record]:
    """The records that the latest version of the source's major lets through on read
    (read into it, its DLQ and ERROR rules pass): a record the old major's readers refuse
    already is not the migration's to carry."""
    path = migration_path(versions, source.version, judge.version)
    if not isinstance(path, MigrationPath):
        return list(records)
    read: list[tuple[_Record, dict[str, Any]]] = []
    for record in records:
        try:
            read.append((record, run_path(path, record.written)))
        except Exception:  # not readable in its own major: its readers refuse it too
            continue
    rules = decisive_read_rules(judge.version)
    verdicts = first_failures([value for _, value in read], judge.version, rules)
    return [record for (record, _), failed in zip(read, verdicts, strict=True) if failed is None]


def _missing(
    path: NoMigration,
    labels: Mapping[int, Labelled],
    source: Labelled,
    level: Level,
    records: Sequence[_Record],
    new: Labelled,
) -> MigrationFinding:
    way = "from" if path.migration == "UPGRADE" else "to"
    writer, reader = (source, new) if path.migration == "UPGRADE" else (new, source)
    older, newer = sorted((path.source, path.target), key=lambda v: v.version)
    return MigrationFinding(
        rule=MigrationId.MIGRATION_MISSING,
        source=writer.describe(),
        target=reader.describe(),
        migration=path.migration,
        rules=(),
        severity=Severity.ERROR,
        records=0,
        sampled=0,
        origin="",
        example=json_safe(records[0].written) if records else None,
        message=(
            f"{level.value} needs a path {way} {source.describe()}, but from "
            f"{labels[older.version].describe()} to {labels[newer.version].describe()} "
            f"there is no {path.migration} or UPDOWN migration rule: add one to the rules of "
            f"{labels[newer.version].describe()}"
        ),
    )


def _run(run: _Run, strict: bool) -> list[MigrationFinding]:
    problems: dict[tuple[MigrationId, str], _Problem] = {}
    results: list[tuple[_Record, dict[str, Any]]] = []
    for record in run.records:
        try:
            results.append((record, run_path(run.path, record.written)))
        except ResultNotConforming as error:
            _count(problems, MigrationId.MIGRATION_NOT_CONFORMING, record, str(error))
        except MigrationFailed as error:
            _count(problems, MigrationId.MIGRATION_FAILS, record, str(error))
        except Exception as error:  # fastavro's resolution raises many kinds
            _count(problems, MigrationId.MIGRATION_FAILS, record, f"resolution failed: {error}")
    rules = decisive_read_rules(run.target.version)
    failed = first_failures([result for _, result in results], run.target.version, rules)
    for (record, result), rule in zip(results, failed, strict=True):
        if rule is not None:
            detail = f"the result fails rule {rule!r} of {run.target.describe()}: {_short(result)}"
            _count(problems, MigrationId.MIGRATION_NOT_CONFORMING, record, detail)
    return [_finding(run, problem, strict) for problem in problems.values()]


def _round_trips(
    source: Labelled,
    new: Labelled,
    up: MigrationPath,
    down: MigrationPath,
    records: Sequence[_Record],
    strict: bool,
) -> list[MigrationFinding]:
    """down(up(x)) against x, for each record x of the source that goes up."""
    problems: dict[tuple[MigrationId, str], _Problem] = {}
    for record in records:
        if record.origin == EXTREME:
            continue  # a value a writer may never send: its own findings say what it does
        try:
            back = run_path(down, run_path(up, record.written))
        except Exception:  # a failure going up or down is a finding of that run already
            continue
        lost = [
            f"{name} {shown_value(value)} comes back as {shown_value(back.get(name))}"
            for name, value in record.written.items()
            if not _same(value, back.get(name))
        ]
        if lost:
            _count(problems, MigrationId.MIGRATION_ROUND_TRIP, record, "; ".join(lost))
    run = _Run(source, new, up, tuple(records))
    return [_finding(run, problem, strict, down) for problem in problems.values()]


def _same(one: Any, other: Any) -> bool:
    """Equal values (NaN is NaN: what went in came back)."""
    if isinstance(one, float) and math.isnan(one):
        return isinstance(other, float) and math.isnan(other)
    return bool(one == other)


def _count(
    problems: dict[tuple[MigrationId, str], _Problem],
    kind: MigrationId,
    record: _Record,
    detail: str,
) -> None:
    found = problems.setdefault(
        (kind, record.origin), _Problem(kind, record.origin, record, detail)
    )
    found.count += 1


def _severity(problem: _Problem, strict: bool) -> Severity:
    if problem.origin == TOPIC or strict:
        return Severity.ERROR
    if problem.origin == EXTREME or problem.id is MigrationId.MIGRATION_ROUND_TRIP:
        return Severity.WARNING
    return Severity.ERROR


def _finding(
    run: _Run, problem: _Problem, strict: bool, back: MigrationPath | None = None
) -> MigrationFinding:
    up = run.path.writer.version <= run.path.reader.version
    migration: Migration = "UPGRADE" if up else "DOWNGRADE"
    sampled = sum(record.origin == problem.origin for record in run.records)
    rules = run.path.rule_names + (back.rule_names if back else ())
    way = "up and back down" if back else migration
    origin = {
        TOPIC: "records of the topic",
        GENERATED: "generated records",
        EXTREME: "extreme values",
    }[problem.origin]
    example = problem.example
    value = f" ({example.note})" if example.note else ""
    what = {
        MigrationId.MIGRATION_FAILS: "fail",
        MigrationId.MIGRATION_NOT_CONFORMING: "do not conform",
        MigrationId.MIGRATION_ROUND_TRIP: "lose something",
    }[problem.id]
    return MigrationFinding(
        rule=problem.id,
        source=run.source.describe(),
        target=f"{run.target.describe()} and back" if back else run.target.describe(),
        migration=way,
        rules=rules,
        severity=_severity(problem, strict),
        records=problem.count,
        sampled=sampled,
        origin=problem.origin,
        example=json_safe(example.written),
        message=(
            f"{problem.count} of {sampled} {origin} of {run.source.describe()} {what} going "
            f"{way}{value}: {problem.detail}"
        ),
    )


def _short(value: Any) -> str:
    text = json.dumps(json_safe(value))
    return text if len(text) <= 80 else text[:79] + "…"
