"""A record through its migration path in Spark equals contract.migrations.run_path.

Records are written with fastavro (the writer's schema) into in-memory frames; the
reference is run_path (jsonata-python, conformed to each hop's target). A SparkSession of
its own (local[1], no Kafka or registry), unless one is already running.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pyspark.sql import Column, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro

from consumer.migration_columns import (
    MigratedEvent,
    migrated_event,
    python_rule_names,
    reader_type,
)
from contract.migrations import (
    ContractVersion,
    MigrationFailed,
    MigrationPath,
    migration_path,
    run_path,
)
from contract.rules import RulesDocument, rules_document_from_json
from tests.contract_files import BREAKING_RULES, V1_SCHEMA, V2_SCHEMA, V3_SCHEMA

pytestmark = pytest.mark.spark

V1 = ContractVersion(1, 1, json.dumps(V1_SCHEMA))
V2 = ContractVersion(2, 2, json.dumps(V2_SCHEMA))
V3 = ContractVersion(3, 3, json.dumps(V3_SCHEMA), rules_document_from_json(BREAKING_RULES))
HISTORY = [V1, V2, V3]
TS = 1_700_000_000_123


@pytest.fixture(scope="module")
def session(spark: SparkSession) -> SparkSession:
    """The session every Spark test of the worker shares (conftest's): a session of its
    own would be the same SparkContext (getOrCreate), and stopping it at this module's
    end stopped it under every later test of the worker."""
    return spark


def path_between(
    versions: Sequence[ContractVersion], writer: ContractVersion, reader: ContractVersion
) -> MigrationPath:
    path = migration_path(versions, writer, reader)
    assert isinstance(path, MigrationPath), path
    return path


def encoded(version: ContractVersion, record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, version.plain, record)
    return buffer.getvalue()


def plain(event: Column, reader: ContractVersion) -> Column:
    """The event with timestamps as epoch milliseconds (what run_path returns)."""
    fields = []
    for f in reader.parsed["fields"]:
        column = event.getField(f["name"])
        logical = f["type"].get("logicalType") if isinstance(f["type"], dict) else None
        if logical == "timestamp-millis":
            column = F.unix_millis(column)
        fields.append(column.alias(f["name"]))
    return F.when(event.isNotNull(), F.struct(*fields))


Outcome = tuple[str | None, dict[str, Any] | None]


def expected(path: MigrationPath, record: dict[str, Any]) -> Outcome:
    """The reference: (failed rule, None) or (None, the reader's record)."""
    try:
        return None, run_path(path, record)
    except MigrationFailed as failed:
        return failed.rule.name, None


def migrate(
    session: SparkSession, paths: Sequence[MigrationPath], bodies: Sequence[bytes | None]
) -> list[list[Outcome]]:
    """Each body through each path (the bodies written in each path's writer version are
    the caller's business), one Spark job: per path, per body, (failed rule, record)."""
    frame = session.createDataFrame(
        [(index, body) for index, body in enumerate(bodies)], "row long, body binary"
    )
    selected: list[Column] = []
    for number, path in enumerate(paths):
        migrated = migrated_event(F.col("body"), path)
        selected += [
            migrated.failed_rule.alias(f"rule{number}"),
            migrated.failed_mode.alias(f"mode{number}"),
            plain(migrated.event, path.reader).alias(f"event{number}"),
        ]
    rows = frame.select("row", *selected).orderBy("row").collect()
    return [[outcome(row, number, path) for row in rows] for number, path in enumerate(paths)]


def outcome(row: Row, number: int, path: MigrationPath) -> Outcome:
    rule, mode, event = row[f"rule{number}"], row[f"mode{number}"], row[f"event{number}"]
    if rule is not None:
        assert mode == path.transforms[0].migration
        assert event is None
        return rule, None
    assert mode is None
    return None, None if event is None else event.asDict(recursive=True)


def same(actual: Outcome, wanted: Outcome) -> bool:
    """Equal, NaN equal to NaN."""
    if actual[0] != wanted[0] or (actual[1] is None) != (wanted[1] is None):
        return False
    if actual[1] is None or wanted[1] is None:
        return True
    return json.dumps(actual[1], sort_keys=True) == json.dumps(wanted[1], sort_keys=True)


V1_RECORDS = [
    {"ts": TS, "symbol": "MSFT", "price": 224.25},
    {"ts": TS, "symbol": "A", "price": 0.29},
    {"ts": 0, "symbol": "", "price": 0.0},
    {"ts": -1, "symbol": "😀", "price": -0.0},
    {"ts": 253402300799999, "symbol": "X", "price": 1e300},
    {"ts": TS, "symbol": "X", "price": 92233720368547758.07},
    {"ts": TS, "symbol": "X", "price": math.nan},
    {"ts": TS, "symbol": "X", "price": math.inf},
    {"ts": TS, "symbol": "X", "price": -math.inf},
    {"ts": TS, "symbol": "X", "price": 5e-324},
    {"ts": TS, "symbol": "X", "price": 0.005},
    {"ts": TS, "symbol": "X", "price": 0.015},
]
V3_RECORDS = [
    {"ts": TS, "ticker": "MSFT", "price_cents": 22425, "currency": "EUR"},
    {"ts": TS, "ticker": "", "price_cents": 0, "currency": ""},
    {"ts": 253402300799999, "ticker": "A", "price_cents": 2**63 - 1, "currency": "USD"},
    {"ts": TS, "ticker": "A", "price_cents": -(2**63), "currency": "USD"},
    {"ts": TS, "ticker": "A", "price_cents": 2**53 + 1, "currency": "USD"},
    {"ts": TS, "ticker": "A", "price_cents": 1, "currency": "USD"},
]


def v2_record(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "currency": "CHF"}


@pytest.mark.parametrize(
    ("writer", "reader", "records"),
    [
        (V1, V3, V1_RECORDS),
        (V2, V3, [v2_record(r) for r in V1_RECORDS]),
        (V3, V1, V3_RECORDS),
        (V3, V2, V3_RECORDS),
        (V1, V2, V1_RECORDS),
        (V3, V3, V3_RECORDS),
    ],
    ids=["v1-up-v3", "v2-up-v3", "v3-down-v1", "v3-down-v2", "v1-v2", "v3-v3"],
)
def test_the_example_rules_equal_run_path(
    session: SparkSession,
    writer: ContractVersion,
    reader: ContractVersion,
    records: list[dict[str, Any]],
) -> None:
    path = path_between(HISTORY, writer, reader)
    assert python_rule_names(path) == ()
    (got,) = migrate(session, [path], [encoded(writer, r) for r in records])
    for record, actual in zip(records, got, strict=True):
        wanted = expected(path, record)
        assert same(actual, wanted), (record, actual, wanted)


def test_the_event_has_from_avros_type_and_bad_bodies_are_no_failures(
    session: SparkSession,
) -> None:
    path = path_between(HISTORY, V3, V1)
    frame = session.createDataFrame(
        [(encoded(V3, V3_RECORDS[0]),), (b"\x07",), (None,)], "body binary"
    )
    migrated: MigratedEvent = migrated_event(F.col("body"), path)
    plain_read = from_avro(F.col("body"), V1.schema, {"mode": "PERMISSIVE"})
    selected = frame.select(
        migrated.event.alias("event"), migrated.failed_rule.alias("rule"), plain_read.alias("v1")
    )
    assert selected.schema["event"].dataType == selected.schema["v1"].dataType
    assert selected.schema["event"].dataType == reader_type(V1)
    rows = selected.collect()
    assert rows[0].event.symbol == "MSFT" and rows[0].event.price == 224.25
    assert [(row.event, row.rule) for row in rows[1:]] == [(None, None), (None, None)]


def major_2(*rules: tuple[str, str, str]) -> RulesDocument:
    """Version 3's document with these (name, mode, expr) migration rules."""
    return rules_document_from_json(
        {
            "metadata": {"properties": {"application.major.version": "2"}},
            "ruleSet": {
                "migrationRules": [
                    {"name": name, "kind": "TRANSFORM", "type": "JSONATA", "mode": mode, "expr": e}
                    for name, mode, e in rules
                ]
            },
        }
    )


UP = "$merge([$sift($, function($v, $k) {$k != 'symbol'}), {'ticker': symbol}])"


def test_failing_non_conforming_and_python_rules_name_the_rule(session: SparkSession) -> None:
    """Two rules in a hop (the first may fail, the second's result may not conform), and
    the same hop with a rule outside the subset, run in jsonata-python in the UDF."""
    drop_price = "$sift($, function($v, $k) {$k != 'price'})"
    cents = f"$merge([{drop_price}, {{'price_cents': price * 100}}])"
    compiled = ContractVersion(
        3, 3, V3.schema, major_2(("a", "UPGRADE", UP), ("b", "UPGRADE", cents))
    )
    # $join is outside the subset: the whole hop runs in jsonata-python
    joined = f"$merge([{drop_price}, {{'price_cents': price * 100, 'ticker': $join([ticker])}}])"
    python = ContractVersion(
        3, 3, V3.schema, major_2(("a", "UPGRADE", UP), ("j", "UPGRADE", joined))
    )
    paths = [path_between([V2, version], V2, version) for version in (compiled, python)]
    assert python_rule_names(paths[0]) == ()
    assert python_rule_names(paths[1]) == ("a", "j")
    records = [
        {"ts": TS, "symbol": "A", "price": 1.25, "currency": "USD"},  # conforms
        {"ts": TS, "symbol": "A", "price": 1.255, "currency": "USD"},  # 125.49999...: not a long
        {"ts": TS, "symbol": "A", "price": math.nan, "currency": "USD"},  # rule b fails
        {"ts": TS, "symbol": "A", "price": 1e300, "currency": "USD"},  # whole, beyond a long
    ]
    got = migrate(session, paths, [encoded(V2, r) for r in records])
    assert [rule for rule, _ in got[0]] == [None, "b", "b", "b"]
    assert [rule for rule, _ in got[1]] == [None, "j", "j", "j"]
    for path, outcomes in zip(paths, got, strict=True):
        for record, actual in zip(records, outcomes, strict=True):
            assert same(actual, expected(path, record)), (record, actual)


# -- compiled results equal jsonata-python's, property-wise ---------------------------------

SOURCE = ContractVersion(
    1,
    1,
    json.dumps(
        {
            "type": "record",
            "name": "Source",
            "fields": [
                {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
                {"name": "symbol", "type": "string"},
                {"name": "price", "type": "double"},
                {"name": "qty", "type": "long"},
                {"name": "flag", "type": "boolean"},
                {"name": "note", "type": ["null", "string"], "default": None},
                {"name": "bid", "type": ["null", "double"], "default": None},
            ],
        }
    ),
)
#: The target: ts passed through, and one nullable field of each kind for the expressions.
TARGET_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Target",
        "fields": [
            {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "n", "type": ["null", "double"], "default": None},
            {"name": "s", "type": ["null", "string"], "default": None},
            {"name": "b", "type": ["null", "boolean"], "default": None},
            {"name": "l", "type": ["null", "long"], "default": None},
        ],
    }
)
TARGET_KEYS = ("n", "s", "b", "l")

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


def target_with(expr_by_key: dict[str, str]) -> ContractVersion:
    constructed = ", ".join(f"'{key}': {expr}" for key, expr in expr_by_key.items())
    expr = f"$merge([$sift($, function($v, $k) {{$k = 'ts'}}), {{{constructed}}}])"
    return ContractVersion(2, 2, TARGET_SCHEMA, major_2(("r", "UPGRADE", expr)))


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
    session: SparkSession, exprs: list[str], drawn: list[dict[str, Any]]
) -> None:
    targets = [target_with(dict(zip(TARGET_KEYS, exprs[i : i + 4], strict=True))) for i in (0, 4)]
    paths = [path_between([SOURCE, target], SOURCE, target) for target in targets]
    compiled = [path for path in paths if not python_rule_names(path)]
    assume(compiled)  # what runs in the UDF is tested elsewhere; compare the compiled
    got = migrate(session, compiled, [encoded(SOURCE, r) for r in drawn])
    for path, outcomes in zip(compiled, got, strict=True):
        for record, actual in zip(drawn, outcomes, strict=True):
            wanted = expected(path, record)
            assert same(actual, wanted), (path.transforms[0].rules[0].expr, record, actual, wanted)


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


def test_edges_equal_jsonata_python(session: SparkSession) -> None:
    targets = [target_with({key_for(expr): expr}) for expr in EDGES]
    paths = [path_between([SOURCE, target], SOURCE, target) for target in targets]
    in_python = [path.transforms[0].rules[0].expr for path in paths if python_rule_names(path)]
    assert len(in_python) == 1 and "{'n': qty > 0 ? qty : price}" in in_python[0]
    bodies = [encoded(SOURCE, r) for r in EDGE_RECORDS]
    for first in range(0, len(paths), 6):  # a plan of six paths at a time: the driver's heap
        chunk = paths[first : first + 6]
        for path, outcomes in zip(chunk, migrate(session, chunk, bodies), strict=True):
            for record, actual in zip(EDGE_RECORDS, outcomes, strict=True):
                wanted = expected(path, record)
                rule = path.transforms[0].rules[0].expr
                assert same(actual, wanted), (rule, record, actual, wanted)
