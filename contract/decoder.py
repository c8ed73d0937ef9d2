"""One record read through the contract outside Spark, with fastavro: its frame, its
writer schema by id, and its way to the reader (contract.schemas.ReadPath): Avro's
resolution in one step, or the hops of a migration path, each as contract.migrations
runs it. What the consumer does in Spark, record by record, for the inspector and the
gate.

A migrated record is decoded with its writer's schema alone first (logical types as
their base types: what a migration rule sees), run through the path, and read back into
the reader's types, so it comes out exactly as a record written in the reader's version.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import fastavro

from contract.migrations import (
    ContractVersion,
    MigrationFailed,
    MigrationPath,
    NoMigration,
    run_path,
)
from contract.reasons import (
    HEADER_BYTES,
    MIGRATION_FAILED,
    NO_MIGRATION,
    UNDECODABLE,
    UNKNOWN_SCHEMA_ID,
    frame_problem,
    frame_schema_id,
)
from contract.schemas import ReaderSchema, ReadPath, WriterSchemas


@dataclass(frozen=True)
class ReadRecord:
    """One value read through the contract: the record as the reader sees it (fastavro's
    values: ``ts`` a datetime), or the reason it cannot be read."""

    schema_id: int | None
    record: Any | None
    reason: str | None = None
    #: The reader's top-level fields the writer lacked (they read as their defaults).
    defaulted: tuple[str, ...] = ()
    #: For a migrated record: the rules it ran through, and the record as written.
    migrated_by: tuple[str, ...] = ()
    written: Any | None = None
    #: For a failed migration: the rule and why, in one line.
    failure: str | None = None


def field_names(schema: Any) -> list[str]:
    return (
        [f["name"] for f in schema.get("fields", [])]
        if isinstance(schema, dict) and schema.get("type") == "record"
        else []
    )


def defaulted_fields(reader: Any, writer: Any) -> tuple[str, ...]:
    """The reader's top-level fields the writer does not write (by name or alias)."""
    written = set(field_names(writer))
    return tuple(
        f["name"]
        for f in (reader.get("fields", []) if isinstance(reader, dict) else [])
        if reader.get("type") == "record"
        and f["name"] not in written
        and not written.intersection(f.get("aliases", []))
    )


def _read(data: bytes, writer: Any, reader: Any | None = None) -> Any:
    return fastavro.schemaless_reader(BytesIO(data), writer, reader)


class RecordDecoder:
    """Reads framed values through the contract. reader None reads each value with its
    writer schema alone (a topic nobody registered a reader for). Parsed schemas are
    kept per id; paths come from read_path (the contract's, planned once per id)."""

    def __init__(
        self,
        writers: WriterSchemas,
        reader: ReaderSchema | None,
        read_path: Callable[[int], ReadPath],
    ) -> None:
        self.writers, self.reader, self.read_path = writers, reader, read_path
        self._reader_document = None if reader is None else json.loads(reader.schema)
        self._reader = (
            None if self._reader_document is None else fastavro.parse_schema(self._reader_document)
        )
        self._writers: dict[int, tuple[Any, dict[str, Any]]] = {}

    def _writer(self, schema_id: int) -> tuple[Any, dict[str, Any]]:
        found = self._writers.get(schema_id)
        if found is None:
            document = json.loads(self.writers.known[schema_id])
            found = self._writers[schema_id] = (fastavro.parse_schema(document), document)
        return found

    def decode(self, value: bytes | None) -> ReadRecord:
        """value read through the contract (the writers must know its id already)."""
        problem = frame_problem(value)
        if problem is not None or value is None:
            return ReadRecord(None, None, problem)
        schema_id = frame_schema_id(value)
        if schema_id not in self.writers.known:
            return ReadRecord(schema_id, None, UNKNOWN_SCHEMA_ID)
        body = value[HEADER_BYTES:]
        path = self.read_path(schema_id)
        if isinstance(path, NoMigration):
            return ReadRecord(schema_id, None, NO_MIGRATION, failure=str(path))
        writer, writer_document = self._writer(schema_id)
        try:
            if isinstance(path, MigrationPath):
                return self._migrated(schema_id, body, path)
            record = _read(body, writer, self._reader)
        except MigrationFailed as failed:
            return ReadRecord(schema_id, None, MIGRATION_FAILED, failure=str(failed))
        except Exception:  # fastavro raises many kinds on a body that is not its schema's
            return ReadRecord(schema_id, None, UNDECODABLE)
        if self._reader_document is None:
            return ReadRecord(schema_id, record)
        return ReadRecord(
            schema_id, record, defaulted=defaulted_fields(self._reader_document, writer_document)
        )

    def _migrated(self, schema_id: int, body: bytes, path: MigrationPath) -> ReadRecord:
        writer: ContractVersion = path.writer
        plain = _read(body, writer.plain)
        written = _read(body, self._writer(schema_id)[0])
        migrated = run_path(path, plain)
        buffer = BytesIO()
        fastavro.schemaless_writer(buffer, path.reader.plain, migrated)
        record = _read(buffer.getvalue(), self._reader or path.reader.plain)
        return ReadRecord(schema_id, record, migrated_by=path.rule_names, written=written)
