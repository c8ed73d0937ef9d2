"""The JSONata subset's translator: jsonata-python's parse tree into ours, and refusals
that name the construct."""

from __future__ import annotations

import pytest

from contract.jsonata_subset import (
    Binary,
    Call,
    Conditional,
    Const,
    Key,
    Merge,
    Negate,
    ObjectOf,
    Path,
    Sift,
    SubsetError,
    keeps_key,
    parse_transform,
)
from tests.contract_files import BREAKING_RULES

UPGRADE, DOWNGRADE = (rule["expr"] for rule in BREAKING_RULES["ruleSet"]["migrationRules"])


def test_the_example_upgrade_rule() -> None:
    tree = parse_transform(UPGRADE)
    assert isinstance(tree, Merge)
    sift, constructed = tree.items
    assert isinstance(sift, Sift) and sift.source == Path(())
    assert sift.keep == Binary(
        "and", Binary("!=", Key(), Const("symbol")), Binary("!=", Key(), Const("price"))
    )
    assert constructed == ObjectOf(
        (
            ("ticker", Path(("symbol",))),
            ("price_cents", Call("round", (Binary("*", Path(("price",)), Const(100)),))),
        )
    )
    kept = [key for key in ("ts", "symbol", "price", "currency") if keeps_key(sift.keep, key)]
    assert kept == ["ts", "currency"]


def test_the_example_downgrade_rule() -> None:
    tree = parse_transform(DOWNGRADE)
    assert isinstance(tree, Merge)
    assert tree.items[1] == ObjectOf(
        (
            ("symbol", Path(("ticker",))),
            ("price", Binary("/", Path(("price_cents",)), Const(100))),
        )
    )


@pytest.mark.parametrize(
    ("expr", "tree"),
    [
        ("price", Path(("price",))),
        ("$.price", Path(("price",))),
        ("$.'price'", Path(("price",))),
        ("`a b`.c", Path(("a b", "c"))),
        ("$", Path(())),
        ("(price)", Path(("price",))),
        ("-price", Negate(Path(("price",)))),
        ("-1.5", Const(-1.5)),
        ("'a' & b", Binary("&", Const("a"), Path(("b",)))),
        ("true", Const(True)),
        ("null", Const(None)),
        ("a ? 1 : 'x'", Conditional(Path(("a",)), Const(1), Const("x"))),
        ("a ? 1", Conditional(Path(("a",)), Const(1), None)),
        (
            "a % 2 >= 1 or b",
            Binary("or", Binary(">=", Binary("%", Path(("a",)), Const(2)), Const(1)), Path(("b",))),
        ),
        ("$round(p, 2)", Call("round", (Path(("p",)), Const(2)))),
        ("$substring(s, 1, 2)", Call("substring", (Path(("s",)), Const(1), Const(2)))),
        ("$lookup($, 'k')", Call("lookup", (Path(()), Const("k")))),
        ("$exists(x)", Call("exists", (Path(("x",)),))),
        ("{}", ObjectOf(())),
        ("a ?? b", Conditional(Call("exists", (Path(("a",)),)), Path(("a",)), Path(("b",)))),
        ("$merge([])", Merge(())),
        (
            "$sift($, function($v, $key) {$contains($key, 'x') or $key < 'b'})",
            Sift(
                Path(()),
                Binary("or", Call("contains", (Key(), Const("x"))), Binary("<", Key(), Const("b"))),
            ),
        ),
    ],
)
def test_inside_the_subset(expr: str, tree: object) -> None:
    assert parse_transform(expr) == tree


@pytest.mark.parametrize(
    ("expr", "named"),
    [
        ("a[0]", "a filter or index [...]"),
        ("a[b > 1]", "a filter or index [...]"),
        ("[1, 2]", "an array constructor outside $merge"),
        ("a.$uppercase(b)", "a path step that is not a name ($uppercase())"),
        ("$x := 1", "a variable binding :="),
        ("$x", "the variable $x"),
        ("$$.a", "a path step that is not a name"),
        ("a ~> $uppercase()", "the chain operator ~>"),
        ("a in ['x']", "the operator in"),
        ("a.*", "a path step that is not a name (wildcard)"),
        ("**.a", "a path step that is not a name (descendant)"),
        ("$sum(a)", "the function $sum()"),
        ("$match(a, /x/)", "the function $match()"),
        ("$contains(a, /x/)", "a regular expression"),
        ("function($x) {$x}", "a function definition outside $sift"),
        ("(a; b)", "a block of several expressions"),
        ("{a: 1}", "an object key that is not a string literal"),
        ("$merge($)", "$merge() of something other than an array constructor"),
        ("$sift($, function($v, $k) {$v > 1})", "the variable $v in a $sift predicate"),
        ("$sift($, function($v, $k) {$k = a})", "a path in a $sift predicate"),
        (
            "$sift($, function($v, $k) {$uppercase($k) = 'A'})",
            "the function $uppercase() in a $sift",
        ),
        ("$sift($, function($k) {true})", "a $sift function of 1 parameters"),
        ("$string(a, true)", "$string() with 2 arguments"),
        ("a{b: c}", "a group-by {...}"),
        ("a^(b)", "an order-by"),
        ("a@$x", "a focus or index variable binding"),
        ("a[]", "the keep-array operator []"),
    ],
)
def test_outside_the_subset_the_refusal_names_the_construct(expr: str, named: str) -> None:
    with pytest.raises(SubsetError) as refused:
        parse_transform(expr)
    message = str(refused.value)
    assert named in message and message.endswith("is outside the compiled JSONata subset")
    assert "\n" not in message


def test_a_parse_error_is_one_line() -> None:
    with pytest.raises(SubsetError, match=r"^not a JSONata expression: ") as refused:
        parse_transform("$merge([")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("keep", "key", "kept"),
    [
        ("$k = 'a'", "a", True),
        ("$k = 'a'", "b", False),
        ("$k != 'a' and $k != 'b'", "c", True),
        ("$k != 'a' and $k != 'b'", "b", False),
        ("$k = 'a' or $k = 'b'", "b", True),
        ("$k >= 'b'", "a", False),
        ("$contains($k, 'ri')", "price", True),
        ("$k", "", False),
        ("$k", "x", True),
        ("true", "x", True),
        ("null", "x", False),
    ],
)
def test_a_key_predicate_keeps_as_jsonata_python_does(keep: str, key: str, kept: bool) -> None:
    from contract.jsonata import evaluate

    tree = parse_transform(f"$sift($, function($v, $k) {{{keep}}})")
    assert isinstance(tree, Sift)
    assert keeps_key(tree.keep, key) is kept
    assert (evaluate(f"$sift($, function($v, $k) {{{keep}}})", {key: 1}) is not None) is kept
