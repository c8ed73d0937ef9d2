"""Reading a record written in one version of the contract as another version: the path
between them, and running it on a record outside Spark.

The path goes one hop per pair of adjacent versions, from the writer's to the reader's.
The newer version of each pair supplies the hop's migration rules, in both directions
(as Confluent's clients have it): going up (UPGRADE) a hop runs the newer version's
UPGRADE and UPDOWN rules in order; going down (DOWNGRADE) the hops run newest first,
each with the newer version's DOWNGRADE and UPDOWN rules in reverse order. A hop whose
newer version has no rule that way is Avro's schema resolution, allowed only within a
major: across majors it is no path at all (``NoMigration``). Resolution hops in a row
resolve in one step, from the first version to the last, as any Avro reader does.

A rule sees the record as plain values: logical types as their Avro base type (``ts`` in
milliseconds, as Java's executor sees it), a union as its value. What it returns is made
to conform to the hop's target version: a missing field takes its default (else the
record fails), extra fields are dropped, a whole number goes into a long or a double,
anything else that does not fit fails the record.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from io import BytesIO
from typing import Any, TypeAlias

import fastavro

from contract.jsonata import TransformFailed, evaluate
from contract.rules import READ, Action, Migration, Rule, RulesDocument

_INT_RANGE = {"int": 2**31, "long": 2**63}


@dataclass(frozen=True, eq=False)
class ContractVersion:
    """One registered version of the contract: its schema and what it carries beside it
    (metadata: its major; its domain and migration rules)."""

    version: int
    schema_id: int | None
    schema: str
    document: RulesDocument = field(default_factory=RulesDocument)

    @property
    def major(self) -> str | None:
        return self.document.major

    @cached_property
    def parsed(self) -> dict[str, Any]:
        """The schema's JSON document."""
        document: dict[str, Any] = json.loads(self.schema)
        return document

    @cached_property
    def plain(self) -> Any:
        """The schema parsed with its logical types as their base types: records read
        and written through it hold what a migration rule sees."""
        return fastavro.parse_schema(without_logical_types(self.parsed))

    def label(self) -> str:
        major = "none" if self.major is None else self.major
        return f"version {self.version} (major {major})"


@dataclass(frozen=True)
class Resolve:
    """Avro schema resolution into the target version."""

    target: ContractVersion


@dataclass(frozen=True)
class Transform:
    """A hop with rules: the source version's record through the rules (in run order),
    conformed to the target version."""

    source: ContractVersion
    target: ContractVersion
    migration: Migration
    rules: tuple[Rule, ...]


Step: TypeAlias = Resolve | Transform


@dataclass(frozen=True)
class MigrationPath:
    """How a record of the writer version becomes one of the reader version."""

    writer: ContractVersion
    reader: ContractVersion
    steps: tuple[Step, ...]

    @property
    def transforms(self) -> tuple[Transform, ...]:
        return tuple(step for step in self.steps if isinstance(step, Transform))

    @property
    def rule_names(self) -> tuple[str, ...]:
        """The migration rules a record runs through, in run order."""
        return tuple(rule.name for hop in self.transforms for rule in hop.rules)


@dataclass(frozen=True)
class NoMigration:
    """A hop across majors without a migration rule the way the record goes."""

    source: ContractVersion
    target: ContractVersion
    migration: Migration

    def __str__(self) -> str:
        return f"no {self.migration} rule from {self.source.label()} to {self.target.label()}"


def migration_path(
    versions: Sequence[ContractVersion], writer: ContractVersion, reader: ContractVersion
) -> MigrationPath | NoMigration:
    """The path from writer to reader through the versions between them (versions:
    every registered version of the subject, in any order)."""
    ordered = sorted(versions, key=lambda v: v.version)
    low, high = sorted((writer.version, reader.version))
    between = [v for v in ordered if low <= v.version <= high]
    migration: Migration = "UPGRADE" if writer.version <= reader.version else "DOWNGRADE"
    pairs = list(itertools.pairwise(between))
    if migration == "DOWNGRADE":
        pairs.reverse()
    steps: list[Step] = []
    current = writer
    for older, newer in pairs:
        source, target = (older, newer) if migration == "UPGRADE" else (newer, older)
        rules = newer.document.rule_set.migrating(migration)
        if not rules:
            if older.major != newer.major:
                return NoMigration(source, target, migration)
            continue  # resolution: done in one step before the next rules, or at the end
        if current is not source:
            steps.append(Resolve(source))
        ordered_rules = rules if migration == "UPGRADE" else tuple(reversed(rules))
        steps.append(Transform(source, target, migration, ordered_rules))
        current = target
    if current is not reader:
        steps.append(Resolve(reader))
    return MigrationPath(writer, reader, tuple(steps))


# -- running a path on a record ----------------------------------------------------------


class MigrationFailed(Exception):
    """A record's migration failed: the rule (the failing one, or the hop's last when
    its result did not conform), the way it ran and why, in one line."""

    def __init__(self, rule: Rule, migration: Migration, why: str) -> None:
        super().__init__(f"migration rule {rule.name!r} ({migration}) failed: {why}")
        self.rule, self.migration, self.why = rule, migration, why


class ResultNotConforming(MigrationFailed):
    """A hop's rules ran, but their result does not fit the hop's target version."""


def without_logical_types(schema: Any) -> Any:
    """An Avro schema document with every logical type replaced by its base type."""
    if isinstance(schema, list):
        return [without_logical_types(branch) for branch in schema]
    if not isinstance(schema, Mapping):
        return schema
    if "logicalType" in schema and schema.get("type") not in ("record", "enum", "array", "map"):
        base = {k: v for k, v in schema.items() if k not in ("logicalType", "precision", "scale")}
        return base["type"] if set(base) == {"type"} else base
    out = dict(schema)
    if "fields" in out:
        out["fields"] = [{**f, "type": without_logical_types(f["type"])} for f in out["fields"]]
    for key in ("items", "values"):
        if key in out:
            out[key] = without_logical_types(out[key])
    return out


def resolve(record: Any, source: ContractVersion, target: ContractVersion) -> Any:
    """record (source's shape, plain values) read as target, by Avro's schema resolution
    (fastavro.SchemaResolutionError, and others, when it cannot)."""
    buffer = BytesIO()
    fastavro.schemaless_writer(buffer, source.plain, record)
    buffer.seek(0)
    return fastavro.schemaless_reader(buffer, source.plain, target.plain)


def transform(hop: Transform, record: dict[str, Any]) -> dict[str, Any]:
    """record (the hop source's shape, plain values) through the hop's rules, conformed to
    its target; MigrationFailed when a rule fails or its result does not conform."""
    value: Any = record
    for rule in hop.rules:
        try:
            value = evaluate(rule.expr, value)
        except TransformFailed as error:
            raise MigrationFailed(rule, hop.migration, str(error)) from None
    try:
        conformed: dict[str, Any] = conform(value, hop.target.parsed, Names(hop.target.parsed))
    except NotConforming as error:
        raise ResultNotConforming(
            hop.rules[-1], hop.migration, f"its result does not fit {hop.target.label()}: {error}"
        ) from None
    return conformed


def run_path(path: MigrationPath, record: dict[str, Any]) -> dict[str, Any]:
    """record (the writer's shape, plain values) as the reader's; MigrationFailed when a
    migration fails, fastavro's errors when resolution cannot read it."""
    current, value = path.writer, record
    for step in path.steps:
        if isinstance(step, Resolve):
            value = resolve(value, current, step.target)
        else:
            value = transform(step, value)
        current = step.target
    return value


# -- conforming a value to a schema ------------------------------------------------------


class NotConforming(ValueError):
    """A value that does not fit its schema: str() names the field and why."""


class Names:
    """The named types of a schema document, by full name and short name."""

    def __init__(self, schema: Any) -> None:
        self.types: dict[str, Any] = {}
        self._collect(schema, None)

    def _collect(self, schema: Any, namespace: str | None) -> None:
        if isinstance(schema, list):
            for branch in schema:
                self._collect(branch, namespace)
        elif isinstance(schema, Mapping):
            kind = schema.get("type")
            if kind in ("record", "enum", "fixed", "error"):
                namespace = schema.get("namespace", namespace)
                name = str(schema["name"])
                self.types[name.rsplit(".", 1)[-1]] = schema
                self.types[name if "." in name or not namespace else f"{namespace}.{name}"] = schema
            for f in schema.get("fields", []):
                self._collect(f["type"], namespace)
            for key in ("items", "values"):
                if key in schema:
                    self._collect(schema[key], namespace)

    def get(self, name: str) -> Any:
        return self.types.get(name) or self.types.get(name.rsplit(".", 1)[-1])


def conform(value: Any, schema: Any, names: Names, where: str = "the record") -> Any:
    """value (JSON-like: what a JSONata expression returns) as a plain value of schema;
    NotConforming when it does not fit."""
    if isinstance(schema, list):
        for branch in schema:
            try:
                return conform(value, branch, names, where)
            except NotConforming:
                continue
        raise NotConforming(f"{where} is {_shown(value)}, which no branch of its union takes")
    if isinstance(schema, str) and names.get(schema) is not None:
        return conform(value, names.get(schema), names, where)
    if isinstance(schema, Mapping):
        kind = schema.get("type")
        if kind in ("record", "error"):
            return _conform_record(value, schema, names, where)
        if kind == "enum":
            if value in schema.get("symbols", []):
                return value
            raise NotConforming(f"{where} is {_shown(value)}, not a symbol of {schema['name']}")
        if kind == "array":
            if not isinstance(value, list):
                raise NotConforming(f"{where} is {_shown(value)}, not an array")
            return [
                conform(v, schema["items"], names, f"{where}[{i}]") for i, v in enumerate(value)
            ]
        if kind == "map":
            if not isinstance(value, Mapping):
                raise NotConforming(f"{where} is {_shown(value)}, not a map")
            return {
                str(k): conform(v, schema["values"], names, f"{where}.{k}")
                for k, v in value.items()
            }
        if kind == "fixed":
            raise NotConforming(f"{where}: a fixed value cannot come from JSON")
        return conform(value, kind, names, where)
    return _conform_primitive(value, str(schema), where)


def _conform_record(value: Any, schema: Mapping[str, Any], names: Names, where: str) -> Any:
    if not isinstance(value, Mapping):
        raise NotConforming(f"{where} is {_shown(value)}, not a record")
    out: dict[str, Any] = {}
    for f in schema.get("fields", []):
        name = f["name"]
        inner = name if where == "the record" else f"{where}.{name}"
        if name in value:
            out[name] = conform(value[name], f["type"], names, f"field {inner}")
        elif "default" in f:
            out[name] = conform(f["default"], f["type"], names, f"field {inner}")
        else:
            raise NotConforming(f"field {inner} is missing and has no default")
    return out


def _conform_primitive(value: Any, kind: str, where: str) -> Any:
    if kind == "null":
        if value is None:
            return None
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
    elif kind in _INT_RANGE:
        whole = _whole(value)
        if whole is not None and -_INT_RANGE[kind] <= whole < _INT_RANGE[kind]:
            return whole
    elif kind in ("float", "double"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind == "string":
        if isinstance(value, str):
            return value
    elif kind == "bytes" and isinstance(value, str):
        return value.encode("latin-1", errors="strict")
    raise NotConforming(f"{where} is {_shown(value)}, not a {kind}")


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _shown(value: Any) -> str:
    if value is None:
        return "null (or undefined)"
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:39] + "…"


#: Migration rules by name, with the way each runs.
MigrationRules: TypeAlias = Mapping[str, tuple[Rule, Migration]]


def with_action(migrations: MigrationRules, action: Action) -> list[str]:
    """The names of the migration rules whose failure does action (they run on read)."""
    return [name for name, (rule, _) in migrations.items() if rule.failure_action(READ) == action]


def rules_on_paths(paths: Iterable[MigrationPath | NoMigration]) -> MigrationRules:
    """Every migration rule the paths run, by name, with the way it runs."""
    return {
        rule.name: (rule, hop.migration)
        for path in paths
        if isinstance(path, MigrationPath)
        for hop in path.transforms
        for rule in hop.rules
    }
