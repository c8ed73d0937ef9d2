"""What a topic holds, read from the broker's own end offsets and by an independent reader
of its records: the tests' ground truth."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections import Counter
from datetime import datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from fastavro import parse_schema, schemaless_reader

from connection.paths import CONTRACT_FILE
from producer.events import GeneratorPlan, generate_events

# A topic created a moment ago (by the producer under test) may not have elected its
# partition leaders yet; the broker answers these until it has.
LEADER_PENDING = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE)
LEADER_WAIT_S = 10.0

EventKey = tuple[datetime, str, float, str]  # ts, symbol, price, currency


def end_offsets(bootstrap: str, topic: str) -> dict[int, int] | None:
    """High watermark per partition, or None when the topic does not exist."""
    client = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex})
    try:
        metadata = client.list_topics(topic, timeout=10).topics[topic]
        if metadata.error is not None:
            return None
        return {p: high_watermark(client, TopicPartition(topic, p)) for p in metadata.partitions}
    finally:
        client.close()


def high_watermark(client: Consumer, partition: TopicPartition) -> int:
    """The partition's end offset, waiting (bounded) for a leader to answer."""
    deadline = time.monotonic() + LEADER_WAIT_S
    while True:
        try:
            return int(client.get_watermark_offsets(partition, timeout=10)[1])
        except KafkaException as error:
            if error.args[0].code() not in LEADER_PENDING or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def message_count(bootstrap: str, topic: str) -> int:
    """Records in topic (0 when it does not exist)."""
    return sum((end_offsets(bootstrap, topic) or {}).values())


def topic_events(bootstrap: str, topic: str) -> Counter[EventKey]:
    """An independent reader: every value in the topic, read with a plain consumer and
    decoded with fastavro past the 5-byte header, as a multiset of
    (ts, symbol, price, currency)."""
    schema = parse_schema(json.loads(CONTRACT_FILE.read_text()))
    remaining = {p: end for p, end in (end_offsets(bootstrap, topic) or {}).items() if end > 0}
    client = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "enable.auto.commit": False}
    )
    client.assign([TopicPartition(topic, p, 0) for p in remaining])
    events: Counter[EventKey] = Counter()
    unread = dict(remaining)  # records left per partition: consume() waits for as many
    try:
        while remaining:
            batch = client.consume(min(10_000, sum(unread.values())), timeout=10)
            assert batch, f"no records within 10 s; still expected up to {remaining}"
            for message in batch:
                if message.error() is not None:
                    raise KafkaException(message.error())
                value = message.value()
                assert value is not None and value[0] == 0
                record = schemaless_reader(io.BytesIO(value[5:]), schema, None)
                key = (record["ts"], record["symbol"], record["price"], record["currency"])
                events[key] += 1
                unread[message.partition()] = remaining.get(message.partition(), 0) - (
                    message.offset() + 1
                )
                if message.offset() + 1 >= remaining.get(message.partition(), 0):
                    remaining.pop(message.partition(), None)
    finally:
        client.close()
    return events


def expected_events(*plans: GeneratorPlan) -> Counter[EventKey]:
    """The events the seeded generator makes for plans, as topic_events reads them."""
    return Counter(
        (e.ts, e.symbol, e.price, e.currency) for plan in plans for e in generate_events(plan)
    )


def all_messages(client_config: dict[str, object], topic: str) -> list[Message]:
    """Every record of every partition of topic, read once from its start by a reader of
    its own (never committing)."""
    reader = Consumer(
        {
            **client_config,
            "group.id": f"test-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
    reader.assign([TopicPartition(topic, p, 0) for p in partitions])
    messages: list[Message] = []
    ended = 0
    try:
        while ended < len(partitions):
            message = reader.poll(10)
            assert message is not None, f"{topic} did not answer"
            error = message.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                ended += 1
            elif error is None:
                messages.append(message)
    finally:
        reader.close()
    return messages
