"""The contract's rules as Spark columns: a record is judged in the pass that decodes it.

A bound rule (``contract.rules.BoundRule``, a typed tree of the CEL subset) compiles to a
boolean ``Column`` over the record's fields, given as a mapping field name -> Column (the
decoded struct's fields, or top-level columns: the caller chooses). All of a direction's
rules compile into one ``CASE`` column yielding the deciding rule's name (the first failing
DLQ or ERROR rule in file order) or null, and per-rule columns for counting NONE failures.

CEL semantics win where Spark's differ:

- **Errors.** CEL is strict and its evaluation errors (overflow, division by zero, a
  missing field, an operator on null) make a rule fail: Confluent's serde treats the
  executor's exception as a failure. Here an error is SQL NULL, and a rule fails when its
  condition is not TRUE (false or NULL). Spark's ``AND``/``OR`` treat NULL as CEL's
  ``&&``/``||`` treat an error: ``error || true`` is true, ``error && false`` false, else
  the error stands; every other operator propagates NULL, as CEL propagates errors.
- **Null values.** A nullable field (an Avro union with null) may be null, which CEL
  keeps apart from an error. As the Python executor has it: a null string equals null
  only (``f == 'x'`` false, ``f != 'x'`` true, ``f in [...]`` false); every other
  operator on null is an error. ``==``, ``!=`` and ``in`` on a nullable string therefore
  test for null first (a field is never an error and a computed value never null, so
  NULL's two meanings never meet). The subset refuses what cel-python answers by how an
  expression is written rather than by its value: a nullable number in ``==``, ``!=`` or
  ``in`` and a number compared with the null literal (an error against a field, a
  literal or a quotient; not equal against a sum), ``size()`` of a nullable field (0 for
  null, CEL an error) and nullable booleans (null passes through ``&&``/``||``).
- **NaN.** Spark orders NaN above every number and makes ``NaN = NaN`` true; CEL follows
  IEEE 754: every comparison with NaN is false except ``!=``. Double comparisons test for
  NaN first (double literals are never NaN, so only computed sides are tested).
- **ANSI mode.** Spark 4 fails the job on long overflow and on division by zero. CEL's
  int overflow and int division or modulo by zero are errors: ``try_add``,
  ``try_subtract``, ``try_multiply``, ``try_mod``, and ``div`` with a NULL divisor where
  it would fail (zero, or -2^63 div -1). A double divided by zero is, for the Python
  executor (the judge), +inf whatever the dividend (the CEL spec says IEEE's +-inf or
  NaN), except where both sides are sums, differences or products: there cel-python holds
  plain Python floats, whose division by zero raises (``contract.cel.plain_float``).
- **Regex.** ``matches()`` takes RE2 syntax and ``rlike`` Java's; the subset of
  ``contract.regex`` is written out for Java so both mean the same (``$`` as ``\\z``,
  ``.`` as ``[^\\n]``, ``\\s``, ``\\d``, ``\\w`` as explicit classes).
- **Ints.** Avro int fields are widened to long (CEL ints are 64-bit); strings compare by
  code point in both (Spark's UTF8_BINARY order is UTF-8 byte order).

The equivalence with Confluent's own CEL executor is tested property-wise in
tests/consumer/test_judge_spark.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F

from contract.cel import (
    DIVISION_BY_ZERO,
    INT_MIN,
    Arith,
    CelType,
    Compare,
    Condition,
    Const,
    Expr,
    Failing,
    Field,
    In,
    Logic,
    Matches,
    Negate,
    Not,
    Size,
    StringTest,
    division_by_zero_errs,
)
from contract.rules import BoundRule

#: Spark's type for each CEL type of the subset.
SPARK_TYPES = {
    CelType.INT: "long",
    CelType.DOUBLE: "double",
    CelType.STRING: "string",
    CelType.BOOL: "boolean",
    CelType.ERROR: "boolean",
    CelType.NULL: "string",
}


def struct_fields(struct: Column, names: Sequence[str]) -> dict[str, Column]:
    """The mapping field -> Column for the fields of a struct column (e.g. the decoded
    ``from_avro`` value)."""
    return {name: struct.getField(name) for name in names}


def top_level_fields(names: Sequence[str]) -> dict[str, Column]:
    """The mapping field -> Column for a DataFrame whose fields are top-level columns."""
    return {name: F.col(name) for name in names}


def _null(kind: CelType) -> Column:
    return F.lit(None).cast(SPARK_TYPES[kind])


class _Compiler:
    def __init__(self, columns: Mapping[str, Column]) -> None:
        self.columns = columns

    def column(self, expr: Expr) -> Column:
        if isinstance(expr, Const):
            return self.const(expr)
        if isinstance(expr, Field):
            if expr.name not in self.columns:
                raise KeyError(f"no column for field {expr.name}")
            return self.columns[expr.name].cast(SPARK_TYPES[expr.type])
        if isinstance(expr, Failing):
            return _null(CelType.BOOL)
        if isinstance(expr, Not):
            return ~self.column(expr.operand)
        if isinstance(expr, Negate):
            operand = self.column(expr.operand)
            if expr.type is CelType.INT:
                return F.try_subtract(F.lit(0).cast("long"), operand)
            return -operand
        if isinstance(expr, Logic):
            left, right = self.column(expr.left), self.column(expr.right)
            return left & right if expr.op == "&&" else left | right
        if isinstance(expr, Compare):
            return self.compare(expr)
        if isinstance(expr, Arith):
            return self.arith(expr)
        if isinstance(expr, In):
            return self.member(expr)
        if isinstance(expr, Size):
            return F.length(self.column(expr.operand)).cast("long")
        if isinstance(expr, Matches):
            return self.column(expr.operand).rlike(expr.pattern.java)
        if isinstance(expr, StringTest):
            operand, argument = self.column(expr.operand), self.column(expr.argument)
            if expr.op == "startsWith":
                return operand.startswith(argument)
            if expr.op == "endsWith":
                return operand.endswith(argument)
            return operand.contains(argument)
        raise TypeError(f"cannot compile {type(expr).__name__} (not bound?)")

    def const(self, expr: Const) -> Column:
        if expr.value is None:
            return _null(CelType.NULL)
        return F.lit(expr.value).cast(SPARK_TYPES[expr.type])

    def compare(self, expr: Compare) -> Column:
        if expr.op not in ("==", "!="):
            left, right = self.column(expr.left), self.column(expr.right)
            ordered = {
                "<": left < right,
                "<=": left <= right,
                ">": left > right,
                ">=": left >= right,
            }[expr.op]
            nan = self.nan_test(expr.left, expr.right, left, right)
            if nan is None:
                return ordered
            # a NaN side makes the comparison false, unless the other side is an error
            return F.when(nan, F.when(left.isNotNull() & right.isNotNull(), False)).otherwise(
                ordered
            )
        equal = self.equal(expr.left, expr.right)
        return equal if expr.op == "==" else ~equal

    def equal(self, left_expr: Expr, right_expr: Expr) -> Column:
        """CEL's ==: null equals null only; NaN equals nothing; an error stays an error."""
        left, right = self.column(left_expr), self.column(right_expr)
        if CelType.NULL in (left_expr.type, right_expr.type):
            core = left.isNull() & right.isNull()
        else:
            core = left == right
            nan = self.nan_test(left_expr, right_expr, left, right)
            if nan is not None:
                core = F.when(nan, False).otherwise(core)
        maybe_null = [
            column
            for expr, column in ((left_expr, left), (right_expr, right))
            if _may_be_null(expr)
        ]
        if maybe_null and CelType.NULL not in (left_expr.type, right_expr.type):
            either = maybe_null[0].isNull()
            for column in maybe_null[1:]:
                either = either | column.isNull()
            core = F.when(either, left.isNull() & right.isNull()).otherwise(core)
        errors = [
            column for expr, column in ((left_expr, left), (right_expr, right)) if _may_err(expr)
        ]
        if errors:
            failed = errors[0].isNull()
            for column in errors[1:]:
                failed = failed | column.isNull()
            core = F.when(failed, _null(CelType.BOOL)).otherwise(core)
        return core

    def nan_test(
        self, left_expr: Expr, right_expr: Expr, left: Column, right: Column
    ) -> Column | None:
        """A column true where a double side is NaN; None when neither side can be."""
        if left_expr.type is not CelType.DOUBLE:
            return None
        tests = [
            F.isnan(column)
            for expr, column in ((left_expr, left), (right_expr, right))
            if not isinstance(expr, Const)
        ]
        if not tests:
            return None
        return tests[0] if len(tests) == 1 else tests[0] | tests[1]

    def arith(self, expr: Arith) -> Column:
        left, right = self.column(expr.left), self.column(expr.right)
        if expr.type is CelType.STRING:
            return F.concat(left, right)
        if expr.type is CelType.INT:
            if expr.op == "+":
                return F.try_add(left, right)
            if expr.op == "-":
                return F.try_subtract(left, right)
            if expr.op == "*":
                return F.try_multiply(left, right)
            if expr.op == "%":
                return F.try_mod(left, right)
            # truncating division; a NULL divisor where ANSI mode would fail the job
            overflow = (left == F.lit(INT_MIN).cast("long")) & (right == -1)
            divisor = F.when((right == 0) | overflow, F.lit(None).cast("long")).otherwise(right)
            return F.call_function("div", left, divisor)
        if expr.op == "+":
            return left + right
        if expr.op == "-":
            return left - right
        if expr.op == "*":
            return left * right
        # "/": a zero divisor (0.0 or -0.0) gives +inf or an error; otherwise IEEE
        divisor = F.when(right != 0.0, right)
        if division_by_zero_errs(expr):
            return left / divisor
        by_zero = F.when(left.isNotNull(), F.lit(DIVISION_BY_ZERO))
        return F.when(right == 0.0, by_zero).otherwise(left / divisor)

    def member(self, expr: In) -> Column:
        operand = self.column(expr.operand)
        if expr.values:
            found = operand.isin(*(self.const(value) for value in expr.values))
        else:
            found = F.lit(False)
        if _may_be_null(expr.operand):  # a string: null is in no list
            return F.when(operand.isNull(), False).otherwise(found)
        if _may_err(expr.operand):
            return F.when(operand.isNull(), _null(CelType.BOOL)).otherwise(found)
        return found


def _may_be_null(expr: Expr) -> bool:
    """A null value (not an error): only a nullable field's."""
    return isinstance(expr, Field) and expr.nullable


def _may_err(expr: Expr) -> bool:
    """Whether the expression's evaluation may be an error: anything computed (a literal
    or a field never is)."""
    return not isinstance(expr, Const | Field)


def expression_column(expr: Expr, columns: Mapping[str, Column]) -> Column:
    """A bound expression as a Column: its CEL value, or NULL for an evaluation error."""
    return _Compiler(columns).column(expr)


def condition_column(condition: Condition, columns: Mapping[str, Column]) -> Column:
    """A rule's condition as a boolean Column: true (passes), false, NULL (an error).
    A guard that is not true makes the rule pass; an erring guard makes it fail."""
    compiler = _Compiler(columns)
    body = compiler.column(condition.body)
    if condition.guard is None:
        return body
    guard = compiler.column(condition.guard)
    return F.when(guard.isNull(), _null(CelType.BOOL)).when(~guard, True).otherwise(body)


def failure_column(rule: BoundRule, columns: Mapping[str, Column]) -> Column:
    """True where the rule fails (its condition is not true), false where it passes."""
    return ~F.coalesce(condition_column(rule.condition, columns), F.lit(False))


def decider_column(rules: Sequence[BoundRule], columns: Mapping[str, Column]) -> Column:
    """One CASE: the name of the first failing DLQ or ERROR rule, in the rules' order, or
    NULL where none fails (the record passes; NONE failures are not its fate)."""
    decider: Column | None = None
    for rule in rules:
        if not rule.decisive:
            continue
        failed = failure_column(rule, columns)
        decider = (
            F.when(failed, F.lit(rule.name))
            if decider is None
            else decider.when(failed, F.lit(rule.name))
        )
    return _null(CelType.STRING) if decider is None else decider


def none_failure_columns(
    rules: Sequence[BoundRule], columns: Mapping[str, Column]
) -> dict[str, Column]:
    """For each NONE rule, a boolean Column true where it fails and is counted: judging
    reached it (no DLQ or ERROR rule before it failed). Sum them to count."""
    counted: dict[str, Column] = {}
    decided: Column | None = None
    for rule in rules:
        failed = failure_column(rule, columns)
        if not rule.decisive:
            counted[rule.name] = failed if decided is None else failed & ~decided
        else:
            decided = failed if decided is None else decided | failed
    return counted
