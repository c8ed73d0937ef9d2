"""The contract a follow run reads with, kept current as batches bring writer schema ids:
the writer-schema cache with the subject's versions, the reader schema (a registered
version chosen by ReaderChoice, unless fixed by --reader-schema) and the rules bound to
it. It decides only when to refresh; what the contract is and how a record is read
through it is contract.schemas.Contract's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from confluent_kafka.schema_registry import SchemaRegistryClient

from connection.settings import RegistrySettings
from contract.schemas import (
    REPORT_READER,
    Contract,
    ReaderChoice,
    ReaderSchema,
    WriterSchemas,
    contract_rules,
    matching_version,
    registered_reader_schema,
)

T = TypeVar("T")


class Retrying(Protocol):
    """Runs a registry call, trying again while the registry may come back."""

    def __call__(self, call: Callable[[], T]) -> T: ...


class LiveContract:
    """The contract, refreshed when a batch brings writer ids not seen before: a new
    version (of any major) is read from its first record."""

    def __init__(
        self,
        registry: SchemaRegistryClient,
        settings: RegistrySettings,
        subject: str,
        reader: ReaderSchema | None,
        rules_file: Path | None,
        notice: Callable[[str], None],
        choice: ReaderChoice = REPORT_READER,
    ) -> None:
        self.registry, self.settings, self.subject = registry, settings, subject
        self.fixed_reader = reader
        self.rules_file = rules_file
        self.choice = choice
        self.notice = notice
        self.contract: Contract | None = None

    def read_with(self, writers: WriterSchemas, reader: ReaderSchema) -> None:
        """reader and its rules from now on; a rule it cannot run is one notice line."""
        contract = Contract(reader, writers, contract_rules(reader, self.rules_file))
        skipped = contract.read_rules.skipped
        if self.contract is None or skipped != self.contract.read_rules.skipped:
            for line in skipped:
                self.notice(line)
        if self.contract is None or self.contract.reader != reader:
            self.notice(f"reading into {reader.described}")
            if contract.unmatched_file:
                self.notice(
                    "the reader schema is no registered version: records of another major "
                    "will not migrate to it"
                )
        self.contract = contract

    def update(self, schema_ids: set[int], has_records: bool, retried: Retrying) -> None:
        """Fetch the subject's versions and the ids not seen before, and choose the
        reader again, when the batch brings new ids (or none is known yet). Registry
        calls go through retried."""
        known = self.contract.writers if self.contract is not None else None
        new_ids = schema_ids if known is None else known.new_ids(schema_ids)
        if not has_records or (self.contract is not None and not new_ids):
            return
        writers = WriterSchemas(self.registry, self.settings)
        retried(lambda: writers.add_subject(self.subject))
        retried(lambda: writers.add_ids(writers.new_ids(schema_ids)))
        if self.fixed_reader is not None:
            reader = matching_version(self.fixed_reader, writers)
        else:
            reader = registered_reader_schema(writers, self.subject, self.choice)
        self.read_with(writers, reader)
