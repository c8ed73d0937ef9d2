"""The producer measurements: ours, the two baselines and the fast-path prototype."""

from __future__ import annotations

import itertools
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import cast

from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.avro import AvroSerializer

from benchmarks.baselines import (
    DeliveryFailed,
    json_messages,
    json_value,
    naive_avro_messages,
    ready_producer,
    send_all,
)
from benchmarks.fast_path import FastAvroSerializer, MemoizedSerializer, registered_serializer
from benchmarks.machine import load_average
from benchmarks.results import (
    JSON_BASELINE,
    NAIVE_AVRO_BASELINE,
    OURS,
    OURS_FAST_PATH,
    ProducerRun,
)
from benchmarks.topics import PARTITIONS, RunTopics
from connection.registry import registry_client
from connection.settings import ConnectionSettings
from producer.contract import DEFAULT_SCHEMA_FILE, KEY_SCHEMA, load_schema, register_contract
from producer.events import GeneratorPlan, generate_events
from producer.run import ProducerOptions, produce
from producer.send import send_events

SEED = 20261127
START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)


def benchmark_plan(count: int) -> GeneratorPlan:
    """The same events for every way of producing them."""
    return GeneratorPlan(count=count, seed=SEED, start=START)


def value_schema(plan: GeneratorPlan) -> Schema:
    first = next(generate_events(plan))
    return load_schema(DEFAULT_SCHEMA_FILE, first.to_record())


SMALL_RUN_EVENTS = 100_000
SMALL_RUN_REPEATS = 3
SIZE_SAMPLE = 100_000  # events whose encoded sizes stand for a whole plan's


@dataclass(frozen=True)
class PayloadBytes:
    """Bytes of a plan's keys and values in each encoding (measured outside the clock)."""

    avro_keys: int
    text_keys: int
    avro_values: int
    json_values: int

    def of(self, way: str) -> int:
        if way == JSON_BASELINE:
            return self.text_keys + self.json_values
        if way == NAIVE_AVRO_BASELINE:
            return self.text_keys + self.avro_values
        return self.avro_keys + self.avro_values


def payload_bytes(plan: GeneratorPlan) -> PayloadBytes:
    """Encoded sizes of the plan's first SIZE_SAMPLE events, scaled to the whole plan
    (exact up to that size; Avro sizes are constant per event anyway). The schema id is
    4 bytes whatever it is, so id 0 stands in for it."""
    value = FastAvroSerializer(0, value_schema(plan))
    key = MemoizedSerializer(FastAvroSerializer(0, KEY_SCHEMA))
    avro_keys = text_keys = avro_values = json_values = sampled = 0
    for event in itertools.islice(generate_events(plan), SIZE_SAMPLE):
        avro_keys += len(key(event.symbol))
        text_keys += len(event.symbol.encode())
        avro_values += len(value(event.to_record()))
        json_values += len(json_value(event))
        sampled += 1
    scale = plan.count / sampled
    return PayloadBytes(
        *(round(total * scale) for total in (avro_keys, text_keys, avro_values, json_values))
    )


def generator_rate(plan: GeneratorPlan) -> float:
    """Events per second of generate_events alone, with nothing sent."""
    started = time.perf_counter()
    for _ in generate_events(plan):
        pass
    return plan.count / (time.perf_counter() - started)


def client_rate(settings: ConnectionSettings, plan: GeneratorPlan, warm_up_topic: str) -> float:
    """Events per second of the Kafka client alone: plan.count copies of the plan's first
    event, serialized once, through the baselines' produce loop (no generation, no
    serialization in the loop)."""
    first = next(generate_events(plan))
    key = FastAvroSerializer(0, KEY_SCHEMA)(first.symbol)
    value = FastAvroSerializer(0, value_schema(plan))(first.to_record())
    messages = itertools.repeat((key, value), plan.count)
    return plan.count / send_all(settings, messages, warm_up_topic)


def produce_ours(settings: ConnectionSettings, plan: GeneratorPlan) -> float:
    options = ProducerOptions(plan=plan, schema_file=DEFAULT_SCHEMA_FILE, partitions=PARTITIONS)
    return produce(settings, options).seconds


def produce_fast_path(
    settings: ConnectionSettings, plan: GeneratorPlan, warm_up_topic: str
) -> float:
    """producer.run.produce's steps with the prototype serializers in send_events."""
    schema = value_schema(plan)
    registry = registry_client(settings.schema_registry_url)
    contract = register_contract(
        registry, settings.schema_registry_url, settings.value_subject, schema
    )
    key = MemoizedSerializer(registered_serializer(registry, contract.key_subject, KEY_SCHEMA))
    value = registered_serializer(registry, contract.value_subject, schema)
    producer = ready_producer(settings.bootstrap_servers, warm_up_topic)
    started = time.perf_counter()
    # send_events is typed for AvroSerializer but only calls it as (object, context) -> bytes.
    report = send_events(
        producer,
        settings.topic,
        generate_events(plan),
        cast(AvroSerializer, key),
        cast(AvroSerializer, value),
        total=plan.count,
    )
    seconds = time.perf_counter() - started
    if not report.complete:
        raise DeliveryFailed(
            f"{settings.topic}: {report.acknowledged} of {report.sent} acknowledged"
        )
    return seconds


def produce_way(
    way: str, settings: ConnectionSettings, plan: GeneratorPlan, warm_up_topic: str
) -> float:
    """Seconds from first send to last ack of plan's events, sent to settings.topic one way."""
    if way == OURS:
        return produce_ours(settings, plan)
    if way == OURS_FAST_PATH:
        return produce_fast_path(settings, plan, warm_up_topic)
    if way == JSON_BASELINE:
        return send_all(settings, json_messages(plan), warm_up_topic)
    if way == NAIVE_AVRO_BASELINE:
        messages = naive_avro_messages(settings, plan, value_schema(plan))
        return send_all(settings, messages, warm_up_topic)
    raise ValueError(f"unknown way of producing: {way}")


def repeats_for(count: int) -> int:
    """Small runs are dominated by the client's start (connection, producer id), which
    varies by up to a second: they are repeated and the median kept."""
    return SMALL_RUN_REPEATS if count <= SMALL_RUN_EVENTS else 1


def measure_producer(
    way: str, plan: GeneratorPlan, sizes: PayloadBytes, topics: RunTopics
) -> tuple[ProducerRun, ConnectionSettings]:
    """The median of repeated runs, each on its own fresh topic (the last one is returned
    for reuse by the consumer)."""
    runs = repeats_for(plan.count)
    timings = []
    for _ in range(runs):
        settings = topics.fresh(way_slug(way), plan.count)
        topics.create(settings)
        timings.append(produce_way(way, settings, plan, topics.warm_up_topic()))
    run = ProducerRun(
        way, plan.count, statistics.median(timings), sizes.of(way), load_average(), runs
    )
    return run, settings


def way_slug(way: str) -> str:
    """A topic-name-safe short name of a way."""
    return {
        JSON_BASELINE: "json",
        NAIVE_AVRO_BASELINE: "naive-avro",
        OURS: "ours",
        OURS_FAST_PATH: "fast-path",
    }[way]
