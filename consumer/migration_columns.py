"""A record through its migration path as Spark columns, in the pass that decodes it.

``migrated_event(body, path)`` decodes the Avro body with the writer's schema and runs the
path (contract.migrations: Avro resolution hops and hops with JSONata rules) as column
expressions; the result has exactly the Spark type ``from_avro(body, reader.schema)``
gives, so what reads the event downstream does not change. contract.migrations.run_path
is the reference semantics, and the equivalence is tested property-wise
(tests/consumer/test_migration_columns_drawn.py, test_migration_columns_edges.py).

- **Values as a rule sees them.** The body is decoded with the schemas' logical types as
  their base types (``ts``: epoch milliseconds, a long) and a union as its value; the
  reader's logical types are put back at the end.
- **Compiled rules.** A hop whose rules are all in the subset of contract.jsonata_subset
  (and whose types bind: no mixed types where JSONata decides by value) compiles to
  columns; JSONata's undefined, null and errors are kept apart: every compiled value
  carries where it is undefined, and every error a condition, under the conditions that
  reach it (``? :``, ``and``, ``or`` do not evaluate what they skip). Spark runs in ANSI
  mode, so nothing compiled may throw: arithmetic is in doubles (JSONata's numbers are),
  division and modulo guard their divisor, and NaN, infinity and null operands, a
  non-finite result, or a comparison of different types are that record's failure.
- **Other rules.** A hop with a rule outside the subset runs whole in jsonata-python
  (contract.migrations.transform) in an Arrow UDF (``arrow_udf``: pyarrow, no pandas):
  correct and slower; ``python_rule_names`` names its rules.
- **Conforming.** Each hop's result is conformed to its target as contract.migrations
  conforms it: a missing field takes its default (else the record fails), extra fields
  are dropped, a whole number goes into a long or a double, anything else fails.
- **Where Spark and jsonata-python differ** (known, kept narrow): ``$lowercase`` is
  Spark's ``lower`` where jsonata-python casefolds (``ß`` stays ``ß``) and ``$uppercase``
  Java's upper-casing; ``$number`` of a string takes JSON's number syntax (as JSONata's
  specification says), where jsonata-python takes whatever Python's ``float()`` takes
  (``' 12 '``, ``'1_000'``, ``'inf'``, ``'0x10'``): such strings fail the record here;
  integers beyond 2^53 that a rule computes with are doubles in both, but a long passed
  through untouched stays exact in both. ``$number('-nan')`` (and ``'nan'``) fails the
  record here; jsonata-python returns NaN, a value JSON has no number for.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import lru_cache, reduce
from typing import Any

import pyarrow as pa
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro, to_avro
from pyspark.sql.pandas.functions import arrow_udf
from pyspark.sql.types import (
    ArrayType,
    DataType,
    MapType,
    StringType,
    StructField,
    StructType,
    _parse_datatype_json_string,
)

from contract.jsonata_subset import (
    ARITHMETIC,
    COMPARISONS,
    Binary,
    Call,
    Conditional,
    Const,
    Expr,
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
from contract.migrations import (
    ContractVersion,
    MigrationFailed,
    MigrationPath,
    Names,
    NotConforming,
    Resolve,
    Transform,
    conform,
    transform,
    without_logical_types,
)


@dataclass(frozen=True)
class MigratedEvent:
    """The record through its path: ``event`` (the reader's struct, null when the body
    did not decode or the migration failed), ``failed_rule`` (the rule that failed, or
    whose hop's result did not conform; null otherwise) and ``failed_mode`` (``UPGRADE``
    or ``DOWNGRADE`` where a rule failed)."""

    event: Column
    failed_rule: Column
    failed_mode: Column


def migrated_event(body: Column, path: MigrationPath) -> MigratedEvent:
    """The Avro body (written with path.writer's schema) read as path.reader's record."""
    return migrated_from(written_record(body, path), path)


def written_record(body: Column, path: MigrationPath) -> Column:
    """The body decoded as the path's rules first see it: the writer's plain record
    (logical types as base types), resolved into the first rule's source where the path
    starts with a resolution; read as the reader's struct when the path has no rule.

    The only costly expression of a migration: a caller that puts it in a column of its
    own and hands that column to migrated_from decodes each record once (every field a
    rule reads refers to it, and Spark repeats an expression for each reference within
    one projection)."""
    if not path.transforms:
        options = {"mode": "PERMISSIVE", "avroSchema": path.reader.schema}
        return from_avro(body, path.writer.schema, options)
    options = {"mode": "PERMISSIVE"}
    if isinstance(path.steps[0], Resolve):
        options["avroSchema"] = _plain_json(path.steps[0].target)
    return from_avro(body, _plain_json(path.writer), options)


def migrated_from(decoded: Column, path: MigrationPath) -> MigratedEvent:
    """written_record's column through the path's steps, as path.reader's record."""
    if not path.transforms:
        return MigratedEvent(decoded, _null("string"), _null("string"))
    steps = list(path.steps)
    first = path.writer
    if isinstance(steps[0], Resolve):
        first = steps.pop(0).target
    record = _Record(first, {name: decoded.getField(name) for name in _field_names(first)})
    failures: list[tuple[Column, Column]] = []  # (failed, rule name), in run order
    for step in steps:
        if isinstance(step, Resolve):
            record = _resolve(record, step.target)
        elif _compiles(step):
            record, hop_failures = _CompiledHop(step).run(record)
            failures.extend(hop_failures)
        else:
            record, failed = _python_hop(step, record)
            failures.append((failed.isNotNull(), failed))
    decodable = _decodable(decoded, _without_logical(first.parsed))
    failed_rule = reduce(lambda case, f: case.when(f[0], f[1]), failures, F.when(~decodable, None))
    failed_rule = failed_rule.otherwise(_null("string"))
    ok = decodable & failed_rule.isNull()
    event = F.when(ok, _reader_struct(record, path.reader)).otherwise(F.lit(None))
    return MigratedEvent(
        event.cast(reader_type(path.reader)),
        failed_rule,
        F.when(failed_rule.isNotNull(), F.lit(path.transforms[0].migration)),
    )


def python_rule_names(path: MigrationPath) -> tuple[str, ...]:
    """The path's rules that run in jsonata-python (in run order): every rule of a hop
    that does not compile."""
    return tuple(rule.name for hop in path.transforms if not _compiles(hop) for rule in hop.rules)


@lru_cache(maxsize=256)
def subset_problem(hop: Transform) -> str | None:
    """Why the hop's rules do not compile to Spark columns (one line), or None.

    Finding out builds the hop's columns; a hop is immutable, so it is found out once per
    process, not in every plan that reads through it (follow plans every micro-batch)."""
    try:
        _CompiledHop(hop).check()
    except SubsetError as error:
        return str(error)
    return None


def _compiles(hop: Transform) -> bool:
    return subset_problem(hop) is None


# -- schemas ------------------------------------------------------------------------------


def _without_logical(schema: Any) -> Any:
    return without_logical_types(schema)


def _plain_json(version: ContractVersion) -> str:
    return json.dumps(_without_logical(version.parsed))


def _field_names(version: ContractVersion) -> list[str]:
    return [f["name"] for f in version.parsed["fields"]]


def _spark_type(avro_json: str) -> DataType:
    """What from_avro makes of an Avro schema (Spark's own converter)."""
    session = SparkSession.getActiveSession()
    if session is None:
        raise RuntimeError("no active SparkSession")
    jvm = session._jvm
    assert jvm is not None
    parsed = jvm.org.apache.avro.Schema.Parser().parse(avro_json)
    converted = jvm.org.apache.spark.sql.avro.SchemaConverters.toSqlType(parsed)
    return _all_nullable(_parse_datatype_json_string(converted.dataType().json()))


def _all_nullable(spark_type: DataType) -> DataType:
    """The type with every field, element and value nullable (from_avro's in PERMISSIVE
    mode)."""
    if isinstance(spark_type, StructType):
        return StructType(
            [StructField(f.name, _all_nullable(f.dataType), True) for f in spark_type.fields]
        )
    if isinstance(spark_type, ArrayType):
        return ArrayType(_all_nullable(spark_type.elementType), True)
    if isinstance(spark_type, MapType):
        return MapType(spark_type.keyType, _all_nullable(spark_type.valueType), True)
    return spark_type


def reader_type(version: ContractVersion) -> DataType:
    """The Spark type of from_avro(body, version.schema) in PERMISSIVE mode."""
    return _spark_type(version.schema)


def _null(spark_type: str) -> Column:
    return F.lit(None).cast(spark_type)


_PRIMITIVE_SPARK = {
    "boolean": "boolean",
    "int": "int",
    "long": "long",
    "float": "float",
    "double": "double",
    "string": "string",
    "bytes": "binary",
}


def _nullable_primitive(schema: Any, names: Names) -> tuple[str, bool] | None:
    """(base type, may be null) for a primitive or a union of null and one primitive;
    None for anything else."""
    if isinstance(schema, list):
        others = [branch for branch in schema if branch != "null"]
        if len(others) != 1 or len(schema) != 2:
            return None
        inner = _nullable_primitive(others[0], names)
        return None if inner is None else (inner[0], True)
    if isinstance(schema, Mapping):
        kind = schema.get("type")
        if kind == "enum":
            return ("enum", False)
        if isinstance(kind, str) and kind in _PRIMITIVE_SPARK:
            return (kind, False)
        return None
    if isinstance(schema, str) and schema in _PRIMITIVE_SPARK:
        return (schema, False)
    if isinstance(schema, str) and names.get(schema) is not None:
        found = names.get(schema)
        return ("enum", False) if found.get("type") == "enum" else None
    return None


def _decodable(decoded: Column, plain_schema: Mapping[str, Any]) -> Column:
    """Decoded in PERMISSIVE mode: a body that fails gives a struct of nulls, so a record
    whose required fields are all there decoded."""
    test = decoded.isNotNull()
    for f in plain_schema["fields"]:
        if not (isinstance(f["type"], list) and "null" in f["type"]):
            test = test & decoded.getField(f["name"]).isNotNull()
    return test


@dataclass(frozen=True)
class _Record:
    """A record of a version's plain shape (logical types as base types) as columns."""

    version: ContractVersion
    fields: dict[str, Column]

    def struct(self) -> Column:
        return F.struct(*(column.alias(name) for name, column in self.fields.items()))


# -- resolution ---------------------------------------------------------------------------

_PROMOTIONS = {
    ("int", "long"),
    ("int", "float"),
    ("int", "double"),
    ("long", "float"),
    ("long", "double"),
    ("float", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
}


def _resolve(record: _Record, target: ContractVersion) -> _Record:
    """Avro resolution into target: a projection with defaults and promotions where the
    fields are primitives (exact), else Spark's own to_avro and from_avro."""
    source_plain = _without_logical(record.version.parsed)
    target_plain = _without_logical(target.parsed)
    source_fields = {f["name"]: f for f in source_plain["fields"]}
    source_names, target_names = Names(source_plain), Names(target_plain)
    projected: dict[str, Column] = {}
    for f in target_plain["fields"]:
        matched = [n for n in (f["name"], *f.get("aliases", [])) if n in source_fields]
        wanted = _nullable_primitive(f["type"], target_names)
        if not matched:
            if "default" not in f or wanted is None:
                return _resolve_with_avro(record, target)
            value = conform(f["default"], f["type"], target_names)
            projected[f["name"]] = F.lit(value).cast(_PRIMITIVE_SPARK.get(wanted[0], "string"))
            continue
        given = _nullable_primitive(source_fields[matched[0]]["type"], source_names)
        if wanted is None or given is None or (given[1] and not wanted[1]):
            return _resolve_with_avro(record, target)
        if "enum" in (given[0], wanted[0]) or (
            given[0] != wanted[0] and (given[0], wanted[0]) not in _PROMOTIONS
        ):
            return _resolve_with_avro(record, target)
        column = record.fields[matched[0]]
        if given[0] != wanted[0]:
            column = column.cast(_PRIMITIVE_SPARK[wanted[0]])
        projected[f["name"]] = column
    return _Record(target, projected)


def _resolve_with_avro(record: _Record, target: ContractVersion) -> _Record:
    encoded = to_avro(record.struct(), _plain_json(record.version))
    options = {"mode": "PERMISSIVE", "avroSchema": _plain_json(target)}
    decoded = from_avro(encoded, _plain_json(record.version), options)
    return _Record(target, {name: decoded.getField(name) for name in _field_names(target)})


# -- the reader's struct ------------------------------------------------------------------

#: Spark's timestamps are microseconds in a long: milliseconds beyond this overflow (and
#: from_avro fails the job on them); such a value is null here.
_MILLIS_RANGE = (2**63 - 1) // 1000
_LOGICAL: dict[str, Callable[[Column], Column]] = {
    "timestamp-millis": lambda c: F.timestamp_millis(
        F.when(c.between(-_MILLIS_RANGE, _MILLIS_RANGE), c)
    ),
    "timestamp-micros": F.timestamp_micros,
    "date": F.date_from_unix_date,
}


def _reader_struct(record: _Record, reader: ContractVersion) -> Column:
    """The record (reader's plain shape) with the reader's logical types put back: a
    direct conversion for the common ones, else an Avro round trip (the plain and the
    logical schema write the same bytes)."""
    columns = []
    for f in reader.parsed["fields"]:
        column = record.fields[f["name"]]
        logical = _logical_type(f["type"])
        if logical is None:
            columns.append(column.alias(f["name"]))
        elif logical in _LOGICAL:
            columns.append(_LOGICAL[logical](column).alias(f["name"]))
        else:
            encoded = to_avro(record.struct(), _plain_json(reader))
            return from_avro(encoded, reader.schema, {"mode": "PERMISSIVE"})
    return F.struct(*columns)


def _logical_type(schema: Any) -> str | None:
    """The logical type of a field (of its non-null branch); "" for one nested deeper
    (records, arrays, maps, other unions: converted by the Avro round trip)."""
    if isinstance(schema, list):
        others = [branch for branch in schema if branch != "null"]
        return _logical_type(others[0]) if len(others) == 1 else (None if _flat(schema) else "")
    if isinstance(schema, Mapping):
        if "logicalType" in schema:
            return str(schema["logicalType"])
        if schema.get("type") in ("record", "array", "map"):
            return None if "logicalType" not in json.dumps(schema) else ""
    return None


def _flat(schema: Any) -> bool:
    return "logicalType" not in json.dumps(schema)


# -- hops in jsonata-python ---------------------------------------------------------------


def _python_hop(hop: Transform, record: _Record) -> tuple[_Record, Column]:
    """The hop through contract.migrations.transform in an Arrow UDF: the target's
    record, and the failed rule's name (null where it passed)."""
    target_type = _spark_type(_plain_json(hop.target))
    result_type = StructType(
        [StructField("record", target_type, True), StructField("failed", StringType(), True)]
    )
    arrow_target = _arrow_type(target_type)

    def run(records: pa.Array) -> pa.Array:
        values: list[dict[str, Any] | None] = []
        failed: list[str | None] = []
        for item in records.to_pylist():
            if item is None:
                values.append(None)
                failed.append(None)
                continue
            try:
                values.append(transform(hop, item))
                failed.append(None)
            except MigrationFailed as error:
                values.append(None)
                failed.append(error.rule.name)
        return pa.StructArray.from_arrays(
            [pa.array(values, type=arrow_target), pa.array(failed, type=pa.string())],
            names=["record", "failed"],
        )

    udf = arrow_udf(run, result_type)  # type: ignore[call-overload]  # the hints say how
    result = udf(record.struct())
    migrated = result.getField("record")
    fields = {name: migrated.getField(name) for name in _field_names(hop.target)}
    return _Record(hop.target, fields), result.getField("failed")


def _arrow_type(spark_type: DataType) -> Any:
    from pyspark.sql.pandas.types import to_arrow_type

    return to_arrow_type(spark_type)


# -- compiled hops ------------------------------------------------------------------------


class Kind(str, Enum):
    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    NULL = "null"
    OBJECT = "object"
    UNDEFINED = "undefined"


@dataclass(frozen=True)
class Value:
    """A compiled JSONata value of one kind. ``column`` holds it (a double or a long for
    numbers; none for null, undefined and objects); ``undefined`` is where it is
    undefined at run time (None: never); ``nullable``: it may be JSON null where defined
    (the column null); an object's ``fields`` are its keys in order (each with where it is
    absent as its own ``undefined``). Where the evaluation erred the value is anything."""

    kind: Kind
    column: Column | None = None
    undefined: Column | None = None
    nullable: bool = False
    fields: dict[str, Value] = field(default_factory=dict)
    exact: bool = False  # a long (a number passed through), not a double
    small: bool = False  # an exact literal a double holds exactly (within 2^53)

    def defined(self) -> Column:
        return F.lit(True) if self.undefined is None else ~self.undefined

    def is_null(self) -> Column:
        """Where it is JSON null (not undefined)."""
        if self.kind is Kind.NULL:
            return self.defined()
        if not self.nullable or self.column is None:
            return F.lit(False)
        return self.defined() & self.column.isNull()

    def present(self) -> Column:
        """Defined and not null: where the column holds the value."""
        return self.defined() & ~self.is_null()


def _or(a: Column | None, b: Column | None) -> Column | None:
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def _and(a: Column | None, b: Column | None) -> Column | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


#: 2^63, 2^31: the long and int ranges as conform checks them (whole numbers).
_RANGES = {"long": float(2**63), "int": float(2**31)}
_SCIENTIFIC = "0.##############E0"


class _CompiledHop:
    """One hop's rules compiled over a record's columns."""

    def __init__(self, hop: Transform) -> None:
        self.hop = hop

    def check(self) -> None:
        """SubsetError when a rule is outside the subset, does not bind to the source's
        fields, or its result cannot be conformed here (needs an active SparkSession)."""
        source = self.hop.source
        self.run(_Record(source, {name: F.col(name) for name in _field_names(source)}))

    def run(self, record: _Record) -> tuple[_Record, list[tuple[Column, Column]]]:
        """The target's record and the (failed, rule name) pairs, in run order: each rule
        where it errs, then the last rule where the result does not conform."""
        source = _without_logical(self.hop.source.parsed)
        value = _record_value(record, source, Names(source))
        failures: list[tuple[Column, Column]] = []
        for rule in self.hop.rules:
            try:
                compiler = _Compiler(value)
                value = compiler.value(parse_transform(rule.expr), None)
            except SubsetError as error:
                raise SubsetError(f"rule {rule.name!r}: {error}") from None
            failures.append((compiler.erred(), F.lit(rule.name)))
        target = _without_logical(self.hop.target.parsed)
        fields, fits = _conform_record(value, target, Names(target))
        failures.append((~fits, F.lit(self.hop.rules[-1].name)))
        return _Record(self.hop.target, fields), failures


def _record_value(record: _Record, schema: Mapping[str, Any], names: Names) -> Value:
    return Value(
        Kind.OBJECT,
        fields={
            f["name"]: _field_value(record.fields[f["name"]], f["type"], names)
            for f in schema["fields"]
        },
    )


_KINDS = {
    "boolean": Kind.BOOLEAN,
    "int": Kind.NUMBER,
    "long": Kind.NUMBER,
    "float": Kind.NUMBER,
    "double": Kind.NUMBER,
    "string": Kind.STRING,
    "enum": Kind.STRING,
}


def _field_value(column: Column, schema: Any, names: Names) -> Value:
    """A field's value as a rule sees it: a union as its value, a record as an object."""
    named = names.get(schema) if isinstance(schema, str) else None
    if isinstance(named, Mapping) and named.get("type") in ("record", "error"):
        schema = named
    if isinstance(schema, Mapping) and schema.get("type") in ("record", "error"):
        return Value(
            Kind.OBJECT,
            fields={
                f["name"]: _field_value(column.getField(f["name"]), f["type"], names)
                for f in schema["fields"]
            },
        )
    primitive = _nullable_primitive(schema, names)
    if primitive is None or primitive[0] not in _KINDS:
        raise SubsetError(f"a field of type {json.dumps(schema)} is outside what compiles")
    base, nullable = primitive
    if base in ("int", "long"):
        return Value(Kind.NUMBER, column.cast("long"), nullable=nullable, exact=True)
    if base == "float":
        column = column.cast("double")
    return Value(_KINDS[base], column, nullable=nullable)


def _kinds(*values: Value) -> str:
    return ", ".join(value.kind.value for value in values)


class _Compiler:
    """One rule's tree as a Value over its input, and where its evaluation errs."""

    def __init__(self, root: Value) -> None:
        self.root = root
        self.errors: list[Column] = []

    def erred(self) -> Column:
        if not self.errors:
            return F.lit(False)
        return F.coalesce(reduce(lambda a, b: a | b, self.errors), F.lit(False))

    def fail(self, reach: Column | None, where: Column) -> None:
        """The rule errs where the node is reached and where holds."""
        reached = where if reach is None else reach & where
        self.errors.append(F.coalesce(reached, F.lit(False)))

    def value(self, node: Expr, reach: Column | None) -> Value:
        if isinstance(node, Const):
            return _const(node.value)
        if isinstance(node, Path):
            return self.path(self.root, node.names)
        if isinstance(node, Negate):
            operand = self.value(node.operand, reach)
            self.fail(reach, self.not_number(operand))
            negated = _whole_zero(-self.double(operand))
            return Value(Kind.NUMBER, negated, undefined=operand.undefined)
        if isinstance(node, Binary):
            return self.binary(node, reach)
        if isinstance(node, Conditional):
            condition = self.truth(self.value(node.condition, reach))
            then = self.value(node.then, _and(reach, condition))
            otherwise = (
                _undefined()
                if node.otherwise is None
                else self.value(node.otherwise, _and(reach, ~condition))
            )
            return _choose(condition, then, otherwise)
        if isinstance(node, ObjectOf):
            keys = [key for key, _ in node.pairs]
            if len(set(keys)) != len(keys):
                raise SubsetError("an object constructor with a key twice")
            return Value(
                Kind.OBJECT, fields={key: self.value(item, reach) for key, item in node.pairs}
            )
        if isinstance(node, Merge):
            return self.merge([self.value(item, reach) for item in node.items])
        if isinstance(node, Sift):
            source = self.value(node.source, reach)
            if source.kind is not Kind.OBJECT:
                raise SubsetError(f"$sift() of a {source.kind.value}")
            kept = {k: v for k, v in source.fields.items() if keeps_key(node.keep, k)}
            empty = reduce(lambda a, v: a & ~v.defined(), kept.values(), F.lit(True))
            return Value(Kind.OBJECT, undefined=_or(source.undefined, empty), fields=kept)
        if isinstance(node, Call):
            return self.call(node, reach)
        if isinstance(node, Key):
            raise SubsetError("$k outside a $sift predicate")
        raise SubsetError(f"{type(node).__name__}")

    # -- values ---------------------------------------------------------------------------

    def path(self, start: Value, names: Sequence[str]) -> Value:
        current = start
        for name in names:
            if current.kind is not Kind.OBJECT or name not in current.fields:
                return _undefined()
            child = current.fields[name]
            current = replace(child, undefined=_or(current.undefined, child.undefined))
        return current

    def not_number(self, value: Value) -> Column:
        """Where the value is defined and not a finite number (JSONata's arithmetic
        errs)."""
        if value.kind is Kind.UNDEFINED:
            return F.lit(False)
        if value.kind is not Kind.NUMBER:
            return value.defined()
        bad = value.is_null()
        if not value.exact:
            assert value.column is not None
            finite = ~F.isnan(value.column) & (F.abs(value.column) != math.inf)
            bad = bad | (value.present() & ~finite)
        return bad

    def double(self, value: Value) -> Column:
        if value.kind is not Kind.NUMBER or value.column is None:
            return _null("double")
        return value.column.cast("double")

    def truth(self, value: Value) -> Column:
        """JSONata's boolean of the value (undefined and null: false)."""
        if value.kind in (Kind.UNDEFINED, Kind.NULL):
            return F.lit(False)
        if value.kind is Kind.OBJECT:
            return reduce(lambda a, v: a | v.defined(), value.fields.values(), F.lit(False)) & (
                value.defined()
            )
        assert value.column is not None
        if value.kind is Kind.NUMBER:
            test = value.column != 0
        elif value.kind is Kind.STRING:
            test = F.length(value.column) > 0
        else:
            test = value.column
        return F.coalesce(value.present() & test, F.lit(False))

    def binary(self, node: Binary, reach: Column | None) -> Value:
        left = self.value(node.left, reach)
        if node.op in ("and", "or"):
            truth = self.truth(left)
            right_reach = _and(reach, truth if node.op == "and" else ~truth)
            other = self.truth(self.value(node.right, right_reach))
            result = (truth & other) if node.op == "and" else (truth | other)
            return Value(Kind.BOOLEAN, result)
        right = self.value(node.right, reach)
        if node.op in ARITHMETIC:
            return self.arithmetic(node.op, left, right, reach)
        if node.op == "&":
            return Value(Kind.STRING, F.concat(self.text(left), self.text(right)))
        if node.op in ("=", "!="):
            return self.equality(node.op, left, right)
        assert node.op in COMPARISONS
        return self.order(node.op, left, right, reach)

    def arithmetic(self, op: str, left: Value, right: Value, reach: Column | None) -> Value:
        self.fail(reach, self.not_number(left) | self.not_number(right))
        undefined = _or(left.undefined, right.undefined)
        a, b = self.double(left), self.double(right)
        if op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        elif op == "*":
            result = a * b
        else:
            # Python's float division and fmod raise on a zero divisor
            self.fail(_and(reach, None if undefined is None else ~undefined), b == 0)
            divisor = F.when(b != 0, b)
            result = a / divisor if op == "/" else _truncated(F.try_mod(a, divisor))
        # a finite result out of range ("Number out of range")
        overflow = F.isnan(result) | (F.abs(result) == math.inf)
        self.fail(_and(reach, None if undefined is None else ~undefined), overflow)
        return Value(Kind.NUMBER, _whole_zero(result), undefined=undefined)

    def text(self, value: Value) -> Column:
        """JSONata's $string of the value for &: undefined is ''."""
        if value.kind is Kind.UNDEFINED:
            return F.lit("")
        return F.coalesce(
            F.when(value.undefined if value.undefined is not None else F.lit(False), ""),
            self.string_of(value),
        )

    def string_of(self, value: Value) -> Column:
        """$string of a defined value (null: 'null')."""
        if value.kind is Kind.NULL:
            return F.lit("null")
        if value.kind is Kind.OBJECT:
            raise SubsetError("$string() of an object")
        assert value.column is not None
        if value.kind is Kind.STRING:
            shown = value.column
        elif value.kind is Kind.BOOLEAN:
            shown = F.when(value.column, "true").otherwise("false")
        else:
            shown = number_text(value.column, value.exact)
        return F.when(value.is_null(), "null").otherwise(shown) if value.nullable else shown

    def equality(self, op: str, left: Value, right: Value) -> Value:
        both = left.defined() & right.defined()
        if Kind.OBJECT in (left.kind, right.kind):
            raise SubsetError("= or != of an object")
        null_equal = left.is_null() & right.is_null()
        if left.kind is right.kind and left.kind not in (Kind.NULL, Kind.UNDEFINED):
            assert left.column is not None and right.column is not None
            a, b = left.column, right.column
            if left.kind is Kind.NUMBER:
                a, b = a.cast("double"), b.cast("double")
                same = (a == b) & ~F.isnan(a) & ~F.isnan(b)
            else:
                same = a == b
            equal = null_equal | F.coalesce(left.present() & right.present() & same, F.lit(False))
        else:
            equal = null_equal
        result = equal if op == "=" else ~equal
        return Value(Kind.BOOLEAN, both & result)

    def order(self, op: str, left: Value, right: Value, reach: Column | None) -> Value:
        def incomparable(value: Value) -> Column:
            if value.kind is Kind.UNDEFINED:
                return F.lit(False)
            if value.kind in (Kind.NUMBER, Kind.STRING):
                return value.is_null()
            return value.defined()

        self.fail(reach, incomparable(left) | incomparable(right))
        undefined = _or(left.undefined, right.undefined)
        if Kind.UNDEFINED in (left.kind, right.kind) or left.kind is not right.kind:
            if {left.kind, right.kind} == {Kind.NUMBER, Kind.STRING}:
                self.fail(reach, left.present() & right.present())
            return Value(Kind.BOOLEAN, _null("boolean"), undefined=F.lit(True))
        assert left.column is not None and right.column is not None
        a, b = left.column, right.column
        if left.kind is Kind.NUMBER and not (left.exact and right.exact):
            a, b = a.cast("double"), b.cast("double")  # Python compares an int and a float so
        compared = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        if left.kind is Kind.NUMBER:
            compared = compared & ~F.isnan(a) & ~F.isnan(b)
        return Value(Kind.BOOLEAN, compared, undefined=undefined)

    def merge(self, items: list[Value]) -> Value:
        fields: dict[str, Value] = {}
        for item in items:
            if item.kind is Kind.UNDEFINED:
                continue
            if item.kind is not Kind.OBJECT:
                raise SubsetError(f"$merge() of a {item.kind.value}")
            for key, value in item.fields.items():
                present = item.defined() & value.defined()
                if key not in fields or (item.undefined is None and value.undefined is None):
                    fields[key] = replace(value, undefined=_or(item.undefined, value.undefined))
                else:
                    fields[key] = _choose(present, value, fields[key])
        return Value(Kind.OBJECT, fields=fields)

    # -- functions --------------------------------------------------------------------------

    def call(self, node: Call, reach: Column | None) -> Value:
        name = node.name
        if name == "lookup":
            source, key = node.args
            if not (isinstance(key, Const) and isinstance(key.value, str)):
                raise SubsetError("$lookup() with a key that is not a string literal")
            found = self.path(self.value(source, reach), [key.value])
            if found.kind is Kind.NUMBER and not found.exact and found.column is not None:
                # a function's number result is checked (an infinite one errs, NaN passes)
                # and a whole one made an int (no -0.0)
                self.fail(_and(reach, found.present()), F.abs(found.column) == math.inf)
                return replace(found, column=_whole_zero(found.column))
            return found
        args = [self.value(arg, reach) for arg in node.args]
        first = args[0]
        if name == "exists":
            return Value(Kind.BOOLEAN, first.defined())
        if name == "string":
            if first.kind is Kind.UNDEFINED:
                return _undefined()
            return Value(Kind.STRING, self.string_of(first), undefined=first.undefined)
        if name == "number":
            return self.to_number(first, reach)
        if name in ("round", "floor", "ceil", "abs"):
            return self.rounding(name, args, node, reach)
        if name == "contains":
            return self.contains(first, args[1], reach)
        return self.string_function(name, args, reach)

    def needs(self, kind: Kind, value: Value, reach: Column | None, null_ok: bool = False) -> None:
        """The argument must be of kind where defined (null too unless null_ok)."""
        if value.kind is Kind.UNDEFINED:
            return
        if value.kind is not kind:
            if not (null_ok and value.kind is Kind.NULL):
                self.fail(reach, value.defined())
            return
        if not null_ok:
            self.fail(reach, value.is_null())

    def to_number(self, value: Value, reach: Column | None) -> Value:
        """$number: a number as it is, a boolean as 1 or 0, a string as Python's float()
        reads it (or int(..., base) after 0x, 0B, 0O); an infinite result errs."""
        if value.kind is Kind.UNDEFINED:
            return _undefined()
        if value.kind not in (Kind.NUMBER, Kind.BOOLEAN, Kind.STRING):
            self.fail(reach, value.defined())
            return Value(Kind.NUMBER, _null("double"), undefined=value.undefined)
        assert value.column is not None
        self.fail(reach, value.is_null())
        if value.kind is Kind.NUMBER:
            if value.exact:
                return value
            self.fail(reach, value.present() & (F.abs(value.column) == math.inf))
            return replace(value, column=_whole_zero(value.column))
        if value.kind is Kind.BOOLEAN:
            number = F.when(value.column, 1.0).otherwise(0.0)
            return Value(Kind.NUMBER, number, undefined=value.undefined)
        parsed = _python_number(value.column)
        self.fail(reach, value.present() & (parsed.isNull() | (F.abs(parsed) == math.inf)))
        return Value(Kind.NUMBER, _whole_zero(parsed), undefined=value.undefined)

    def rounding(self, name: str, args: list[Value], node: Call, reach: Column | None) -> Value:
        value = args[0]
        if value.kind is Kind.UNDEFINED:
            return _undefined()
        self.needs(Kind.NUMBER, value, reach)
        if value.kind is not Kind.NUMBER:
            return Value(Kind.NUMBER, _null("double"), undefined=value.undefined)
        column = self.double(value)
        if name == "abs":
            if value.exact:
                assert value.column is not None
                self.fail(reach, value.column == F.lit(-(2**63)).cast("long"))
                return Value(
                    Kind.NUMBER,
                    F.abs(F.when(value.column != -(2**63), value.column)),
                    undefined=value.undefined,
                    exact=True,
                )
            self.fail(reach, value.present() & (F.abs(column) == math.inf))
            return Value(Kind.NUMBER, F.abs(column), undefined=value.undefined)
        # $round, $floor and $ceil read a number as a float (a long beyond 2^53 rounds)
        self.fail(reach, value.present() & (F.isnan(column) | (F.abs(column) == math.inf)))
        if name == "round":
            precision = node.args[1] if len(node.args) > 1 else Const(0)
            if not (isinstance(precision, Const) and type(precision.value) is int):
                raise SubsetError("$round() with a precision that is not an integer literal")
            finite = F.when(~F.isnan(column) & (F.abs(column) != math.inf), column)
            rounded = _whole_zero(F.bround(finite, precision.value))
            return Value(Kind.NUMBER, rounded, undefined=value.undefined)
        floored = _whole_zero(_floor_or_ceil(column, name))
        return Value(Kind.NUMBER, floored, undefined=value.undefined)

    def contains(self, text: Value, token: Value, reach: Column | None) -> Value:
        if text.kind is Kind.UNDEFINED:
            return _undefined()
        self.needs(Kind.STRING, text, reach, null_ok=True)
        # a token that is not a string (undefined, null) errs
        self.fail(
            reach,
            text.present() & ~token.present() if token.kind is Kind.STRING else text.present(),
        )
        if text.kind is not Kind.STRING or token.kind is not Kind.STRING:
            return Value(Kind.BOOLEAN, _null("boolean"), undefined=text.undefined)
        assert text.column is not None and token.column is not None
        undefined = _or(text.undefined, text.is_null() if text.nullable else None)
        return Value(Kind.BOOLEAN, F.instr(text.column, token.column) > 0, undefined=undefined)

    def string_function(self, name: str, args: list[Value], reach: Column | None) -> Value:
        text = args[0]
        if text.kind is Kind.UNDEFINED:
            return _undefined()
        self.needs(Kind.STRING, text, reach)
        if text.kind is not Kind.STRING:
            return Value(Kind.STRING, _null("string"), undefined=text.undefined)
        assert text.column is not None
        s = text.column
        if name == "uppercase":
            return Value(Kind.STRING, F.upper(s), undefined=text.undefined)
        if name == "lowercase":
            return Value(Kind.STRING, F.lower(s), undefined=text.undefined)
        if name == "trim":
            spaced = F.regexp_replace(s, "[ \t\n\r]+", " ")
            return Value(Kind.STRING, F.btrim(spaced, F.lit(" ")), undefined=text.undefined)
        if name in ("substringBefore", "substringAfter"):
            chars = args[1]
            if chars.kind is Kind.UNDEFINED:
                return text
            self.needs(Kind.STRING, chars, reach)
            if chars.kind is not Kind.STRING:
                return Value(Kind.STRING, _null("string"), undefined=text.undefined)
            assert chars.column is not None
            found = F.instr(s, chars.column)
            if name == "substringBefore":
                cut = F.substring(s, F.lit(1), found - 1)
            else:
                cut = F.substring(s, found + F.length(chars.column), F.length(s) + 1)
            return Value(
                Kind.STRING,
                F.when(found > 0, cut).otherwise(s),
                undefined=_or(text.undefined, chars.undefined),
            )
        return self.substring(text, args[1:], reach)

    def substring(self, text: Value, bounds: list[Value], reach: Column | None) -> Value:
        """jsonata-python's $substring: an undefined start gives the string (or "" with a
        length), an undefined length reads to the end."""
        for bound in bounds:
            if bound.kind is Kind.UNDEFINED:
                continue
            self.needs(Kind.NUMBER, bound, reach)
            if bound.kind is not Kind.NUMBER:
                raise SubsetError("$substring() with a position that is not a number")
            self.fail(reach, self.not_number(bound))
        assert text.column is not None
        s = text.column
        start = bounds[0]
        length = bounds[1] if len(bounds) > 1 and bounds[1].kind is Kind.NUMBER else None
        no_length = F.lit(True) if length is None else length.undefined
        if no_length is None:
            no_length = F.lit(False)
        without_start = F.when(no_length, s).otherwise(F.lit(""))
        if start.kind is Kind.UNDEFINED:
            return Value(Kind.STRING, without_start, undefined=text.undefined)
        size = F.length(s)
        begin = _clamped_int(self.double(start))
        begin = F.when(begin < 0, F.greatest(size + begin, F.lit(0))).otherwise(begin)
        if length is None:
            count, empty = size, F.lit(False)
        else:
            count = F.when(no_length, size).otherwise(_clamped_int(self.double(length)))
            empty = ~no_length & (count <= 0)
        cut = F.when(empty | (begin >= size), F.lit("")).otherwise(
            F.substring(s, begin + 1, F.least(count, size))
        )
        if start.undefined is not None:
            cut = F.when(start.undefined, without_start).otherwise(cut)
        return Value(Kind.STRING, cut, undefined=text.undefined)


#: What Python's str.strip() strips (float() and int() strip it too).
_PY_SPACE = (
    "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000]"
)
_DIGITS = "[0-9](_?[0-9])*"
_PY_FLOAT = (
    f"^{_PY_SPACE}*[+-]?(({_DIGITS}(\\.({_DIGITS})?)?|\\.{_DIGITS})([eE][+-]?{_DIGITS})?"
    f"|(?i:inf|infinity|nan)){_PY_SPACE}*\\z"
)
#: jsonata-python's $number reads a string that starts with one of these as int(rest, base):
#: the base, a digit, and how many digits fit a double exactly.
_PREFIXES = {"0x": (16, "[0-9a-fA-F]", 13), "0B": (2, "[01]", 53), "0O": (8, "[0-7]", 17)}


def _python_number(text: Column) -> Column:
    """A string as jsonata-python's $number reads it (ASCII digits; after a base prefix
    as many digits as a double holds exactly), or null where it errs."""
    number = F.when(
        text.rlike(_PY_FLOAT),
        F.regexp_replace(text, f"{_PY_SPACE}|_", "").try_cast("double"),
    )
    for prefix, (base, digit, most) in _PREFIXES.items():
        rest = F.substring(text, 3, F.length(text))
        grammar = f"^{_PY_SPACE}*[+-]?{digit}(_?{digit}){{0,{most - 1}}}{_PY_SPACE}*\\z"
        read = F.conv(F.regexp_replace(rest, f"{_PY_SPACE}|_|[+-]", ""), base, 10)
        signed = F.when(rest.contains("-"), -read.try_cast("double")).otherwise(
            read.try_cast("double")
        )
        number = F.when(text.startswith(prefix), F.when(rest.rlike(grammar), signed)).otherwise(
            number
        )
    return number


def _const(value: Any) -> Value:
    if value is None:
        return Value(Kind.NULL)
    if isinstance(value, bool):
        return Value(Kind.BOOLEAN, F.lit(value))
    if isinstance(value, str):
        return Value(Kind.STRING, F.lit(value))
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        small = abs(value) <= 2**53
        return Value(Kind.NUMBER, F.lit(value).cast("long"), exact=True, small=small)
    return Value(Kind.NUMBER, F.lit(float(value)))


def _undefined() -> Value:
    return Value(Kind.UNDEFINED, undefined=F.lit(True))


def _choose(condition: Column, then: Value, otherwise: Value) -> Value:
    """then where condition holds, else otherwise: one value of one kind (undefined and
    null join any kind; other mixes do not compile)."""
    undefined: Column | None
    if then.undefined is None and otherwise.undefined is None:
        undefined = None
    else:
        undefined = F.when(
            condition, then.undefined if then.undefined is not None else F.lit(False)
        ).otherwise(otherwise.undefined if otherwise.undefined is not None else F.lit(False))
    kinds = {then.kind, otherwise.kind} - {Kind.UNDEFINED}
    if len(kinds) > 1:
        kinds -= {Kind.NULL}
    if not kinds:
        return Value(Kind.UNDEFINED, undefined=F.lit(True))
    if len(kinds) > 1:
        raise SubsetError(f"a choice between values of different types ({_kinds(then, otherwise)})")
    (kind,) = kinds
    if kind is Kind.OBJECT:
        keys = list(dict.fromkeys([*then.fields, *otherwise.fields]))
        fields = {
            key: _choose(
                condition,
                then.fields.get(key, _undefined()),
                otherwise.fields.get(key, _undefined()),
            )
            for key in keys
        }
        return Value(Kind.OBJECT, undefined=undefined, fields=fields)
    if kind is Kind.NULL:
        return Value(Kind.NULL, undefined=undefined)
    numbers = [v for v in (then, otherwise) if v.kind is kind]
    exact = all(v.exact for v in numbers)
    if not exact and any(v.exact and not v.small for v in numbers):
        raise SubsetError("a choice between a long and a double (a long's digits beyond 2^53)")
    spark_type = {
        Kind.NUMBER: "long" if exact else "double",
        Kind.STRING: "string",
        Kind.BOOLEAN: "boolean",
    }[kind]

    def column(value: Value) -> Column:
        return _null(spark_type) if value.column is None else value.column.cast(spark_type)

    nullable = any(v.nullable or v.kind is Kind.NULL for v in (then, otherwise))
    return Value(
        kind,
        F.when(condition, column(then)).otherwise(column(otherwise)),
        undefined=undefined,
        nullable=nullable,
        exact=exact,
    )


def _whole_zero(value: Column) -> Column:
    """-0.0 as 0.0: jsonata-python turns a whole result of an operator or a function into
    a Python int, which has no negative zero (IEEE: -0.0 + 0.0 is 0.0)."""
    return value + F.lit(0.0)


def _truncated(value: Column) -> Column:
    """int() of a double, as a double (exact: x - fmod(x, 1))."""
    return value - F.try_mod(value, F.lit(1.0))


def _floor_or_ceil(value: Column, name: str) -> Column:
    whole = _truncated(value)
    if name == "floor":
        return F.when(whole > value, whole - 1).otherwise(whole)
    return F.when(whole < value, whole + 1).otherwise(whole)


def _clamped_int(value: Column) -> Column:
    """int() of a position, clamped into Spark's int range."""
    return F.least(F.greatest(_truncated(value), F.lit(-(2.0**31) + 1)), F.lit(2.0**31 - 1)).cast(
        "int"
    )


def number_text(value: Column, exact: bool) -> Column:
    """JSONata's $string of a number as jsonata-python writes it: a whole number below
    10^15 in full, anything else to 15 significant digits (half to even), trailing zeros
    dropped, in Python's Decimal notation (1e+21, 1.5e-7, 0.000123)."""
    if exact:
        small = F.abs(value.cast("double")) < 1e15
        return F.when(small, value.cast("string")).otherwise(_significant(value))
    whole = F.try_mod(value, F.lit(1.0)) == 0
    negative_zero = (value == 0) & value.cast("string").startswith("-")  # atan2 adds 0.0
    return (
        F.when(F.isnan(value), "nan")
        .when(value == math.inf, "infinity")
        .when(value == -math.inf, "-infinity")
        .when(negative_zero, "-0")
        .when(whole & (F.abs(value) < 1e15), value.cast("long").cast("string"))
        .otherwise(_significant(value))
    )


def _significant(value: Column) -> Column:
    scientific = F.call_function("format_number", value, F.lit(_SCIENTIFIC))
    mantissa = F.substring_index(scientific, "E", 1)
    adjusted = F.substring_index(scientific, "E", -1).cast("int")
    sign = F.when(mantissa.startswith("-"), "-").otherwise("")
    digits = F.regexp_replace(mantissa, "[-.]", "")
    count = F.length(digits)
    exponent = adjusted - (count - 1)
    plain = (
        F.when(exponent == 0, digits)
        .when(
            adjusted >= 0,
            F.concat(
                F.substring(digits, F.lit(1), adjusted + 1),
                F.lit("."),
                F.substring(digits, adjusted + 2, count),
            ),
        )
        .otherwise(F.concat(F.lit("0."), F.repeat(F.lit("0"), -adjusted - 1), digits))
    )
    rest = F.when(count > 1, F.concat(F.lit("."), F.substring(digits, F.lit(2), count))).otherwise(
        ""
    )
    power = F.concat(F.when(adjusted >= 0, "+").otherwise("-"), F.abs(adjusted).cast("string"))
    sci = F.concat(F.substring(digits, 1, 1), rest, F.lit("e"), power)
    return F.concat(sign, F.when((exponent <= 0) & (adjusted >= -6), plain).otherwise(sci))


# -- conforming ---------------------------------------------------------------------------


def _conform_record(
    value: Value, schema: Mapping[str, Any], names: Names
) -> tuple[dict[str, Column], Column]:
    """The value conformed to a record schema (plain types): its fields as columns, and
    where it fits."""
    fields: dict[str, Column] = {}
    if value.kind is not Kind.OBJECT:
        fits: Column = F.lit(False)
        given: dict[str, Value] = {}
    else:
        fits = value.defined()
        given = value.fields
    for f in schema["fields"]:
        primitive = _nullable_primitive(f["type"], names)
        if primitive is None:
            raise SubsetError(f"a result field of type {json.dumps(f['type'])}")
        spark_type = _PRIMITIVE_SPARK.get(primitive[0], "string")
        default: Column | None = None
        if "default" in f:
            try:
                default = F.lit(conform(f["default"], f["type"], names)).cast(spark_type)
            except NotConforming:
                default = None
        item = given.get(f["name"])
        if item is None or item.kind is Kind.UNDEFINED:
            fields[f["name"]] = default if default is not None else _null(spark_type)
            fits = fits & F.lit(default is not None)
            continue
        column, ok = _conform_value(item, f["type"], primitive, names)
        present = item.defined()
        fields[f["name"]] = F.when(present, column).otherwise(
            default if default is not None else _null(spark_type)
        )
        fits = fits & F.when(present, ok).otherwise(F.lit(default is not None))
    return fields, F.coalesce(fits, F.lit(False))


def _conform_value(
    value: Value, schema: Any, primitive: tuple[str, bool], names: Names
) -> tuple[Column, Column]:
    base, nullable = primitive
    spark_type = _PRIMITIVE_SPARK.get(base, "string")
    null_ok = F.lit(nullable) & value.is_null()
    wrong = (_null(spark_type), null_ok)
    if value.kind is Kind.NULL or value.column is None:
        return wrong
    column = value.column
    if base in ("int", "long") and value.kind is Kind.NUMBER:
        bound = _RANGES[base]
        d = column.cast("double")
        if value.exact:
            fits = (column >= -int(bound)) & (column < int(bound)) if base == "int" else F.lit(True)
        else:
            fits = (F.try_mod(d, F.lit(1.0)) == 0) & (d >= -bound) & (d < bound)
        fits = F.coalesce(fits, F.lit(False))
        return F.when(fits, column.cast(spark_type)), null_ok | (value.present() & fits)
    if base in ("float", "double") and value.kind is Kind.NUMBER:
        return column.cast(spark_type), null_ok | value.present()
    if base == "string" and value.kind is Kind.STRING:
        return column, null_ok | value.present()
    if base == "enum" and value.kind is Kind.STRING:
        named = names.get(schema) if isinstance(schema, str) else schema
        if isinstance(schema, list):
            named = next(b for b in schema if b != "null")
            named = names.get(named) if isinstance(named, str) else named
        symbols = list(named.get("symbols", []))
        fits = F.coalesce(column.isin(symbols), F.lit(False))
        return F.when(fits, column), null_ok | (value.present() & fits)
    if base == "boolean" and value.kind is Kind.BOOLEAN:
        return column, null_ok | value.present()
    if base == "bytes":
        raise SubsetError("a result field of type bytes")
    return wrong
