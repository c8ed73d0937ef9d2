"""The two producer baselines: a plain JSON loop and the naive Avro loop.

Both run with the project producer's client settings (idempotent, acks=all, same
batching), so only the serialization and the loop differ from ``producer.run``; as in
confluent-kafka's examples, they get a delivery report for every message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

from connection.clients import registry_client
from connection.defaults import DEFAULTS
from connection.settings import ConnectionSettings
from connection.timestamps import format_timestamp
from producer.events import GeneratorPlan, PriceEvent, PriceRecord, generate_records
from producer.send import POLL_INTERVAL_S, DeliveryReport, producer_config

DELIVERY_TIMEOUT_S = DEFAULTS.delivery_timeout_s


class DeliveryFailed(RuntimeError):
    """Not every message of a benchmark run was acknowledged."""


def json_value(record: PriceRecord) -> bytes:
    """A plain JSON message value: the event as a JSON object, its time as text."""
    event = PriceEvent.from_record(record)
    return json.dumps(
        {"ts": format_timestamp(event.ts), "symbol": event.symbol, "price": event.price}
    ).encode()


def baseline_config(settings: ConnectionSettings) -> dict[str, Any]:
    """The project's client settings, with a delivery report for every message."""
    return {
        **producer_config(settings, DELIVERY_TIMEOUT_S),
        "delivery.report.only.error": False,
    }


def ready_producer(settings: ConnectionSettings, warm_up_topic: str) -> Producer:
    """A baseline's producer, with one message delivered to warm_up_topic.

    librdkafka's idempotent producer may take about 0.5 s after its creation to get its
    producer id, and sends wait for it (measured here); producer.run creates its producer
    before registering the contract, so that wait overlaps its set-up. One delivered
    message before the clock starts spares the baselines the wait too.
    """
    producer = Producer(baseline_config(settings))
    warm_up(producer, warm_up_topic)
    return producer


def warm_up(producer: Producer, warm_up_topic: str) -> None:
    """Deliver one message to warm_up_topic (the producer has its id afterwards)."""
    producer.produce(warm_up_topic, value=b"warm-up")
    if producer.flush(DELIVERY_TIMEOUT_S) > 0:
        raise DeliveryFailed(f"warm-up message to {warm_up_topic} not delivered")


def send_all(
    settings: ConnectionSettings, messages: Iterable[tuple[bytes, bytes]], warm_up_topic: str
) -> float:
    """Produce every (key, value), flush, and return seconds from first send to last ack."""
    producer = ready_producer(settings, warm_up_topic)
    report = DeliveryReport()
    started = time.perf_counter()
    for key, value in messages:
        while True:
            try:
                producer.produce(
                    settings.topic, value=value, key=key, on_delivery=report.on_delivery
                )
                break
            except BufferError:  # local queue full: serve callbacks, then retry
                producer.poll(POLL_INTERVAL_S)
        report.sent += 1
        producer.poll(0)
    while producer.flush(POLL_INTERVAL_S) > 0:
        pass
    seconds = time.perf_counter() - started
    report.unresolved = len(producer)
    if not report.complete:
        raise DeliveryFailed(
            f"{settings.topic}: {report.acknowledged} of {report.sent} acknowledged, "
            f"first error: {report.first_error}"
        )
    return seconds


def json_messages(plan: GeneratorPlan) -> Iterator[tuple[bytes, bytes]]:
    for record in generate_records(plan):
        yield record["symbol"].encode(), json_value(record)


def naive_avro_messages(
    settings: ConnectionSettings, plan: GeneratorPlan, value_schema: Schema
) -> Iterator[tuple[bytes, bytes]]:
    """As confluent-kafka's examples/avro_producer.py: a string key, AvroSerializer per value
    (auto-registering its schema), a SerializationContext per message.

    The schema is registered here, before the clock starts, as the project producer does.
    """
    value_serializer = AvroSerializer(registry_client(settings.registry), value_schema)
    key_serializer = StringSerializer("utf_8")
    first = next(generate_records(plan), None)
    if first is not None:
        value_serializer(first, SerializationContext(settings.topic, MessageField.VALUE))

    def messages() -> Iterator[tuple[bytes, bytes]]:
        for record in generate_records(plan):
            key = key_serializer(record["symbol"])
            value = value_serializer(
                record, SerializationContext(settings.topic, MessageField.VALUE)
            )
            if key is None or value is None:  # only for None inputs, which events never are
                raise DeliveryFailed("a serializer returned None")
            yield key, value

    return messages()
