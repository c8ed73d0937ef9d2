"""Follow mode under a steady producer: sustained events/s and end-to-end latency.

A thread writes Confluent-framed Avro events at a fixed offered rate for a while; the
follower (in this process, its own SparkSession) counts them with a given trigger. Per
micro-batch the latency of its records lies between (batch counted - newest record's Kafka
timestamp) and (batch counted - oldest record's); the run reports the median and the
largest of the batches' oldest-record latencies, and the events counted per second from
the first steady record written to the stream caught up. A warm-up event goes first; the
measurement starts once the query has counted it (Spark's start is not steady state).
"""

from __future__ import annotations

import io
import json
import statistics
import struct
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import fastavro
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema

from benchmarks.results import FollowBenchmark
from connection.clients import registry_client
from connection.paths import CONTRACT_FILE
from connection.services import Clients
from connection.settings import ConnectionSettings, spark_settings_from_env
from connection.spark import build_spark_session
from consumer.follow import Follower, FollowOptions
from consumer.state import Update
from producer.events import GeneratorPlan, generate_records

CHUNKS_PER_S = 10


def write_steadily(settings: ConnectionSettings, schema_id: int, events: int, rate: int) -> None:
    """events framed v2 events at rate per second, in chunks every 1/CHUNKS_PER_S s."""
    parsed = fastavro.parse_schema(json.loads(CONTRACT_FILE.read_text()))
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 5})
    header = b"\x00" + struct.pack(">I", schema_id)
    plan = GeneratorPlan(count=events, seed=7, start=datetime.now(timezone.utc))
    chunk = max(1, rate // CHUNKS_PER_S)
    started = time.monotonic()
    for index, record in enumerate(generate_records(plan)):
        body = io.BytesIO()
        fastavro.schemaless_writer(body, parsed, dict(record))
        while True:
            try:
                producer.produce(settings.topic, value=header + body.getvalue())
                break
            except BufferError:
                producer.poll(0.05)
        if (index + 1) % chunk == 0:
            producer.poll(0)
            ahead = started + (index + 1) / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    producer.flush(60)


def measure_follow(
    base: ConnectionSettings, trigger_seconds: float, events: int, rate: int
) -> FollowBenchmark:
    """Follow a new topic while events arrive at rate per second; the figures."""
    topic = f"bench-follow-{uuid.uuid4().hex[:8]}"
    settings = ConnectionSettings(
        bootstrap_servers=base.bootstrap_servers,
        registry=base.registry,
        topic=topic,
        security=base.security,
    )
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    registry = registry_client(settings.registry)
    schema_id = registry.register_schema(
        settings.value_subject, Schema(CONTRACT_FILE.read_text(), "AVRO")
    )
    updates: list[Update] = []
    spark = build_spark_session(spark_settings_from_env("local[*]"), app_name="prices-bench-follow")
    try:
        with tempfile.TemporaryDirectory() as checkpoint:
            options = FollowOptions(
                checkpoint=Path(checkpoint),
                trigger_seconds=trigger_seconds,
                until_idle_s=max(10.0, 3 * trigger_seconds),
            )
            follower = Follower(Clients.of(settings), settings, options, None, updates.append)
            follower.prepare()
            steady_from: list[float] = []

            def write_after_warm_up() -> None:
                """One event, then, once the query has counted it (Spark's start and first
                batch are not steady state), the steady stream."""
                write_steadily(settings, schema_id, 1, rate)
                while not updates and not follower.stop.requested:
                    time.sleep(0.05)
                steady_from.append(time.time())
                write_steadily(settings, schema_id, events, rate)

            writer = threading.Thread(target=write_after_warm_up)
            writer.start()
            state = follower.run(spark)
            writer.join()
    finally:
        admin.delete_topics([topic])
    batches = [u for u in updates[1:] if u.records and u.oldest_record_ms is not None]
    latencies = [u.finished_at - u.oldest_record_ms / 1000 for u in batches]  # type: ignore[operator]
    caught_up = max(u.finished_at for u in batches)
    return FollowBenchmark(
        trigger_seconds=trigger_seconds,
        offered_events_per_s=rate,
        events=events,
        counted=state.decoded - 1,
        events_per_s=(state.decoded - 1) / (caught_up - steady_from[0]),
        batches=len(batches),
        latency_median_s=statistics.median(latencies),
        latency_max_s=max(latencies),
    )


def follow_benchmarks(
    base: ConnectionSettings, events: int = 100_000, rate: int = 5_000
) -> list[FollowBenchmark]:
    """The follow mode at 5 s and 1 s triggers under the same offered load."""
    return [measure_follow(base, trigger, events, rate) for trigger in (5.0, 1.0)]


def describe(run: FollowBenchmark) -> str:
    return (
        f"follow, trigger {run.trigger_seconds:g} s, {run.offered_events_per_s:,} ev/s offered: "
        f"{run.counted:,}/{run.events:,} counted, {run.events_per_s:,.0f} ev/s, "
        f"{run.batches} batches, latency median {run.latency_median_s:.1f} s, "
        f"max {run.latency_max_s:.1f} s"
    )
