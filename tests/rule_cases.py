"""The judge of the rules' compilers, and random rules and events to judge them on.

The judge is confluent-kafka's own CEL executor (the one its serializers run), called on a
plain dict record in READ mode. Expressions are drawn from the CEL subset, well typed for
the test record below; events are drawn with the values where Spark, numpy and CEL part
ways: NaN, +-inf, -0.0, int extremes, empty strings, strings ending in a newline, carriage
returns, non-ASCII and astral characters, lower case, very long strings, nulls.
"""

from __future__ import annotations

import math
from typing import Any

from confluent_kafka.schema_registry import RuleKind, RuleMode, Schema
from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
from confluent_kafka.schema_registry.schema_registry_client import Rule as ConfluentRule
from confluent_kafka.schema_registry.serde import RuleContext
from confluent_kafka.serialization import MessageField, SerializationContext
from hypothesis import strategies as st

from contract.cel import INT_MAX, INT_MIN, Arith, CelType, FieldType, parse_expr

#: The test record: the contract's fields (but ts, outside the subset) and one of each
#: other kind, nullable ones included.
FIELDS: dict[str, FieldType] = {
    "symbol": FieldType(CelType.STRING),
    "price": FieldType(CelType.DOUBLE),
    "currency": FieldType(CelType.STRING),
    "qty": FieldType(CelType.INT),
    "flag": FieldType(CelType.BOOL),
    "note": FieldType(CelType.STRING, nullable=True),
    "bid": FieldType(CelType.DOUBLE, nullable=True),
}
SPARK_SCHEMA = (
    "symbol string, price double, currency string, qty long, flag boolean, note string, bid double"
)
ERROR = "error"

_EXECUTOR = CelExecutor()
_SCHEMA = Schema('{"type": "record", "name": "T", "fields": []}', "AVRO")
_SERDE = SerializationContext("prices", MessageField.VALUE)


def executor_result(expr: str, record: dict[str, Any]) -> bool | str:
    """The executor's verdict on one record: True (passes), False, or ERROR (it raised:
    a failure for Confluent's serde)."""
    rule = ConfluentRule(
        name="judged",
        doc=None,
        kind=RuleKind.CONDITION,
        mode=RuleMode.WRITEREAD,
        type="CEL",
        tags=None,
        params=None,
        expr=expr,
        on_success=None,
        on_failure="DLQ",
        disabled=False,
    )
    context = RuleContext(
        None, _SERDE, _SCHEMA, _SCHEMA, "prices-value", RuleMode.READ, rule, 0, [rule], None, None
    )
    try:
        result = _EXECUTOR.transform(context, dict(record))
    except Exception:  # any exception fails the rule, as in the serde
        return ERROR
    return bool(result)


def executor_fails(expr: str, record: dict[str, Any]) -> bool:
    """Whether the serde would count the rule as failed: its result is not true."""
    return executor_result(expr, record) is not True


# -- events -----------------------------------------------------------------------------

TRICKY_TEXT = (
    "",
    "USD",
    "usd",
    "USD\n",
    "A\n",
    "a\n",
    "1\n",
    ".\n",
    "é\n",
    "\n",
    "US\nD",
    "\nUSD",
    "EUR",
    "AAPL",
    "BRK.B",
    "A",
    "A1.2",
    "aapl",
    "a\rb",
    "a\nb",
    "a\x0bb",
    "a b",
    "é",
    "É",
    "😀",
    "Ünïcödé",
    " USD",
    "ABCDEFGHIJK",
    "A" * 300,
    "a" * 1000 + "\n",
)
texts = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.from_regex(r"[A-Z][A-Z0-9.]{0,10}\n?", fullmatch=True),
)
doubles = st.one_of(
    st.sampled_from(
        (0.0, -0.0, 1.0, -1.0, 0.01, 238.5, math.nan, math.inf, -math.inf, 5e-324, 1e308)
    ),
    st.floats(allow_nan=True, allow_infinity=True),
)
ints = st.one_of(
    st.sampled_from((0, 1, -1, 2, -2, 7, -7, INT_MIN, INT_MAX, INT_MIN + 1, INT_MAX - 1)),
    st.integers(INT_MIN, INT_MAX),
)


TRICKY_DOUBLES = (0.0, -0.0, 1.0, -1.0, 0.01, math.nan, math.inf, -math.inf, 5e-324, 1e308)
TRICKY_INTS = (0, 1, -1, 2, -7, INT_MIN, INT_MAX, INT_MIN + 1)


def tricky_events(nulls: bool = True) -> list[dict[str, Any]]:
    """Every tricky value of each field at least once, in varied company: a batch every
    drawn expression meets."""
    count = len(TRICKY_TEXT)
    return [
        {
            "symbol": TRICKY_TEXT[index],
            "price": TRICKY_DOUBLES[index % len(TRICKY_DOUBLES)],
            "currency": TRICKY_TEXT[(index * 7 + 3) % count],
            "qty": TRICKY_INTS[index % len(TRICKY_INTS)],
            "flag": index % 3 == 0,
            "note": None if nulls and index % 4 == 1 else TRICKY_TEXT[(index * 5 + 1) % count],
            "bid": None if nulls and index % 4 == 3 else TRICKY_DOUBLES[(index * 3) % 10],
        }
        for index in range(count)
    ]


def events(nulls: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Records of the test fields; with ``nulls``, the nullable fields are sometimes null."""
    maybe = (lambda inner: st.one_of(st.none(), inner)) if nulls else (lambda inner: inner)
    return st.fixed_dictionaries(
        {
            "symbol": texts,
            "price": doubles,
            "currency": texts,
            "qty": ints,
            "flag": st.booleans(),
            "note": maybe(texts),
            "bid": maybe(doubles),
        }
    )


# -- expressions ------------------------------------------------------------------------


def cel_string(text: str) -> str:
    """A CEL string literal for text."""
    out = []
    for char in text:
        if char in "\\'":
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F or char == ";":
            # ";" too: the executor splits a rule's text at its first ";" (a guard)
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "'" + "".join(out) + "'"


def cel_double(value: float) -> str:
    text = repr(value)
    return text if ("." in text or "e" in text) else text + ".0"


REGEX_ATOMS = (
    "[A-Z]",
    "[A-Z0-9.]",
    "[^a-z]",
    "[a-c-]",
    "[\\d.]",
    "\\d",
    "\\w",
    "\\s",
    "\\S",
    ".",
    "A",
    "a",
    "é",
    "😀",
    "\\.",
    "\\n",
    "(US|EU)",
    "(?:[A-Z]{2})",
    "[^\\n]",
    "\\x{e9}",
)
QUANTIFIERS = ("", "", "*", "+", "?", "{0,9}", "{3}", "{1,}", "*?")
patterns = st.builds(
    lambda start, body, end: start + "".join(body) + end,
    st.sampled_from(("", "^", "\\A")),
    st.lists(
        st.tuples(st.sampled_from(REGEX_ATOMS), st.sampled_from(QUANTIFIERS)).map("".join),
        min_size=0,
        max_size=4,
    ),
    st.sampled_from(("", "$", "$", "$", "\\z", "$|x")),
)

STRING_FIELDS = ("symbol", "currency", "note")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
#: The subset refuses these in ==, != and in (cel-python's answer for null depends on
#: how the other side is written).
NULLABLE_NUMBERS = ("message.bid",)


def _in_subset_method(call: tuple[str, str, str]) -> bool:
    """The subset refuses contains() of a concatenation (cel-python always errs there)."""
    target, method, _ = call
    return method != "contains" or not isinstance(parse_expr(target), Arith)


def _in_subset(comparison: tuple[str, str, str]) -> bool:
    left, op, right = comparison
    return op not in ("==", "!=") or not {left, right} & set(NULLABLE_NUMBERS)


NON_NULL_STRING_FIELDS = ("symbol", "currency")
DOUBLE_FIELDS = ("price", "bid")


def expressions(kind: CelType, depth: int = 3) -> st.SearchStrategy[str]:
    """CEL source of the subset, of the given type, well typed for FIELDS."""
    leaves = _leaves(kind)
    if depth <= 0:
        return leaves
    sub = {t: expressions(t, depth - 1) for t in _SUBTYPES}
    return st.one_of(leaves, *_composites(kind, sub))


_SUBTYPES = (CelType.BOOL, CelType.INT, CelType.DOUBLE, CelType.STRING)


def _leaves(kind: CelType) -> st.SearchStrategy[str]:
    if kind is CelType.BOOL:
        return st.one_of(
            st.sampled_from(("true", "false", "message.flag")),
            st.sampled_from((*tuple(FIELDS), "missing")).map(lambda f: f"has(message.{f})"),
        )
    if kind is CelType.INT:
        return st.one_of(ints.map(str), st.just("message.qty"))
    if kind is CelType.DOUBLE:
        return st.one_of(
            doubles.filter(math.isfinite).map(cel_double),
            st.sampled_from(DOUBLE_FIELDS).map(lambda f: f"message.{f}"),
        )
    return st.one_of(
        texts.map(cel_string), st.sampled_from(STRING_FIELDS).map(lambda f: f"message.{f}")
    )


def _composites(
    kind: CelType, sub: dict[CelType, st.SearchStrategy[str]]
) -> list[st.SearchStrategy[str]]:
    boolean, integer, double, string = (sub[t] for t in _SUBTYPES)
    if kind is CelType.BOOL:
        comparable = (
            st.sampled_from(_SUBTYPES)
            .flatmap(lambda t: st.tuples(sub[t], st.sampled_from(COMPARISONS), sub[t]))
            .filter(_in_subset)
        )
        return [
            comparable.map(lambda c: f"({c[0]}) {c[1]} ({c[2]})"),
            st.tuples(boolean, st.sampled_from(("&&", "||")), boolean).map(
                lambda c: f"({c[0]}) {c[1]} ({c[2]})"
            ),
            boolean.map(lambda b: f"!({b})"),
            st.tuples(string, patterns).map(lambda c: f"({c[0]}).matches({cel_string(c[1])})"),
            st.tuples(string, st.sampled_from(("startsWith", "endsWith", "contains")), string)
            .filter(_in_subset_method)
            .map(lambda c: f"({c[0]}).{c[1]}({c[2]})"),
            st.tuples(string, st.lists(texts, max_size=3)).map(
                lambda c: f"({c[0]}) in [{', '.join(map(cel_string, c[1]))}]"
            ),
            st.tuples(
                double.filter(lambda d: d not in NULLABLE_NUMBERS),
                st.lists(doubles.filter(math.isfinite), max_size=3),
            ).map(lambda c: f"({c[0]}) in [{', '.join(map(cel_double, c[1]))}]"),
            st.tuples(integer, st.lists(ints, max_size=3)).map(
                lambda c: f"({c[0]}) in [{', '.join(map(str, c[1]))}]"
            ),
            st.tuples(
                st.one_of(string, boolean, st.just("null")), st.sampled_from(("==", "!="))
            ).map(lambda c: f"({c[0]}) {c[1]} null"),
        ]
    if kind is CelType.INT:
        return [
            st.tuples(integer, st.sampled_from("+-*/%"), integer).map(
                lambda c: f"({c[0]}) {c[1]} ({c[2]})"
            ),
            integer.map(lambda i: f"-({i})"),
            st.sampled_from(NON_NULL_STRING_FIELDS).map(lambda f: f"size(message.{f})"),
            st.sampled_from(NON_NULL_STRING_FIELDS).map(lambda f: f"message.{f}.size()"),
            st.tuples(string, string).map(lambda c: f"size(({c[0]}) + ({c[1]}))"),
        ]
    if kind is CelType.DOUBLE:
        return [
            st.tuples(double, st.sampled_from("+-*/"), double).map(
                lambda c: f"({c[0]}) {c[1]} ({c[2]})"
            ),
            double.map(lambda d: f"-({d})"),
        ]
    return [st.tuples(string, string).map(lambda c: f"({c[0]}) + ({c[1]})")]


_fields = {
    kind: st.sampled_from(names).map(lambda name: f"message.{name}")
    for kind, names in (
        (CelType.STRING, STRING_FIELDS),
        (CelType.DOUBLE, DOUBLE_FIELDS),
        (CelType.INT, ("qty",)),
    )
}
_literals = {
    CelType.STRING: texts.map(cel_string),
    CelType.DOUBLE: doubles.filter(math.isfinite).map(cel_double),
    CelType.INT: ints.map(str),
}
_matches = st.tuples(_fields[CelType.STRING], patterns).map(
    lambda c: f"{c[0]}.matches({cel_string(c[1])})"
)
#: Conditions on the fields themselves, where the tricky values meet the operators
#: (matches() twice as often: RE2 and Java part ways in more places).
focused = st.one_of(
    _matches,
    _matches,
    st.sampled_from((CelType.STRING, CelType.DOUBLE, CelType.INT))
    .flatmap(
        lambda kind: st.tuples(
            _fields[kind], st.sampled_from(COMPARISONS), st.one_of(_fields[kind], _literals[kind])
        )
    )
    .filter(_in_subset)
    .map(" ".join),
    st.tuples(
        _fields[CelType.INT],
        st.sampled_from("+-*/%"),
        st.one_of(_fields[CelType.INT], _literals[CelType.INT]),
        st.sampled_from(COMPARISONS),
        _literals[CelType.INT],
    ).map(lambda c: f"({c[0]} {c[1]} {c[2]}) {c[3]} {c[4]}"),
    st.tuples(
        st.one_of(_fields[CelType.DOUBLE], _literals[CelType.DOUBLE]),
        st.sampled_from("+-*/"),
        st.one_of(_fields[CelType.DOUBLE], _literals[CelType.DOUBLE]),
        st.sampled_from(COMPARISONS),
        st.one_of(_fields[CelType.DOUBLE], _literals[CelType.DOUBLE]),
    )
    .filter(lambda c: _in_subset(("", c[3], c[4])))
    .map(lambda c: f"({c[0]} {c[1]} {c[2]}) {c[3]} {c[4]}"),
    st.tuples(
        _fields[CelType.STRING],
        st.sampled_from(("startsWith", "endsWith", "contains")),
        st.one_of(_fields[CelType.STRING], _literals[CelType.STRING]),
    ).map(lambda c: f"{c[0]}.{c[1]}({c[2]})"),
    st.sampled_from((CelType.STRING, CelType.DOUBLE, CelType.INT))
    .flatmap(lambda kind: st.tuples(_fields[kind], st.lists(_literals[kind], max_size=3)))
    .filter(lambda c: c[0] not in NULLABLE_NUMBERS)
    .map(lambda c: f"{c[0]} in [{', '.join(c[1])}]"),
)
#: Conditions of the subset: focused ones and arbitrary compositions, half and half.
conditions = st.one_of(focused, expressions(CelType.BOOL))
