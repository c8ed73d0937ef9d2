"""Follow's counted offsets, committed to a Kafka consumer group for the lag tools only.

Spark's Kafka source keeps its offsets in its checkpoint and commits nothing to Kafka, so
Kafka's kafka-consumer-groups.sh, Burrow, kafka-lag-exporter and the Kafka UIs see no
consumer. After each counted batch (and again while idle, so the broker never expires
them) the offsets the state has counted up to are committed to a group with the
AdminClient, which needs no member in the group. The group is never read back: Spark's
checkpoint stays the source of truth, and a failed commit is a warning, never a stopped
batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from connection.kafka import BROKER_TIMEOUT_S

RETRY_S = 0.2


def follow_group(topic: str) -> str:
    """The default group of follow on topic (--group-id)."""
    return f"{topic}-follow"


class GroupOffsets:
    """Commits a topic's counted offsets to group_id; failures go to warn (one line)."""

    def __init__(
        self, admin: AdminClient, group_id: str, topic: str, warn: Callable[[str], None]
    ) -> None:
        self.admin, self.group_id, self.topic, self.warn = admin, group_id, topic, warn
        self.failing = False

    def commit(self, offsets: Mapping[int, int]) -> bool:
        """Commit offsets (partition -> the next offset to count); True when the broker
        took them. A failure is warned about once until a commit passes again."""
        request = ConsumerGroupTopicPartitions(
            self.group_id,
            [TopicPartition(self.topic, p, offset) for p, offset in sorted(offsets.items())],
        )
        deadline = time.monotonic() + BROKER_TIMEOUT_S
        try:
            while not self.committed(request):  # the coordinator not known or loaded yet
                if time.monotonic() >= deadline:
                    raise TimeoutError
                time.sleep(RETRY_S)
        except (KafkaException, TimeoutError) as error:
            if not self.failing:
                cause = error.args[0] if error.args else None
                reason = cause.str() if isinstance(cause, KafkaError) else "timed out"
                self.warn(
                    f"warning: cannot commit the counted offsets to consumer group "
                    f"{self.group_id} (for the lag tools only; following goes on): {reason}"
                )
            self.failing = True
            return False
        self.failing = False
        return True

    def committed(self, request: ConsumerGroupTopicPartitions) -> bool:
        """True when the broker took request; False on an error worth retrying (the
        group's coordinator moving or loading, as right after the group's first use)."""
        futures = self.admin.alter_consumer_group_offsets(
            [request], request_timeout=BROKER_TIMEOUT_S
        )
        try:
            result = futures[self.group_id].result(BROKER_TIMEOUT_S)
        except KafkaException as error:
            if isinstance(error.args[0], KafkaError) and error.args[0].retriable():
                return False
            raise
        failed = [tp.error for tp in result.topic_partitions if tp.error is not None]
        if failed:
            raise KafkaException(failed[0])
        return True
