"""Writer schemas by id and the reader schema, from the registry, each fetched once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError

from connection.registry import RegistryUnreachable
from consumer.errors import ConsumerError

HTTP_NOT_FOUND = 404


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


def writer_schemas(
    registry: SchemaRegistryClient, registry_url: str, schema_ids: Iterable[int]
) -> dict[int, str]:
    """Each id's schema; ids the registry does not know are left out (their records are
    reported as unknown_schema_id)."""
    found: dict[int, str] = {}
    for schema_id in sorted(set(schema_ids)):
        try:
            schema = registry.get_schema(schema_id)
        except SchemaRegistryError as error:
            if error.http_status_code == HTTP_NOT_FOUND:
                continue
            raise ConsumerError(
                f"registry error for schema id {schema_id}: {error.error_message}"
            ) from None
        except RegistryUnreachable as error:
            raise ConsumerError(f"schema registry unreachable at {registry_url}: {error}") from None
        if schema.schema_type in (None, "AVRO") and schema.schema_str:
            found[schema_id] = schema.schema_str
    return found
