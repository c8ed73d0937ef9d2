"""The contract's rules: Confluent's rule model, loaded from a file or the registry.

The shipped rules are ``schemas/<subject>.rules.json``: either a Confluent ``ruleSet``
object (``{"domainRules": [...]}``), or what Confluent's register request carries beside
the schema, ``{"metadata": {"properties": {...}}, "ruleSet": {...}}`` (a
``RulesDocument``); a registry that keeps them returns the same objects with a version.
Each rule has ``name``, ``kind``, ``mode``, ``type``, ``expr`` and ``onFailure`` (and may
have ``doc``, ``tags``, ``params``, ``onSuccess``, ``disabled``). Domain rules are
``kind`` CONDITION, ``type`` CEL, in the CEL subset of ``contract.cel``; migration rules
are ``kind`` TRANSFORM, ``type`` JSONATA, ``mode`` UPGRADE, DOWNGRADE or UPDOWN, with an
expression jsonata-python parses (``contract.migrations`` runs them). Anything else is
refused in one line (``RulesError``) naming the rule.

The metadata property ``application.major.version`` is the version's major: Confluent's
compatibility group by convention. A version without it has no major, which is a group
of its own, as in Confluent's registry.

Judging a record, the same in the producer, the consumer and the tests:

- the rules that apply are the enabled ones whose ``mode`` covers the direction: WRITE and
  WRITEREAD on write, READ and WRITEREAD on read;
- they run in file order; a rule fails when its condition is not true: false, or an
  evaluation error (Confluent's serde treats an executor's exception as a failure);
- a failing rule whose action is NONE is counted and judging goes on; the first failing
  rule whose action is DLQ or ERROR decides the record's fate (the rules after it do not
  run, so their failures are not counted);
- ``onFailure`` may be ``"WRITE_ACTION,READ_ACTION"`` for a WRITEREAD rule, as Confluent
  allows; a rule without ``onFailure`` fails with ERROR, as Confluent's serde does.

One difference from Confluent's serde, on purpose: it runs READ rules last to first ("for
symmetry"); here every direction uses file order, so a record failing two decisive rules
is decided by the earlier one whichever side judges it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

from contract.cel import (
    CelType,
    Condition,
    FieldType,
    SubsetError,
    bind_condition,
    fields_named,
    parse_condition,
)
from contract.jsonata import jsonata_problem

Direction: TypeAlias = Literal["WRITE", "READ"]
Action: TypeAlias = Literal["ERROR", "NONE", "DLQ"]
#: The way a migration runs: from an older version to a newer one, or back.
Migration: TypeAlias = Literal["UPGRADE", "DOWNGRADE"]

DOMAIN_MODES = ("WRITE", "READ", "WRITEREAD")
MIGRATION_MODES = ("UPGRADE", "DOWNGRADE", "UPDOWN")
#: The metadata property that names a version's major: its compatibility group.
MAJOR_PROPERTY = "application.major.version"
WRITE: Direction = "WRITE"
READ: Direction = "READ"
#: Both directions, in the order a record meets them.
DIRECTIONS: tuple[Direction, ...] = (WRITE, READ)
#: What a failing rule does: stop the run, send the record to the dead-letter topic, or
#: only count it.
ERROR: Action = "ERROR"
DLQ: Action = "DLQ"
NONE: Action = "NONE"
ACTIONS: tuple[Action, ...] = (ERROR, NONE, DLQ)
#: The actions whose failure decides a record's fate.
DECISIVE: frozenset[str] = frozenset({ERROR, DLQ})
_RULE_KEYS = {
    "name",
    "doc",
    "kind",
    "mode",
    "type",
    "tags",
    "params",
    "expr",
    "onSuccess",
    "onFailure",
    "disabled",
}
_RULE_SET_KEYS = {"domainRules", "migrationRules", "encodingRules", "enableAt"}
_DOCUMENT_KEYS = {"metadata", "ruleSet"}


class RulesError(ValueError):
    """A rules file or rule set that cannot be used: one line naming what and where."""


@dataclass(frozen=True)
class Rule:
    """One domain rule, as Confluent's rule model has it."""

    name: str
    kind: str
    mode: str
    type: str
    expr: str
    on_failure: str | None = None
    on_success: str | None = None
    disabled: bool = False
    doc: str | None = None
    tags: tuple[str, ...] = ()
    params: tuple[tuple[str, str], ...] = ()

    def applies(self, direction: Direction) -> bool:
        """Whether the rule runs when records are written (WRITE) or read (READ)."""
        return not self.disabled and self.mode in (direction, "WRITEREAD")

    def migrates(self, migration: Migration) -> bool:
        """Whether the migration rule runs when records go this way (UPDOWN: both)."""
        return not self.disabled and self.mode in (migration, "UPDOWN")

    def failure_action(self, direction: Direction) -> Action:
        """The action on failure in this direction (ERROR when the rule names none; a
        migration rule's is its READ action, as it runs when a record is read)."""
        action = self.on_failure or ERROR
        if "," in action and self.mode == "WRITEREAD":
            write, _, read = action.partition(",")
            action = write if direction == WRITE else read
        return action.strip()  # type: ignore[return-value]  # checked when loaded

    def condition(self) -> Condition:
        """The expression as a tree of the CEL subset (RulesError in one line if not)."""
        try:
            return parse_condition(self.expr)
        except SubsetError as error:
            raise RulesError(f"rule {self.name!r}: {error}") from None

    def fields(self) -> frozenset[str]:
        """The record fields the rule names (read, or tested with has())."""
        return fields_named(self.condition())

    def to_json(self) -> dict[str, Any]:
        """The rule as Confluent's JSON (the registry's and the rules file's form)."""
        out: dict[str, Any] = {"name": self.name}
        if self.doc is not None:
            out["doc"] = self.doc
        out |= {"kind": self.kind, "mode": self.mode, "type": self.type}
        if self.tags:
            out["tags"] = list(self.tags)
        if self.params:
            out["params"] = dict(self.params)
        out["expr"] = self.expr
        if self.on_success is not None:
            out["onSuccess"] = self.on_success
        if self.on_failure is not None:
            out["onFailure"] = self.on_failure
        if self.disabled:
            out["disabled"] = True
        return out


@dataclass(frozen=True)
class RuleSet:
    """The domain and migration rules of a contract version, in file order.

    ``enable_at`` is Confluent's ``enableAt``: rules enabled at ALL (the default) or
    CLIENT run in clients; at any other place (a Flink or a server, say) clients skip
    them all."""

    domain_rules: tuple[Rule, ...] = ()
    enable_at: str | None = None
    migration_rules: tuple[Rule, ...] = ()

    def _enabled_here(self) -> bool:
        return self.enable_at in (None, "ALL", "CLIENT")

    def applying(self, direction: Direction) -> tuple[Rule, ...]:
        """The domain rules that run in this direction, in file order."""
        if not self._enabled_here():
            return ()
        return tuple(rule for rule in self.domain_rules if rule.applies(direction))

    def migrating(self, migration: Migration) -> tuple[Rule, ...]:
        """The migration rules that run this way, in file order."""
        if not self._enabled_here():
            return ()
        return tuple(rule for rule in self.migration_rules if rule.migrates(migration))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"domainRules": [rule.to_json() for rule in self.domain_rules]}
        if self.migration_rules:
            out["migrationRules"] = [rule.to_json() for rule in self.migration_rules]
        if self.enable_at is not None:
            out["enableAt"] = self.enable_at
        return out


@dataclass(frozen=True)
class RulesDocument:
    """What a contract version carries besides its schema: its metadata properties and
    its rule set (Confluent's register request, less the schema)."""

    rule_set: RuleSet = RuleSet()
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def major(self) -> str | None:
        """The version's major (its compatibility group), None when it names none."""
        return self.metadata.get(MAJOR_PROPERTY)

    def to_json(self) -> dict[str, Any]:
        """The document as a rules file holds it: the bare rule set when there is no
        metadata, else the register request's ``metadata`` and ``ruleSet``."""
        if not self.metadata:
            return self.rule_set.to_json()
        return {"metadata": {"properties": dict(self.metadata)}, "ruleSet": self.rule_set.to_json()}


#: A contract's rules file sits beside its schema: schemas/<subject>.rules.json.
RULES_SUFFIX = ".rules.json"


def rules_file(schema_file: Path) -> Path:
    """The rules file of a schema file (``prices-value.avsc`` -> ``prices-value.rules.json``)."""
    return schema_file.with_name(schema_file.name.removesuffix(schema_file.suffix) + RULES_SUFFIX)


def load_rules_document(path: Path) -> RulesDocument:
    """The rules file's metadata and rule set (RulesError in one line naming the file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RulesError(f"rules file {path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RulesError(f"rules file {path}: not JSON ({error})") from None
    return rules_document_from_json(data, source=f"rules file {path}")


def load_rule_set(path: Path) -> RuleSet:
    """The rule set of a rules file (RulesError in one line naming the file)."""
    return load_rules_document(path).rule_set


def rules_document_from_json(data: object, source: str = "rules") -> RulesDocument:
    """A rules file's root: ``{"metadata": ..., "ruleSet": ...}``, or a bare rule set
    (no metadata)."""
    if isinstance(data, Mapping) and data and set(data) <= _DOCUMENT_KEYS:
        return RulesDocument(
            rule_set_from_json(data.get("ruleSet"), source),
            metadata_from_json(data.get("metadata"), source),
        )
    return RulesDocument(rule_set_from_json(data, source))


def metadata_from_json(data: object, source: str = "metadata") -> dict[str, str]:
    """Confluent's ``metadata`` object: its ``properties``, names to strings (its
    ``tags`` and ``sensitive`` are not ours to use; None is no metadata)."""
    if data is None:
        return {}
    if not isinstance(data, Mapping) or not set(data) <= {"properties", "tags", "sensitive"}:
        raise RulesError(f"{source}: metadata must be an object with properties")
    properties = data.get("properties") or {}
    if not isinstance(properties, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in properties.items()
    ):
        raise RulesError(f"{source}: metadata properties must map names to strings")
    return dict(properties)


def rule_set_from_json(data: object, source: str = "rule set") -> RuleSet:
    """A ``ruleSet`` object (a bare rules file's root, or a registry version's
    ``ruleSet``; None is an empty rule set). Every enabled rule's expression is parsed,
    so a rule outside what we run is refused here, in one line."""
    if data is None:
        return RuleSet()
    if not isinstance(data, Mapping):
        raise RulesError(f"{source}: the root must be an object with domainRules")
    unknown = sorted(set(data) - _RULE_SET_KEYS)
    if unknown:
        raise RulesError(f"{source}: unknown key {unknown[0]!r} (expected domainRules)")
    if data.get("encodingRules"):
        raise RulesError(f"{source}: encodingRules are not supported")
    domain = _rules(data, "domainRules", source)
    migration = _rules(data, "migrationRules", source)
    names = [rule.name for rule in domain + migration]
    for name in names:
        if names.count(name) > 1:
            raise RulesError(f"{source}: two rules named {name!r}")
    enable_at = data.get("enableAt")
    if enable_at is not None and not isinstance(enable_at, str):
        raise RulesError(f"{source}: enableAt must be a string")
    return RuleSet(domain, enable_at, migration)


def _rules(data: Mapping[str, Any], key: str, source: str) -> tuple[Rule, ...]:
    items = data.get(key)
    if items is None:
        return ()
    if not isinstance(items, list):
        raise RulesError(f"{source}: {key} must be a list")
    check = _check_domain_rule if key == "domainRules" else _check_migration_rule
    return tuple(check(_rule(item, index, source), source) for index, item in enumerate(items))


def _rule(data: object, index: int, source: str) -> Rule:
    where = f"{source}: rule {index + 1}"
    if not isinstance(data, Mapping):
        raise RulesError(f"{where}: not an object")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise RulesError(f"{where}: no name")
    where = f"{source}: rule {name!r}"
    unknown = sorted(set(data) - _RULE_KEYS)
    if unknown:
        raise RulesError(f"{where}: unknown key {unknown[0]!r}")

    def text(key: str, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value):
            raise RulesError(f"{where}: {key} must be a string")
        return value

    disabled = data.get("disabled", False)
    if not isinstance(disabled, bool):
        raise RulesError(f"{where}: disabled must be true or false")
    tags = data.get("tags") or []
    params = data.get("params") or {}
    if not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
        raise RulesError(f"{where}: tags must be a list of strings")
    if not (isinstance(params, Mapping) and all(isinstance(v, str) for v in params.values())):
        raise RulesError(f"{where}: params must map names to strings")
    return Rule(
        name=name,
        kind=str(text("kind")),
        mode=str(text("mode")),
        type=str(text("type")),
        expr=str(text("expr")),
        on_failure=text("onFailure", required=False),
        on_success=text("onSuccess", required=False),
        disabled=disabled,
        doc=text("doc", required=False),
        tags=tuple(tags),
        params=tuple(sorted(params.items())),
    )


def _check_domain_rule(rule: Rule, source: str) -> Rule:
    where = f"{source}: rule {rule.name!r}"
    if rule.mode not in DOMAIN_MODES:
        raise RulesError(f"{where}: mode {rule.mode} (a domain rule is WRITE, READ or WRITEREAD)")
    if rule.disabled:
        return rule  # never run: its kind, type and expression are not ours to judge
    if rule.kind != "CONDITION":
        raise RulesError(f"{where}: kind {rule.kind} is not supported (CONDITION only)")
    if rule.type != "CEL":
        raise RulesError(f"{where}: type {rule.type} is not supported (CEL only)")
    for direction in DIRECTIONS:
        action = rule.failure_action(direction)
        if action not in ACTIONS:
            raise RulesError(f"{where}: onFailure {rule.on_failure} (ERROR, NONE or DLQ)")
    try:
        parse_condition(rule.expr)
    except SubsetError as error:
        raise RulesError(f"{where}: {error}") from None
    return rule


def _check_migration_rule(rule: Rule, source: str) -> Rule:
    where = f"{source}: migration rule {rule.name!r}"
    if rule.mode not in MIGRATION_MODES:
        raise RulesError(f"{where}: mode {rule.mode} (UPGRADE, DOWNGRADE or UPDOWN)")
    if rule.disabled:
        return rule
    if rule.kind != "TRANSFORM":
        raise RulesError(f"{where}: kind {rule.kind} is not supported (TRANSFORM only)")
    if rule.type != "JSONATA":
        raise RulesError(f"{where}: type {rule.type} is not supported (JSONATA only)")
    if rule.failure_action(READ) not in ACTIONS:
        raise RulesError(f"{where}: onFailure {rule.on_failure} (ERROR, NONE or DLQ)")
    problem = jsonata_problem(rule.expr)
    if problem is not None:
        raise RulesError(f"{where}: {problem}")
    return rule


# -- rules bound to a record's fields ---------------------------------------------------


@dataclass(frozen=True)
class BoundRule:
    """A rule ready to evaluate in one direction: its action there and its typed tree."""

    rule: Rule
    action: Action
    condition: Condition

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def decisive(self) -> bool:
        """Whether a failure decides the record's fate (DLQ or ERROR)."""
        return self.action in DECISIVE

    @property
    def stops(self) -> bool:
        """Whether a failure stops the run (ERROR)."""
        return self.action == ERROR

    @property
    def dead_letters(self) -> bool:
        """Whether a failure sends the record to the dead-letter topic (DLQ)."""
        return self.action == DLQ


@dataclass(frozen=True)
class RulePlan:
    """The rules to run in one direction against one record type, in file order, and
    the rules left out with the one-line reason (a field the record lacks)."""

    rules: tuple[BoundRule, ...]
    skipped: tuple[str, ...] = ()

    @property
    def names(self) -> frozenset[str]:
        return frozenset(rule.name for rule in self.rules)


def missing_fields(rule: Rule, fields: Mapping[str, FieldType]) -> str | None:
    """One line if the rule names a field the record lacks, else None."""
    missing = sorted(rule.fields() - set(fields))
    if not missing:
        return None
    listed = ", ".join(missing)
    return f"rule {rule.name!r} skipped: the record has no field {listed}"


def bind_rule(rule: Rule, direction: Direction, fields: Mapping[str, FieldType]) -> BoundRule:
    """The rule typed against the record's fields (RulesError in one line if CEL has no
    operator for it). A field the record lacks reads as an evaluation error."""
    try:
        condition = bind_condition(rule.condition(), fields)
    except SubsetError as error:
        raise RulesError(f"rule {rule.name!r}: {error}") from None
    return BoundRule(rule, rule.failure_action(direction), condition)


def plan_rules(
    rule_set: RuleSet,
    direction: Direction,
    fields: Mapping[str, FieldType],
    skip_missing: bool = True,
) -> RulePlan:
    """The rules applying in this direction, bound to the record's fields, in file order.

    With ``skip_missing`` a rule naming a field the record lacks is left out (its line in
    ``skipped``); without it, such a rule runs and reading the field is an error, as for
    Confluent's executor (``has()`` of it is false)."""
    bound: list[BoundRule] = []
    skipped: list[str] = []
    for rule in rule_set.applying(direction):
        line = missing_fields(rule, fields) if skip_missing else None
        if line is not None:
            skipped.append(line)
            continue
        bound.append(bind_rule(rule, direction, fields))
    return RulePlan(tuple(bound), tuple(skipped))


@dataclass(frozen=True)
class Verdict:
    """A record's judgement: the deciding rule (None: the record passes) and the NONE
    rules that failed before it."""

    decided_by: str | None
    none_failures: tuple[str, ...] = ()


def judge(rules: Sequence[BoundRule], failed: Sequence[bool]) -> Verdict:
    """The verdict from each rule's failure (in the rules' order), as the serde runs it:
    a NONE failure is counted, the first DLQ or ERROR failure decides and ends judging."""
    counted: list[str] = []
    for rule, failure in zip(rules, failed, strict=True):
        if not failure:
            continue
        if rule.decisive:
            return Verdict(rule.name, tuple(counted))
        counted.append(rule.name)
    return Verdict(None, tuple(counted))


# -- record fields from an Avro schema --------------------------------------------------

_AVRO_TYPES = {
    "int": CelType.INT,
    "long": CelType.INT,
    "float": CelType.DOUBLE,
    "double": CelType.DOUBLE,
    "string": CelType.STRING,
    "boolean": CelType.BOOL,
}


def avro_field_types(schema: Mapping[str, Any]) -> dict[str, FieldType]:
    """The CEL view of an Avro record schema's top-level fields: int and long are CEL
    ints, float and double doubles, string and boolean themselves, each nullable as a
    union with null; any other type (a logical type such as timestamp-millis, which
    Confluent's Python serde hands to rules as a datetime, a record, an enum...) is
    outside the subset (``has()`` only)."""
    fields = schema.get("fields")
    if schema.get("type") != "record" or not isinstance(fields, list):
        raise RulesError("rules need an Avro record schema")
    return {str(item["name"]): _avro_field_type(item["type"]) for item in fields}


def _avro_field_type(avro: Any) -> FieldType:
    nullable = False
    if isinstance(avro, list):
        branches = [branch for branch in avro if branch != "null"]
        nullable = len(branches) < len(avro)
        if len(branches) != 1:
            return FieldType(None, nullable, what="a union")
        avro = branches[0]
    if isinstance(avro, Mapping):
        if "logicalType" in avro:
            return FieldType(None, nullable, what=f"{avro['logicalType']}")
        avro = avro.get("type")
    if isinstance(avro, str) and avro in _AVRO_TYPES:
        return FieldType(_AVRO_TYPES[avro], nullable, what=avro)
    return FieldType(None, nullable, what=f"{avro}" if isinstance(avro, str) else "complex")
