"""The dead-letter topic: each record that breaks the contract (a rule, or the decoding),
copied once with its key, value bytes, timestamp and headers, and headers added that say
why and where it came from.

Origins follow Kafka Connect's dead-letter convention (``__connect.errors.topic``,
``.partition``, ``.offset``, ``.exception.message``), which existing DLQ tooling reads; a
rule failure also carries Confluent's ``__rule.name``, ``.mode``, ``.subject``, ``.topic``.
A reader's dead letter goes to the partition of the same number as its origin, and the
letters of a partition are written in offset order, so the highest origin offset in each
dead-letter partition says how far that partition's letters are written: writing again
(a rerun, a replayed micro-batch) skips every origin at or below it, and each bad record
lands once. A writer's own dead letters (the producer refusing a record) have no origin
and carry only the ``__rule.*`` headers; nothing that reads origins counts them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from connection.kafka import TopicUnavailable, create_topic

ORIGIN_TOPIC = "__connect.errors.topic"
ORIGIN_PARTITION = "__connect.errors.partition"
ORIGIN_OFFSET = "__connect.errors.offset"
EXCEPTION_MESSAGE = "__connect.errors.exception.message"
RULE_NAME = "__rule.name"
RULE_MODE = "__rule.mode"
RULE_SUBJECT = "__rule.subject"
RULE_TOPIC = "__rule.topic"
TIMEOUT_S = 10.0
UNASSIGNED = -1  # librdkafka's "no partition given": the key's partitioner chooses
#: Records read back from the end of a dead-letter partition at a time, looking for the
#: last one with an origin (the producer's own letters have none).
LOOK_BACK = 500
#: A letter not acknowledged within DELIVERY_TIMEOUT_S has failed for good; a write waits
#: FLUSH_S (longer) for every outcome, so none can land after it has returned or raised.
DELIVERY_TIMEOUT_S = 20.0
FLUSH_S = 30.0


class DeadLetterError(Exception):
    """The dead-letter topic cannot be created, read or written; str() is one line."""


def dead_letter_topic(topic: str) -> str:
    """The default dead-letter topic of topic."""
    return f"{topic}-dlq"


@dataclass(frozen=True)
class RuleFailure:
    """The rule that decided a record's fate, as its headers name it."""

    name: str
    expr: str
    mode: str  # READ (a reader judged it) or WRITE (the producer refused it)
    subject: str


@dataclass(frozen=True)
class DeadLetter:
    """A record that breaks the contract, and why."""

    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None
    headers: Sequence[tuple[str, bytes | None]] = ()
    #: Where it was read (None for a writer's own letter, which was never written).
    partition: int | None = None
    offset: int | None = None
    reason: str | None = None  # why it cannot be decoded (the consumer's reason names)
    rule: RuleFailure | None = None

    def added_headers(self, source_topic: str) -> list[tuple[str, bytes]]:
        """The headers that say why and where from (UTF-8, numbers in decimal)."""
        added: list[tuple[str, str]] = []
        if self.offset is not None:
            message = self.reason or (f"{self.rule.name}: {self.rule.expr}" if self.rule else "")
            added += [
                (ORIGIN_TOPIC, source_topic),
                (ORIGIN_PARTITION, str(self.partition)),
                (ORIGIN_OFFSET, str(self.offset)),
                (EXCEPTION_MESSAGE, message),
            ]
        if self.rule is not None:
            added += [
                (RULE_NAME, self.rule.name),
                (RULE_MODE, self.rule.mode),
                (RULE_SUBJECT, self.rule.subject),
                (RULE_TOPIC, source_topic),
            ]
        return [(name, text.encode()) for name, text in added]


HeaderList = Iterable[tuple[str, str | bytes | None]]


def header_text(
    headers: HeaderList | Mapping[str, str | bytes | None] | None, name: str
) -> str | None:
    """The first header called name, as text (None when there is none)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for key, value in pairs:
        if key == name and value is not None:
            return value if isinstance(value, str) else value.decode(errors="replace")
    return None


@dataclass
class DeadLetterTopic:
    """One dead-letter topic, written for one source topic (clients built by the caller).

    Created, with the source topic's partition count, when the first letter is written.
    """

    admin: AdminClient
    client_config: Mapping[str, object]  # librdkafka settings: brokers and security
    topic: str
    source_topic: str
    partitions: int
    written: dict[str, int] = field(default_factory=dict)  # letters written, by reason or rule
    _producer: Producer | None = field(default=None, init=False, repr=False, compare=False)

    def origins_written(self) -> dict[int, int]:
        """Per partition, the highest origin offset of source_topic in the topic (-1: none);
        empty when the topic does not exist yet."""
        try:  # every topic: asking for this one alone would let the broker auto-create it
            metadata = self.admin.list_topics(timeout=TIMEOUT_S)
        except KafkaException as error:
            raise DeadLetterError(f"cannot read dead-letter topic {self.topic}: {error}") from None
        found = metadata.topics.get(self.topic)
        if found is None or found.error is not None:
            return {}
        if len(found.partitions) < self.partitions:
            raise DeadLetterError(
                f"dead-letter topic {self.topic} has {len(found.partitions)} partitions, "
                f"fewer than the {self.partitions} of {self.source_topic}"
            )
        reader = Consumer(
            {
                **self.client_config,
                "group.id": f"prices-dead-letters-{self.topic}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "fetch.wait.max.ms": 10,  # at a partition's end, say so now, not in 500 ms
            }
        )
        try:
            return {p: self._last_origin(reader, p) for p in found.partitions}
        finally:
            reader.close()

    def _last_origin(self, reader: Consumer, partition: int) -> int:
        low, high = reader.get_watermark_offsets(
            TopicPartition(self.topic, partition), timeout=TIMEOUT_S
        )
        end = high
        while end > low:
            start = max(low, end - LOOK_BACK)
            origins = [
                int(offset)
                for message in self._read(reader, partition, start, end)
                if header_text(message.headers(), ORIGIN_TOPIC) == self.source_topic
                and (offset := header_text(message.headers(), ORIGIN_OFFSET)) is not None
            ]
            if origins:
                return max(origins)
            end = start
        return -1

    def _read(self, reader: Consumer, partition: int, start: int, end: int) -> list[Message]:
        reader.assign([TopicPartition(self.topic, partition, start)])
        messages: list[Message] = []
        while True:
            message = reader.poll(TIMEOUT_S)
            if message is None:
                raise DeadLetterError(f"dead-letter topic {self.topic} did not answer in time")
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    return messages
                raise DeadLetterError(f"cannot read dead-letter topic {self.topic}: {error.str()}")
            offset = message.offset()
            if offset is not None and offset >= end:
                return messages
            messages.append(message)

    def write(self, letters: Iterable[DeadLetter]) -> int:
        """Write the letters not written before, in order, and wait until each is
        acknowledged; how many were written. DeadLetterError when one is not.

        Whatever happens, every letter handed to the producer has its final outcome
        (acknowledged or failed: the delivery timeout is shorter than the flush's) before
        this returns or raises, so the next write's read-back sees all that landed."""
        failures: list[str] = []
        count = 0
        try:
            count = self._produce(letters, failures)
        finally:
            if self._producer is not None and self._producer.flush(FLUSH_S) > 0:
                failures.append("not acknowledged in time")
        if failures:
            raise DeadLetterError(f"dead-letter topic {self.topic}: {failures[0]}")
        return count

    def _produce(self, letters: Iterable[DeadLetter], failures: list[str]) -> int:
        """Hand the letters not written before to the producer; how many. What was written
        before is read back at the first letter with an origin (a producer's own letters
        have none, and never pay for reading the topic back)."""
        done: dict[int, int] | None = None
        count = 0
        for letter in letters:
            partition, offset = letter.partition, letter.offset
            if partition is not None and offset is not None:
                if done is None:
                    done = self.origins_written()
                if offset <= done.get(partition, -1):
                    continue  # written before: by an earlier run, or this batch's first try
            producer = self._producer or self._start()
            while True:
                try:
                    producer.produce(
                        self.topic,
                        key=letter.key,
                        value=letter.value,
                        headers=[*letter.headers, *letter.added_headers(self.source_topic)],
                        timestamp=letter.timestamp_ms or 0,
                        on_delivery=lambda error, _m: (
                            failures.append(error.str()) if error else None
                        ),
                        partition=UNASSIGNED if letter.partition is None else letter.partition,
                    )
                    break
                except BufferError:  # the client's queue is full: let deliveries drain it
                    producer.poll(0.1)
            producer.poll(0)
            why = letter.rule.name if letter.rule else letter.reason or "unknown"
            self.written[why] = self.written.get(why, 0) + 1
            count += 1
        return count

    def _start(self) -> Producer:
        """The idempotent producer, once the topic exists."""
        try:
            create_topic(self.admin, self.topic, self.partitions, timeout_s=TIMEOUT_S)
        except TopicUnavailable as error:
            raise DeadLetterError(f"dead-letter topic {self.topic}: {error}") from None
        self._producer = Producer(
            {
                **self.client_config,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "delivery.timeout.ms": int(DELIVERY_TIMEOUT_S * 1000),
            }
        )
        return self._producer
