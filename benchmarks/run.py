"""One benchmark run: producers, profiles, consumer (CLI, in-process, plain Python)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import partial

from pyspark.sql import SparkSession

from benchmarks.consumer_cli import run_consumer_cli
from benchmarks.dead_letters import fill_breakers_and_poison
from benchmarks.follow import (
    checkpoint_pair,
    describe,
    describe_catch_up,
    fill_backlog,
    follow_spark,
    latency_runs,
    measure_catch_up,
    sustained_runs,
)
from benchmarks.inspector import describe as describe_pages
from benchmarks.inspector import middle_page_times
from benchmarks.limits import (
    checkpoint_on_hdfs_ratio,
    consumer_ratio,
    dead_letters_ratio,
    ensure_class_data,
    migration_on_read_ratio,
    producer_ratio,
    rules_on_read_ratio,
    rules_on_write_ratio,
    start_up_ratios,
)
from benchmarks.machine import describe_machine, load_average
from benchmarks.majors import fallback_document, major_2_document, write_major_2
from benchmarks.producing import (
    benchmark_plan,
    client_rate,
    generator_rate,
    measure_producer,
    payload_bytes,
    produce_way,
)
from benchmarks.profiling import profile
from benchmarks.python_consumer import time_plain_python
from benchmarks.results import (
    NAIVE_AVRO_BASELINE,
    OURS,
    PRODUCER_WAYS,
    BenchResults,
)
from benchmarks.spark_probe import SparkProbeRequest, run_spark_probe
from benchmarks.topics import RunTopics
from connection.defaults import DEFAULTS
from connection.settings import ConnectionSettings


@dataclass(frozen=True)
class BenchOptions:
    producer_events: tuple[int, ...] = (5_000, 100_000, 1_000_000)
    report_events: int = DEFAULTS.event_count
    consumer_events: tuple[int, ...] = (1_000, 100_000, 1_000_000, 10_000_000)
    cli_repeats: int = 3
    variant_events: int = 1_000_000  # 0: skip the Spark settings grid
    profile_events: int = 100_000  # 0: skip the profile
    start_repeats: int = 5  # start-up pairs (bare start, ours) for the ratio table
    ratio_repeats: int = 3  # throughput pairs (limit, ours) for the ratio table
    ratio_producer_events: int = 300_000
    rules_events: int = 1_000_000  # with the rules against without, on read and on write
    migration_events: int = 1_000_000  # written in major 2 against major 1, on read; 0: skip
    dead_letters_events: int = 1_000_000  # report --dlq against without; 0: skip
    follow_backlog_events: int = 1_000_000  # follow's catch-up, beside batch consume()
    sustained_seconds: int = 120  # how long follow is offered each rate
    #: follow's checkpoint on this HDFS against a local path (None: not measured)
    hdfs_url: str | None = None
    checkpoint_batch: int = 50_000  # the most records a micro-batch of that row reads
    inspector_events: int = 1_000_000  # the topic the inspector pages through
    quick: bool = False


def progress(message: str) -> None:
    print(f"bench: {message} (load {load_average():.1f})", file=sys.stderr, flush=True)


class Bench:
    """Runs the measurements in order, keeping the topics the consumer reads."""

    def __init__(self, base: ConnectionSettings, options: BenchOptions) -> None:
        self.options = options
        self.topics = RunTopics(base)
        self.results = BenchResults(machine=describe_machine(), quick=options.quick)
        self.filled: dict[int, ConnectionSettings] = {}  # event count -> topic holding them

    def run(self) -> BenchResults:
        progress(ensure_class_data())  # the limit is the start the JVM allows
        try:
            self.producers()
            self.profiles()
            self.start_up_limit()
            self.producer_limit()
            self.rules_on_write()
            self.consumer_cli()
            self.consumer_in_process()
            self.plain_python()
            self.inspector()
            self.follow()
        finally:
            self.topics.remove_all()
        return self.results

    def start_up_limit(self) -> None:
        """The start-up row of the ratio table and its two references (rows are found
        by name, so the order they are measured in does not matter)."""
        count = self.options.report_events
        ratios = start_up_ratios(
            self.topic_with(count), count, self.options.start_repeats, progress
        )
        self.results.limits += [
            ratios.ours,
            ratios.against_read,
            ratios.archive,
            ratios.kafka_read,
        ]

    def producer_limit(self) -> None:
        self.results.limits.append(
            producer_ratio(
                self.topics,
                self.options.ratio_producer_events,
                self.options.ratio_repeats,
                progress,
            )
        )

    def rules_on_write(self) -> None:
        self.results.limits.append(
            rules_on_write_ratio(
                self.topics, self.options.rules_events, self.options.ratio_repeats, progress
            )
        )

    def producers(self) -> None:
        for count in self.options.producer_events:
            plan = benchmark_plan(count)
            sizes = payload_bytes(plan)
            for way in PRODUCER_WAYS:
                run, settings = measure_producer(way, plan, sizes, self.topics)
                progress(f"{way} {count:,}: {run.events_per_s:,.0f} ev/s")
                self.results.producer.append(run)
                if way == OURS:
                    self.filled[count] = settings

    def profiles(self) -> None:
        count = self.options.profile_events
        if not count:
            return
        plan = benchmark_plan(count)
        self.results.generator_events_per_s = generator_rate(plan)
        largest = benchmark_plan(max(self.options.producer_events))
        client = self.topics.fresh("client-only", largest.count)
        self.topics.create(client)
        warm_up = self.topics.warm_up_topic()
        self.results.client_events_per_s = client_rate(client, largest, warm_up)
        for way in (NAIVE_AVRO_BASELINE, OURS):
            settings = self.topics.fresh(f"profile-{PRODUCER_WAYS.index(way)}", count)
            self.topics.create(settings)
            self.results.profiles.append(
                profile(way, count, partial(produce_way, way, settings, plan, warm_up))
            )
            progress(f"profiled {way} at {count:,}")

    def topic_with(self, count: int) -> ConnectionSettings:
        """A topic holding count events: a producer run's, else filled by ours (measured
        as one more producer run)."""
        if count not in self.filled:
            plan = benchmark_plan(count)
            run, settings = measure_producer(OURS, plan, payload_bytes(plan), self.topics)
            progress(f"filled {settings.topic}: {run.events_per_s:,.0f} ev/s")
            self.results.producer.append(run)
            self.filled[count] = settings
        return self.filled[count]

    def consumer_sizes(self) -> list[int]:
        return sorted(set(self.options.consumer_events))

    def consumer_cli(self) -> None:
        report = self.topic_with(self.options.report_events)
        for _ in range(self.options.cli_repeats):
            run = run_consumer_cli(report, self.options.report_events)
            progress(f"consumer CLI {run.events:,}: report after {run.report_seconds:.1f} s")
            self.results.consumer_cli.append(run)
        for count in self.consumer_sizes():
            run = run_consumer_cli(self.topic_with(count), count)
            progress(f"consumer CLI {count:,}: {run.peak_rss_bytes / 2**20:,.0f} MiB peak")
            self.results.consumer_cli.append(run)

    def consumer_in_process(self) -> None:
        counts = self.consumer_sizes()
        warm_up_counts = sorted({self.options.report_events, counts[0]})
        variant_count = self.options.variant_events
        rules_count = self.options.rules_events
        migration_count = self.options.migration_events
        needed = {
            *warm_up_counts,
            *counts,
            *(c for c in (variant_count, rules_count, migration_count) if c),
        }
        major_2, fallback = self.major_2_topics(migration_count)
        base = self.topics.base
        dead_letters_topic, dead_letters_records = "", 0
        dead_letter_topics: list[str] = []
        if self.options.dead_letters_events:
            settings, dead_letters_records = fill_breakers_and_poison(
                self.topics, self.options.dead_letters_events
            )
            dead_letters_topic = settings.topic
            dead_letter_topics = [
                self.topics.fresh("dlq", 0).topic for _ in range(self.options.ratio_repeats)
            ]
        probe = run_spark_probe(
            SparkProbeRequest(
                bootstrap_servers=base.bootstrap_servers,
                schema_registry_url=base.registry.url,
                topics={str(count): self.topic_with(count).topic for count in sorted(needed)},
                warm_up_counts=warm_up_counts,
                counts=counts,
                variant_count=variant_count,
                ratio_repeats=self.options.ratio_repeats,
                rules_count=rules_count,
                migration_count=migration_count,
                major_2_topic=major_2,
                fallback_topic=fallback,
                dead_letters_topic=dead_letters_topic,
                dead_letters_records=dead_letters_records,
                dead_letter_topics=dead_letter_topics,
            )
        )
        if dead_letter_topics:
            self.results.limits.append(
                dead_letters_ratio(dead_letters_records, probe.dead_letters_cost)
            )
        self.results.limits.append(consumer_ratio(max(counts), probe.read_limit))
        self.results.limits.append(rules_on_read_ratio(rules_count, probe.rules_cost))
        self.results.limits.append(migration_on_read_ratio(migration_count, probe.migration_cost))
        self.results.migration_fallback = probe.migration_fallback
        self.results.consumer.extend(probe.consumer)
        self.results.variants = probe.variants
        self.results.default_min_partitions = probe.default_min_partitions
        self.results.default_shuffle_partitions = probe.default_shuffle_partitions

    def major_2_topics(self, count: int) -> tuple[str, str]:
        """Topics of count events written in major 2: with the example's rules, and with
        its DOWNGRADE rule outside the compiled subset (none when count is 0)."""
        if not count:
            return "", ""
        written = []
        for purpose, document in (
            ("major-2", major_2_document()),
            ("fallback", fallback_document()),
        ):
            settings = write_major_2(self.topics, count, purpose, document)
            progress(f"wrote {settings.topic}: {count:,} events in major 2")
            written.append(settings.topic)
        return written[0], written[1]

    def plain_python(self) -> None:
        for count in self.consumer_sizes():
            run = time_plain_python(self.topic_with(count), count)
            progress(f"plain Python {count:,}: {run.records_per_s:,.0f} rec/s")
            self.results.consumer.append(run)

    def inspector(self) -> None:
        topic = self.topic_with(self.options.inspector_events).topic
        pages = middle_page_times(self.topics.base, topic)
        progress(describe_pages(pages))
        self.results.inspector_pages = pages

    def follow(self) -> None:
        """Follow (rules, dead letters) in this process's Spark session: latency under a
        light load, catching up on a backlog beside batch consume(), then the rates it
        keeps up with."""
        spark = follow_spark()
        for run in latency_runs(spark, self.topics):
            progress(describe(run))
            self.results.follow.append(run)
        events = self.options.follow_backlog_events
        backlog = fill_backlog(self.topics, events)
        clean = self.topic_with(events)
        catch_up = measure_catch_up(spark, self.topics, backlog, clean, events)
        progress(describe_catch_up(catch_up))
        self.results.follow_catch_up = catch_up
        for run in sustained_runs(spark, self.topics, catch_up, self.options.sustained_seconds):
            progress(describe(run))
            self.results.sustained.append(run)
        self.checkpoint_on_hdfs(spark, backlog)

    def checkpoint_on_hdfs(self, spark: SparkSession, backlog: ConnectionSettings) -> None:
        """follow's checkpoint on HDFS against on a local path, catching up on the backlog
        in bounded batches (each batch writes its checkpoint), pairs interleaved."""
        hdfs_url, per_batch = self.options.hdfs_url, self.options.checkpoint_batch
        if hdfs_url is None:
            progress("no HDFS (STACK_HDFS=1 scripts/local-stack.sh up): checkpoint row skipped")
            return
        events = self.options.follow_backlog_events
        runs = []
        for _ in range(self.options.ratio_repeats):
            runs.append(checkpoint_pair(spark, self.topics, backlog, events, hdfs_url, per_batch))
            progress(
                f"follow, {events:,} in batches of {per_batch:,}: checkpoint local "
                f"{runs[-1].limit_seconds:.1f} s, on HDFS {runs[-1].ours_seconds:.1f} s"
            )
        self.results.limits.append(checkpoint_on_hdfs_ratio(events, per_batch, runs))
