"""What a topic holds, read from the broker's own end offsets: the tests' ground truth."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

# A topic created a moment ago (by the producer under test) may not have elected its
# partition leaders yet; the broker answers these until it has.
LEADER_PENDING = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE)
LEADER_WAIT_S = 10.0


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
