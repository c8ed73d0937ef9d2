"""Broker reachability and topic existence, checked before any work starts."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ClusterMetadata, NewTopic

BROKER_TIMEOUT_S = 10.0


class BrokerUnreachable(Exception):
    """No broker answered within the timeout."""


def admin_client(bootstrap_servers: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap_servers}, logger=silent_librdkafka_logger())


def cluster_metadata(admin: AdminClient, bootstrap_servers: str) -> ClusterMetadata:
    """The cluster's metadata, or BrokerUnreachable within BROKER_TIMEOUT_S."""
    try:
        return admin.list_topics(timeout=BROKER_TIMEOUT_S)
    except KafkaException as error:
        raise BrokerUnreachable(
            f"Kafka broker unreachable at {bootstrap_servers} "
            f"(no answer within {BROKER_TIMEOUT_S:.0f} s): {error.args[0].str()}"
        ) from None


def ensure_topic(
    admin: AdminClient, metadata: ClusterMetadata, topic: str, partitions: int
) -> bool:
    """Create topic unless it exists; True when it was created here."""
    if topic in metadata.topics:
        return False
    future = admin.create_topics([NewTopic(topic, num_partitions=partitions)])[topic]
    try:
        future.result(BROKER_TIMEOUT_S)
    except KafkaException as error:
        if error.args[0].name() != "TOPIC_ALREADY_EXISTS":  # created concurrently: fine
            raise
        return False
    return True


def silent_librdkafka_logger() -> logging.Logger:
    """librdkafka logs connection failures to stderr by itself; we report them once."""
    logger = logging.getLogger("librdkafka")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
    return logger
