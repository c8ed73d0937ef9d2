"""The contract a follow run reads with, kept current as batches bring writer schema ids:
the writer-schema cache, the reader schema (the subject's latest version, unless fixed
by --reader-schema) and the rules bound to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from confluent_kafka.schema_registry import SchemaRegistryClient

from connection.settings import RegistrySettings
from contract.rules import RulePlan
from contract.schemas import (
    ReaderSchema,
    WriterSchemas,
    contract_rules,
    latest_reader_schema,
    read_rules,
)

T = TypeVar("T")


class Retrying(Protocol):
    """Runs a registry call, trying again while the registry may come back."""

    def __call__(self, call: Callable[[], T]) -> T: ...


class LiveContract:
    """Writer schemas by id, the reader schema and its rules, refreshed on new ids."""

    def __init__(
        self,
        registry: SchemaRegistryClient,
        settings: RegistrySettings,
        subject: str,
        reader: ReaderSchema | None,
        rules_file: Path | None,
        notice: Callable[[str], None],
    ) -> None:
        self.registry, self.settings, self.subject = registry, settings, subject
        self.writers = WriterSchemas(registry, settings)
        self.fixed_reader = reader is not None
        self.rules_file = rules_file
        self.notice = notice
        self.reader: ReaderSchema | None = None
        self.rules = RulePlan(())
        if reader is not None:
            self.read_with(reader)

    def read_with(self, reader: ReaderSchema) -> None:
        """reader and its rules from now on; a rule it cannot run is one notice line."""
        rules = read_rules(contract_rules(reader, self.rules_file), reader)
        if self.reader is None or rules.skipped != self.rules.skipped:
            for line in rules.skipped:
                self.notice(line)
        self.reader, self.rules = reader, rules

    def update(self, schema_ids: set[int], has_records: bool, retried: Retrying) -> None:
        """Fetch the ids not seen before; refresh the reader when they are new (or none is
        known yet), unless it is fixed. Registry calls go through retried."""
        new_ids = self.writers.new_ids(schema_ids)
        if new_ids:
            retried(lambda: self.writers.add_ids(new_ids))
        if has_records and not self.fixed_reader and (self.reader is None or new_ids):
            self.read_with(
                retried(lambda: latest_reader_schema(self.registry, self.settings, self.subject))
            )
