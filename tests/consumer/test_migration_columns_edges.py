"""The compiled migration rules equal jsonata-python on the edge cases: where Spark and
jsonata-python part ways unless the compiler minds it, on records with the values that
matter (each also drawn by test_migration_columns_drawn.py). A file of its own, so that
pytest-xdist runs it on a different worker than the drawn expressions.
"""

from __future__ import annotations

import math

import pytest
from migration_runs import (
    SOURCE,
    TS,
    migrated_as_the_reference,
    path_between,
    target_with,
)
from pyspark.sql import SparkSession

from consumer.migration_columns import python_rule_names

pytestmark = pytest.mark.spark

# Where Spark and jsonata-python part ways unless the compiler minds it (each also drawn by
# the property), on records with the values that matter.
EDGES = (
    "$round(2.5)", "$round(-2.5)", "$round(0.125, 2)", "$round(price * 100)", "$round(qty)",
    "$floor(price)", "$ceil(price)", "$floor(qty)", "$abs(qty)", "-qty", "-price", "qty + 1",
    "price / 0", "qty % 0", "price % 2", "-7 % 3", "price * 1e200", "price + bid", "bid * 1",
    "$string(price)", "$string(qty)", "$string(bid)", "$string(note)", "$string(flag)",
    "$string(price * 3)", "$string(1e15)", "$string(1e-7)", "symbol & price & note & missing",
    "$number(symbol)", "$number(note)", "$number(flag)", "$number(price)",
    "$number(' 0x1F')", "$number('0x-1f')", "$number('1__0')",
    "price = price", "price != price", "price < 1", "qty < 9007199254740993", "qty = price",
    "note = null", "note != 'x'", "symbol < note", "symbol < 1", "bid > 0", "missing < 1",
    "flag and note", "note or bid", "price ? 'truthy' : 'falsy'", "symbol ? 1 : 2",
    "$substring(symbol, 1)", "$substring(symbol, -2, 1)", "$substring(symbol, price)",
    "$substring(note, 0, 2)", "$substring(symbol, missing)", "$substring(symbol, 1, missing)",
    "$substring(symbol, missing, 1)", "$substring(symbol, bid ? 1)",
    "$substringBefore(symbol, 'a')", "$substringAfter(symbol, '')",
    "$substringBefore(symbol, note)", "$uppercase(symbol)", "$lowercase(note)", "$trim(symbol)",
    "$contains(symbol, 'a')", "$contains(note, 'a')", "$contains(symbol, note)",
    "$exists(note)", "$exists(missing)", "$lookup($, 'bid')", "flag ? qty : 1",
    "qty > 0 ? qty : price", "$round(price)", "$number(bid)", "$round(-0.4)",
)  # fmt: skip
EDGE_RECORDS = [
    {"ts": TS, "symbol": s, "price": p, "qty": q, "flag": f, "note": n, "bid": b}
    for s, p, q, f, n, b in (
        ("a b\tc", 0.29, 7, True, None, None),
        ("", -2.5, -7, False, "", 1.5),
        ("Ünï a😀", math.nan, 2**53 + 1, True, "x a", math.nan),
        ("  12 ", math.inf, -(2**63) + 1, False, "nan", math.inf),
        ("0x1f", 1e15, 2**63 - 1, True, "1_000", -0.0),
        ("1e5", -0.0, 0, False, "a", 1e-7),
        ("ABC", 123456.785, -1, True, "ABC", 5.0),
    )
]


def key_for(expr: str) -> str:
    """The target field of the kind jsonata-python gives the expression on the records."""
    from contract.jsonata import TransformFailed, evaluate

    for record in EDGE_RECORDS:
        try:
            value = evaluate(expr, record)
        except TransformFailed:
            continue
        if isinstance(value, bool):
            return "b"
        if isinstance(value, str):
            return "s"
    return "n"


def test_edges_equal_jsonata_python(spark: SparkSession) -> None:
    targets = [target_with({key_for(expr): expr}) for expr in EDGES]
    paths = [path_between([SOURCE, target], SOURCE, target) for target in targets]
    in_python = [path.transforms[0].rules[0].expr for path in paths if python_rule_names(path)]
    assert len(in_python) == 1 and "{'n': qty > 0 ? qty : price}" in in_python[0]
    for first in range(0, len(paths), 6):  # a plan of six paths at a time: the driver's heap
        migrated_as_the_reference(spark, paths[first : first + 6], SOURCE, EDGE_RECORDS)
