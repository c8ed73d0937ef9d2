"""The CEL subset of the contract's rules: a typed expression tree of our own.

A rule's text is parsed by cel-python's parser (``celpy.CELParser``, a Lark LALR grammar of
CEL) and the Lark tree is turned into the small tree below; anything outside the subset is
refused with a one-line ``SubsetError`` naming the construct. The subset:

- literals: int, double, string, bool, null (literals are converted by cel-python's own
  functions, so ``0x10``, ``1e3``, ``'\\u00e9'``, ``r'\\d'`` mean what they mean to it);
- ``message.<field>`` (a top-level field of the record);
- ``== != < <= > >=``, ``+ - * / %``, unary ``-``, ``&& || !``;
- ``x in [literal, ...]``;
- ``size(s)`` / ``s.size()`` of a string, ``s.matches('re')`` (a string literal in the
  RE2 subset of ``contract.regex``), ``s.startsWith(t)``, ``s.endsWith(t)``,
  ``s.contains(t)``;
- ``has(message.<field>)``.

Binding the tree to a record's field types (``bind``) types every node and refuses what
CEL has no operator for (``message.price + 1``: CEL does not convert int to double;
cel-python accepts some of these in one operand order only, so the subset refuses them
in both). A field the record lacks binds to ``Failing``: reading it is an evaluation error
in CEL, as the executor's ``no such member`` is; ``has()`` of it is false.

It also refuses what confluent-kafka's Python executor (cel-python) answers by how an
expression is written rather than by its value, found by the equivalence tests: a number
compared with the null literal or a nullable number in ``==``, ``!=``, ``in``; ``size()``
of a nullable field; a nullable boolean; ``contains()`` of a concatenation; a ``;`` in a
string literal (the executor splits the text there into a guard and a condition). One such
quirk is kept instead, since a value decides it: a double divided by zero is +inf, or an
error where both sides are sums, differences or products (``division_by_zero_errs``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Literal, TypeAlias

from contract.regex import Pattern, RegexError, parse_pattern

#: CEL's int range (64-bit two's complement).
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1


class SubsetError(ValueError):
    """A rule expression outside the subset: one line naming the construct."""


class CelType(str, Enum):
    INT = "int"
    DOUBLE = "double"
    STRING = "string"
    BOOL = "bool"
    NULL = "null"
    #: An expression whose evaluation is always an error (it reads a missing field).
    ERROR = "error"
    #: A field's type before binding.
    DYN = "dyn"


@dataclass(frozen=True)
class FieldType:
    """A record field as the rules see it: its CEL type and whether it may be null.

    ``type`` is None for a field of a type outside the subset (``what`` names it): a rule
    may test it with ``has()`` only.
    """

    type: CelType | None
    nullable: bool = False
    what: str = ""


# -- the tree ---------------------------------------------------------------------------
# Every node has ``type`` (DYN until bound) and ``text``, the source it was parsed from
# (for messages only: not compared).


@dataclass(frozen=True)
class Const:
    value: int | float | str | bool | None
    type: CelType
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Field:
    name: str
    type: CelType = CelType.DYN
    nullable: bool = False
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Failing:
    """Always an evaluation error (a bound read of a field the record lacks)."""

    reason: str
    type: CelType = CelType.ERROR
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Not:
    operand: Expr
    type: CelType = CelType.DYN
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Negate:
    operand: Expr
    type: CelType = CelType.DYN
    text: str = field(default="", compare=False)


LogicOp: TypeAlias = Literal["&&", "||"]
CompareOp: TypeAlias = Literal["==", "!=", "<", "<=", ">", ">="]
ArithOp: TypeAlias = Literal["+", "-", "*", "/", "%"]
StringOp: TypeAlias = Literal["startsWith", "endsWith", "contains"]


@dataclass(frozen=True)
class Logic:
    op: LogicOp
    left: Expr
    right: Expr
    type: CelType = CelType.DYN
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Compare:
    op: CompareOp
    left: Expr
    right: Expr
    type: CelType = CelType.DYN
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Arith:
    op: ArithOp
    left: Expr
    right: Expr
    type: CelType = CelType.DYN
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class In:
    operand: Expr
    values: tuple[Const, ...]
    type: CelType = CelType.DYN
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Size:
    operand: Expr
    type: CelType = CelType.DYN
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Matches:
    operand: Expr
    pattern: Pattern
    type: CelType = CelType.DYN
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class StringTest:
    op: StringOp
    operand: Expr
    argument: Expr
    type: CelType = CelType.DYN
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Has:
    name: str
    type: CelType = CelType.DYN
    text: str = field(default="", compare=False)


Expr: TypeAlias = (
    Const
    | Field
    | Failing
    | Not
    | Negate
    | Logic
    | Compare
    | Arith
    | In
    | Size
    | Matches
    | StringTest
    | Has
)


@dataclass(frozen=True)
class Condition:
    """A rule's expression: the optional guard before the first ``;`` and the condition.

    As Confluent's executor does it, the text is split at its first ``;`` whatever it is
    in (a ``;`` inside a string literal too); a guard that is not true makes the rule
    pass, a guard that errs makes it fail.
    """

    guard: Expr | None
    body: Expr


def children(expr: Expr) -> tuple[Expr, ...]:
    """The node's operands, in evaluation order."""
    if isinstance(expr, Not | Negate | Size | Matches):
        return (expr.operand,)
    if isinstance(expr, Logic | Compare | Arith):
        return (expr.left, expr.right)
    if isinstance(expr, In):
        return (expr.operand, *expr.values)
    if isinstance(expr, StringTest):
        return (expr.operand, expr.argument)
    return ()


def walk(expr: Expr) -> Iterator[Expr]:
    """The node and all nodes below it, parents first."""
    yield expr
    for child in children(expr):
        yield from walk(child)


def fields_named(condition: Condition | Expr) -> frozenset[str]:
    """Every field the expression names (read or tested with has())."""
    roots = [condition.guard, condition.body] if isinstance(condition, Condition) else [condition]
    return frozenset(
        node.name
        for root in roots
        if root is not None
        for node in walk(root)
        if isinstance(node, Field | Has)
    )


# -- parsing ----------------------------------------------------------------------------

_parser: Any = None


def _cel_parser() -> Any:
    global _parser
    if _parser is None:
        from celpy.celparser import CELParser

        _parser = CELParser()
    return _parser


def parse_condition(text: str) -> Condition:
    """A rule's expression as a tree (unbound), or SubsetError in one line."""
    guard_text, separator, body_text = text.partition(";")
    if not separator:
        return Condition(guard=None, body=parse_expr(text))
    try:
        guard = parse_expr(guard_text) if guard_text.strip() else None
        body = parse_expr(body_text)
    except SubsetError as error:
        raise SubsetError(
            f"{error} (the text is split at its first ';' into a guard and a condition, "
            "as Confluent's executor splits it: write ';' in a string as \\x3b)"
        ) from None
    return Condition(guard=guard, body=body)


def parse_expr(text: str) -> Expr:
    """One CEL expression of the subset as a tree (unbound), or SubsetError in one line."""
    from celpy.celparser import CELParseError

    try:
        tree = _cel_parser().parse(text)
    except CELParseError as error:
        first = str(error.args[0]).strip().splitlines()[0] if error.args else "syntax error"
        raise SubsetError(f"not valid CEL: {first}") from None
    return _Converter(text).expr(tree)


_RELATIONS: dict[str, CompareOp | Literal["in"]] = {
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_in": "in",
}
_ARITHMETIC: dict[str, ArithOp] = {
    "addition_add": "+",
    "addition_sub": "-",
    "multiplication_mul": "*",
    "multiplication_div": "/",
    "multiplication_mod": "%",
}
_STRING_METHODS: tuple[StringOp, ...] = ("startsWith", "endsWith", "contains")
MESSAGE = "message"


class _Converter:
    """Lark tree (cel.lark's rule names) -> our tree."""

    def __init__(self, source: str) -> None:
        self.source = source

    def text(self, tree: Any) -> str:
        meta = getattr(tree, "meta", None)
        if meta is None or getattr(meta, "empty", True):
            return str(tree)
        return str(self.source[meta.start_pos : meta.end_pos])

    def refuse(self, what: str, tree: Any) -> SubsetError:
        return SubsetError(f"{what} is outside the supported CEL subset (in `{self.text(tree)}`)")

    def expr(self, tree: Any) -> Expr:
        import lark

        if isinstance(tree, lark.Token):
            raise self.refuse(f"token {tree!r}", tree)
        kind, kids = tree.data, tree.children
        if kind == "expr":
            if len(kids) != 1:
                raise self.refuse("the conditional operator ?:", tree)
            return self.expr(kids[0])
        if kind in ("conditionalor", "conditionaland"):
            if len(kids) == 1:
                return self.expr(kids[0])
            op: LogicOp = "||" if kind == "conditionalor" else "&&"
            return Logic(op, self.expr(kids[0]), self.expr(kids[1]), text=self.text(tree))
        if kind in ("relation", "addition", "multiplication"):
            if len(kids) == 1:
                return self.expr(kids[0])
            operator, right = kids
            (left,) = operator.children
            return self.binary(operator.data, left, right, tree)
        if kind == "unary":
            if len(kids) == 1:
                return self.expr(kids[0])
            operator, operand = kids
            inner = self.expr(operand)
            if operator.data == "unary_not":
                return Not(inner, text=self.text(tree))
            if isinstance(inner, Const) and inner.type in (CelType.INT, CelType.DOUBLE):
                return self.negated_const(inner, tree)
            return Negate(inner, text=self.text(tree))
        if kind in ("member", "primary"):
            (only,) = kids
            return self.expr(only)
        if kind == "paren_expr":
            (inner,) = kids
            return self.expr(inner)
        if kind == "member_dot":
            target, name = kids
            if self.is_message(target):
                return Field(str(name), text=self.text(tree))
            raise self.refuse(f"field access .{name} of something other than message", tree)
        if kind == "member_dot_arg":
            return self.method(tree)
        if kind == "ident_arg":
            return self.function(tree)
        if kind == "literal":
            return self.literal(tree)
        if kind == "ident":
            (name,) = kids
            if str(name) == MESSAGE:
                raise self.refuse("the whole message (only message.<field>)", tree)
            raise self.refuse(f"the name {name!s}", tree)
        described = {
            "member_index": "indexing [...]",
            "member_object": "a message literal {...}",
            "map_lit": "a map literal {...}",
            "list_lit": "a list literal outside `x in [...]`",
            "dot_ident": "a leading-dot name",
            "dot_ident_arg": "a leading-dot function",
        }
        raise self.refuse(described.get(kind, str(kind)), tree)

    def is_message(self, tree: Any) -> bool:
        import lark

        while isinstance(tree, lark.Tree) and tree.data in ("member", "primary"):
            if len(tree.children) != 1:
                return False
            tree = tree.children[0]
        return (
            isinstance(tree, lark.Tree)
            and tree.data == "ident"
            and str(tree.children[0]) == MESSAGE
        )

    def binary(self, operator: str, left_tree: Any, right_tree: Any, tree: Any) -> Expr:
        left = self.expr(left_tree)
        text = self.text(tree)
        if operator in _ARITHMETIC:
            return Arith(_ARITHMETIC[operator], left, self.expr(right_tree), text=text)
        relation = _RELATIONS[operator]
        if relation == "in":
            return In(left, self.list_literal(right_tree), text=text)
        return Compare(relation, left, self.expr(right_tree), text=text)

    def list_literal(self, tree: Any) -> tuple[Const, ...]:
        import lark

        node = tree
        while isinstance(node, lark.Tree) and len(node.children) == 1 and node.data != "list_lit":
            node = node.children[0]
        if not (isinstance(node, lark.Tree) and node.data == "list_lit"):
            raise self.refuse("`in` with something other than a list literal", tree)
        values: list[Const] = []
        for exprlist in node.children:
            for item in exprlist.children:
                value = self.expr(item)
                if not isinstance(value, Const):
                    raise self.refuse("a list element that is not a literal", item)
                values.append(value)
        return tuple(values)

    def arguments(self, exprlists: list[Any]) -> list[Any]:
        """The expressions of an optional exprlist (the children after the name)."""
        return [item for exprlist in exprlists for item in exprlist.children]

    def function(self, tree: Any) -> Expr:
        name = str(tree.children[0])
        args = self.arguments(tree.children[1:])
        if name == "has":
            if len(args) != 1:
                raise self.refuse(f"has() with {len(args)} arguments", tree)
            inner = self.expr(args[0])
            if not isinstance(inner, Field):
                raise self.refuse("has() of something other than message.<field>", tree)
            return Has(inner.name, text=self.text(tree))
        if name == "size":
            if len(args) != 1:
                raise self.refuse(f"size() with {len(args)} arguments", tree)
            return Size(self.expr(args[0]), text=self.text(tree))
        raise self.refuse(f"function {name}()", tree)

    def method(self, tree: Any) -> Expr:
        target, name_token = tree.children[0], str(tree.children[1])
        args = self.arguments(tree.children[2:])
        text = self.text(tree)
        if name_token == "size" and not args:
            return Size(self.expr(target), text=text)
        if name_token == "matches" and len(args) == 1:
            pattern = self.expr(args[0])
            if not (isinstance(pattern, Const) and pattern.type is CelType.STRING):
                raise self.refuse("matches() with a pattern that is not a string literal", tree)
            try:
                compiled = parse_pattern(str(pattern.value))
            except RegexError as error:
                raise SubsetError(f"{error} in `{text}`") from None
            return Matches(self.expr(target), compiled, text=text)
        if name_token in _STRING_METHODS and len(args) == 1:
            op: StringOp = name_token
            return StringTest(op, self.expr(target), self.expr(args[0]), text=text)
        raise self.refuse(f"method .{name_token}() with {len(args)} arguments", tree)

    def literal(self, tree: Any) -> Const:
        from celpy import celtypes
        from celpy.evaluation import celstr

        (token,) = tree.children
        text = self.text(tree)
        kind = token.type
        if kind == "INT_LIT":
            try:
                return Const(int(celtypes.IntType(token.value)), CelType.INT, text)
            except ValueError:
                raise self.refuse("an int literal out of the 64-bit range", tree) from None
        if kind == "FLOAT_LIT":
            return Const(float(celtypes.DoubleType(token.value)), CelType.DOUBLE, text)
        if kind in ("STRING_LIT", "MLSTRING_LIT"):
            value = str(celstr(token))
            if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
                raise self.refuse("a string literal with a surrogate code point", tree)
            return Const(value, CelType.STRING, text)
        if kind == "BOOL_LIT":
            return Const(token.value == "true", CelType.BOOL, text)
        if kind == "NULL_LIT":
            return Const(None, CelType.NULL, text)
        names = {"UINT_LIT": "an unsigned int literal", "BYTES_LIT": "a bytes literal"}
        raise self.refuse(names.get(kind, kind), tree)

    def negated_const(self, const: Const, tree: Any) -> Expr:
        value = const.value
        assert isinstance(value, int | float) and not isinstance(value, bool)
        if const.type is CelType.INT and value == INT_MIN:
            return Negate(const, text=self.text(tree))  # an overflow: an error when run
        return Const(-value, const.type, self.text(tree))


# -- binding ----------------------------------------------------------------------------

_NUMBERS = (CelType.INT, CelType.DOUBLE)
_ORDERED = (CelType.INT, CelType.DOUBLE, CelType.STRING, CelType.BOOL)
_ARITH_TYPES: dict[str, tuple[CelType, ...]] = {
    "+": (CelType.INT, CelType.DOUBLE, CelType.STRING),
    "-": _NUMBERS,
    "*": _NUMBERS,
    "/": _NUMBERS,
    "%": (CelType.INT,),
}


def bind(expr: Expr, fields: Mapping[str, FieldType]) -> Expr:
    """The tree typed against a record's fields; SubsetError in one line for a tree CEL
    has no operator for. A read of a field not in ``fields`` becomes Failing."""
    return _Binder(fields).bind(expr)


def bind_condition(condition: Condition, fields: Mapping[str, FieldType]) -> Condition:
    """Both parts of a condition bound; each must be boolean."""
    binder = _Binder(fields)
    guard = None if condition.guard is None else binder.boolean(condition.guard, "the guard")
    return Condition(guard=guard, body=binder.boolean(condition.body, "the condition"))


def _article(kind: CelType) -> str:
    return ("an " if kind.value[0] in "aeiou" else "a ") + kind.value


class _Binder:
    def __init__(self, fields: Mapping[str, FieldType]) -> None:
        self.fields = fields

    def boolean(self, expr: Expr, role: str) -> Expr:
        bound = self.bind(expr)
        if bound.type not in (CelType.BOOL, CelType.ERROR):
            raise SubsetError(f"{role} `{expr.text}` is {bound.type.value}, not bool")
        return bound

    def no_operator(self, expr: Expr, *types: CelType) -> SubsetError:
        shown = ", ".join(kind.value for kind in types)
        hint = ""
        if set(types) == {CelType.INT, CelType.DOUBLE}:
            hint = " (CEL does not convert int to double: write 1.0, not 1)"
        return SubsetError(f"`{expr.text}`: no such operator for ({shown}){hint}")

    def bind(self, expr: Expr) -> Expr:
        method: Callable[[Any], Expr] = getattr(self, "bind_" + type(expr).__name__.lower())
        return method(expr)

    def bind_const(self, expr: Const) -> Expr:
        return expr

    def bind_failing(self, expr: Failing) -> Expr:
        return expr

    def bind_field(self, expr: Field) -> Expr:
        known = self.fields.get(expr.name)
        if known is None:
            return Failing(f"no field {expr.name}", text=expr.text)
        if known.type is None:
            raise SubsetError(
                f"`{expr.text}`: field {expr.name} is {known.what or 'of a type'} "
                "outside the subset (has() only)"
            )
        if known.nullable and known.type is CelType.BOOL:
            raise SubsetError(
                f"`{expr.text}`: a nullable boolean field (cel-python lets null through "
                "&& and || where CEL errs)"
            )
        return replace(expr, type=known.type, nullable=known.nullable)

    def bind_has(self, expr: Has) -> Expr:
        return Const(expr.name in self.fields, CelType.BOOL, expr.text)

    def failing(self, expr: Expr, operands: tuple[Expr, ...]) -> Failing | None:
        for operand in operands:
            if isinstance(operand, Failing):
                return Failing(operand.reason, text=expr.text)
        return None

    def bind_not(self, expr: Not) -> Expr:
        operand = self.bind(expr.operand)
        if failed := self.failing(expr, (operand,)):
            return failed
        if operand.type is not CelType.BOOL:
            raise self.no_operator(expr, operand.type)
        return replace(expr, operand=operand, type=CelType.BOOL)

    def bind_negate(self, expr: Negate) -> Expr:
        operand = self.bind(expr.operand)
        if failed := self.failing(expr, (operand,)):
            return failed
        if operand.type not in _NUMBERS:
            raise self.no_operator(expr, operand.type)
        return replace(expr, operand=operand, type=operand.type)

    def bind_logic(self, expr: Logic) -> Expr:
        left, right = self.bind(expr.left), self.bind(expr.right)
        for side in (left, right):
            if side.type not in (CelType.BOOL, CelType.ERROR):
                raise self.no_operator(expr, left.type, right.type)
        return replace(expr, left=left, right=right, type=CelType.BOOL)

    def bind_compare(self, expr: Compare) -> Expr:
        left, right = self.bind(expr.left), self.bind(expr.right)
        if failed := self.failing(expr, (left, right)):
            return failed
        types = (left.type, right.type)
        if expr.op in ("==", "!=") and CelType.NULL in types:
            if set(types) & set(_NUMBERS):
                raise SubsetError(
                    f"`{expr.text}`: a number compared with null (cel-python errs or not "
                    "depending on how the number is written)"
                )
            return replace(expr, left=left, right=right, type=CelType.BOOL)
        if left.type != right.type or left.type not in _ORDERED:
            raise self.no_operator(expr, *types)
        if expr.op in ("==", "!="):
            self.no_nullable_number(expr, left, right)
        return replace(expr, left=left, right=right, type=CelType.BOOL)

    def no_nullable_number(self, expr: Expr, *operands: Expr) -> None:
        """Refuse a nullable number in ==, != or in: for a null, cel-python's answer
        depends on how the other side is written (an error against a field or a
        quotient, not equal against a sum)."""
        for operand in operands:
            if isinstance(operand, Field) and operand.nullable and operand.type in _NUMBERS:
                raise SubsetError(
                    f"`{expr.text}`: a nullable number in ==, != or in (cel-python's "
                    "answer for null depends on how the other side is written)"
                )

    def bind_arith(self, expr: Arith) -> Expr:
        left, right = self.bind(expr.left), self.bind(expr.right)
        if failed := self.failing(expr, (left, right)):
            return failed
        if left.type != right.type or left.type not in _ARITH_TYPES[expr.op]:
            raise self.no_operator(expr, left.type, right.type)
        return replace(expr, left=left, right=right, type=left.type)

    def bind_in(self, expr: In) -> Expr:
        operand = self.bind(expr.operand)
        if failed := self.failing(expr, (operand,)):
            return failed
        if operand.type not in _ORDERED:
            raise self.no_operator(expr, operand.type)
        self.no_nullable_number(expr, operand)
        for value in expr.values:
            if value.type is not operand.type:
                raise SubsetError(
                    f"`{expr.text}`: {_article(value.type)} in a list for "
                    f"{_article(operand.type)} (every element must be of the operand's type)"
                )
        return replace(expr, operand=operand, type=CelType.BOOL)

    def bind_size(self, expr: Size) -> Expr:
        operand = self.bind(expr.operand)
        if failed := self.failing(expr, (operand,)):
            return failed
        if operand.type is not CelType.STRING:
            raise self.no_operator(expr, operand.type)
        if isinstance(operand, Field) and operand.nullable:
            raise SubsetError(
                f"`{expr.text}`: size() of a nullable field (cel-python gives 0 for null, "
                "CEL an error)"
            )
        return replace(expr, operand=operand, type=CelType.INT)

    def bind_matches(self, expr: Matches) -> Expr:
        operand = self.bind(expr.operand)
        if failed := self.failing(expr, (operand,)):
            return failed
        if operand.type is not CelType.STRING:
            raise self.no_operator(expr, operand.type)
        return replace(expr, operand=operand, type=CelType.BOOL)

    def bind_stringtest(self, expr: StringTest) -> Expr:
        operand, argument = self.bind(expr.operand), self.bind(expr.argument)
        if failed := self.failing(expr, (operand, argument)):
            return failed
        if operand.type is not CelType.STRING or argument.type is not CelType.STRING:
            raise self.no_operator(expr, operand.type, argument.type)
        if expr.op == "contains" and isinstance(operand, Arith):
            raise SubsetError(
                f"`{expr.text}`: contains() of a concatenation (cel-python holds a + b as a "
                "plain Python str, which has no contains(): always an error there)"
            )
        return replace(expr, operand=operand, argument=argument, type=CelType.BOOL)


#: What cel-python's double division by zero gives, whatever the dividend's sign (the
#: CEL spec and IEEE 754 say +-inf or NaN; the Python executor, the judge here, says +inf)
#: unless division_by_zero_errs.
DIVISION_BY_ZERO = math.inf


def plain_float(expr: Expr) -> bool:
    """Whether cel-python holds this double as a plain Python float rather than its
    DoubleType: the result of + - * (and its negation). Fields, literals and quotients
    are DoubleType."""
    if isinstance(expr, Arith):
        return expr.type is CelType.DOUBLE and expr.op != "/"
    if isinstance(expr, Negate):
        return plain_float(expr.operand)
    return False


def division_by_zero_errs(expr: Arith) -> bool:
    """Whether the Python executor's double division by zero is an error here rather than
    +inf: DoubleType's division gives +inf, Python's float division raises, and it is
    Python's when both sides are plain floats (``(a - b) / (c - d)``, not ``a / (c - d)``)."""
    return expr.op == "/" and plain_float(expr.left) and plain_float(expr.right)
