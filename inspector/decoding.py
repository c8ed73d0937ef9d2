"""Record values decoded as the consumer reads them, with fastavro instead of Spark: the
writer schema by the id in the frame (contract.schemas.WriterSchemas), resolved into the
reader schema (the latest version of the value subject), or the consumer's reason why not.

Values come out typed for people and JSON alike: timestamps in the report's format,
decimals and other logical types as text, bytes as hex; the fields a writer lacked are
named, as they read as the reader schema's defaults.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from functools import cached_property
from io import BytesIO
from typing import Any
from uuid import UUID

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient

from connection.clients import registry_call
from connection.settings import RegistrySettings
from connection.timestamps import format_timestamp
from contract.decoder import RecordDecoder
from contract.reasons import HEADER_BYTES, frame_problem, frame_schema_id
from contract.rules import RulePlan
from contract.schemas import (
    Contract,
    ContractError,
    ReaderChoice,
    ReaderSchema,
    WriterSchemas,
    contract_rules,
    registered_reader_schema,
)

#: How long a topic's contract (its reader schema and the subject's versions) is reused
#: before the registry is asked again: a new version shows within this time.
CONTRACT_TTL_S = 5.0
#: Bytes of an undecodable value shown in hex.
FIRST_BYTES = 16
DLQ_SUFFIX = "-dlq"


def typed(value: Any) -> Any:
    """A decoded Avro value as JSON data: logical types as people read them."""
    if isinstance(value, dict):
        return {str(k): typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (time_of_day, UUID)):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def first_bytes(value: bytes | None) -> str | None:
    """The first bytes of a value in hex, pairs separated by spaces (… when cut)."""
    if value is None:
        return None
    shown = value[:FIRST_BYTES].hex(" ")
    return shown + (" …" if len(value) > FIRST_BYTES else "")


def text_of(data: bytes | None) -> str | None:
    """Bytes as UTF-8 text, or 0x-prefixed hex when they are not UTF-8."""
    if data is None:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return "0x" + data.hex()


def key_text(key: bytes | None) -> str | None:
    """A key as the consumer shows it: a Confluent-framed Avro string, else UTF-8 text."""
    if key is not None and len(key) > HEADER_BYTES and frame_problem(key) is None:
        try:
            decoded = fastavro.schemaless_reader(BytesIO(key[HEADER_BYTES:]), "string", None)
        except Exception:
            decoded = None
        if isinstance(decoded, str):
            return decoded
    return text_of(key)


@dataclass(frozen=True)
class Decoded:
    """One value read through the contract."""

    schema_id: int | None
    version: int | None  # the subject version the id is, None for other ids
    value: dict[str, Any] | None  # typed (see typed()); None when not decoded
    defaulted: tuple[str, ...]  # reader fields the writer lacked: their defaults
    reason: str | None  # the consumer's reason name when not decoded
    first_bytes: str | None  # of an undecodable value
    #: The value as fastavro reads it (logical types as Python objects: ts a datetime),
    #: what the contract's rules are evaluated on; None when not decoded.
    record: dict[str, Any] | None = None
    #: A record written in another major: the migration rules it ran through, and its
    #: value as written (typed).
    migrated_by: tuple[str, ...] = ()
    written: dict[str, Any] | None = None
    #: Why its migration failed, or why there is none (one line).
    failure: str | None = None


@dataclass
class TopicContract:
    """How one topic's values are read: its value subject's latest version as the reader
    schema (None when nothing is registered: each value is read with its writer schema
    alone), the writer schemas by id with the subject's versions, and the contract's way
    from each writer version to the reader (contract.decoder)."""

    subject: str | None
    reader: ReaderSchema | None
    writers: WriterSchemas
    fetched_at: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def contract(self) -> Contract | None:
        """The contract records are read and judged by (None without a reader)."""
        if self.reader is None:
            return None
        return Contract(self.reader, self.writers, contract_rules(self.reader, None))

    @cached_property
    def read_rules(self) -> RulePlan | None:
        """The rules records are judged by on read, bound to the reader schema (None
        without one): parsed once per contract, not per page (about 12 ms here)."""
        return None if self.contract is None else self.contract.read_rules

    @cached_property
    def decoder(self) -> RecordDecoder:
        contract = self.contract
        return RecordDecoder(
            self.writers, self.reader, (lambda _: None) if contract is None else contract.read_path
        )

    @property
    def reader_version(self) -> int | None:
        """The subject version the reader schema is (None without one)."""
        if self.reader is None or self.reader.version is None:
            return None
        return self.reader.version.version

    def learn(self, values: list[bytes | None]) -> None:
        """Fetch the writer schemas of ids not asked about yet (RegistryFailure when the
        registry cannot say)."""
        ids = {frame_schema_id(v) for v in values if v is not None and frame_problem(v) is None}
        with self._lock:
            if self.writers.new_ids(ids):
                self.writers.add_ids(ids)

    def decode(self, value: bytes | None) -> Decoded:
        """value read through the contract (learn() first for ids it may not know)."""
        found = self.decoder.decode(value)
        version = None if found.schema_id is None else self.writers.versions.get(found.schema_id)
        if found.record is None:
            # A value that did not decode is shown by its first bytes; one that did, but
            # could not migrate, by why.
            unread = found.failure is None
            return Decoded(
                found.schema_id,
                version,
                None,
                (),
                found.reason,
                first_bytes(value) if unread else None,
                failure=found.failure,
            )
        record = found.record if isinstance(found.record, dict) else {"value": found.record}
        return Decoded(
            found.schema_id,
            version,
            typed(record),
            found.defaulted,
            None,
            None,
            record,
            migrated_by=found.migrated_by,
            written=None if found.written is None else typed(found.written),
        )


def value_subject(topic: str, subjects: set[str]) -> str | None:
    """The subject a topic's values are read with: ``<topic>-value``; for a dead-letter
    topic without one, its source topic's (its letters are the source's records)."""
    own = f"{topic}-value"
    if own in subjects:
        return own
    if topic.endswith(DLQ_SUFFIX):
        source = f"{topic.removesuffix(DLQ_SUFFIX)}-value"
        if source in subjects:
            return source
    return None


def latest_registered(
    writers: WriterSchemas, subject: str, major: str | None = None
) -> ReaderSchema | None:
    """The subject's latest version (of major, if given) as a reader schema (writers
    filled by add_subject); None when the subject has no such Avro version. Any Avro
    schema will do: the inspector shows every topic, not only the ones the report can be
    computed from."""
    try:
        return registered_reader_schema(writers, subject, ReaderChoice(major))
    except ContractError:
        return None


class Contracts:
    """Each topic's contract, reused for CONTRACT_TTL_S."""

    def __init__(self, client: SchemaRegistryClient, registry: RegistrySettings) -> None:
        self.client = client
        self.registry = registry
        self._cache: dict[tuple[str, str | None], TopicContract] = {}
        self._lock = threading.Lock()

    def subjects(self) -> set[str]:
        with registry_call(self.registry, "subjects"):
            return set(self.client.get_subjects())

    def of(self, topic: str, major: str | None = None) -> TopicContract:
        """The topic's contract, read into the latest version (of major, if given;
        RegistryFailure when the registry cannot be asked)."""
        with self._lock:
            cached = self._cache.get((topic, major))
        if cached is not None and time.monotonic() - cached.fetched_at < CONTRACT_TTL_S:
            return cached
        subject = value_subject(topic, self.subjects())
        writers = WriterSchemas(self.client, self.registry)
        reader = None
        if subject is not None:
            writers.add_subject(subject)
            reader = latest_registered(writers, subject, major)
        contract = TopicContract(subject, reader, writers)
        with self._lock:
            self._cache[(topic, major)] = contract
        return contract
