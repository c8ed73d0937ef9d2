"""What a topic holds, read from the broker's own end offsets: the tests' ground truth."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, TopicPartition


def end_offsets(bootstrap: str, topic: str) -> dict[int, int] | None:
    """High watermark per partition, or None when the topic does not exist."""
    client = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex})
    try:
        metadata = client.list_topics(topic, timeout=10).topics[topic]
        if metadata.error is not None:
            return None
        return {
            p: client.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in metadata.partitions
        }
    finally:
        client.close()


def message_count(bootstrap: str, topic: str) -> int:
    """Records in topic (0 when it does not exist)."""
    return sum((end_offsets(bootstrap, topic) or {}).values())
