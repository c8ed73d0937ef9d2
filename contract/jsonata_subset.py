"""The JSONata subset that migration rules compile from: a tree of our own.

A rule's expression is parsed by jsonata-python (``jsonata.Jsonata(expr).ast``, the
library Confluent's Python executor runs) and its parse tree is turned into the small tree
below; anything outside the subset is refused with a one-line ``SubsetError`` naming the
construct. The subset:

- literals: numbers, strings, ``true``, ``false``, ``null``;
- paths of names from the record (``price``, ``$.price``, ``a.b``, ``$.'a b'``), and ``$``
  (the record itself);
- ``+ - * / %``, unary ``-``, ``&``, ``= != < <= > >=``, ``and``, ``or``,
  ``cond ? a : b`` (the else optional), parentheses around one expression;
- object constructors with string-literal keys;
- ``$merge([...])`` of objects, ``$sift(obj, function($v, $k) {...})`` whose predicate
  reads the key only (``$k`` against string literals with ``= != < <= > >=``, ``and``,
  ``or``, ``$contains($k, '...')``), ``$lookup(obj, 'key')``;
- ``$string``, ``$number``, ``$round`` (optional precision), ``$floor``, ``$ceil``,
  ``$abs``, ``$substring``, ``$substringBefore``, ``$substringAfter``, ``$uppercase``,
  ``$lowercase``, ``$trim``, ``$contains`` (a string, not a regex), ``$exists``.

The tree says nothing about types: binding it to a record's fields is the compiler's job
(consumer.migration_columns), which may refuse a well-formed expression too (a type
JSONata would mix at run time), and then the rule runs in jsonata-python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import jsonata


class SubsetError(ValueError):
    """A migration rule's expression outside the compiled subset: one line naming the
    construct."""


@dataclass(frozen=True)
class Const:
    """A literal: a number (int or float, as jsonata-python reads it), string, bool, null."""

    value: int | float | str | bool | None


@dataclass(frozen=True)
class Path:
    """The value at names below the record; no names: the record itself (``$``)."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Key:
    """``$k``, the key a ``$sift`` predicate is asked about."""


ArithOp: TypeAlias = Literal["+", "-", "*", "/", "%"]
CompareOp: TypeAlias = Literal["=", "!=", "<", "<=", ">", ">="]
LogicOp: TypeAlias = Literal["and", "or"]
BinaryOp: TypeAlias = ArithOp | CompareOp | LogicOp | Literal["&"]
ARITHMETIC: tuple[ArithOp, ...] = ("+", "-", "*", "/", "%")
COMPARISONS: tuple[CompareOp, ...] = ("=", "!=", "<", "<=", ">", ">=")
LOGIC: tuple[LogicOp, ...] = ("and", "or")


@dataclass(frozen=True)
class Negate:
    operand: Expr


@dataclass(frozen=True)
class Binary:
    op: BinaryOp
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Conditional:
    condition: Expr
    then: Expr
    otherwise: Expr | None


@dataclass(frozen=True)
class ObjectOf:
    """An object constructor: its pairs in order (a key whose value is undefined is left
    out when it runs)."""

    pairs: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True)
class Merge:
    """``$merge([...])``: later keys win; undefined items are skipped."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Sift:
    """``$sift(source, function($v, $k) {keep})``: the pairs whose key keeps ``keep``."""

    source: Expr
    keep: Expr


#: The functions of the subset besides $merge and $sift, with their argument counts.
FUNCTIONS: dict[str, tuple[int, int]] = {
    "string": (1, 1),
    "number": (1, 1),
    "round": (1, 2),
    "floor": (1, 1),
    "ceil": (1, 1),
    "abs": (1, 1),
    "substring": (2, 3),
    "substringBefore": (2, 2),
    "substringAfter": (2, 2),
    "uppercase": (1, 1),
    "lowercase": (1, 1),
    "trim": (1, 1),
    "contains": (2, 2),
    "exists": (1, 1),
    "lookup": (2, 2),
}


@dataclass(frozen=True)
class Call:
    """``$name(args...)``, one of FUNCTIONS."""

    name: str
    args: tuple[Expr, ...]


Expr: TypeAlias = (
    Const | Path | Key | Negate | Binary | Conditional | ObjectOf | Merge | Sift | Call
)


def parse_transform(expr: str) -> Expr:
    """A migration rule's expression as a tree of the subset, or SubsetError in one line
    (a parse error of jsonata-python's too)."""
    try:
        ast = jsonata.Jsonata(expr).ast
    except Exception as error:  # jsonata-python raises JException, and others on odd input
        raise SubsetError(f"not a JSONata expression: {' '.join(str(error).split())}") from None
    return _Converter().expr(ast)


def keeps_key(keep: Expr, key: str) -> bool:
    """Whether a $sift key predicate (a tree of the subset reading ``$k`` only) keeps key,
    as JSONata's truthiness has it."""
    value = _key_value(keep, key)
    return bool(value) if isinstance(value, bool | str) else False


def _key_value(node: Expr, key: str) -> bool | str | None:
    if isinstance(node, Key):
        return key
    if isinstance(node, Const):
        return node.value if isinstance(node.value, bool | str) else None
    if isinstance(node, Call) and node.name == "contains":
        haystack, needle = (_key_value(arg, key) for arg in node.args)
        return isinstance(haystack, str) and isinstance(needle, str) and needle in haystack
    if isinstance(node, Binary):
        left = _key_value(node.left, key)
        if node.op in LOGIC:
            truth = bool(left) if isinstance(left, bool | str) else False
            if node.op == "and" and not truth:
                return False
            if node.op == "or" and truth:
                return True
            right = _key_value(node.right, key)
            return bool(right) if isinstance(right, bool | str) else False
        right = _key_value(node.right, key)
        if node.op == "=":
            return left == right and type(left) is type(right)
        if node.op == "!=":
            return not (left == right and type(left) is type(right))
        if isinstance(left, str) and isinstance(right, str):
            return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
                node.op
            ]
    raise SubsetError(f"a $sift predicate with {describe(node)}")


def describe(node: Expr) -> str:
    """A node named for a message."""
    if isinstance(node, Call):
        return f"${node.name}()"
    if isinstance(node, Binary):
        return f"the operator {node.op}"
    return type(node).__name__


# -- jsonata-python's tree -> ours --------------------------------------------------------

_KEY_PREDICATE_FUNCTIONS = ("contains",)


class _Converter:
    def __init__(self) -> None:
        self.key_name: str | None = None  # inside a $sift predicate: the key's variable

    def refuse(self, what: str) -> SubsetError:
        return SubsetError(f"{what} is outside the compiled JSONata subset")

    def expr(self, node: Any) -> Expr:
        kind = node.type
        self.plain_step(node)
        if kind == "number":
            return Const(node.value)
        if kind == "string":
            return Const(str(node.value))
        if kind == "value":
            if node.value is None or isinstance(node.value, bool):
                return Const(node.value)
            raise self.refuse(f"the value {node.value!r}")
        if kind == "path":
            return self.path(node)
        if kind == "variable":
            return self.variable(node)
        if kind == "unary":
            return self.unary(node)
        if kind == "binary":
            return self.binary(node)
        if kind == "condition":
            otherwise = None if node._else is None else self.expr(node._else)
            return Conditional(self.expr(node.condition), self.expr(node.then), otherwise)
        if kind == "block":
            if len(node.expressions) != 1:
                raise self.refuse("a block of several expressions (...; ...)")
            return self.expr(node.expressions[0])
        if kind == "function":
            return self.function(node)
        described = {
            "lambda": "a function definition outside $sift",
            "bind": "a variable binding :=",
            "apply": "the chain operator ~>",
            "regex": "a regular expression",
            "wildcard": "the wildcard *",
            "descendant": "the descendant wildcard **",
            "parent": "the parent operator %",
            "transform": "the transform operator |...|",
            "partial": "a partial function application",
            "condition": "the conditional",
        }
        raise self.refuse(described.get(kind, f"a {kind} expression"))

    def plain_step(self, node: Any) -> None:
        """Refuse what jsonata-python hangs on a node: predicates, group-by, sort, focus
        and index bindings, [] (keep array)."""
        if getattr(node, "predicate", None) or getattr(node, "stages", None):
            raise self.refuse("a filter or index [...]")
        if getattr(node, "group", None) is not None:
            raise self.refuse("a group-by {...} after an expression")
        if getattr(node, "focus", None) is not None or getattr(node, "index", None) is not None:
            raise self.refuse("a focus or index variable binding (@, #)")
        if getattr(node, "keep_array", False) or getattr(node, "keep_singleton_array", False):
            raise self.refuse("the keep-array operator []")

    def path(self, node: Any) -> Expr:
        steps = list(node.steps)
        names: list[str] = []
        for index, step in enumerate(steps):
            self.plain_step(step)
            if step.type == "variable" and step.value == "" and index == 0:
                continue
            if step.type == "name":
                names.append(str(step.value))
                continue
            if step.type == "sort":
                raise self.refuse("an order-by ^(...)")
            raise self.refuse(f"a path step that is not a name ({self.step_kind(step)})")
        if self.key_name is not None:
            raise self.refuse("a path in a $sift predicate (it may read $k only)")
        return Path(tuple(names))

    def step_kind(self, step: Any) -> str:
        if step.type == "function":
            return f"${getattr(step.procedure, 'value', '?')}()"
        if step.type == "unary" and str(step.value) == "{":
            return "an object constructor"
        if step.type == "unary" and str(step.value) == "[":
            return "an array constructor"
        return str(step.type)

    def variable(self, node: Any) -> Expr:
        name = str(node.value)
        if self.key_name is not None:
            if name == self.key_name:
                return Key()
            raise self.refuse(f"the variable ${name} in a $sift predicate (only the key)")
        if name == "":
            return Path(())
        if name == "$":
            raise self.refuse("the root variable $$")
        raise self.refuse(f"the variable ${name}")

    def unary(self, node: Any) -> Expr:
        value = str(node.value)
        if value == "-":
            return Negate(self.expr(node.expression))
        if value == "{":
            pairs: list[tuple[str, Expr]] = []
            for key, item in node.lhs_object:
                if key.type != "string":
                    raise self.refuse("an object key that is not a string literal")
                pairs.append((str(key.value), self.expr(item)))
            return ObjectOf(tuple(pairs))
        if value == "[":
            raise self.refuse("an array constructor outside $merge([...])")
        raise self.refuse(f"the prefix operator {value}")

    def binary(self, node: Any) -> Expr:
        op = str(node.value)
        allowed: tuple[str, ...] = (*ARITHMETIC, *COMPARISONS, *LOGIC, "&")
        if op not in allowed:
            named = {"in": "the operator in"}
            raise self.refuse(named.get(op, f"the operator {op}"))
        if self.key_name is not None and op not in (*COMPARISONS, *LOGIC):
            raise self.refuse(f"the operator {op} in a $sift predicate")
        left, right = self.expr(node.lhs), self.expr(node.rhs)
        return Binary(op, left, right)  # type: ignore[arg-type]

    def function(self, node: Any) -> Expr:
        procedure = node.procedure
        if procedure is None or procedure.type != "variable":
            raise self.refuse("a call of something other than a built-in function")
        name = str(procedure.value)
        args = list(node.arguments or [])
        if self.key_name is not None and name not in _KEY_PREDICATE_FUNCTIONS:
            raise self.refuse(f"the function ${name}() in a $sift predicate")
        if name == "merge":
            if len(args) != 1 or args[0].type != "unary" or str(args[0].value) != "[":
                raise self.refuse("$merge() of something other than an array constructor [...]")
            self.plain_step(args[0])
            return Merge(tuple(self.expr(item) for item in args[0].expressions))
        if name == "sift":
            return self.sift(args)
        if name not in FUNCTIONS:
            raise self.refuse(f"the function ${name}()")
        low, high = FUNCTIONS[name]
        if not low <= len(args) <= high:
            raise self.refuse(f"${name}() with {len(args)} arguments")
        return Call(name, tuple(self.expr(arg) for arg in args))

    def sift(self, args: list[Any]) -> Expr:
        if len(args) != 2 or args[1].type != "lambda":
            raise self.refuse("$sift() without a function($v, $k) {...} as its second argument")
        source = self.expr(args[0])
        params = [str(param.value) for param in args[1].arguments]
        if len(params) != 2:
            raise self.refuse(f"a $sift function of {len(params)} parameters (it takes $v, $k)")
        body = args[1].body
        if body.type == "lambda" and getattr(body, "thunk", False):
            body = body.body  # jsonata-python wraps a call in tail position in a thunk
        self.key_name = params[1]
        try:
            keep = self.expr(body)
        finally:
            self.key_name = None
        keeps_key(keep, "")  # refuses what the key predicate cannot hold
        return Sift(source, keep)
