"""The clients of the services a run talks to, built once from its settings and passed
to whatever needs them (nothing below the command line builds its own)."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka.schema_registry import SchemaRegistryClient

from connection.clients import registry_client
from connection.kafka import WatchedAdminClient, admin_client
from connection.settings import ConnectionSettings


@dataclass(frozen=True)
class Clients:
    """The Kafka admin client and the schema registry client of one run."""

    admin: WatchedAdminClient
    registry: SchemaRegistryClient

    @classmethod
    def of(cls, settings: ConnectionSettings) -> Clients:
        return cls(admin_client(settings), registry_client(settings.registry))
