"""The contracts the gate's migration checks are tested on: the shipped contract (v1, v2)
and major 2 of docs/examples/major-2, with its rules file edited per case.

Each case is a rules document for the major-2 schema (or another schema) and what the
gate says of it against v1 -> v2 in git: the ids it reports and the exit code, at the
level given.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from contract_files import BREAKING_RULES, V2_SCHEMA, V3_SCHEMA

from connection.paths import RULES_FILE
from contract.rules import MAJOR_PROPERTY

Json = dict[str, Any]

V2_RULES: Json = json.loads(RULES_FILE.read_text())


def major(number: str | None, rules: Json = BREAKING_RULES, *, migrations: Any = ...) -> Json:
    """Major 2's rules document with another major (None: no metadata) or other
    migration rules (a list; None: none)."""
    document = copy.deepcopy(rules)
    if number is None:
        document.pop("metadata", None)
    else:
        document["metadata"] = {"properties": {MAJOR_PROPERTY: number}}
    if migrations is not ...:
        if migrations is None:
            document["ruleSet"].pop("migrationRules", None)
        else:
            document["ruleSet"]["migrationRules"] = migrations
    return document


def migration(name: str, mode: str, expr: str) -> Json:
    return {"name": name, "kind": "TRANSFORM", "type": "JSONATA", "mode": mode, "expr": expr}


UP, DOWN = (BREAKING_RULES["ruleSet"]["migrationRules"][i] for i in (0, 1))
#: An UPGRADE whose result is no major-2 record: price_cents as a string.
UP_AS_STRING = migration(
    "price-to-text",
    "UPGRADE",
    "$merge([$sift($, function($v, $k) {$k != 'symbol' and $k != 'price'}), "
    "{'ticker': symbol, 'price_cents': $string(price * 100)}])",
)
#: An UPGRADE that drops the ticker's rule: every result fails ticker-symbol.
UP_LOWERCASE = migration(
    "lowercase-ticker",
    "UPGRADE",
    "$merge([$sift($, function($v, $k) {$k != 'symbol' and $k != 'price'}), "
    "{'ticker': $lowercase(symbol), 'price_cents': $round(price * 100)}])",
)


@dataclass(frozen=True)
class Case:
    name: str
    schema: Json
    rules: Json
    level: str
    ids: frozenset[str]
    """Every finding id reported (violations and migration findings)."""
    exit_code: int
    strict: bool = False


CASES = (
    Case(
        "the example passes",
        V3_SCHEMA,
        BREAKING_RULES,
        "BACKWARD",
        frozenset({"MIGRATION_FAILS", "MIGRATION_NOT_CONFORMING", "MIGRATION_ROUND_TRIP"}),
        0,
    ),
    Case(
        "the example at FULL_TRANSITIVE",
        V3_SCHEMA,
        BREAKING_RULES,
        "FULL_TRANSITIVE",
        frozenset({"MIGRATION_FAILS", "MIGRATION_NOT_CONFORMING", "MIGRATION_ROUND_TRIP"}),
        0,
    ),
    Case(
        "warnings are errors with --strict",
        V3_SCHEMA,
        BREAKING_RULES,
        "BACKWARD",
        frozenset({"MIGRATION_FAILS", "MIGRATION_NOT_CONFORMING", "MIGRATION_ROUND_TRIP"}),
        1,
        strict=True,
    ),
    Case(
        "a missing major bump",
        V3_SCHEMA,
        major(None),
        "BACKWARD",
        frozenset({"FIELD_ADDED_WITHOUT_DEFAULT"}),
        1,
    ),
    Case(
        "no migration rules",
        V3_SCHEMA,
        major("2", migrations=None),
        "BACKWARD",
        frozenset({"MIGRATION_MISSING"}),
        1,
    ),
    Case(
        "no DOWNGRADE at FORWARD",
        V3_SCHEMA,
        major("2", migrations=[UP]),
        "FORWARD",
        frozenset({"MIGRATION_MISSING", "MIGRATION_FAILS", "MIGRATION_NOT_CONFORMING"}),
        1,
    ),
    Case(
        "an UPGRADE is enough at BACKWARD",
        V3_SCHEMA,
        major("2", migrations=[UP]),
        "BACKWARD",
        frozenset({"MIGRATION_FAILS", "MIGRATION_NOT_CONFORMING"}),
        0,
    ),
    Case(
        "an UPDOWN rule runs both ways (down, it does not fit)",
        V3_SCHEMA,
        major("2", migrations=[{**UP, "mode": "UPDOWN"}]),
        "FULL",
        frozenset({"MIGRATION_FAILS", "MIGRATION_NOT_CONFORMING"}),
        1,
    ),
    Case(
        "a result that does not conform",
        V3_SCHEMA,
        major("2", migrations=[UP_AS_STRING]),
        "BACKWARD",
        frozenset({"MIGRATION_NOT_CONFORMING", "MIGRATION_FAILS"}),
        1,
    ),
    Case(
        "a result that breaks the new rules",
        V3_SCHEMA,
        major("2", migrations=[UP_LOWERCASE, DOWN]),
        "BACKWARD",
        frozenset({"MIGRATION_FAILS", "MIGRATION_NOT_CONFORMING", "MIGRATION_ROUND_TRIP"}),
        1,
    ),
    Case("a major that skips", V3_SCHEMA, major("3"), "BACKWARD", frozenset({"MAJOR_SKIPPED"}), 1),
    Case(
        "a major that is not a number",
        V3_SCHEMA,
        major("two"),
        "BACKWARD",
        frozenset({"MAJOR_NOT_A_NUMBER"}),
        1,
    ),
    Case(
        "a compatible change needs no major", V2_SCHEMA, V2_RULES, "FULL_TRANSITIVE", frozenset(), 0
    ),
)
