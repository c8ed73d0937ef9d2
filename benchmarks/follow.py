"""Follow mode, judging the contract's rules and writing dead letters, as `consumer follow`
runs by default.

- Under a steady producer (`python -m producer --events-per-second`, its own process,
  --no-rules and 1% of the events breaking a rule, so the reader has letters to write):
  the events counted per second, end-to-end latency, and whether the lag stays bounded.
  Per micro-batch the latency of its records lies between (batch counted - newest
  record's Kafka timestamp) and (batch counted - oldest record's); the run reports the
  median and the largest of the batches' oldest-record latencies. A warm-up event goes
  first; the steady stream starts once the query has counted it (Spark's start is not
  steady state).
- Catching up on a backlog: from the query's start to the batch that counted its last
  record, beside batch consume() (rules, --dlq) on the same topic, and plain consume() on
  a clean topic of as many events (what a user would otherwise run), in the same warm
  session.

The highest offered rate follow keeps up with is searched from half of batch consume()'s
rate (the target): one step up when it keeps up there, one step down when it does not.
Then follow is offered the share of the clean batch's rate it is meant to keep up with
(targets.FOLLOW_CLEAN_MIN_SHARE), at its default trigger.
"""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import SparkSession

from benchmarks.machine import load_average
from benchmarks.results import (
    VIOLATIONS,
    FollowBenchmark,
    FollowCatchUp,
    PairedRun,
    lag_bounded,
)
from benchmarks.targets import FOLLOW_CLEAN_MIN_SHARE
from benchmarks.topics import PARTITIONS, RunTopics
from connection.defaults import DEFAULTS
from connection.hadoop_fs import filesystem_uri
from connection.paths import REPO_ROOT
from connection.services import Clients
from connection.settings import ConnectionSettings, spark_settings_from_env
from connection.spark import build_spark_session
from consumer.batch import ConsumerOptions, consume
from consumer.batch_counter import BatchCounter
from consumer.follow import Follower
from consumer.follow_options import FollowOptions
from consumer.state import FollowState, Update

LATENCY_SECONDS = 60  # long enough for a trend of the lag at a 5 s trigger
LATENCY_RATE = 5_000
#: A trigger shorter than any bounded batch takes: the batches of a catch-up run back to
#: back, so its time is theirs (their checkpoint writes included), not the trigger's.
BACK_TO_BACK_TRIGGER_S = 0.5
SEED = 7


def dead_letters(state: FollowState) -> int:
    """Records follow sent to the dead-letter topic (every rule's onFailure is DLQ)."""
    return sum(state.undecodable.values()) + sum(state.rule_failures.values())


def producer_command(settings: ConnectionSettings, events: int, rate: int | None) -> list[str]:
    """`python -m producer` writing events unjudged, VIOLATIONS of them breaking a rule."""
    return [
        sys.executable,
        "-m",
        "producer",
        *("--bootstrap-servers", settings.bootstrap_servers),
        *("--schema-registry-url", settings.registry.url),
        *("--topic", settings.topic, "--count", str(events), "--seed", str(SEED)),
        *("--partitions", str(PARTITIONS), "--no-rules"),
        *(("--inject-violations", str(VIOLATIONS)) if events > 1 else ()),
        *(("--events-per-second", str(rate)) if rate else ()),
    ]


def run_producer(settings: ConnectionSettings, events: int, rate: int | None = None) -> None:
    subprocess.run(
        producer_command(settings, events, rate),
        cwd=REPO_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def follow_options(
    checkpoint: str, topics: RunTopics, trigger_seconds: float, per_batch: int | None = None
) -> FollowOptions:
    """Follow's defaults with its checkpoint at a Hadoop URI or path, its dead letters in a
    topic of this run, at most per_batch records a micro-batch (None: no bound)."""
    return FollowOptions(
        checkpoint=filesystem_uri(checkpoint),
        trigger_seconds=trigger_seconds,
        until_idle_s=max(10.0, 3 * trigger_seconds),
        dead_letter_topic=topics.fresh("follow-dlq", 0).topic,
        max_offsets_per_trigger=per_batch,
    )


def prepared_follower(
    settings: ConnectionSettings, options: FollowOptions, on_update: Callable[[Update], None]
) -> Follower:
    """Follow of settings' topic with options, its topic and dead-letter topic checked:
    what runs once Spark has started."""
    counter = BatchCounter(Clients.of(settings), settings, options, None, on_update)
    counter.prepare()
    return Follower(counter)


def measure_follow(
    spark: SparkSession,
    topics: RunTopics,
    trigger_seconds: float,
    rate: int,
    seconds: int,
) -> FollowBenchmark:
    """Follow a new topic while a producer offers rate events a second for seconds."""
    events = rate * seconds
    settings = topics.fresh(f"follow-{rate}", events)
    run_producer(settings, 1)  # creates the topic, registers the contract: the warm-up
    updates: list[Update] = []
    writer_failed: list[BaseException] = []
    with tempfile.TemporaryDirectory() as checkpoint:
        options = follow_options(checkpoint, topics, trigger_seconds)
        follower = prepared_follower(settings, options, updates.append)

        def write_after_warm_up() -> None:
            while not updates and not follower.stop.requested:
                time.sleep(0.05)
            if follower.stop.requested:
                return
            try:
                run_producer(settings, events, rate)
            except BaseException as error:  # handed to the measuring thread
                writer_failed.append(error)
                follower.stop.request()

        writer = threading.Thread(target=write_after_warm_up)
        writer.start()
        state = follower.run(spark)
        writer.join()
    if writer_failed:
        raise writer_failed[0]
    if state.messages - 1 != events:
        raise RuntimeError(f"follow counted {state.messages - 1:,} of {events:,} written")
    steady = [u for u in updates[1:] if u.records and u.oldest_record_ms is not None]
    first = min(u.oldest_record_ms or 0 for u in steady) / 1000  # the first steady record
    last = max(u.newest_record_ms or 0 for u in steady) / 1000  # and the last: as written
    latencies = [u.finished_at - (u.oldest_record_ms or 0) / 1000 for u in steady]
    half = (first + last) / 2
    offering = [u for u in steady if u.finished_at <= last]
    first_half = [u.lag or 0 for u in offering if u.finished_at <= half]
    second_half = [u.lag or 0 for u in offering if u.finished_at > half]
    return FollowBenchmark(
        trigger_seconds=trigger_seconds,
        offered_events_per_s=rate,
        written_events_per_s=events / (last - first),
        events=events,
        events_per_s=events / (max(u.finished_at for u in steady) - first),
        batches=len(steady),
        latency_median_s=statistics.median(latencies),
        latency_max_s=max(latencies),
        dead_letters=dead_letters(state),
        lag_first_half=max(first_half, default=0),
        lag_second_half=max(second_half, default=0),
        bounded=lag_bounded(first_half, second_half),
    )


def fill_backlog(topics: RunTopics, events: int) -> ConnectionSettings:
    """A new topic holding events written unjudged, VIOLATIONS of them breaking a rule."""
    settings = topics.fresh("follow-backlog", events)
    run_producer(settings, events)
    return settings


def warm_consume_seconds(
    spark: SparkSession, settings: ConnectionSettings, options: Callable[[], ConsumerOptions]
) -> float:
    """Seconds of consume() on settings' topic with options(), the second of two runs (the
    first warms the session up)."""
    seconds = 0.0
    for _ in range(2):
        started = time.perf_counter()
        consume(spark, Clients.of(settings), settings, options())
        seconds = time.perf_counter() - started
    return seconds


def measure_catch_up(
    spark: SparkSession,
    topics: RunTopics,
    backlog: ConnectionSettings,
    clean: ConnectionSettings,
    events: int,
) -> FollowCatchUp:
    """consume() with --dlq on the backlog and plain consume() on the clean topic (each
    warm), then follow from the backlog's start until it is idle."""
    batch_seconds = warm_consume_seconds(
        spark,
        backlog,
        lambda: ConsumerOptions(dead_letter_topic=topics.fresh("batch-dlq", 0).topic),
    )
    clean_batch_seconds = warm_consume_seconds(spark, clean, ConsumerOptions)
    with tempfile.TemporaryDirectory() as checkpoint:
        following = follow_options(checkpoint, topics, DEFAULTS.follow_trigger_s)
        caught_up = catch_up(spark, backlog, events, following)
    return FollowCatchUp(
        events=events,
        dead_letters=caught_up.dead_letters,
        seconds=caught_up.seconds,
        batches=caught_up.batches,
        batch_seconds=batch_seconds,
        load=load_average(),
        clean_batch_seconds=clean_batch_seconds,
    )


@dataclass(frozen=True)
class CaughtUp:
    seconds: float  # from follow's start to the batch that counted the backlog's last record
    batches: int
    dead_letters: int


def catch_up(
    spark: SparkSession, backlog: ConnectionSettings, events: int, options: FollowOptions
) -> CaughtUp:
    """Follow with options from the backlog's start until it is idle."""
    updates: list[Update] = []
    follower = prepared_follower(backlog, options, updates.append)
    started_at = time.time()
    state = follower.run(spark)
    if state.messages != events:
        raise RuntimeError(f"follow counted {state.messages:,} of {backlog.topic}'s {events:,}")
    done = min(u.finished_at for u in updates if u.state.messages == events)
    return CaughtUp(done - started_at, sum(1 for u in updates if u.records), dead_letters(state))


def checkpoint_pair(
    spark: SparkSession,
    topics: RunTopics,
    backlog: ConnectionSettings,
    events: int,
    hdfs_url: str,
    per_batch: int,
) -> PairedRun:
    """follow catching up on backlog in batches of at most per_batch records, its
    checkpoint on a local path (the limit), then on HDFS (ours): each batch's offset log,
    commit log and state file are written where the checkpoint is."""

    def caught_up_at(checkpoint: str) -> float:
        options = follow_options(checkpoint, topics, BACK_TO_BACK_TRIGGER_S, per_batch)
        return catch_up(spark, backlog, events, options).seconds

    with tempfile.TemporaryDirectory() as local:
        on_disk = caught_up_at(local)
    unique = f"{backlog.topic}-{uuid.uuid4().hex[:8]}"
    return PairedRun(on_disk, caught_up_at(f"{hdfs_url}/prices-bench/{unique}"), load_average())


def follow_spark() -> SparkSession:
    return build_spark_session(spark_settings_from_env("local[*]"), app_name="prices-bench-follow")


def latency_runs(spark: SparkSession, topics: RunTopics) -> list[FollowBenchmark]:
    """Follow at 5 s and 1 s triggers under the same light load."""
    return [
        measure_follow(spark, topics, trigger, LATENCY_RATE, LATENCY_SECONDS)
        for trigger in (5.0, 1.0)
    ]


def sustained_runs(
    spark: SparkSession, topics: RunTopics, catch_up: FollowCatchUp, seconds: int
) -> list[FollowBenchmark]:
    """Follow at its default trigger, offered for seconds: half of batch consume()'s rate
    (--dlq), then three quarters of it if it kept up there, else a quarter; then the
    clean batch's rate times FOLLOW_CLEAN_MIN_SHARE."""
    trigger = DEFAULTS.follow_trigger_s
    batch = catch_up.batch_events_per_s
    half = measure_follow(spark, topics, trigger, math.ceil(batch / 2), seconds)
    step = 0.75 if half.bounded else 0.25
    other = measure_follow(spark, topics, trigger, math.ceil(batch * step), seconds)
    clean_rate = math.ceil(catch_up.clean_batch_events_per_s * FOLLOW_CLEAN_MIN_SHARE)
    clean = measure_follow(spark, topics, trigger, clean_rate, seconds)
    return sorted([half, other, clean], key=lambda run: run.offered_events_per_s)


def describe(run: FollowBenchmark) -> str:
    return (
        f"follow, trigger {run.trigger_seconds:g} s, {run.offered_events_per_s:,} ev/s offered "
        f"({run.written_events_per_s:,.0f} written): {run.events:,} counted at "
        f"{run.events_per_s:,.0f} ev/s, "
        f"{run.batches} batches, latency median {run.latency_median_s:.1f} s, "
        f"max {run.latency_max_s:.1f} s, lag {run.lag_first_half:,} -> "
        f"{run.lag_second_half:,} ({'bounded' if run.bounded else 'growing'}), "
        f"{run.dead_letters:,} dead letters"
    )


def describe_catch_up(run: FollowCatchUp) -> str:
    return (
        f"follow caught up on {run.events:,} in {run.seconds:.1f} s "
        f"({run.events_per_s:,.0f} ev/s, {run.batches} batches, {run.dead_letters:,} dead "
        f"letters); consume() with --dlq {run.batch_seconds:.1f} s "
        f"({run.batch_events_per_s:,.0f} ev/s); consume() on a clean topic "
        f"{run.clean_batch_seconds:.1f} s ({run.clean_batch_events_per_s:,.0f} ev/s)"
    )
