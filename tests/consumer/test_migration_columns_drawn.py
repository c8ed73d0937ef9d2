"""The compiled migration rules equal jsonata-python, property-wise: drawn expressions
of each kind on drawn records (the edge cases are test_migration_columns_edges.py, a file
of its own so that pytest-xdist runs it on a different worker).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from migration_runs import (
    SOURCE,
    TARGET_KEYS,
    migrated_as_the_reference,
    path_between,
    target_with,
)
from pyspark.sql import SparkSession

from consumer.migration_columns import python_rule_names

pytestmark = pytest.mark.spark

# Expressions by kind, so that most of them mean something; "mixed" ones meet JSONata's
# type errors and the choices that run in Python.
NUMBER_ATOMS = (
    "price", "qty", "bid", "$.price", "$lookup($, 'qty')", "missing", "0", "1", "-1", "100",
    "2.5", "0.125", "0.29", "-0.5", "1e200", "12345.678", "9007199254740993",
)  # fmt: skip
TEXT_ATOMS = (
    "symbol", "note", "missing", "''", "'a'", "'USD'", "'12'", "' 1_0 '", "'0x1F'", "'nan'",
    "'inf'", "'1e400'", "'a b\\tc'", "'é'",
)  # fmt: skip
BOOLEAN_ATOMS = ("flag", "true", "false", "null", "missing")


def _forms(forms: tuple[str, ...], *parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(str.format, st.sampled_from(forms), *parts)


Kinds = tuple[st.SearchStrategy[str], st.SearchStrategy[str], st.SearchStrategy[str]]


def kinds(depth: int) -> Kinds:
    """Number, string and boolean expressions nested at most depth deep."""
    atoms = (
        st.sampled_from(NUMBER_ATOMS),
        st.sampled_from(TEXT_ATOMS),
        st.sampled_from(BOOLEAN_ATOMS),
    )
    if depth == 0:
        return atoms
    n, s, b = kinds(depth - 1)
    numbers = st.one_of(
        atoms[0],
        _forms(
            (
                "-({})",
                "$round({})",
                "$round({}, 2)",
                "$round({}, -1)",
                "$floor({})",
                "$ceil({})",
                "$abs({})",
                "$number({})",
            ),
            n,
        ),
        _forms(("$number({})",), s),
        _forms(tuple(f"({{}} {op} {{}})" for op in "+-*/%"), n, n),
        _forms(("({} ? {} : {})",), b, n, n),
        _forms(("({} ? {})",), b, n),
    )
    strings = st.one_of(
        atoms[1],
        _forms(("$string({})",), st.one_of(n, s, b)),
        _forms(("$uppercase({})", "$lowercase({})", "$trim({})"), s),
        _forms(("({} & {})",), st.one_of(s, n), st.one_of(s, b)),
        _forms(("$substring({}, {})",), s, n),
        _forms(("$substring({}, {}, {})",), s, n, n),
        _forms(("$substringBefore({}, {})", "$substringAfter({}, {})"), s, s),
        _forms(("({} ? {} : {})",), b, s, s),
    )
    comparisons = ("=", "!=", "<", "<=", ">", ">=")
    booleans = st.one_of(
        atoms[2],
        _forms(tuple(f"({{}} {op} {{}})" for op in comparisons), n, n),
        _forms(tuple(f"({{}} {op} {{}})" for op in comparisons), s, s),
        _forms(("({} and {})", "({} or {})"), b, b),
        _forms(("$contains({}, {})",), s, s),
        _forms(("$exists({})",), st.one_of(n, s)),
    )
    return numbers, strings, booleans


numbers, strings, booleans = kinds(1)
anything = st.one_of(*kinds(0))
mixed = _forms(
    ("({} + {})", "({} < {})", "({} = {})", "({} ? {} : {})", "({} and {})"),
    anything,
    anything,
    anything,
)
expressions = st.one_of(numbers, strings, booleans, mixed)

#: Texts from an alphabet where Spark's and Python's case mappings, digits and whitespace
#: agree (see consumer.migration_columns on $lowercase, $uppercase and $number).
texts = st.one_of(
    st.sampled_from(("", "USD", "a", " 12 ", "1_0", "0x1F", "0B11", "nan", "-inf", "1e5", "é😀")),
    st.text(st.sampled_from("aAzZ019 ._-+xeé😀\t\n"), max_size=8),
)
#: Doubles without subnormals (nor sums and quotients of them that reach one: $string of a
#: subnormal is where Spark's formatting and Python's part, see number_text).
doubles = st.one_of(
    st.sampled_from((0.0, -0.0, 1.0, 0.29, 224.25, 2.5, 1e15, 1e200, -1e200)),
    st.sampled_from((math.nan, math.inf, -math.inf)),
    st.floats(min_value=1e-6, max_value=1e15),
    st.floats(min_value=-1e15, max_value=-1e-6),
)
longs = st.one_of(
    st.sampled_from((0, 1, -1, 7, 2**53 + 1, 2**63 - 1, -(2**63) + 1)),
    st.integers(-(2**63) + 1, 2**63 - 1),
)
records = st.fixed_dictionaries(
    {
        "ts": st.integers(-(10**15), 10**15),
        "symbol": texts,
        "price": doubles,
        "qty": longs,
        "flag": st.booleans(),
        "note": st.one_of(st.none(), texts),
        "bid": st.one_of(st.none(), doubles),
    }
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    exprs=st.lists(expressions, min_size=8, max_size=8),
    drawn=st.lists(records, min_size=1, max_size=12),
)
def test_compiled_results_equal_jsonata_pythons(
    spark: SparkSession, exprs: list[str], drawn: list[dict[str, Any]]
) -> None:
    targets = [target_with(dict(zip(TARGET_KEYS, exprs[i : i + 4], strict=True))) for i in (0, 4)]
    paths = [path_between([SOURCE, target], SOURCE, target) for target in targets]
    compiled = [path for path in paths if not python_rule_names(path)]
    assume(compiled)  # what runs in the UDF is tested elsewhere; compare the compiled
    migrated_as_the_reference(spark, compiled, SOURCE, drawn)
