"""The producer measurements: ours and the two baselines."""

from __future__ import annotations

import itertools
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema

from benchmarks.baselines import (
    DELIVERY_TIMEOUT_S,
    DeliveryFailed,
    json_messages,
    json_value,
    naive_avro_messages,
    send_all,
    warm_up,
)
from benchmarks.machine import load_average
from benchmarks.results import (
    JSON_BASELINE,
    NAIVE_AVRO_BASELINE,
    OURS,
    OURS_UNCOMPRESSED,
    ProducerRun,
)
from benchmarks.topics import PARTITIONS, RunTopics
from connection.paths import CONTRACT_FILE
from connection.settings import ConnectionSettings
from producer.contract import KEY_SCHEMA, load_schema
from producer.events import BATCH_EVENTS, GeneratorPlan, generate_batches, generate_records
from producer.run import ProducerOptions, produce
from producer.send import DEFAULT_COMPRESSION, producer_config, send_events
from producer.serialization import FramedAvroSerializer

SEED = 20261127
START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)


def benchmark_plan(count: int) -> GeneratorPlan:
    """The same events for every way of producing them."""
    return GeneratorPlan(count=count, seed=SEED, start=START)


def value_schema(plan: GeneratorPlan) -> Schema:
    return load_schema(CONTRACT_FILE, dict(next(generate_records(plan))))


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
    value = FramedAvroSerializer(0, value_schema(plan))
    key = FramedAvroSerializer(0, KEY_SCHEMA)
    avro_keys = text_keys = avro_values = json_values = sampled = 0
    for record in itertools.islice(generate_records(plan), SIZE_SAMPLE):
        avro_keys += len(key(record["symbol"]))
        text_keys += len(record["symbol"].encode())
        avro_values += len(value(record))
        json_values += len(json_value(record))
        sampled += 1
    scale = plan.count / sampled
    return PayloadBytes(
        *(round(total * scale) for total in (avro_keys, text_keys, avro_values, json_values))
    )


def generator_rate(plan: GeneratorPlan) -> float:
    """Events per second of generate_batches (the producer's generator) alone, with
    nothing sent."""
    started = time.perf_counter()
    for _ in generate_batches(plan):
        pass
    return plan.count / (time.perf_counter() - started)


def client_rate(
    settings: ConnectionSettings,
    plan: GeneratorPlan,
    warm_up_topic: str,
    compression: str = DEFAULT_COMPRESSION,
) -> float:
    """Events per second of ours' send loop and Kafka client alone: the plan's first event
    plan.count times, serialized once (no generation, no serialization in the loop), in
    batches of ours' size."""
    first = next(generate_records(plan))
    key = FramedAvroSerializer(0, KEY_SCHEMA)(first["symbol"])
    value = FramedAvroSerializer(0, value_schema(plan))(first)
    whole, rest = divmod(plan.count, BATCH_EVENTS)
    sizes = [*itertools.repeat(BATCH_EVENTS, whole), *([rest] if rest else [])]
    producer = Producer(producer_config(settings, DELIVERY_TIMEOUT_S, compression))
    warm_up(producer, warm_up_topic)
    started = time.perf_counter()
    report = send_events(
        producer, settings.topic, (([key] * size, [value] * size) for size in sizes), plan.count
    )
    seconds = time.perf_counter() - started
    if not report.complete:
        raise DeliveryFailed(
            f"{settings.topic}: {report.acknowledged} of {plan.count} acknowledged"
        )
    return plan.count / seconds


def produce_ours(
    settings: ConnectionSettings,
    plan: GeneratorPlan,
    compression: str = DEFAULT_COMPRESSION,
    judge: bool = True,
) -> float:
    """Seconds from first send to last ack of ours (every event judged by the contract's
    rules before it is sent; judge False: unjudged, as --no-rules sends)."""
    options = ProducerOptions(
        plan=plan,
        schema_file=CONTRACT_FILE,
        partitions=PARTITIONS,
        compression=compression,
        judge=judge,
    )
    return produce(settings, options).seconds


def produce_way(
    way: str, settings: ConnectionSettings, plan: GeneratorPlan, warm_up_topic: str
) -> float:
    """Seconds from first send to last ack of plan's events, sent to settings.topic one way."""
    if way == OURS:
        return produce_ours(settings, plan)
    if way == OURS_UNCOMPRESSED:
        return produce_ours(settings, plan, compression="none")
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
        OURS_UNCOMPRESSED: "ours-uncompressed",
    }[way]
