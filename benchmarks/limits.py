"""Each headline figure against its limit on this machine, measured in the same run.

The machine is shared, so an absolute time says little; a ratio to a limit measured right
before, on the same events, says how far from the machine's best a figure is. Every
repeat runs the limit, then ours (interleaved), and the ratio table shows min / median /
max of the per-repeat ratios.

- start-up: `python -m consumer` on the report topic, whole process, against a bare
  PySpark process (the session as connection.spark builds it for a short run,
  `spark.range(1).count()`, stop); both with the class-data archive. Two reference rows
  beside it: the bare start without the archive (what the archive saves), and a bare
  process that reads the report's topic with Spark's Kafka source to the noop sink, no
  decode (how much of ours the Kafka source alone takes), read as consume() reads it
  (consumer.source.read_topic with consume()'s minPartitions choice).
- producer: ours uncompressed against the same client settings sending one pre-encoded
  event in a loop (benchmarks.producing.client_rate).
- consumer: consume() against Spark's Kafka source alone, read to the noop sink the way
  consume() reads (benchmarks.consumer_spark, run by benchmarks.spark_probe in its warm
  session).
- rules on read: consume() judging the contract's rules against consume() with an empty
  ruleSet, on the same topic in the probe's warm session.
- rules on write: ours judging every event by the rules against ours with --no-rules.
- migration on read: consume() on events written in the contract's major 2 and read as
  major 1 (the report's default reader) through the DOWNGRADE rule compiled to Spark
  columns, against consume() on the same events written in major 1 (benchmarks.majors
  writes the major-2 topic), in the probe's warm session. Beside it, without a target,
  the rate of the same read with the rule outside the compiled subset (jsonata-python).
- dead letters on read: consume() with --dlq against without, on a topic with 1% rule
  breakers and 0.1% poison (benchmarks.dead_letters), in the probe's warm session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.consumer_cli import run_consumer_cli
from benchmarks.machine import load_average
from benchmarks.producing import benchmark_plan, client_rate, produce_ours, produce_way
from benchmarks.results import (
    CHECKPOINT_ON_HDFS,
    CLASS_DATA_REFERENCE,
    CONSUMER_LIMIT,
    DEAD_LETTERS_ON_READ,
    KAFKA_READ_REFERENCE,
    MIGRATION_ON_READ,
    OURS_UNCOMPRESSED,
    PRODUCER_LIMIT,
    RATE,
    REPORT_AGAINST_READ,
    RULES_ON_READ,
    RULES_ON_WRITE,
    START_UP_LIMIT,
    TIME,
    LimitRatio,
    PairedRun,
)
from benchmarks.topics import RunTopics
from connection.class_data import ENV_SWITCH
from connection.defaults import DEFAULTS
from connection.paths import REPO_ROOT
from connection.services import Clients
from connection.settings import ConnectionSettings, spark_settings_from_env
from consumer.batch import ConsumerOptions, check_sources
from consumer.class_data import make_archive

START_UP_TARGET = 1.15  # ours at most this many times the bare start
PRODUCER_TARGET = 0.6  # ours at least this share of the raw produce rate
CONSUMER_TARGET = 0.75  # ours at least this share of Spark's Kafka read rate
RULES_ON_READ_TARGET = 1.10  # consume() with the rules at most this many times without
MIGRATION_ON_READ_TARGET = 1.15  # consume() of major 2 read as major 1, at most this many
# times consume() of the same events written in major 1
CHECKPOINT_ON_HDFS_TARGET = 0.9  # follow's rate, checkpoint on HDFS, at least this share
# of the same with its checkpoint on a local path
DEAD_LETTERS_TARGET = 1.15  # consume() with --dlq at most this many times without

# The session as the 5k report's is built: a short run's.
BARE_SESSION = f"""
from dataclasses import replace
from connection.settings import spark_settings_from_env
from connection.spark import build_spark_session
settings = replace(spark_settings_from_env({DEFAULTS.spark_master!r}), short_run=True)
spark = build_spark_session(settings)
"""
BARE_START = BARE_SESSION + "spark.range(1).count()\nspark.stop()\n"


def bare_read(topic: ConnectionSettings) -> str:
    """A bare process reading every record of topic with Spark's Kafka source to the noop
    sink, no decode: through the consumer's read (consumer.source.read_topic), with the
    minPartitions consume() would choose. What that choice depends on (partitions and
    offsets, checked here, before the process starts) goes into the script as literals,
    so the process itself asks nothing of the broker or the registry before Spark reads.
    """
    checked = check_sources(Clients.of(topic), topic, ConsumerOptions())
    offsets = ", ".join(
        f"{p}: OffsetRange({r.earliest}, {r.latest})" for p, r in sorted(checked.offsets.items())
    )
    return BARE_SESSION + (
        "from connection.settings import ConnectionSettings, RegistrySettings\n"
        "from consumer.batch import CheckedTopic, ConsumerOptions, read_min_partitions\n"
        "from consumer.source import OffsetRange, read_topic\n"
        f"topic = CheckedTopic({checked.partitions}, {{{offsets}}}, None)\n"
        "source = ConnectionSettings("
        f"{topic.bootstrap_servers!r}, RegistrySettings({topic.registry.url!r}), {topic.topic!r})\n"
        "min_partitions = read_min_partitions(spark, topic, ConsumerOptions())\n"
        "read_topic(spark, source, min_partitions)"
        '.write.format("noop").mode("overwrite").save()\n'
        "spark.stop()\n"
    )


class BareStartFailed(RuntimeError):
    """The bare PySpark process exited with an error."""


def ensure_class_data() -> str:
    """Make the install's class-data archive if missing; what happened, for the log."""
    archive = spark_settings_from_env(DEFAULTS.spark_master).class_data_archive
    if archive is None:
        return "class-data archive: none for this Java runtime"
    made_before = archive.is_file()
    if made_before or make_archive(archive):
        return f"class-data archive {archive.name} ({'reused' if made_before else 'made'})"
    return "class-data archive: could not be made (starts run without)"


def bare_start_seconds(class_data: bool, script: str = BARE_START) -> float:
    """Wall seconds of a bare PySpark process running script, from its start to its exit."""
    env = {**os.environ, ENV_SWITCH: "on" if class_data else "off"}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise BareStartFailed(result.stderr.decode(errors="replace")[-2000:])
    return seconds


@dataclass(frozen=True)
class StartUpRatios:
    ours: LimitRatio  # against the bare start
    against_read: LimitRatio  # ours against a bare read of the report's topic
    archive: LimitRatio  # the bare start with the class-data archive, against without
    kafka_read: LimitRatio  # a bare read of the report's topic, against the bare start


def start_up_ratios(
    report: ConnectionSettings, events: int, repeats: int, progress: Callable[[str], None]
) -> StartUpRatios:
    """Ours (`python -m consumer`, process start to exit), the bare start without the
    class-data archive and the bare Kafka read, each paired with the bare start."""
    ours_runs, archive_runs, read_runs, against_read_runs = [], [], [], []
    read_script = bare_read(report)
    for _ in range(repeats):
        without = bare_start_seconds(class_data=False)
        bare = bare_start_seconds(class_data=True)
        read = bare_start_seconds(class_data=True, script=read_script)
        ours = run_consumer_cli(report, events).exit_seconds
        load = load_average()
        ours_runs.append(PairedRun(bare, ours, load))
        archive_runs.append(PairedRun(without, bare, load))
        read_runs.append(PairedRun(bare, read, load))
        against_read_runs.append(PairedRun(read, ours, load))
        progress(
            f"start: bare {without:.1f} s, with archive {bare:.1f} s, "
            f"bare Kafka read {read:.1f} s, ours {ours:.1f} s"
        )
    bare_limit = "bare PySpark process: session, `spark.range(1).count()`, stop"
    return StartUpRatios(
        ours=LimitRatio(
            START_UP_LIMIT,
            f"`python -m consumer`, {events:,}-event report, process start to exit",
            bare_limit,
            events,
            TIME,
            START_UP_TARGET,
            ours_runs,
        ),
        against_read=LimitRatio(
            REPORT_AGAINST_READ,
            f"`python -m consumer`, {events:,}-event report, process start to exit",
            f"bare PySpark process reading the {events:,}-event topic with Spark's Kafka "
            "source to the noop sink as consume() reads it",
            events,
            TIME,
            START_UP_TARGET,
            against_read_runs,
        ),
        archive=LimitRatio(
            CLASS_DATA_REFERENCE,
            "bare PySpark process with the class-data archive",
            "the same without it",
            0,
            TIME,
            1.0,
            archive_runs,
        ),
        kafka_read=LimitRatio(
            KAFKA_READ_REFERENCE,
            f"bare PySpark process reading the {events:,}-event topic with Spark's Kafka "
            "source to the noop sink as consume() reads it (no decode, no statistics)",
            bare_limit,
            events,
            TIME,
            START_UP_TARGET,
            read_runs,
        ),
    )


Producing = tuple[str, Callable[[ConnectionSettings], float]]  # name, seconds onto a topic


def paired_produce(
    topics: RunTopics,
    events: int,
    repeats: int,
    limit: Producing,
    ours: Producing,
    progress: Callable[[str], None],
) -> list[PairedRun]:
    """repeats pairs: the limit's way of producing events, then ours, each onto a fresh
    topic of its own (created, with leaders, before its clock starts)."""
    runs = []
    for _ in range(repeats):
        seconds = []
        for name, produce_onto in (limit, ours):
            topic = topics.fresh(name, events)
            topics.create(topic)
            seconds.append(produce_onto(topic))
        runs.append(PairedRun(seconds[0], seconds[1], load_average()))
        progress(
            f"produce {events:,}: {limit[0]} {events / seconds[0]:,.0f} ev/s, "
            f"{ours[0]} {events / seconds[1]:,.0f} ev/s"
        )
    return runs


def producer_ratio(
    topics: RunTopics, events: int, repeats: int, progress: Callable[[str], None]
) -> LimitRatio:
    """Ours uncompressed against one pre-encoded event sent in a loop, same client config."""
    plan = benchmark_plan(events)
    warm_up = topics.warm_up_topic()
    runs = paired_produce(
        topics,
        events,
        repeats,
        ("raw", lambda raw: events / client_rate(raw, plan, warm_up, compression="none")),
        ("ours", lambda ours: produce_way(OURS_UNCOMPRESSED, ours, plan, warm_up)),
        progress,
    )
    return LimitRatio(
        PRODUCER_LIMIT,
        f"producer, {events:,} events, acks=all + idempotent, uncompressed",
        "the same client sending one pre-encoded event in a loop",
        events,
        RATE,
        PRODUCER_TARGET,
        runs,
    )


def rules_on_read_ratio(events: int, runs: list[PairedRun]) -> LimitRatio:
    """consume() with the contract's rules against without (pairs measured in the probe)."""
    return LimitRatio(
        RULES_ON_READ,
        f"consume() at {events:,} records judging the contract's three rules (warm session)",
        "consume() on the same topic with an empty ruleSet",
        events,
        TIME,
        RULES_ON_READ_TARGET,
        runs,
    )


def migration_on_read_ratio(events: int, runs: list[PairedRun]) -> LimitRatio:
    """consume() of major-2 events read as major 1 against the same events written in
    major 1 (pairs measured in the probe)."""
    return LimitRatio(
        MIGRATION_ON_READ,
        f"consume() at {events:,} records written in major 2, read as major 1 through the "
        "DOWNGRADE rule `cents-to-price` compiled to Spark columns (warm session)",
        "consume() on the same events written in major 1",
        events,
        TIME,
        MIGRATION_ON_READ_TARGET,
        runs,
    )


def checkpoint_on_hdfs_ratio(events: int, per_batch: int, runs: list[PairedRun]) -> LimitRatio:
    """follow catching up in bounded batches, its checkpoint on HDFS against on a local
    path (pairs measured by benchmarks.follow.checkpoint_pair)."""
    return LimitRatio(
        CHECKPOINT_ON_HDFS,
        f"follow catching up on {events:,} records in batches of at most {per_batch:,} "
        "(rules, dead letters), its checkpoint and state on the local HDFS",
        "the same with the checkpoint on a local path",
        events,
        RATE,
        CHECKPOINT_ON_HDFS_TARGET,
        runs,
    )


def rules_on_write_ratio(
    topics: RunTopics, events: int, repeats: int, progress: Callable[[str], None]
) -> LimitRatio:
    """Ours judging every event by the rules against ours sending them unjudged."""
    plan = benchmark_plan(events)
    runs = paired_produce(
        topics,
        events,
        repeats,
        ("no-rules", lambda unjudged: produce_ours(unjudged, plan, judge=False)),
        ("rules", lambda judged: produce_ours(judged, plan)),
        progress,
    )
    return LimitRatio(
        RULES_ON_WRITE,
        f"producer, {events:,} events, each judged by the contract's three rules",
        "the same with --no-rules (nothing judged)",
        events,
        RATE,
        None,
        runs,
    )


def consumer_ratio(events: int, runs: list[PairedRun]) -> LimitRatio:
    """consume() against Spark's Kafka source alone (pairs measured in the Spark probe)."""
    return LimitRatio(
        CONSUMER_LIMIT,
        f"consumer, consume() at {events:,} records (warm session)",
        "Spark's Kafka source reading the same topic to a noop sink as consume() reads it "
        "(same read function and minPartitions), no decode",
        events,
        RATE,
        CONSUMER_TARGET,
        runs,
    )


def dead_letters_ratio(records: int, runs: list[PairedRun]) -> LimitRatio:
    """consume() with --dlq against without it (pairs measured in the probe)."""
    return LimitRatio(
        DEAD_LETTERS_ON_READ,
        f"report --dlq at {records:,} records, 1% rule breakers and 0.1% poison (warm session)",
        "consume() on the same topic without --dlq",
        records,
        TIME,
        DEAD_LETTERS_TARGET,
        runs,
    )
