"""Send events with an idempotent producer and account for every delivery."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from tqdm import tqdm

from connection.kafka import silent_librdkafka_logger
from connection.settings import PLAINTEXT, KafkaSecurity
from producer.events import PriceEvent

# A produce() call blocks on a full local queue only this long per attempt.
POLL_INTERVAL_S = 0.1


def producer_config(
    bootstrap_servers: str, delivery_timeout_s: float, security: KafkaSecurity = PLAINTEXT
) -> dict[str, object]:
    """Idempotent, acks=all: a retried send is never written twice, and nothing is
    acknowledged before every in-sync replica has it."""
    return {
        **security.librdkafka_config(),
        "bootstrap.servers": bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "batch.size": 1_000_000,
        "compression.type": "lz4",
        "delivery.timeout.ms": int(delivery_timeout_s * 1000),
        "logger": silent_librdkafka_logger(),
    }


@dataclass
class DeliveryReport:
    """What the broker acknowledged, what it did not, and the first reason why."""

    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    first_error: str | None = None

    def on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.acknowledged += 1
        else:
            self.failed += 1
            if self.first_error is None:
                self.first_error = error.str()

    @property
    def complete(self) -> bool:
        return self.failed == 0 and self.acknowledged == self.sent


def send_events(
    producer: Producer,
    topic: str,
    events: Iterable[PriceEvent],
    key_serializer: AvroSerializer,
    value_serializer: AvroSerializer,
    total: int,
) -> DeliveryReport:
    """Produce every event once (keyed by symbol, so each symbol keeps its order),
    then wait for every acknowledgement or failure.

    Sending stops at the first failed delivery: the run has failed, and a dead broker
    then costs at most about two delivery timeouts (the events in flight expire), not one
    per queue-full of the remaining events.
    """
    report = DeliveryReport()
    key_context = SerializationContext(topic, MessageField.KEY)
    value_context = SerializationContext(topic, MessageField.VALUE)
    with tqdm(total=total, unit="ev", disable=not sys.stderr.isatty(), leave=False) as bar:
        for event in events:
            if report.failed:
                break
            key = key_serializer(event.symbol, key_context)
            value = value_serializer(event.to_record(), value_context)
            while True:
                try:
                    producer.produce(topic, value=value, key=key, on_delivery=report.on_delivery)
                    break
                except BufferError:  # local queue full: serve callbacks, then retry this one
                    producer.poll(POLL_INTERVAL_S)
            report.sent += 1
            producer.poll(0)
            bar.update(report.acknowledged - bar.n)
        while producer.flush(POLL_INTERVAL_S) > 0:
            bar.update(report.acknowledged - bar.n)
    return report
