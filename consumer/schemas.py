"""Writer schemas by id and the reader schema, from the registry, each fetched once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

from connection.registry import RegistryUnreachable
from consumer.errors import ConsumerError

HTTP_NOT_FOUND = 404

T = TypeVar("T")


class SubjectNotRegistered(ConsumerError):
    """The registry has no version of the subject the reader schema comes from."""


@dataclass(frozen=True)
class ReaderSchema:
    """The schema every record is resolved into, and where it came from."""

    schema: str
    source: str  # "prices-value version 2 (id 3)" or a file path


def latest_reader_schema(
    registry: SchemaRegistryClient, registry_url: str, subject: str
) -> ReaderSchema:
    """The latest version registered under subject."""
    try:
        latest = registry.get_latest_version(subject)
    except SchemaRegistryError as error:
        if error.http_status_code == HTTP_NOT_FOUND:
            raise SubjectNotRegistered(
                f"subject {subject} is not in the registry at {registry_url}: "
                "nothing says how to read the topic (give --reader-schema FILE)"
            ) from None
        raise ConsumerError(f"registry error for {subject}: {error.error_message}") from None
    except RegistryUnreachable as error:
        raise ConsumerError(f"schema registry unreachable at {registry_url}: {error}") from None
    return ReaderSchema(
        schema=latest.schema.schema_str or "",
        source=f"{subject} version {latest.version} (id {latest.schema_id})",
    )


def registry_call(call: Callable[[], T], registry_url: str, what: str) -> T | None:
    """call()'s answer; None when the registry answers 404 (not found), ConsumerError on
    any other registry failure."""
    try:
        return call()
    except SchemaRegistryError as error:
        if error.http_status_code == HTTP_NOT_FOUND:
            return None
        raise ConsumerError(f"registry error for {what}: {error.error_message}") from None
    except RegistryUnreachable as error:
        raise ConsumerError(f"schema registry unreachable at {registry_url}: {error}") from None


def avro_text(schema: Schema) -> str | None:
    """The schema's text when it is an Avro schema (from_avro reads nothing else)."""
    return schema.schema_str if schema.schema_type in (None, "AVRO") and schema.schema_str else None


def subject_writer_schemas(
    registry: SchemaRegistryClient, registry_url: str, subject: str
) -> dict[int, str]:
    """Each Avro version registered under subject, by schema id; empty when the subject
    is not registered.

    Fetched before Kafka is read, so the usual topic (written under its own subject)
    decodes in one pass without first collecting the ids its records carry.
    """
    versions = registry_call(partial(registry.get_versions, subject), registry_url, subject) or []
    found: dict[int, str] = {}
    for version in versions:
        registered = registry_call(
            partial(registry.get_version, subject, version),
            registry_url,
            f"{subject} version {version}",
        )
        if registered is None or registered.schema_id is None:
            continue  # deleted since get_versions answered
        text = avro_text(registered.schema)
        if text is not None:
            found[registered.schema_id] = text
    return found


def writer_schemas(
    registry: SchemaRegistryClient, registry_url: str, schema_ids: Iterable[int]
) -> dict[int, str]:
    """Each id's schema; ids the registry does not know are left out (their records are
    reported as unknown_schema_id)."""
    found: dict[int, str] = {}
    for schema_id in sorted(set(schema_ids)):
        schema = registry_call(
            partial(registry.get_schema, schema_id),
            registry_url,
            f"schema id {schema_id}",
        )
        text = None if schema is None else avro_text(schema)
        if text is not None:
            found[schema_id] = text
    return found
