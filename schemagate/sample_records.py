"""Records a writer of a contract version would send, made up for the gate's migration
checks when no topic is sampled, and the domain rules' verdict on records.

Ordinary records are seeded (the same every run) and keep the version's domain rules that
run on write: values are drawn with ordinary magnitudes (numbers between 1 and 10,000 of
either sign, up to four decimals; timestamps of this decade), strings from the regular
expressions of the rules' ``matches`` (``contract.regex``) or the literals of their
``in`` and ``==``, and the candidates the rules refuse are dropped. Extreme records are
an ordinary one with one field at an extreme of its type: NaN, the infinities, the
largest numbers, an empty string. Records are plain values in the version's shape
(logical types as their base types: ``ContractVersion.plain``), as a migration rule sees
them.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contract.cel import Compare, Const, Field, In, Matches, walk
from contract.columns import fields_read, null_free, record_columns
from contract.judge_numpy import failures
from contract.migrations import ContractVersion, Names
from contract.regex import Pattern, RegexError
from contract.rules import (
    READ,
    WRITE,
    BoundRule,
    Direction,
    RulesError,
    avro_field_types,
    plan_rules,
)
from schemagate.errors import GateError

ORDINARY_RECORDS = 300
#: How many candidates per wanted record before giving up on rules that refuse most.
CANDIDATES_PER_RECORD = 10
SEED = "schema-gate"
_DAY_MS = 86_400_000
_EPOCH_2020_MS = 1_577_836_800_000
#: Below this many nested records, arrays and maps are empty and unions null where they
#: can be: a recursive schema's records end.
_MAX_DEPTH = 4
_EXTREMES: Mapping[str, tuple[Any, ...]] = {
    "int": (2**31 - 1, -(2**31)),
    "long": (2**63 - 1, -(2**63)),
    "float": (math.nan, math.inf, -math.inf, 3.4028234663852886e38),
    "double": (math.nan, math.inf, -math.inf, 1.7976931348623157e308, -1.7976931348623157e308),
    "string": ("",),
    "bytes": (b"",),
}


@dataclass(frozen=True)
class Extreme:
    """An ordinary record with one field at an extreme value."""

    field: str
    value: Any
    record: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.field} = {shown_value(self.value)}"


def shown_value(value: Any) -> str:
    """A value as a message shows it (NaN, Infinity, "" ...)."""
    return json.dumps(json_safe(value))[:60]


def json_safe(value: Any) -> Any:
    """A plain record value as JSON values: NaN and infinities as strings, bytes as
    latin-1 text."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


@dataclass
class _Hints:
    """What the rules say a top-level string or number field holds."""

    patterns: dict[str, list[Pattern]] = field(default_factory=dict)
    literals: dict[str, list[Any]] = field(default_factory=dict)


def _hints(rules: Sequence[BoundRule]) -> _Hints:
    hints = _Hints()
    for rule in rules:
        for root in (rule.condition.guard, rule.condition.body):
            for node in walk(root) if root is not None else ():
                if isinstance(node, Matches) and isinstance(node.operand, Field):
                    hints.patterns.setdefault(node.operand.name, []).append(node.pattern)
                elif isinstance(node, In) and isinstance(node.operand, Field):
                    values = [const.value for const in node.values]
                    hints.literals.setdefault(node.operand.name, []).extend(values)
                elif isinstance(node, Compare) and node.op == "==":
                    for one, other in ((node.left, node.right), (node.right, node.left)):
                        if isinstance(one, Field) and isinstance(other, Const):
                            hints.literals.setdefault(one.name, []).append(other.value)
    return hints


class _Generator:
    """Values of a schema document (with its logical types), drawn with a seeded rng."""

    def __init__(self, version: ContractVersion, hints: _Hints, rng: random.Random) -> None:
        self.names = Names(version.parsed)
        self.hints = hints
        self.rng = rng
        self.depth = 0

    def record(self, schema: Mapping[str, Any], top: bool) -> dict[str, Any]:
        self.depth += 1
        try:
            return {
                f["name"]: self.value(f["type"], f["name"] if top else None)
                for f in schema.get("fields", [])
            }
        finally:
            self.depth -= 1

    def _items(self) -> int:
        """How many items an array or map gets: none deep in a (recursive) record."""
        return 0 if self.depth > _MAX_DEPTH else self.rng.randint(0, 3)

    def value(self, schema: Any, name: str | None) -> Any:
        rng = self.rng
        if isinstance(schema, list):
            branches = [b for b in schema if b != "null"]
            nullable = len(branches) < len(schema)
            if not branches or (nullable and (rng.random() < 0.1 or self.depth > _MAX_DEPTH)):
                return None
            return self.value(rng.choice(branches), name)
        if isinstance(schema, str) and self.names.get(schema) is not None:
            return self.value(self.names.get(schema), name)
        if isinstance(schema, Mapping):
            return self._complex(schema, name)
        return self._primitive(str(schema), name)

    def _complex(self, schema: Mapping[str, Any], name: str | None) -> Any:
        rng = self.rng
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if logical in ("timestamp-millis", "local-timestamp-millis"):
            return _EPOCH_2020_MS + rng.randrange(10 * 365 * _DAY_MS)
        if logical in ("timestamp-micros", "local-timestamp-micros"):
            return (_EPOCH_2020_MS + rng.randrange(10 * 365 * _DAY_MS)) * 1000
        if logical == "date":
            return 18_262 + rng.randrange(3650)
        if logical == "time-millis":
            return rng.randrange(_DAY_MS)
        if kind in ("record", "error"):
            return self.record(schema, top=False)
        if kind == "enum":
            return rng.choice(schema["symbols"])
        if kind == "array":
            return [self.value(schema["items"], None) for _ in range(self._items())]
        if kind == "map":
            return {f"k{i}": self.value(schema["values"], None) for i in range(self._items())}
        if kind == "fixed":
            return rng.randbytes(int(schema["size"]))
        return self.value(kind, name)

    def _primitive(self, kind: str, name: str | None) -> Any:
        rng = self.rng
        literals = [v for v in self.hints.literals.get(name or "", []) if _fits(v, kind)]
        if literals and rng.random() < 0.8:
            return (
                float(rng.choice(literals)) if kind in ("float", "double") else rng.choice(literals)
            )
        if kind == "boolean":
            return rng.random() < 0.5
        if kind in ("int", "long"):
            return rng.choice((1, -1)) * int(10 ** rng.uniform(0, 4))
        if kind in ("float", "double"):
            return rng.choice((1, -1)) * round(
                10 ** rng.uniform(0, 4), rng.choice((0, 1, 2, 2, 3, 4))
            )
        if kind == "string":
            patterns = self.hints.patterns.get(name or "")
            if patterns:
                try:
                    return rng.choice(patterns).example(rng)
                except RegexError:
                    pass
            letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            return "".join(rng.choice(letters) for _ in range(rng.randint(1, 12)))
        if kind == "bytes":
            return rng.randbytes(rng.randint(0, 16))
        return None  # null


def _fits(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind in ("int", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return False


def ordinary_records(
    version: ContractVersion, hinted_by: Sequence[BoundRule] = (), count: int = ORDINARY_RECORDS
) -> list[dict[str, Any]]:
    """Up to `count` records of the version that keep its rules on write (fewer when its
    rules refuse nearly every candidate), the same every run. `hinted_by`: more rules
    whose patterns and literals direct the values of the fields they name."""
    rules = _plan(version, WRITE)
    hints = _hints((*rules, *hinted_by))
    generator = _Generator(version, hints, random.Random(f"{SEED}:{version.version}"))
    kept: list[dict[str, Any]] = []
    for _ in range(CANDIDATES_PER_RECORD):
        batch = [generator.record(version.parsed, top=True) for _ in range(count)]
        verdicts = first_failures(batch, version, rules, nulls_fail=True)
        kept.extend(
            record for record, failed in zip(batch, verdicts, strict=True) if failed is None
        )
        if len(kept) >= count:
            break
    return kept[:count]


def extreme_records(version: ContractVersion, base: Mapping[str, Any]) -> list[Extreme]:
    """`base` with each top-level field of a primitive type (or a union with one), in
    turn, at each extreme of its type."""
    extremes = []
    for f in version.parsed.get("fields", []):
        for value in _EXTREMES.get(_base_type(f["type"]) or "", ()):
            extremes.append(Extreme(f["name"], value, {**base, f["name"]: value}))
    return extremes


def _base_type(schema: Any) -> str | None:
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        return _base_type(branches[0]) if len(branches) == 1 else None
    if isinstance(schema, Mapping):
        return _base_type(schema.get("type"))
    return schema if isinstance(schema, str) and schema in _EXTREMES else None


def _plan(version: ContractVersion, direction: Direction) -> tuple[BoundRule, ...]:
    try:
        fields = avro_field_types(version.parsed)
        plan = plan_rules(version.document.rule_set, direction, fields, skip_missing=False)
    except RulesError as error:
        raise GateError(f"{version.label()}: its rules cannot judge its records: {error}") from None
    return plan.rules


def decisive_read_rules(version: ContractVersion) -> tuple[BoundRule, ...]:
    """The version's rules that judge a record read into it and can stop it (DLQ, ERROR)."""
    return tuple(rule for rule in _plan(version, READ) if rule.decisive)


def first_failures(
    records: Sequence[Mapping[str, Any]],
    version: ContractVersion,
    rules: Sequence[BoundRule],
    nulls_fail: bool = False,
) -> list[str | None]:
    """Per record, the first of `rules` (bound to the version's fields) it fails, or None.
    A record with null in a field the rules read is not judged: it fails (as "null") with
    `nulls_fail`, else passes."""
    read = sorted(fields_read(rules))
    keep = null_free(records, read)
    judged = [record for record, kept in zip(records, keep, strict=True) if kept]
    fields = avro_field_types(version.parsed)
    columns = record_columns(judged, fields, read)
    first = np.full(len(judged), -1, dtype=np.int64)
    for index, rule in enumerate(rules):
        first[failures(rule, columns, len(judged)) & (first < 0)] = index
    verdicts = iter(first.tolist())
    null_verdict = "null" if nulls_fail else None
    return [(_name(rules, next(verdicts)) if kept else null_verdict) for kept in keep.tolist()]


def _name(rules: Sequence[BoundRule], index: int) -> str | None:
    return rules[index].name if index >= 0 else None
