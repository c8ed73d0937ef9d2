"""The statistics topic: follow mode's update of each counted batch (its jsonl object), as
Avro under a contract of its own, on a compacted topic keyed by the source topic's name.

The topic (``<source topic>-statistics`` by default) keeps the latest update per source
topic, so a reader that starts late (the inspector's live page) begins at the latest
totals. Its value schema is ``schemas/prices-statistics-value.avsc``, registered under
``<statistics topic>-value``. No Spark here: the clients are built by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from connection.kafka import TopicUnavailable, create_topic, silent_librdkafka_logger
from connection.paths import STATISTICS_SCHEMA_FILE
from producer.serialization import FramedAvroSerializer

TIMEOUT_S = 10.0
PARTITIONS = 1


class StatisticsTopicError(Exception):
    """The statistics topic cannot be created, its contract registered or an update
    written; str() is one line."""


def statistics_topic(source_topic: str) -> str:
    """The default statistics topic of source_topic."""
    return f"{source_topic}-statistics"


def one_line(text: str) -> str:
    return " ".join(text.split())


class StatisticsTopic:
    """Publishes update documents (consumer.views.live.update_document) to one statistics
    topic, each acknowledged before publish returns.

    The first publish creates the topic (compacted, one partition) unless it exists and
    registers the schema under ``<topic>-value``; a failed first use is tried again by the
    next publish.
    """

    def __init__(
        self,
        producer_config: Mapping[str, Any],
        registry: SchemaRegistryClient,
        topic: str,
        source_topic: str,
    ) -> None:
        self.producer_config = dict(producer_config)
        self.registry = registry
        self.topic = topic
        self.source_topic = source_topic
        self.subject = f"{topic}-value"
        self._serializer: FramedAvroSerializer | None = None
        self._producer: Producer | None = None

    def publish(self, document: Mapping[str, Any]) -> None:
        """Write document, keyed by the source topic's name, and wait for its
        acknowledgement; StatisticsTopicError when it is not written."""
        serializer = self._serializer or self._first_use()
        try:
            value = serializer(dict(document))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise StatisticsTopicError(
                f"statistics topic {self.topic}: the update does not fit {self.subject}: "
                f"{one_line(str(error))}"
            ) from None
        producer = self._producer or self._start_producer()
        failures: list[str] = []
        try:
            producer.produce(
                self.topic,
                key=self.source_topic.encode(),
                value=value,
                on_delivery=lambda error, _m: failures.append(error.str()) if error else None,
            )
        except (KafkaException, BufferError) as error:
            raise StatisticsTopicError(
                f"cannot write to statistics topic {self.topic}: {one_line(str(error))}"
            ) from None
        if producer.flush(TIMEOUT_S) > 0:
            producer.purge()  # a stale update must not arrive after a later one
            producer.flush(0)
            failures.append(f"not acknowledged within {TIMEOUT_S:.0f} s")
        if failures:
            raise StatisticsTopicError(
                f"cannot write to statistics topic {self.topic}: {one_line(failures[0])}"
            )

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(TIMEOUT_S)

    def _first_use(self) -> FramedAvroSerializer:
        self._create_topic()
        self._serializer = self._register()
        return self._serializer

    def _create_topic(self) -> None:
        admin = AdminClient(self.producer_config, logger=silent_librdkafka_logger())
        try:
            create_topic(admin, self.topic, PARTITIONS, {"cleanup.policy": "compact"}, TIMEOUT_S)
        except TopicUnavailable as error:
            raise StatisticsTopicError(f"statistics topic {self.topic}: {error}") from None

    def _register(self) -> FramedAvroSerializer:
        schema = Schema(STATISTICS_SCHEMA_FILE.read_text(), "AVRO")
        try:
            schema_id = self.registry.register_schema(self.subject, schema)
        except Exception as error:  # the registry client's errors have no common base
            raise StatisticsTopicError(
                f"cannot register {self.subject} for statistics topic {self.topic}: "
                f"{one_line(str(error)) or type(error).__name__}"
            ) from None
        return FramedAvroSerializer(schema_id, schema)

    def _start_producer(self) -> Producer:
        self._producer = Producer(
            {
                **self.producer_config,
                "acks": "all",
                "max.in.flight.requests.per.connection": 1,
                "linger.ms": 0,
                "message.timeout.ms": int(TIMEOUT_S * 1000),
                "logger": silent_librdkafka_logger(),
            }
        )
        return self._producer


class UpdatePublisher:
    """Publishes each update to a statistics topic after it is shown; a failure is one
    line on stderr (once until the next success) and follow mode goes on."""

    def __init__(self, topic: StatisticsTopic, warn: Callable[[str], None]) -> None:
        self.topic = topic
        self.warn = warn
        self.failing = False

    def __call__(self, document: Mapping[str, Any]) -> None:
        try:
            self.topic.publish(document)
        except StatisticsTopicError as error:
            if not self.failing:
                self.warn(f"{error} (updates are not published; following goes on)")
            self.failing = True
        else:
            self.failing = False
