"""Fresh topics for one benchmark run, and their removal (topics and subjects) at the end."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError

from connection.clients import registry_client
from connection.defaults import DEFAULTS
from connection.kafka import BROKER_TIMEOUT_S, admin_client, cluster_metadata, ensure_topic
from connection.settings import ConnectionSettings

PARTITIONS = DEFAULTS.partitions  # the producer's, so every way writes the same layout


@dataclass
class RunTopics:
    """Names every topic of this run uniquely and remembers them for clean-up."""

    base: ConnectionSettings
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    created: list[str] = field(default_factory=list)
    _warm_up: str | None = field(default=None, init=False)

    def fresh(self, purpose: str, count: int) -> ConnectionSettings:
        """Settings for a new topic name, e.g. bench-1a2b3c4d-7-json-5000 (not yet created)."""
        topic = f"bench-{self.run_id}-{len(self.created)}-{purpose}-{count}"
        self.created.append(topic)
        return ConnectionSettings(
            bootstrap_servers=self.base.bootstrap_servers,
            registry=self.base.registry,
            topic=topic,
        )

    def create(self, settings: ConnectionSettings) -> None:
        """Create settings.topic and wait until every partition has a leader.

        Every way of producing gets a ready topic, so no measurement includes the broker
        electing leaders for a topic it has just created.
        """
        admin = admin_client(settings)
        metadata = cluster_metadata(admin, settings.bootstrap_servers)
        ensure_topic(admin, metadata, settings.topic, PARTITIONS)
        deadline = time.monotonic() + BROKER_TIMEOUT_S
        while not topic_ready(admin, settings.topic):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"topic {settings.topic} has no leaders after {BROKER_TIMEOUT_S} s"
                )
            time.sleep(0.05)

    def warm_up_topic(self) -> str:
        """A topic for the one message that warms a new producer up (created once)."""
        if self._warm_up is None:
            settings = self.fresh("warm-up", 0)
            self.create(settings)
            self._warm_up = settings.topic
        return self._warm_up

    def remove_all(self) -> None:
        """Delete this run's topics and their -key/-value subjects (they are only ours)."""
        if not self.created:
            return
        delete_topics(admin_client(self.base), self.created)
        delete_subjects(registry_client(self.base.registry), self.created)


def topic_ready(admin: AdminClient, topic: str) -> bool:
    partitions = admin.list_topics(topic, timeout=BROKER_TIMEOUT_S).topics[topic].partitions
    return len(partitions) == PARTITIONS and all(p.leader >= 0 for p in partitions.values())


def delete_topics(admin: AdminClient, topics: list[str]) -> None:
    existing = set(admin.list_topics(timeout=BROKER_TIMEOUT_S).topics)
    doomed = [topic for topic in topics if topic in existing]
    if doomed:
        for future in admin.delete_topics(doomed).values():
            future.result(BROKER_TIMEOUT_S)


def delete_subjects(registry: SchemaRegistryClient, topics: list[str]) -> None:
    existing = set(registry.get_subjects())
    for topic in topics:
        for subject in (f"{topic}-key", f"{topic}-value"):
            if subject in existing:
                try:
                    registry.delete_subject(subject, permanent=False)
                    registry.delete_subject(subject, permanent=True)
                except SchemaRegistryError:
                    pass  # already gone or not deletable: leftovers are harmless
