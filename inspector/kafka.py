"""The inspector's reads from Kafka: topics and partitions, offsets (by position and by
time) and ranges of records, read with assign() under the inspector's own group id,
auto-commit off, never committing.

Every call is bounded in time: a broker that does not answer gives BrokerUnavailable, a
one-line message, and the next call tries again (librdkafka reconnects by itself).
"""

from __future__ import annotations

import concurrent.futures
import queue
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from connection.clients import librdkafka_config
from connection.kafka import silent_librdkafka_logger
from connection.settings import ConnectionSettings

#: The inspector's consumer group: it only names the clients; nothing is ever committed.
GROUP_ID = "prices-inspector"
#: The longest a page waits for the brokers before it says they do not answer.
TIMEOUT_S = 3.0
#: Consumers kept for reuse (a new one costs a connection and a metadata round trip).
POOL_SIZE = 4


class BrokerUnavailable(Exception):
    """The brokers did not answer in time or refused the request; str() is one line."""


class TopicNotFound(Exception):
    """No such topic; str() is one line."""


def internal(topic: str) -> bool:
    """Kafka's and the registry's own topics (__consumer_offsets, _schemas, ...)."""
    return topic.startswith("__") or topic == "_schemas"


@dataclass(frozen=True)
class OffsetRange:
    """A partition's records: low is the first offset, high the next one to be written."""

    low: int
    high: int

    @property
    def count(self) -> int:
        return self.high - self.low


def arrived(consumer: Consumer) -> list[Message]:
    """The messages and events that have arrived, or the next one within a moment (consume()
    with a timeout would wait for its whole count or the whole timeout)."""
    messages = consumer.consume(num_messages=1000, timeout=0)
    if messages:
        return messages
    message = consumer.poll(0.1)
    return [] if message is None else [message]


class KafkaReader:
    """Reads for the inspector's pages, with clients built once from the settings."""

    def __init__(self, settings: ConnectionSettings, timeout_s: float = TIMEOUT_S) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self.config = librdkafka_config(settings)
        self.admin = AdminClient(self.config, logger=silent_librdkafka_logger())
        self._pool: queue.LifoQueue[Consumer] = queue.LifoQueue()
        self._created = 0

    def unavailable(self, what: str, detail: str) -> BrokerUnavailable:
        return BrokerUnavailable(
            f"Kafka broker unreachable at {self.settings.bootstrap_servers} ({what}): {detail}"
        )

    def consumer_config(self) -> dict[str, object]:
        return {
            **self.config,
            "group.id": GROUP_ID,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            # A page reads a few hundred records: fetch little ahead, wait little at the end.
            "queued.min.messages": 1000,
            "fetch.wait.max.ms": 50,
            "fetch.queue.backoff.ms": 5,
            "socket.connection.setup.timeout.ms": int(self.timeout_s * 1000),
            "logger": silent_librdkafka_logger(),
        }

    @contextmanager
    def consumer(self) -> Iterator[Consumer]:
        """A consumer of the pool for the block (a new one when all are busy)."""
        try:
            consumer = self._pool.get_nowait()
        except queue.Empty:
            consumer = Consumer(self.consumer_config())
        try:
            yield consumer
        finally:
            try:
                consumer.unassign()
            except KafkaException:
                consumer.close()
            else:
                if self._pool.qsize() < POOL_SIZE:
                    self._pool.put(consumer)
                else:
                    consumer.close()

    def close(self) -> None:
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                return

    def topics(self) -> dict[str, int]:
        """Every topic but the internal ones, with its partition count."""
        try:
            metadata = self.admin.list_topics(timeout=self.timeout_s)
        except KafkaException as error:
            raise self.unavailable("topic list", error.args[0].str()) from None
        return {
            name: len(topic.partitions)
            for name, topic in metadata.topics.items()
            if topic.error is None and not internal(name)
        }

    def partitions(self, topic: str) -> list[int]:
        """The topic's partitions; TopicNotFound when there is no such topic."""
        # Every topic: asking for this one alone would let the broker auto-create it.
        count = self.topics().get(topic)
        if count is None:
            raise TopicNotFound(f"no topic {topic} on {self.settings.bootstrap_servers}")
        return list(range(count))

    def _list_offsets(self, specs: Mapping[TopicPartition, OffsetSpec], what: str) -> list[int]:
        if not specs:
            return []
        try:
            futures = self.admin.list_offsets(dict(specs), request_timeout=self.timeout_s)
            return [futures[tp].result(timeout=self.timeout_s).offset for tp in specs]
        except KafkaException as error:
            raise self.unavailable(what, error.args[0].str()) from None
        except concurrent.futures.TimeoutError:
            raise self.unavailable(what, f"no answer within {self.timeout_s:g} s") from None

    def offset_ranges(
        self, partitions: Mapping[str, list[int]]
    ) -> dict[str, dict[int, OffsetRange]]:
        """Each partition's first and next offsets, for every topic given (two requests)."""
        pairs = [TopicPartition(t, p) for t, ps in partitions.items() for p in ps]
        # confluent-kafka leaves OffsetSpec's factory methods unannotated.
        earliest = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
        latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
        lows = self._list_offsets(dict.fromkeys(pairs, earliest), "earliest offsets")
        highs = self._list_offsets(dict.fromkeys(pairs, latest), "latest offsets")
        ranges: dict[str, dict[int, OffsetRange]] = {t: {} for t in partitions}
        for tp, low, high in zip(pairs, lows, highs, strict=True):
            ranges[tp.topic][tp.partition] = OffsetRange(low, high)
        return ranges

    def offsets_at(
        self, topic: str, ranges: Mapping[int, OffsetRange], timestamp_ms: int
    ) -> dict[int, int]:
        """Per partition, the first offset whose timestamp is at or after timestamp_ms (the
        partition's end when there is none), asked of the broker, never scanned for."""
        spec = OffsetSpec.for_timestamp(timestamp_ms)
        pairs = [TopicPartition(topic, p) for p in ranges]
        offsets = self._list_offsets(dict.fromkeys(pairs, spec), "offsets for a time")
        return {
            tp.partition: ranges[tp.partition].high if offset < 0 else offset
            for tp, offset in zip(pairs, offsets, strict=True)
        }

    def read(self, topic: str, wanted: Mapping[int, tuple[int, int]]) -> dict[int, list[Message]]:
        """The records of each partition from start up to (not including) stop, oldest
        first (fewer where the log has gaps: compaction, transaction markers)."""
        records: dict[int, list[Message]] = {p: [] for p in wanted}
        pending = {p: span for p, span in wanted.items() if span[0] < span[1]}
        if not pending:
            return records
        deadline = time.monotonic() + 2 * self.timeout_s
        with self.consumer() as consumer:
            consumer.assign([TopicPartition(topic, p, start) for p, (start, _) in pending.items()])
            while pending:
                if time.monotonic() > deadline:
                    raise self.unavailable(
                        f"records of {topic}", f"not delivered within {2 * self.timeout_s:g} s"
                    )
                for message in arrived(consumer):
                    self._take(message, topic, pending, records)
        return records

    def _take(
        self,
        message: Message,
        topic: str,
        pending: dict[int, tuple[int, int]],
        records: dict[int, list[Message]],
    ) -> None:
        partition = message.partition()
        if message.topic() != topic or partition not in pending:
            return
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                del pending[partition]
                return
            if error.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
                return  # librdkafka reconnects; the deadline says when to give up
            raise self.unavailable(f"records of {topic}", error.str())
        offset = message.offset()
        start, stop = pending[partition]
        if offset is None or offset < start:
            return
        if offset < stop:
            records[partition].append(message)
        if offset >= stop - 1:
            del pending[partition]
