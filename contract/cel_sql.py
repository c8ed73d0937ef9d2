"""The contract's rules as DuckDB SQL: the quality checks an ODCS export carries.

A bound condition (``contract.rules.BoundRule``'s typed tree of the CEL subset) becomes a
DuckDB boolean expression over the record's columns; ``failing_records_query`` wraps it
into the query datacontract-cli runs on a topic's records (``SELECT COUNT(*) FROM
{model} WHERE ...``, the records that break the rule, which must be 0). The compiler
copies the Spark one (``consumer.rules``), and is held to Confluent's own CEL executor
in tests/contract/test_cel_sql.py.

CEL semantics kept where DuckDB's differ (DuckDB 1.5: IEEE floating point, RE2):

- **Errors** are SQL NULL, and a rule fails where its condition is not TRUE, so an
  operator on null or an overflow fails the rule (``NOT coalesce(<cond>, false)``).
  AND/OR treat NULL as CEL's ``&&``/``||`` treat an error. Int overflow (an error in
  DuckDB, which would fail the whole query) is ``TRY(...)``; int division and modulo by
  zero are NULL in DuckDB already.
- **Null values**: a nullable field equals null only (``==``, ``!=``, ``in`` test for null
  first); every other operator on null is an error, as in CEL.
- **NaN**: DuckDB orders NaN above every number and makes ``NaN = NaN`` true; CEL follows
  IEEE 754. A double comparison tests a computed side for NaN first.
- **Double division by zero** is +inf for the Python executor (or an error where both
  sides are sums, differences or products: ``contract.cel.division_by_zero_errs``).
- **Regex**: ``regexp_matches`` is RE2 and searches unanchored, as CEL's ``matches()``
  (``.`` stops at ``\\n``, ``$`` is the end of the text): the pattern goes as written.
- **Defaults**: records read without a reader schema (as datacontract-cli reads a topic)
  have NULL in a field their writer version lacked; a reader schema gives the default.
  A non-nullable field with a default is read as ``coalesce(field, default)``.

Refused (``SqlUnsupported``, one line; the export then writes the rule as a ``text``
check): a nullable field with a non-null default (a record without the field cannot be
told from a null there), a default of a type the subset does not read, and string
literals holding NUL.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from contract.cel import (
    DIVISION_BY_ZERO,
    Arith,
    CelType,
    Compare,
    Condition,
    Const,
    Expr,
    Failing,
    Field,
    FieldType,
    In,
    Logic,
    Matches,
    Negate,
    Not,
    Size,
    StringTest,
    division_by_zero_errs,
    walk,
)

#: DuckDB's type for each CEL type of the subset.
SQL_TYPES = {
    CelType.INT: "BIGINT",
    CelType.DOUBLE: "DOUBLE",
    CelType.STRING: "VARCHAR",
    CelType.BOOL: "BOOLEAN",
    CelType.ERROR: "BOOLEAN",
    CelType.NULL: "VARCHAR",
}
#: datacontract-cli's placeholder for the table a schema object's records are in.
MODEL_PLACEHOLDER = "{model}"


class SqlUnsupported(ValueError):
    """A rule the translation cannot express with CEL's verdict kept: one line why."""


def identifier(name: str) -> str:
    """A quoted DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def string_literal(text: str) -> str:
    """A DuckDB string literal. Before a name, ``{`` is a literal of its own (``'a' ||
    '{' || 'model}'``), so no part reads as one of datacontract-cli's ``{model}`` or
    ``${VAR}`` placeholders (it substitutes them in the whole query text)."""
    if "\x00" in text:
        raise SqlUnsupported("a string with a NUL character (DuckDB strings cannot hold one)")
    parts = re.split(r"\{(?=[A-Za-z_])", text)
    quoted = ["'" + part.replace("'", "''") + "'" for part in parts]
    if len(parts) == 1:
        return quoted[0]
    return "(" + " || '{' || ".join(quoted) + ")"


def _const(value: object, kind: CelType) -> str:
    if value is None:
        return f"CAST(NULL AS {SQL_TYPES[kind]})"
    if kind is CelType.BOOL:
        return "TRUE" if value else "FALSE"
    if kind is CelType.INT:
        return f"CAST({value} AS BIGINT)"
    if kind is CelType.DOUBLE:
        assert isinstance(value, float) and math.isfinite(value)
        return f"CAST('{value!r}' AS DOUBLE)"
    return string_literal(str(value))


def _null(kind: CelType) -> str:
    return f"CAST(NULL AS {SQL_TYPES[kind]})"


def _may_be_null(expr: Expr) -> bool:
    """A null value (not an error): only a nullable field's."""
    return isinstance(expr, Field) and expr.nullable


def _may_err(expr: Expr) -> bool:
    """Whether the expression's evaluation may be an error: anything computed."""
    return not isinstance(expr, Const | Field)


class _Compiler:
    def __init__(self, defaults: Mapping[str, str]) -> None:
        self.defaults = defaults

    def sql(self, expr: Expr) -> str:
        if isinstance(expr, Const):
            return _const(expr.value, expr.type if expr.value is not None else CelType.NULL)
        if isinstance(expr, Field):
            return self.field(expr)
        if isinstance(expr, Failing):
            return _null(CelType.BOOL)
        if isinstance(expr, Not):
            return f"(NOT {self.sql(expr.operand)})"
        if isinstance(expr, Negate):
            operand = self.sql(expr.operand)
            if expr.type is CelType.INT:
                return f"TRY(CAST(0 AS BIGINT) - {operand})"
            return f"(- {operand})"
        if isinstance(expr, Logic):
            op = "AND" if expr.op == "&&" else "OR"
            return f"({self.sql(expr.left)} {op} {self.sql(expr.right)})"
        if isinstance(expr, Compare):
            return self.compare(expr)
        if isinstance(expr, Arith):
            return self.arith(expr)
        if isinstance(expr, In):
            return self.member(expr)
        if isinstance(expr, Size):
            return f"CAST(length({self.sql(expr.operand)}) AS BIGINT)"
        if isinstance(expr, Matches):
            return f"regexp_matches({self.sql(expr.operand)}, {string_literal(expr.pattern.re2)})"
        if isinstance(expr, StringTest):
            function = {"startsWith": "starts_with", "endsWith": "ends_with"}.get(
                expr.op, "contains"
            )
            return f"{function}({self.sql(expr.operand)}, {self.sql(expr.argument)})"
        raise TypeError(f"cannot compile {type(expr).__name__} (not bound?)")

    def field(self, expr: Field) -> str:
        column = identifier(expr.name)
        if expr.type in (CelType.INT, CelType.DOUBLE):
            column = f"CAST({column} AS {SQL_TYPES[expr.type]})"
        default = self.defaults.get(expr.name)
        return column if default is None else f"coalesce({column}, {default})"

    def compare(self, expr: Compare) -> str:
        if expr.op in ("==", "!="):
            equal = self.equal(expr.left, expr.right)
            return equal if expr.op == "==" else f"(NOT {equal})"
        left, right = self.sql(expr.left), self.sql(expr.right)
        ordered = f"({left} {expr.op} {right})"
        nan = self.nan_test(expr.left, expr.right, left, right)
        if nan is None:
            return ordered
        # a NaN side makes the comparison false, unless the other side is an error (a
        # literal never is)
        if isinstance(expr.left, Const) or isinstance(expr.right, Const):
            return f"(CASE WHEN {nan} THEN FALSE ELSE {ordered} END)"
        return (
            f"(CASE WHEN {nan} THEN (CASE WHEN {left} IS NOT NULL AND {right} IS NOT NULL "
            f"THEN FALSE END) ELSE {ordered} END)"
        )

    def equal(self, left_expr: Expr, right_expr: Expr) -> str:
        """CEL's ==: null equals null only; NaN equals nothing; an error stays an error."""
        left, right = self.sql(left_expr), self.sql(right_expr)
        if CelType.NULL in (left_expr.type, right_expr.type):
            core = f"({left} IS NULL AND {right} IS NULL)"
        else:
            core = f"({left} = {right})"
            nan = self.nan_test(left_expr, right_expr, left, right)
            if nan is not None:
                core = f"(CASE WHEN {nan} THEN FALSE ELSE {core} END)"
            nullable = [
                sql for expr, sql in ((left_expr, left), (right_expr, right)) if _may_be_null(expr)
            ]
            if nullable:
                either = " OR ".join(f"{sql} IS NULL" for sql in nullable)
                core = (
                    f"(CASE WHEN {either} THEN ({left} IS NULL AND {right} IS NULL) "
                    f"ELSE {core} END)"
                )
        errors = [sql for expr, sql in ((left_expr, left), (right_expr, right)) if _may_err(expr)]
        if errors:
            failed = " OR ".join(f"{sql} IS NULL" for sql in errors)
            core = f"(CASE WHEN {failed} THEN {_null(CelType.BOOL)} ELSE {core} END)"
        return core

    def nan_test(self, left_expr: Expr, right_expr: Expr, left: str, right: str) -> str | None:
        """SQL true where a double side is NaN; None when neither side can be (literals
        are never NaN)."""
        if left_expr.type is not CelType.DOUBLE:
            return None
        tests = [
            f"isnan({sql})"
            for expr, sql in ((left_expr, left), (right_expr, right))
            if not isinstance(expr, Const)
        ]
        return "(" + " OR ".join(tests) + ")" if tests else None

    def arith(self, expr: Arith) -> str:
        left, right = self.sql(expr.left), self.sql(expr.right)
        if expr.type is CelType.STRING:
            return f"({left} || {right})"
        if expr.type is CelType.INT:
            # an overflow (and -2^63 // -1) is an error in DuckDB: TRY makes it NULL; a
            # zero divisor is NULL already; // and % truncate toward zero, as in CEL
            op = "//" if expr.op == "/" else expr.op
            if op == "%":  # x % -1 is 0 in CEL, -2^63 % -1 too (an overflow in DuckDB)
                by_minus_one = f"{left} IS NOT NULL AND {right} = -1"
                remainder = f"TRY({left} % {right})"
                return f"(CASE WHEN {by_minus_one} THEN CAST(0 AS BIGINT) ELSE {remainder} END)"
            return f"TRY({left} {op} {right})"
        if expr.op != "/":
            return f"({left} {expr.op} {right})"
        quotient = f"({left} / {right})"
        if division_by_zero_errs(expr):
            return f"(CASE WHEN {right} = 0.0 THEN {_null(CelType.DOUBLE)} ELSE {quotient} END)"
        by_zero = f"(CASE WHEN {left} IS NOT NULL THEN CAST('{DIVISION_BY_ZERO}' AS DOUBLE) END)"
        return f"(CASE WHEN {right} = 0.0 THEN {by_zero} ELSE {quotient} END)"

    def member(self, expr: In) -> str:
        operand = self.sql(expr.operand)
        if expr.values:
            listed = ", ".join(self.sql(value) for value in expr.values)
            found = f"({operand} IN ({listed}))"
        else:
            found = "FALSE"
        if _may_be_null(expr.operand):  # a string: null is in no list
            return f"(CASE WHEN {operand} IS NULL THEN FALSE ELSE {found} END)"
        if _may_err(expr.operand):
            return f"(CASE WHEN {operand} IS NULL THEN {_null(CelType.BOOL)} ELSE {found} END)"
        return found


def field_defaults(
    schema: Mapping[str, Any], fields: Mapping[str, FieldType]
) -> dict[str, object | None]:
    """The Avro defaults of the record's top-level fields (JSON values), for the fields
    that have one."""
    return {
        str(item["name"]): item["default"]
        for item in schema.get("fields", [])
        if isinstance(item, Mapping) and "default" in item and item["name"] in fields
    }


_DEFAULT_TYPES: dict[CelType, tuple[type, ...]] = {
    CelType.INT: (int,),
    CelType.DOUBLE: (int, float),
    CelType.STRING: (str,),
    CelType.BOOL: (bool,),
}


def _default_sql(name: str, value: object, field: FieldType) -> str | None:
    """The SQL of a field's default as a rule reads it, None for a null default."""
    if value is None:
        return None
    if field.nullable:
        raise SqlUnsupported(
            f"field {name} is nullable with a non-null default: a record written without "
            "the field cannot be told from a null there"
        )
    kind = field.type
    expected = _DEFAULT_TYPES.get(kind) if kind is not None else None
    if (
        kind is None
        or expected is None
        or not isinstance(value, expected)
        or isinstance(value, bool) != (kind is CelType.BOOL)
    ):
        raise SqlUnsupported(f"field {name}: its default {value!r} is not a {field.what} value")
    if kind is CelType.DOUBLE:
        assert isinstance(value, int | float)
        value = float(value)
    return _const(value, kind)


def condition_sql(
    condition: Condition,
    fields: Mapping[str, FieldType],
    defaults: Mapping[str, object | None] | None = None,
) -> str:
    """A bound condition as DuckDB SQL: TRUE (passes), FALSE, or NULL (an evaluation
    error). ``defaults`` are the Avro defaults of the fields (``field_defaults``): a field
    a record's writer lacked reads as its default. SqlUnsupported when the rule cannot be
    expressed with its verdict kept."""
    read = {
        node.name
        for root in (condition.guard, condition.body)
        if root is not None
        for node in walk(root)
        if isinstance(node, Field)
    }
    default_sql = {
        name: sql
        for name in sorted(read)
        if (sql := _default_sql(name, (defaults or {}).get(name), fields[name])) is not None
    }
    compiler = _Compiler(default_sql)
    body = compiler.sql(condition.body)
    if condition.guard is None:
        return body
    guard = compiler.sql(condition.guard)
    return (
        f"(CASE WHEN {guard} IS NULL THEN {_null(CelType.BOOL)} WHEN NOT {guard} THEN TRUE "
        f"ELSE {body} END)"
    )


def failure_sql(condition_text: str) -> str:
    """SQL true where the condition is not TRUE: the rule fails (false or an error)."""
    return f"NOT coalesce({condition_text}, FALSE)"


def failing_records_query(condition_text: str, table: str = MODEL_PLACEHOLDER) -> str:
    """The count of the table's records that break the rule."""
    return f"SELECT COUNT(*) FROM {table} WHERE {failure_sql(condition_text)}"
