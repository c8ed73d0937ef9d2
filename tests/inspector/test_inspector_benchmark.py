"""The inspector's benchmark function on a small topic (the 1M-record row is make bench's):
pages from the middle, through the real HTTP server, each holding its records."""

from __future__ import annotations

import uuid
from datetime import timedelta

from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from contract_files import V2_SCHEMA_FILE
from inspected_topic import T0, create_topic, framed

from benchmarks.inspector import describe, middle_page_times
from connection.clients import librdkafka_config
from connection.settings import ConnectionSettings

RECORDS = 2000


def test_pages_from_the_middle_are_timed_through_the_server(
    stack_settings: ConnectionSettings, registry: SchemaRegistryClient
) -> None:
    topic = f"bench-inspector-{uuid.uuid4().hex[:10]}"
    create_topic(stack_settings, topic, 2)
    text = V2_SCHEMA_FILE.read_text()
    schema_id = registry.register_schema(f"{topic}-value", Schema(text, "AVRO"))
    producer = Producer(librdkafka_config(stack_settings))
    for i in range(RECORDS):
        record = {"ts": T0 + timedelta(milliseconds=i), "symbol": "AAPL", "price": 1.0 + i}
        producer.produce(topic, framed(schema_id, text, {**record, "currency": "USD"}), partition=0)
        producer.poll(0)
    assert producer.flush(30) == 0

    run = middle_page_times(stack_settings, topic, requests=4, limit=100)

    assert run.records == RECORDS and run.partition == 0
    assert run.first_offset == RECORDS // 2 - 5 * 100 // 2
    assert len(run.milliseconds) == 4 and all(ms > 0 for ms in run.milliseconds)
    assert f"median {run.median_ms:.0f} ms" in describe(run)
