"""Follow a live topic: a Structured Streaming query whose micro-batches are decoded like
batch mode and merged, exactly once, into running statistics kept in the checkpoint.

Spark's ``foreachBatch`` hands each micro-batch over as an ordinary DataFrame, so the
decode is rebuilt per batch from the writer schema ids the batch carries: an id not seen
before is fetched from the registry by id, and a version registered mid-stream decodes
from its first record on. ``foreachBatch`` alone is at-least-once (a batch whose offsets
were logged but not committed runs again after a crash, with the same id and offsets);
the state file names the last batch it includes and is replaced atomically, and a batch
it already includes is skipped. See docs/follow.md for the whole argument and its limits.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from py4j.protocol import Py4JError
from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.query import StreamingQuery

from connection.clients import (
    RegistryFailure,
    RegistryNotFound,
    RegistryRejected,
    RegistryUnreachable,
    registry_call,
    registry_client,
    spark_kafka_options,
)
from connection.kafka import BrokerCheckFailed, admin_client, cluster_metadata
from connection.settings import ConnectionSettings
from consumer.analysis import utc_from_micros
from consumer.batch import reader_schema_from_file
from consumer.decoding import CURRENCY, decoded_records
from consumer.errors import ConsumerError
from consumer.framing import UNDECODABLE, split_frames
from consumer.report import Outlier
from consumer.state import (
    BatchSummary,
    FollowState,
    GroupKey,
    RunningStatistics,
    StateFileError,
    load_state,
    save_state,
)
from consumer.statistics import GROUP_COLUMNS, outliers, record_summary, statistics_frame
from consumer.writer_schemas import ReaderSchema, SubjectNotRegistered, WriterSchemas

#: Test seam, for tests only: after saving the state of a batch with at least this id,
#: the process kills itself (SIGKILL) before Spark commits the batch.
SIGKILL_AFTER_STATE_SAVED = "PRICES_FOLLOW_TEST_SIGKILL_AFTER_STATE_SAVED"
OFFSETS_TIMEOUT_S = 5.0
FIRST_RETRY_WAIT_S, LONGEST_RETRY_WAIT_S = 0.5, 5.0
POLL_S = 1  # seconds between the driver's looks at signals, idleness and the query
BROKER_CHECK_S = 5.0  # seconds between the driver's own checks that the broker answers
#: How long stopping the query may wait for its thread: one blocked in Spark's retries
#: against a broker that is gone does not end sooner (the process exits anyway).
STOP_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class FollowOptions:
    checkpoint: Path
    trigger_seconds: float = 5.0
    z_threshold: float = 3.0
    min_count: int = 30
    reader_schema_file: Path | None = None
    until_idle_s: float | None = None
    max_wait_s: float = 60.0


@dataclass(frozen=True)
class Update:
    """One micro-batch counted: what it held, and the totals including it."""

    batch_id: int
    records: int  # Kafka records in this batch
    state: FollowState  # totals so far, this batch included
    new_outliers: list[Outlier]
    lag: int | None  # records behind the end of the topic after this batch (None: unknown)
    seconds: float  # the batch's processing time in this process
    finished_at: float  # time.time() when the batch was counted
    oldest_record_ms: int | None  # Kafka timestamps of the batch's records
    newest_record_ms: int | None

    @property
    def events_per_s(self) -> float | None:
        return self.records / self.seconds if self.records and self.seconds > 0 else None


class StopRequested(Exception):
    """A batch that started after a stop was asked for: not counted, not committed."""


class RetryableFailure(Exception):
    """A call that may succeed later (service unreachable or 5xx); str() is one line."""


def retryable(call: Callable[[], object]) -> Callable[[], object]:
    """call, with the registry failures that may pass (no answer, HTTP 5xx) turned into
    RetryableFailure; any other registry failure (401/403, 4xx) ends the run."""

    def attempt() -> object:
        try:
            return call()
        except RegistryUnreachable as failure:
            raise RetryableFailure(str(failure)) from None
        except RegistryRejected as failure:
            if failure.status >= 500:
                raise RetryableFailure(str(failure)) from None
            raise ConsumerError(str(failure)) from None
        except RegistryFailure as failure:
            raise ConsumerError(str(failure)) from None

    return attempt


def with_retries(call: Callable[[], object], max_wait_s: float, stop: threading.Event) -> None:
    """call() until it stops raising RetryableFailure, waiting 0.5, 1, 2, 4, 5, 5 ... s
    between tries; ConsumerError once max_wait_s has passed, StopRequested if asked to."""
    deadline = time.monotonic() + max_wait_s
    wait = FIRST_RETRY_WAIT_S
    while True:
        try:
            call()
            return
        except RetryableFailure as failure:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConsumerError(f"{failure} (gave up after {max_wait_s:g} s)") from None
        if stop.wait(min(wait, remaining)):
            raise StopRequested
        wait = min(wait * 2, LONGEST_RETRY_WAIT_S)


# --- the steps of one batch (DataFrame -> DataFrame) --------------------------------------


def currency_default(reader_schema: str) -> str | None:
    """The default of the reader's currency field (what records written without one read
    as), or None."""
    for field_ in json.loads(reader_schema)["fields"]:
        if field_["name"] == CURRENCY and isinstance(field_.get("default"), str):
            return str(field_["default"])
    return None


def batch_overview(records: DataFrame) -> DataFrame:
    """Per partition: records, next offset, the framed records' schema ids, and the
    oldest and newest Kafka timestamps (ms)."""
    framed = split_frames(records.select("partition", "offset", "value")).join(
        records.select("partition", "offset", "timestamp"), ["partition", "offset"]
    )
    ms: Column = F.unix_millis("timestamp")
    return framed.groupBy("partition").agg(
        F.count(F.lit(1)).alias("records"),
        (F.max("offset") + 1).alias("next_offset"),
        F.collect_set("schema_id").alias("schema_ids"),
        F.min(ms).alias("oldest_ms"),
        F.max(ms).alias("newest_ms"),
    )


def judged_groups(
    spark: SparkSession, groups: Mapping[GroupKey, RunningStatistics], min_count: int
) -> DataFrame | None:
    """The groups with at least min_count events, as statistics literals; None if none."""
    judged = [s.reported(group) for group, s in groups.items() if s.n >= min_count and s.stddev]
    return statistics_frame(spark, judged) if judged else None


# --- the driver ---------------------------------------------------------------------------


def check_checkpoint(directory: Path, state: FollowState) -> None:
    """The state file and Spark's offset log belong together; one without the other would
    restart the batch ids or the offsets and break the exactly-once count."""
    spark_batches = [p for p in (directory / "commits").glob("[0-9]*")] + [
        p for p in (directory / "offsets").glob("[0-9]*")
    ]
    if state.last_batch_id >= 0 and not spark_batches:
        raise ConsumerError(
            f"checkpoint {directory} has a state file (up to batch {state.last_batch_id}) but "
            "no Spark offset log: remove the state file too, or use a new --checkpoint"
        )
    committed = [int(p.name) for p in (directory / "commits").glob("[0-9]*") if p.name.isdigit()]
    if committed and max(committed) > state.last_batch_id:
        raise ConsumerError(
            f"checkpoint {directory}: Spark committed batch {max(committed)} but the state file "
            f"includes batches up to {state.last_batch_id}: the checkpoint was altered; "
            "use a new --checkpoint"
        )


def topic_offsets(
    admin: AdminClient, topic: str, partitions: int
) -> tuple[dict[int, int], dict[int, int]]:
    """(earliest, latest) offset of every partition; KafkaException if the broker fails."""
    found = []
    specs = (OffsetSpec.earliest(), OffsetSpec.latest())  # type: ignore[no-untyped-call]
    for spec in specs:
        requests = {TopicPartition(topic, p): spec for p in range(partitions)}
        futures = admin.list_offsets(requests, request_timeout=OFFSETS_TIMEOUT_S)
        found.append(
            {tp.partition: f.result(timeout=OFFSETS_TIMEOUT_S).offset for tp, f in futures.items()}
        )
    return found[0], found[1]


def wait_for_topic(settings: ConnectionSettings, max_wait_s: float) -> int:
    """The topic's partition count, waiting up to max_wait_s for it to be created (a
    follower may start before the producer's first run); ConsumerError after that."""
    deadline = time.monotonic() + max_wait_s
    admin = admin_client(settings)
    while True:
        try:
            metadata = cluster_metadata(admin, settings.bootstrap_servers)
        except BrokerCheckFailed as error:
            raise ConsumerError(str(error)) from None
        topic = metadata.topics.get(settings.topic)
        if topic is not None and topic.error is None:
            return len(topic.partitions)
        if time.monotonic() >= deadline:
            raise ConsumerError(
                f"topic {settings.topic} does not exist on {settings.bootstrap_servers} "
                f"(waited {max_wait_s:g} s for it)"
            )
        time.sleep(1)


class Follower:
    """Runs the streaming query until stopped; every counted batch goes to on_update."""

    def __init__(
        self,
        spark: SparkSession,
        settings: ConnectionSettings,
        options: FollowOptions,
        on_update: Callable[[Update], None],
    ) -> None:
        self.spark = spark
        spark.conf.set("spark.sql.streaming.stopTimeout", str(STOP_TIMEOUT_MS))
        self.settings = settings
        self.options = options
        self.on_update = on_update
        self.partitions = wait_for_topic(settings, options.max_wait_s)
        self.admin = admin_client(settings)
        self.registry = registry_client(settings.registry)
        self.writers = WriterSchemas(self.registry, settings.registry)
        self.reader: ReaderSchema | None = (
            reader_schema_from_file(options.reader_schema_file)
            if options.reader_schema_file
            else None
        )
        try:
            self.state = load_state(options.checkpoint)
        except StateFileError as error:
            raise ConsumerError(str(error)) from None
        check_checkpoint(options.checkpoint, self.state)
        self.stop = threading.Event()
        self.batch_running = threading.Lock()
        self.fatal: ConsumerError | None = None
        self.last_arrival = time.monotonic()

    # -- signals and stopping

    def request_stop(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        self.stop.set()

    def install_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self.request_stop)
            signal.signal(signal.SIGTERM, self.request_stop)

    # -- one micro-batch (runs in py4j's callback thread)

    def process(self, records: DataFrame, batch_id: int) -> None:
        with self.batch_running:
            if self.stop.is_set():
                raise StopRequested  # the batch is not committed: a restart runs it
            if self.state.includes(batch_id):
                return  # replayed after a crash: its records are counted already
            try:
                self.count_batch(records, batch_id)
            except ConsumerError as error:
                self.fatal = error
                raise

    def count_batch(self, records: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        records = records.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            overview = batch_overview(records).collect()
            count = sum(int(row["records"]) for row in overview)
            ids = {int(i) for row in overview for i in row["schema_ids"]}
            if count:
                self.last_arrival = time.monotonic()
            new_ids = ids - set(self.writers.known) - self.writers.unknown
            if new_ids:
                with_retries(
                    retryable(lambda: self.writers.add_ids(new_ids)),
                    self.options.max_wait_s,
                    self.stop,
                )
            if count and (self.reader is None or new_ids) and not self.options.reader_schema_file:
                with_retries(retryable(self.refresh_reader), self.options.max_wait_s, self.stop)
            default = currency_default(self.reader.schema) if self.reader else None
            if default is not None:
                self.state = self.state.with_currency_default(default)
            batch, found = self.summarise(records, batch_id, count, overview)
            state = self.state.merged(batch)
        finally:
            records.unpersist()
        oldest = [row["oldest_ms"] for row in overview if row["oldest_ms"] is not None]
        newest = [row["newest_ms"] for row in overview if row["newest_ms"] is not None]
        update = Update(
            batch_id=batch_id,
            records=count,
            state=state,
            new_outliers=found,
            lag=self.lag(state),
            seconds=time.monotonic() - started,
            finished_at=time.time(),
            oldest_record_ms=min(oldest) if oldest else None,
            newest_record_ms=max(newest) if newest else None,
        )
        # Shown before the commit: after a crash right here the batch runs again and is
        # shown again (same batch_id); a batch committed is never shown twice.
        self.on_update(update)
        save_state(self.options.checkpoint, state)
        self.state = state
        kill_at = os.environ.get(SIGKILL_AFTER_STATE_SAVED)
        if kill_at is not None and batch_id >= int(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)

    def refresh_reader(self) -> None:
        """The subject's latest version as the reader schema. Asked afresh each time (the
        client's get_latest_version answers from a cache that never expires)."""
        subject, registry = self.settings.value_subject, self.settings.registry
        try:
            with registry_call(registry, f"versions of {subject}"):
                latest = max(self.registry.get_versions(subject))
            with registry_call(registry, f"{subject} version {latest}"):
                registered = self.registry.get_version(subject, latest)
        except RegistryNotFound:
            raise SubjectNotRegistered(
                f"subject {subject} is not in the registry at {registry.url}: nothing says "
                "how to read the topic (give --reader-schema FILE)"
            ) from None
        self.reader = ReaderSchema(
            schema=registered.schema.schema_str or "",
            source=f"{subject} version {registered.version} (id {registered.schema_id})",
        )

    def summarise(
        self, records: DataFrame, batch_id: int, count: int, overview: list[Row]
    ) -> tuple[BatchSummary, list[Outlier]]:
        """The batch's own counts and statistics, and its events beyond the z-threshold of
        their group's statistics with this batch included."""
        next_offsets = {int(r["partition"]): int(r["next_offset"]) for r in overview}
        if not count or self.reader is None:
            empty = BatchSummary(batch_id, 0, 0, {}, frozenset(), {}, next_offsets)
            return empty, []
        decoded = decoded_records(records, self.writers.known, self.reader.schema).persist(
            StorageLevel.MEMORY_AND_DISK
        )
        try:
            rows = record_summary(decoded).collect()
            groups: dict[GroupKey, RunningStatistics] = {}
            undecodable: dict[str, int] = {}
            writer_ids: set[int] = set()
            decoded_count = 0
            for row in rows:
                n = int(row["count"])
                if row["reason"] is None:
                    decoded_count += n
                    writer_ids.update(int(i) for i in row["schema_ids"])
                    groups[(row["symbol"], row["currency"])] = RunningStatistics(
                        n=n, mean=row["mean"], m2=row["m2"], min=row["min"], max=row["max"]
                    )
                else:
                    undecodable[row["reason"]] = undecodable.get(row["reason"], 0) + n
                    if row["reason"] == UNDECODABLE:
                        writer_ids.update(int(i) for i in row["schema_ids"])
            batch = BatchSummary(
                batch_id=batch_id,
                messages=count,
                decoded=decoded_count,
                undecodable=undecodable,
                writer_schema_ids=frozenset(writer_ids),
                groups=groups,
                next_offsets=next_offsets,
            )
            merged = {**self.state.groups}
            for key, statistics in groups.items():
                merged[key] = merged[key].merged(statistics) if key in merged else statistics
            judged = judged_groups(self.spark, merged, self.options.min_count)
            judged_outliers: list[Outlier] = []
            if judged is not None and decoded_count:
                events = decoded.where(F.col("reason").isNull()).select(
                    "ts", *GROUP_COLUMNS, "price"
                )
                found = (
                    outliers(events, judged, self.options.z_threshold)
                    .select(F.unix_micros("ts").alias("ts_micros"), *GROUP_COLUMNS, "price", "z")
                    .collect()
                )
                judged_outliers = [
                    Outlier(
                        ts=utc_from_micros(r["ts_micros"]),
                        symbol=r["symbol"],
                        currency=r["currency"],
                        price=r["price"],
                        z=r["z"],
                    )
                    for r in sorted(found, key=lambda r: (r["ts_micros"], r["symbol"], r["price"]))
                ]
            return batch, judged_outliers
        finally:
            decoded.unpersist()

    def lag(self, state: FollowState) -> int | None:
        """Records behind the end of the topic; None when the broker does not answer."""
        try:
            earliest, latest = topic_offsets(self.admin, self.settings.topic, self.partitions)
        except (KafkaException, TimeoutError):
            return None
        return sum(
            max(0, latest[p] - max(state.next_offsets.get(p, earliest[p]), earliest[p]))
            for p in latest
        )

    # -- the query

    def start_query(self) -> StreamingQuery:
        stream = (
            self.spark.readStream.format("kafka")
            .options(**spark_kafka_options(self.settings))
            .option("subscribe", self.settings.topic)
            .option("startingOffsets", "earliest")  # only without a checkpoint
            .option("failOnDataLoss", "true")  # records deleted unread: fail, never skip
            .load()
        )
        return (
            stream.writeStream.foreachBatch(self.process)
            .trigger(processingTime=f"{self.options.trigger_seconds:g} seconds")
            .option("checkpointLocation", str(self.options.checkpoint))
            .queryName(f"follow-{self.settings.topic}")
            .start()
        )

    def idle(self) -> bool:
        """--until-idle: nothing new for that long and nothing left unread."""
        limit = self.options.until_idle_s
        if limit is None or time.monotonic() - self.last_arrival < limit:
            return False
        if not self.batch_running.acquire(blocking=False):
            return False
        try:
            return self.lag(self.state) == 0
        finally:
            self.batch_running.release()

    def run(self) -> FollowState:
        """Follow until stopped (signal, --until-idle); the state at the end. ConsumerError
        when the query fails for good (after --max-wait of retries)."""
        failing_since: float | None = None
        while True:
            batches_before = self.state.last_batch_id
            query = self.start_query()
            try:
                self.watch(query)
                return self.state
            except StopRequested:
                return self.state
            except (PySparkException, Py4JError) as error:
                if self.fatal is not None:
                    raise self.fatal from None
                if self.stop.is_set():
                    return self.state
                now = time.monotonic()
                if failing_since is None or self.state.last_batch_id != batches_before:
                    failing_since = now
                if now - failing_since >= self.options.max_wait_s:
                    first = (
                        str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
                    )
                    raise ConsumerError(
                        f"streaming query failed (gave up after {self.options.max_wait_s:g} s): "
                        f"{first}"
                    ) from None
                if self.stop.wait(min(LONGEST_RETRY_WAIT_S, self.options.max_wait_s)):
                    return self.state
            finally:
                stop_query(query)

    def watch(self, query: StreamingQuery) -> None:
        """Wait for the query to end or to be asked to end (between batches).

        Spark's Kafka source waits for a broker that is gone, retrying for minutes without
        failing the query, so the driver checks the broker itself: one that has not
        answered for --max-wait ends the run with one line (a restart resumes exactly).
        """
        broker = BrokerWatch(self.admin, self.settings.bootstrap_servers, self.options.max_wait_s)
        while not query.awaitTermination(POLL_S):
            if not self.stop.is_set() and self.idle():
                self.stop.set()
            if self.stop.is_set():
                # The current batch finishes and saves its state first; a batch starting
                # after this sees the stop and raises before counting anything.
                with self.batch_running:
                    pass
                query.stop()
                return
            broker.check()


def stop_query(query: StreamingQuery) -> None:
    """Stop the query if it runs, waiting at most STOP_TIMEOUT_MS for its thread; a thread
    stuck in a call to a broker that is gone is left to the process's exit (its batch is
    not committed, so a restart runs it again)."""
    if not query.isActive:
        return
    with contextlib.suppress(PySparkException, Py4JError):
        query.stop()


class BrokerWatch:
    """Whether the broker has answered within the last max_wait_s, asked every
    BROKER_CHECK_S seconds; ConsumerError once it has not."""

    def __init__(self, admin: AdminClient, bootstrap_servers: str, max_wait_s: float) -> None:
        self.admin = admin
        self.bootstrap_servers = bootstrap_servers
        self.max_wait_s = max_wait_s
        self.last_answer = self.last_check = time.monotonic()

    def check(self) -> None:
        now = time.monotonic()
        if now - self.last_check < BROKER_CHECK_S:
            return
        self.last_check = now
        try:
            self.admin.list_topics(timeout=BROKER_CHECK_S)
            self.last_answer = time.monotonic()
        except KafkaException:
            if now - self.last_answer >= self.max_wait_s:
                raise ConsumerError(
                    f"Kafka broker unreachable at {self.bootstrap_servers} "
                    f"(gave up after {self.max_wait_s:g} s); a restart resumes from the checkpoint"
                ) from None
