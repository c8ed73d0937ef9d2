"""Stable ids: compatibility violations and rule changes (documented in docs/schema-gate.md).

Ids name the change from the old schema to the new one, so the same id means the
same kind of edit whichever direction found it.
"""

from __future__ import annotations

from enum import Enum


class ViolationId(str, Enum):
    """Stable ids of compatibility violations, from the old schema to the new one."""

    TYPE_CHANGED = "TYPE_CHANGED"
    LOGICAL_TYPE_CHANGED = "LOGICAL_TYPE_CHANGED"
    FIELD_ADDED_WITHOUT_DEFAULT = "FIELD_ADDED_WITHOUT_DEFAULT"
    FIELD_REMOVED_WITHOUT_DEFAULT = "FIELD_REMOVED_WITHOUT_DEFAULT"
    FIELD_MADE_REQUIRED = "FIELD_MADE_REQUIRED"
    FIELD_MADE_NULLABLE = "FIELD_MADE_NULLABLE"
    UNION_BRANCH_REMOVED = "UNION_BRANCH_REMOVED"
    UNION_BRANCH_ADDED = "UNION_BRANCH_ADDED"
    ENUM_SYMBOL_REMOVED = "ENUM_SYMBOL_REMOVED"
    ENUM_SYMBOL_ADDED = "ENUM_SYMBOL_ADDED"
    NAME_CHANGED = "NAME_CHANGED"
    FIXED_SIZE_CHANGED = "FIXED_SIZE_CHANGED"
    REGISTRY_REJECTED = "REGISTRY_REJECTED"


class RuleChange(str, Enum):
    """Stable ids of the changes to a contract's rules (its ``<subject>.rules.json``),
    compared rule by rule, by name, from the old rule set to the new one."""

    RULE_ADDED = "RULE_ADDED"
    RULE_REMOVED = "RULE_REMOVED"
    RULE_EXPR_CHANGED = "RULE_EXPR_CHANGED"
    RULE_ACTION_CHANGED = "RULE_ACTION_CHANGED"
    RULE_MODE_CHANGED = "RULE_MODE_CHANGED"


class MigrationId(str, Enum):
    """Stable ids of the findings on a new major: its place among the subject's majors
    (``application.major.version``), and the migration rules the level asks for, run on
    sample records."""

    MAJOR_NOT_A_NUMBER = "MAJOR_NOT_A_NUMBER"
    MAJOR_WENT_DOWN = "MAJOR_WENT_DOWN"
    MAJOR_SKIPPED = "MAJOR_SKIPPED"
    MIGRATION_MISSING = "MIGRATION_MISSING"
    MIGRATION_FAILS = "MIGRATION_FAILS"
    MIGRATION_NOT_CONFORMING = "MIGRATION_NOT_CONFORMING"
    MIGRATION_ROUND_TRIP = "MIGRATION_ROUND_TRIP"
