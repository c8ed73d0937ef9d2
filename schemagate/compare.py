"""Reader/writer analysis of one old and one new schema in one direction.

`avro.compatibility` decides leaf compatibility (type promotions, enum symbols, fixed
sizes), but it merges its findings into sets that lose the pairing of message and
location, reports a record's problems once per memoized pair, and ignores logical
types. So the walk over records, unions, arrays and maps is done here, field by
field, and every violation is kept with its own rule id, path and types.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
    check_fixed_size,
    check_reader_enum_contains_writer_enum,
    lookup_writer_field,
)
from avro.schema import (
    ArraySchema,
    EnumSchema,
    FixedSchema,
    MapSchema,
    NamedSchema,
    RecordSchema,
    Schema,
    UnionSchema,
)

from schemagate.finding_ids import ViolationId
from schemagate.levels import Direction
from schemagate.model import Violation

NAMED_TYPES = frozenset({"record", "enum", "fixed"})


def find_violations(
    old: Schema, new: Schema, direction: Direction, against: str
) -> list[Violation]:
    """Every reason `direction`'s reader cannot read its writer's data (old vs new)."""
    reader, writer = (new, old) if direction is Direction.BACKWARD else (old, new)
    return list(_Walk(direction, against).pair(reader, writer, ""))


def describe(schema: Schema) -> str:
    """A short human name for a schema: `double`, `long (timestamp-millis)`, ..."""
    if isinstance(schema, UnionSchema):
        return "union[" + ", ".join(describe(branch) for branch in schema.schemas) + "]"
    if isinstance(schema, ArraySchema):
        return f"array<{describe(schema.items)}>"
    if isinstance(schema, MapSchema):
        return f"map<{describe(schema.values)}>"
    if isinstance(schema, FixedSchema):
        base = f"fixed {schema.fullname}({schema.size})"
    elif isinstance(schema, NamedSchema):
        base = f"{schema.type} {schema.fullname}"
    else:
        base = schema.type
    logical = schema.props.get("logicalType")
    return f"{base} ({logical})" if logical else str(base)


def names_match(reader: NamedSchema, writer: NamedSchema) -> bool:
    """Java Avro's rule: same unqualified name, or the writer's full name is a reader alias.

    avro's Python `schema_name_equals` compares aliases without qualifying them with the
    reader's namespace, so an unqualified alias (the usual way to write one) never
    matches; Java Avro, which the registries run, qualifies them first.
    """
    if reader.name == writer.name:
        return True
    aliases = reader.props.get("aliases")
    if not isinstance(aliases, list):
        return False
    namespace = reader.namespace
    qualified = {
        alias if "." in alias or not namespace else f"{namespace}.{alias}" for alias in aliases
    }
    return writer.fullname in qualified


def _logical(schema: Schema) -> tuple[object, ...]:
    """The properties that change how a primitive's bytes are interpreted."""
    props = schema.props
    return (props.get("logicalType"), props.get("precision"), props.get("scale"))


def _branches(schema: Schema) -> Sequence[Schema]:
    return schema.schemas if isinstance(schema, UnionSchema) else [schema]


def _same_kind(reader: Schema, writer: Schema) -> bool:
    """Whether Avro resolution pairs these two union branches without promotion."""
    if reader.type != writer.type:
        return False
    if isinstance(reader, NamedSchema) and isinstance(writer, NamedSchema):
        return names_match(reader, writer)
    return True


@dataclass
class _Walk:
    direction: Direction
    against: str

    def __post_init__(self) -> None:
        self._checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
        self._records_open: set[tuple[int, int]] = set()

    def pair(self, reader: Schema, writer: Schema, path: str) -> Iterator[Violation]:
        if isinstance(reader, UnionSchema) or isinstance(writer, UnionSchema):
            yield from self._unions(reader, writer, path)
        elif isinstance(reader, RecordSchema) and isinstance(writer, RecordSchema):
            yield from self._records(reader, writer, path)
        elif isinstance(reader, ArraySchema) and isinstance(writer, ArraySchema):
            yield from self.pair(reader.items, writer.items, f"{path}[]")
        elif isinstance(reader, MapSchema) and isinstance(writer, MapSchema):
            yield from self.pair(reader.values, writer.values, f"{path}{{}}")
        elif isinstance(reader, EnumSchema) and isinstance(writer, EnumSchema):
            yield from self._enums(reader, writer, path)
        elif isinstance(reader, FixedSchema) and isinstance(writer, FixedSchema):
            yield from self._fixed(reader, writer, path)
        else:
            yield from self._leaves(reader, writer, path)

    def _violation(self, rule: ViolationId, path: str, old: str, new: str, what: str) -> Violation:
        subject = f"field `{path}`" if path else "the record"
        return Violation(
            rule=rule,
            path=path,
            old_type=old,
            new_type=new,
            message=f"{subject} {what}: {self.direction.consequence}",
            direction=self.direction,
            against=self.against,
        )

    def _old_new(self, reader: Schema, writer: Schema) -> tuple[str, str]:
        """The described types in old, new order (the reader is new when reading backward)."""
        if self.direction is Direction.BACKWARD:
            return describe(writer), describe(reader)
        return describe(reader), describe(writer)

    def _changed(self, rule: ViolationId, path: str, reader: Schema, writer: Schema) -> Violation:
        """A violation whose sentence is "changed from <old> to <new>"."""
        old, new = self._old_new(reader, writer)
        return self._violation(rule, path, old, new, f"changed from {old} to {new}")

    def _reworded(
        self, rule: ViolationId, path: str, reader: Schema, writer: Schema, what: str
    ) -> Violation:
        return self._violation(rule, path, *self._old_new(reader, writer), what)

    def _records(
        self, reader: RecordSchema, writer: RecordSchema, path: str
    ) -> Iterator[Violation]:
        pair = (id(reader), id(writer))
        if pair in self._records_open:  # a recursive record, already being walked above
            return
        self._records_open.add(pair)
        if not names_match(reader, writer):
            yield self._changed(ViolationId.NAME_CHANGED, path, reader, writer)
        for reader_field in reader.fields:
            field_path = f"{path}.{reader_field.name}" if path else reader_field.name
            writer_field = lookup_writer_field(writer, reader_field)
            if writer_field is not None:
                yield from self.pair(reader_field.type, writer_field.type, field_path)
            elif not reader_field.has_default:
                yield self._missing_field(field_path, reader_field.type)
        self._records_open.discard(pair)  # a type used by two fields is walked for each

    def _missing_field(self, path: str, field_type: Schema) -> Violation:
        """The reader has a field without a default that the writer does not write."""
        described = describe(field_type)
        if self.direction is Direction.BACKWARD:
            what = f"({described}) was added without a default"
            return self._violation(
                ViolationId.FIELD_ADDED_WITHOUT_DEFAULT, path, "absent", described, what
            )
        what = f"({described}) was removed or renamed and the old schema has no default for it"
        return self._violation(
            ViolationId.FIELD_REMOVED_WITHOUT_DEFAULT, path, described, "absent", what
        )

    def _unions(self, reader: Schema, writer: Schema, path: str) -> Iterator[Violation]:
        """Each writer branch must resolve to a reader branch (Avro's union resolution)."""
        for writer_branch in _branches(writer):
            reader_branch = self._resolve(_branches(reader), writer_branch)
            if reader_branch is None:
                yield self._unreadable_branch(reader, writer, writer_branch, path)
            else:
                yield from self.pair(reader_branch, writer_branch, path)

    def _resolve(self, candidates: Sequence[Schema], writer: Schema) -> Schema | None:
        for candidate in candidates:
            if _same_kind(candidate, writer):
                return candidate
        for candidate in candidates:
            if self._readable(candidate, writer):
                return candidate
        return None

    def _readable(self, reader: Schema, writer: Schema) -> bool:
        result = self._checker.get_compatibility(reader, writer)
        return result.compatibility is SchemaCompatibilityType.compatible

    def _unreadable_branch(
        self, reader: Schema, writer: Schema, branch: Schema, path: str
    ) -> Violation:
        backward = self.direction is Direction.BACKWARD
        if not isinstance(writer, UnionSchema):
            return self._changed(ViolationId.TYPE_CHANGED, path, reader, writer)
        if branch.type == "null":
            if backward:
                return self._changed(ViolationId.FIELD_MADE_REQUIRED, path, reader, writer)
            return self._changed(ViolationId.FIELD_MADE_NULLABLE, path, reader, writer)
        if backward:
            what = f"no longer accepts {describe(branch)}"
            return self._reworded(ViolationId.UNION_BRANCH_REMOVED, path, reader, writer, what)
        what = f"now also accepts {describe(branch)}"
        return self._reworded(ViolationId.UNION_BRANCH_ADDED, path, reader, writer, what)

    def _enums(self, reader: EnumSchema, writer: EnumSchema, path: str) -> Iterator[Violation]:
        if not names_match(reader, writer):
            yield self._changed(ViolationId.NAME_CHANGED, path, reader, writer)
        missing = check_reader_enum_contains_writer_enum(reader, writer, [])
        if missing.compatibility is SchemaCompatibilityType.incompatible:
            symbols = ", ".join(s for s in writer.symbols if s not in reader.symbols)
            if self.direction is Direction.BACKWARD:
                rule, what = ViolationId.ENUM_SYMBOL_REMOVED, f"lost symbols {symbols}"
            else:
                rule, what = ViolationId.ENUM_SYMBOL_ADDED, f"gained symbols {symbols}"
            what += " and the reading schema has no enum default"
            yield self._reworded(rule, path, reader, writer, what)

    def _fixed(self, reader: FixedSchema, writer: FixedSchema, path: str) -> Iterator[Violation]:
        if not names_match(reader, writer):
            yield self._changed(ViolationId.NAME_CHANGED, path, reader, writer)
        size = check_fixed_size(reader, writer, [])
        if size.compatibility is SchemaCompatibilityType.incompatible:
            yield self._changed(ViolationId.FIXED_SIZE_CHANGED, path, reader, writer)

    def _leaves(self, reader: Schema, writer: Schema, path: str) -> Iterator[Violation]:
        """Primitives, and pairs of different kinds (a record read as a string, ...)."""
        if not self._readable(reader, writer):
            yield self._changed(ViolationId.TYPE_CHANGED, path, reader, writer)
        elif _logical(reader) != _logical(writer):
            yield self._changed(ViolationId.LOGICAL_TYPE_CHANGED, path, reader, writer)
