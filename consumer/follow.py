"""Follow a live topic: a Structured Streaming query whose micro-batches are counted,
exactly once, into running statistics kept in the checkpoint (consumer.batch_counter).

This module runs the query: it starts it on the checkpoint, looks at the topic between
batches (the lag, the consumer group's offsets, --until-idle), starts it again after a
failure until --max-wait has passed without a batch counted, and stops it between batches
when asked to. Whether the run makes progress is served for Prometheus
(consumer.follow_metrics). docs/follow.md has the whole argument and its limits.
"""

from __future__ import annotations

import time

from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession
from pyspark.sql.streaming.query import StreamingQuery

from connection.settings import ConnectionSettings
from consumer.batch_counter import BatchCounter
from consumer.errors import ConsumerError, first_line
from consumer.follow_options import FollowOptions
from consumer.source import stream_topic
from consumer.state import FollowState
from consumer.supervision import (
    LONGEST_RETRY_WAIT_S,
    BrokerWatch,
    StopRequested,
    StopSignal,
    stop_query,
)

POLL_S = 1  # seconds between the driver's looks at signals, idleness and the query
#: Healthy while a batch was counted within this many triggers (or one runs, or the run
#: is idle at the end of the topic).
HEALTHY_TRIGGERS = 3
#: How long stopping the query may wait for its thread: one blocked in Spark's retries
#: against a broker that is gone does not end sooner (the process exits anyway).
STOP_TIMEOUT_MS = 10_000


class Follower:
    """Runs the streaming query until stopped, its batches counted by counter (prepared
    first; its checkpoint is opened here unless it is already)."""

    def __init__(self, counter: BatchCounter) -> None:
        self.counter = counter
        self.query: StreamingQuery | None = None
        self.query_started = 0.0  # a start is progress, as a counted batch is
        self.broker: BrokerWatch | None = None

    @property
    def stop(self) -> StopSignal:
        """What ends the run: the query between batches, a batch before it counts."""
        return self.counter.stop

    @property
    def settings(self) -> ConnectionSettings:
        return self.counter.settings

    @property
    def options(self) -> FollowOptions:
        return self.counter.options

    def start_query(self, spark: SparkSession) -> StreamingQuery:
        return (
            stream_topic(spark, self.settings, self.options.max_offsets_per_trigger)
            .writeStream.foreachBatch(self.counter.process)
            .trigger(processingTime=f"{self.options.trigger_seconds:g} seconds")
            .option("checkpointLocation", self.options.checkpoint)
            .queryName(f"follow-{self.settings.topic}")
            .start()
        )

    def between_batches(self) -> bool:
        """While no batch runs: the state's positions observed again at least every
        trigger (the group's offsets committed again, so the broker never expires them;
        the lag refreshed); True once --until-idle's time has come: nothing new for that
        long and nothing left unread."""
        counter = self.counter
        now = time.monotonic()
        limit = self.options.until_idle_s
        idle_long_enough = limit is not None and now - counter.last_arrival >= limit
        due = now - counter.last_observed >= self.options.trigger_seconds
        if not (idle_long_enough or due):
            return False
        if not counter.batch_running.acquire(blocking=False):
            return False
        try:
            return counter.observe(counter.state) == 0 and idle_long_enough
        finally:
            counter.batch_running.release()

    def health(self) -> str | None:
        """None while the run makes progress: its query runs and a batch is running
        (however long a catch-up takes), or one was counted within HEALTHY_TRIGGERS
        triggers, or it is idle at the end of the topic; else why not, in one line."""
        query, counter = self.query, self.counter
        try:
            active = query is not None and query.isActive
        except (PySparkException, Py4JError):
            active = False
        if not active:
            return "the streaming query is not running"
        if counter.batch_running.locked():
            return None
        silent_s = self.broker.silent_s() if self.broker is not None else None
        if silent_s is not None:
            return (
                f"Kafka broker unreachable at {self.settings.bootstrap_servers} "
                f"for {silent_s:.0f} s"
            )
        since = time.monotonic() - max(counter.last_counted, self.query_started)
        if since <= HEALTHY_TRIGGERS * self.options.trigger_seconds or counter.last_lag == 0:
            return None
        stalled = f"no micro-batch counted for {since:.0f} s"
        if counter.last_lag is None:  # the last ask for the end offsets went unanswered
            return (
                f"Kafka broker unreachable at {self.settings.bootstrap_servers} "
                f"(no answer for the topic's offsets); {stalled}"
            )
        trigger = self.options.trigger_seconds
        return f"{stalled} (trigger {trigger:g} s), {counter.last_lag} records behind"

    def run(self, spark: SparkSession) -> FollowState:
        """Follow until stopped (signal, --until-idle); the state at the end. ConsumerError
        when the query fails for good (after --max-wait of retries)."""
        spark.conf.set("spark.sql.streaming.stopTimeout", str(STOP_TIMEOUT_MS))
        counter = self.counter
        if counter.checkpoint is None:
            counter.open_checkpoint(spark)
        counter.show_saved()
        failing_since: float | None = None
        while True:
            batches_before = counter.state.last_batch_id
            query: StreamingQuery | None = None
            try:  # starting reads the checkpoint: it fails while its filesystem is away
                query = self.query = self.start_query(spark)
                self.query_started = time.monotonic()
                self.watch(query)
                return counter.state
            except StopRequested:
                return counter.state
            except (PySparkException, Py4JError) as error:
                if counter.fatal is not None:
                    raise counter.fatal from None
                if self.stop.requested:
                    return counter.state
                now = time.monotonic()
                if failing_since is None or counter.state.last_batch_id != batches_before:
                    failing_since = now
                if now - failing_since >= self.options.max_wait_s:
                    raise ConsumerError(
                        f"streaming query failed (gave up after {self.options.max_wait_s:g} s): "
                        f"{first_line(error)}"
                    ) from None
                if self.stop.wait(min(LONGEST_RETRY_WAIT_S, self.options.max_wait_s)):
                    return counter.state
            finally:
                if query is not None:
                    stop_query(query)

    def watch(self, query: StreamingQuery) -> None:
        """Wait for the query to end or to be asked to end (between batches), checking the
        broker meanwhile: one that has not answered for --max-wait ends the run."""
        broker = self.broker
        if broker is None:  # one watch for the run: a restarted query does not reset it
            broker = self.broker = BrokerWatch(
                self.counter.clients.admin,
                self.settings.bootstrap_servers,
                self.options.max_wait_s,
            )
        while not query.awaitTermination(POLL_S):
            if not self.stop.requested and self.between_batches():
                self.stop.request()
            if self.stop.requested:
                # The current batch finishes and saves its state first; a batch starting
                # after this sees the stop and raises before counting anything.
                with self.counter.batch_running:
                    pass
                query.stop()
                return
            broker.check()
