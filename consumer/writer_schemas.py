"""The schemas records are decoded with: writer schemas by id, and the reader schema.

One cache of writer schemas serves both drivers: batch mode fills it from the subject's
versions before Kafka is read (so the usual topic decodes in one pass), and either mode
adds the ids its records bring that the cache lacks, fetched by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from connection.clients import RegistryNotFound, registry_call
from connection.settings import RegistrySettings
from consumer.errors import ConsumerError


class SubjectNotRegistered(ConsumerError):
    """The registry has no version of the subject the reader schema comes from."""


@dataclass(frozen=True)
class ReaderSchema:
    """The schema every record is resolved into, and where it came from."""

    schema: str
    source: str  # "prices-value version 2 (id 3)" or a file path


def avro_text(schema: Schema) -> str | None:
    """The schema's text when it is an Avro schema (from_avro reads nothing else)."""
    return schema.schema_str if schema.schema_type in (None, "AVRO") and schema.schema_str else None


def latest_reader_schema(
    client: SchemaRegistryClient, registry: RegistrySettings, subject: str
) -> ReaderSchema:
    """The latest version registered under subject; SubjectNotRegistered when none is."""
    try:
        with registry_call(registry, f"latest version of {subject}"):
            latest = client.get_latest_version(subject)
    except RegistryNotFound:
        raise SubjectNotRegistered(
            f"subject {subject} is not in the registry at {registry.url}: "
            "nothing says how to read the topic (give --reader-schema FILE)"
        ) from None
    return ReaderSchema(
        schema=latest.schema.schema_str or "",
        source=f"{subject} version {latest.version} (id {latest.schema_id})",
    )


@dataclass
class WriterSchemas:
    """Writer schemas by id, fetched from the registry once each.

    Registry failures other than "not found" raise connection.clients.RegistryFailure:
    an id the registry could not be asked about is not unknown.
    """

    client: SchemaRegistryClient
    registry: RegistrySettings
    known: dict[int, str] = field(default_factory=dict)
    #: The subject version of each id registered under the subject (for display).
    versions: dict[int, int] = field(default_factory=dict)
    #: Ids the registry answered "not found" for.
    unknown: set[int] = field(default_factory=set)

    def add_subject(self, subject: str) -> None:
        """Every Avro version registered under subject (none when it is not registered)."""
        try:
            with registry_call(self.registry, f"versions of {subject}"):
                numbers = self.client.get_versions(subject)
        except RegistryNotFound:
            return
        for number in numbers:
            try:
                with registry_call(self.registry, f"{subject} version {number}"):
                    registered = self.client.get_version(subject, number)
            except RegistryNotFound:
                continue  # deleted since get_versions answered
            text = avro_text(registered.schema)
            if registered.schema_id is not None and text is not None:
                self.known[registered.schema_id] = text
                self.versions[registered.schema_id] = number

    def add_ids(self, schema_ids: set[int]) -> set[int]:
        """Fetch the ids not yet known or unknown; the ids newly found."""
        found = set()
        for schema_id in sorted(schema_ids - set(self.known) - self.unknown):
            try:
                with registry_call(self.registry, f"schema id {schema_id}"):
                    schema = self.client.get_schema(schema_id)
            except RegistryNotFound:
                self.unknown.add(schema_id)
                continue
            text = avro_text(schema)
            if text is None:
                self.unknown.add(schema_id)  # not Avro: from_avro cannot read it
            else:
                self.known[schema_id] = text
                found.add(schema_id)
        return found
