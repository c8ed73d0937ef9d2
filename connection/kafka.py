"""Broker reachability and topic existence, checked before any work starts."""

from __future__ import annotations

import concurrent.futures
import logging
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ClusterMetadata, NewTopic

from connection.clients import librdkafka_config
from connection.defaults import DEFAULTS
from connection.settings import ConnectionSettings

BROKER_TIMEOUT_S = DEFAULTS.broker_timeout_s
# The metadata request is retried in slices this long, so a refused login ends the wait
# after one slice instead of the whole BROKER_TIMEOUT_S.
METADATA_SLICE_S = 0.5


class BrokerCheckFailed(Exception):
    """The broker cannot be used: the message says why, in one line."""


class BrokerUnreachable(BrokerCheckFailed):
    """No broker answered within the timeout."""


class BrokerAuthenticationFailed(BrokerCheckFailed):
    """A broker answered but refused the client's credentials."""


class WatchedAdminClient(AdminClient):
    """An AdminClient that remembers the first authentication failure of its connections.

    librdkafka reports a refused SASL login only through error_cb and keeps retrying, so
    without this a wrong password looks like an unreachable broker after the full timeout.
    """

    def __init__(self, config: dict[str, str | int | float | bool]) -> None:
        self.authentication_error: str | None = None
        super().__init__(config, error_cb=self._on_error, logger=silent_librdkafka_logger())

    def _on_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._AUTHENTICATION and self.authentication_error is None:
            self.authentication_error = error.str()


def admin_client(settings: ConnectionSettings) -> WatchedAdminClient:
    return WatchedAdminClient(librdkafka_config(settings))


def cluster_metadata(admin: WatchedAdminClient, bootstrap_servers: str) -> ClusterMetadata:
    """The cluster's metadata; BrokerAuthenticationFailed as soon as the broker refuses the
    credentials, BrokerUnreachable when nothing answered within BROKER_TIMEOUT_S."""
    deadline = time.monotonic() + BROKER_TIMEOUT_S
    while True:
        try:
            return admin.list_topics(timeout=METADATA_SLICE_S)
        except KafkaException as error:
            last_error = error.args[0].str()
        admin.poll(0)  # serves error_cb
        if admin.authentication_error is not None:
            raise BrokerAuthenticationFailed(
                f"Kafka broker at {bootstrap_servers} refused the credentials: "
                f"{admin.authentication_error}"
            )
        if time.monotonic() >= deadline:
            raise BrokerUnreachable(
                f"Kafka broker unreachable at {bootstrap_servers} "
                f"(no answer within {BROKER_TIMEOUT_S:.0f} s): {last_error}"
            )


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


class TopicUnavailable(Exception):
    """A topic cannot be created, or its partitions have no leader in time; one line."""


def create_topic(
    admin: AdminClient,
    topic: str,
    partitions: int,
    config: dict[str, str] | None = None,
    timeout_s: float = BROKER_TIMEOUT_S,
) -> None:
    """Create topic (one that exists already is fine) and wait until each of its
    partitions has a leader: a record written to a topic just created fails as an unknown
    partition for a moment. TopicUnavailable (one line) otherwise."""
    new = NewTopic(topic, num_partitions=partitions, config=config or {})
    try:
        admin.create_topics([new], request_timeout=timeout_s)[topic].result(timeout_s)
    except KafkaException as error:
        if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise TopicUnavailable(f"cannot create topic {topic}: {error.args[0].str()}") from None
    except concurrent.futures.TimeoutError:  # not the builtin one before Python 3.11
        raise TopicUnavailable(
            f"cannot create topic {topic}: no broker answered within {timeout_s:.0f} s"
        ) from None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            found = admin.list_topics(topic, timeout=timeout_s).topics.get(topic)
        except KafkaException as error:
            raise TopicUnavailable(f"cannot read topic {topic}: {error.args[0].str()}") from None
        leaders = [p.leader for p in found.partitions.values()] if found and not found.error else []
        if leaders and all(leader >= 0 for leader in leaders):
            return
        time.sleep(0.1)
    raise TopicUnavailable(
        f"topic {topic} has no leader for every partition after {timeout_s:.0f} s"
    )


def silent_librdkafka_logger() -> logging.Logger:
    """librdkafka logs connection failures to stderr by itself; we report them once."""
    logger = logging.getLogger("librdkafka")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
    return logger
