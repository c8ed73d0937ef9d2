"""What writing the dead letters costs a batch report: consume() with --dlq against
consume() without it, on one topic of which 1% of the events break a rule (the producer
writing them unjudged) and 0.1% are poison (values that cannot be decoded: no value, too
short, a wrong magic byte, a schema id the registry does not know).

Each --dlq run writes to a dead-letter topic of its own: a second run into the same one
would find every letter written and write none.
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable

from confluent_kafka import Producer
from pyspark.sql import SparkSession

from benchmarks.follow import run_producer
from benchmarks.machine import load_average
from benchmarks.results import PairedRun
from benchmarks.topics import PARTITIONS, RunTopics
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.batch import ConsumerOptions, consume

POISON = 0.001  # of the topic's records: values that cannot be decoded
SEED = 11
UNKNOWN_ID = 0x7FFF_FFF0  # a schema id no registry of the run has

#: One poison value of each kind, chosen in turn.
POISON_VALUES: tuple[bytes | None, ...] = (
    None,
    b"\x00\x01",
    b'{"ts": 1}',
    b"\x00" + struct.pack(">I", UNKNOWN_ID) + b"\x02",
)


def fill_breakers_and_poison(topics: RunTopics, events: int) -> tuple[ConnectionSettings, int]:
    """A new topic of events written unjudged (1% breaking a rule), then POISON of them
    more as poison records spread over its partitions; the topic and its record count."""
    settings = topics.fresh("dead-letters", events)
    run_producer(settings, events)
    poison = max(1, round(events * POISON))
    rng = random.Random(SEED)
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    for index in range(poison):
        value = POISON_VALUES[index % len(POISON_VALUES)]
        producer.produce(settings.topic, value=value, partition=rng.randrange(PARTITIONS))
        producer.poll(0)
    if producer.flush(60) != 0:
        raise RuntimeError(f"{settings.topic}: poison records not acknowledged")
    return settings, events + poison


def dead_letters_cost(
    spark: SparkSession,
    settings: ConnectionSettings,
    records: int,
    dead_letter_topics: list[str],
    progress: Callable[[str], None],
) -> list[PairedRun]:
    """One pair per dead-letter topic: consume() without --dlq, then with it into that
    topic (in turn first, so neither is always the warmer); both must count records."""
    pairs = []
    for repeat, topic in enumerate(dead_letter_topics):
        without = ConsumerOptions()
        with_dlq = ConsumerOptions(dead_letter_topic=topic)
        order = (without, with_dlq) if repeat % 2 == 0 else (with_dlq, without)
        seconds = {}
        for options in order:
            started = time.perf_counter()
            report = consume(spark, Clients.of(settings), settings, options)
            seconds[options.dead_letter_topic] = time.perf_counter() - started
            if report.messages != records:
                raise RuntimeError(f"{settings.topic}: {report.messages:,} of {records:,} read")
        pairs.append(PairedRun(seconds[None], seconds[topic], load_average()))
        progress(
            f"consume() at {records:,}: {seconds[None]:.1f} s without --dlq, "
            f"{seconds[topic]:.1f} s with it"
        )
    return pairs
