"""Follow a live topic: a Structured Streaming query whose micro-batches go through the
steps batch mode uses (consumer.micro_batch) and are merged, exactly once, into running
statistics kept in the checkpoint.

Spark's ``foreachBatch`` hands each micro-batch over as an ordinary DataFrame, so the
decode is rebuilt per batch from the writer schema ids the batch carries: an id not seen
before is fetched from the registry by id, and a version registered mid-stream decodes
from its first record on. ``foreachBatch`` alone is at-least-once (a batch whose offsets
were logged but not committed runs again after a crash, with the same id and offsets);
the state file names the last batch it includes and is replaced atomically, and a batch
it already includes is skipped. The effects of a batch, in order: state saved, update
shown; Spark then commits. docs/follow.md has the whole argument and its limits.

The checkpoint and the state file live on any Hadoop filesystem (consumer.checkpoint);
the counted offsets go to a consumer group for the lag tools (consumer.consumer_group);
the totals, lag and health are served for Prometheus (consumer.follow_metrics).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from py4j.protocol import Py4JError
from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming.query import StreamingQuery

from connection.defaults import DEFAULTS
from connection.hadoop_fs import bound_ipc_retries
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.bad_records import dead_letter_sink, dead_letters
from consumer.checkpoint import Checkpoint
from consumer.consumer_group import GroupOffsets
from consumer.decoding import CURRENCY
from consumer.errors import ConsumerError, first_line, one_line_failures
from consumer.follow_metrics import FollowMetrics
from consumer.live_contract import LiveContract
from consumer.micro_batch import BatchCount, BatchOverview, batch_overview, count_batch
from consumer.report import Outlier
from consumer.source import partition_offsets, stream_topic, topic_partitions
from consumer.state import FollowState, Update
from consumer.supervision import (
    LONGEST_RETRY_WAIT_S,
    BrokerWatch,
    StopRequested,
    StopSignal,
    stop_query,
    with_retries,
)
from contract.dead_letters import DeadLetter, DeadLetterTopic
from contract.schemas import ReaderChoice, ReaderSchema

POLL_S = 1  # seconds between the driver's looks at signals, idleness and the query
#: Healthy while a batch was counted within this many triggers (or one runs, or the run
#: is idle at the end of the topic).
HEALTHY_TRIGGERS = 3
#: How long stopping the query may wait for its thread: one blocked in Spark's retries
#: against a broker that is gone does not end sooner (the process exits anyway).
STOP_TIMEOUT_MS = 10_000

T = TypeVar("T")


@dataclass(frozen=True)
class Positions:
    """Per partition, the next offset the state counts from, and the records behind the
    partition's end."""

    counted: dict[int, int]
    lag: dict[int, int]


@dataclass(frozen=True)
class FollowOptions:
    #: A Hadoop filesystem URI (connection.hadoop_fs.filesystem_uri makes one of a path).
    checkpoint: str
    trigger_seconds: float = DEFAULTS.follow_trigger_s
    z_threshold: float = DEFAULTS.z_threshold
    min_count: int = DEFAULTS.follow_min_count
    until_idle_s: float | None = None
    max_wait_s: float = DEFAULTS.follow_max_wait_s
    rules_file: Path | None = None  # default: contract.schemas.contract_rules' choice
    #: Where the records that break the contract are written (None: nowhere).
    dead_letter_topic: str | None = None
    #: Read into the newest version of this major (None: of any major).
    contract_major: str | None = None
    #: The consumer group the counted offsets are committed to (None: none).
    group_id: str | None = None
    #: The most records a micro-batch reads (None: all that arrived since the last).
    max_offsets_per_trigger: int | None = None


class Follower:
    """Runs the streaming query until stopped; every counted batch goes to on_update.

    reader is the fixed reader schema (--reader-schema), or None to follow the subject's
    newest version with the report's fields (of options.contract_major, if given)."""

    def __init__(
        self,
        clients: Clients,
        settings: ConnectionSettings,
        options: FollowOptions,
        reader: ReaderSchema | None,
        on_update: Callable[[Update], None],
        notice: Callable[[str], None] = print,
    ) -> None:
        self.clients, self.settings, self.options = clients, settings, options
        self.on_update = on_update
        self.contract = LiveContract(
            clients.registry,
            settings.registry,
            settings.value_subject,
            reader,
            options.rules_file,
            notice,
            ReaderChoice(options.contract_major, report_fields=True),
        )
        self.dead_letters: DeadLetterTopic | None = None  # built by prepare()
        self.stop = StopSignal()
        self.batch_running = threading.Lock()
        self.fatal: ConsumerError | None = None
        self.state = FollowState()
        self.partitions = 0
        self.last_arrival = self.last_counted = self.last_observed = time.monotonic()
        self.last_lag: int | None = None
        self.batch_dead_letters = 0  # handed to the dead-letter topic in this batch
        self.checkpoint: Checkpoint | None = None  # opened by run(), once Spark runs
        self.query: StreamingQuery | None = None
        self.broker: BrokerWatch | None = None
        self.metrics = FollowMetrics(lambda: self.state)
        self.group = (
            None
            if options.group_id is None
            else GroupOffsets(clients.admin, options.group_id, settings.topic, notice)
        )

    # -- one micro-batch (runs in py4j's callback thread)

    def process(self, records: DataFrame, batch_id: int) -> None:
        with self.batch_running:
            if self.stop.requested:
                raise StopRequested  # the batch is not committed: a restart runs it
            if self.state.includes(batch_id):
                return  # replayed after a crash: its records are counted already
            try:
                self.count(records.persist(StorageLevel.MEMORY_AND_DISK), batch_id)
            except ConsumerError as error:
                self.fatal = error
                raise
            finally:
                records.unpersist()

    def count(self, records: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        self.batch_dead_letters = 0
        overview = batch_overview(records)
        if overview.records:
            self.last_arrival = time.monotonic()
        with one_line_failures():  # a new reader without the report's fields, bad rules
            self.contract.update(set(overview.schema_ids), bool(overview.records), self.retried)
        contract = self.contract.contract
        state = self.state
        counted = BatchCount()
        if contract is not None:
            currency = contract.reader.default_of(CURRENCY)
            if isinstance(currency, str):
                state = state.with_currency_default(currency)
            if overview.records:
                counted = count_batch(
                    records,
                    contract,
                    state.groups,
                    self.options.z_threshold,
                    self.options.min_count,
                    self.write_dead_letters if self.dead_letters is not None else None,
                )
        for rule, first in counted.stopped_by.items():
            domain = contract is not None and rule in contract.read_rules.names
            raise ConsumerError(
                f"{'rule' if domain else 'migration rule'} {rule} (onFailure ERROR) failed for "
                f"the record at partition "
                f"{first.partition} offset {first.offset} of {self.settings.topic}"
            )
        state = state.merged(
            batch_id,
            counted.summary,
            overview.next_offsets,
            tuple(counted.new_outliers),
            self.batch_dead_letters,
        )
        assert self.checkpoint is not None, "run() opens the checkpoint"
        self.checkpoint.save(state)
        self.state = state
        update = self.update(state, counted.new_outliers, overview, started)
        self.last_counted = time.monotonic()
        self.metrics.batch_counted(update)
        self.on_update(update)

    def update(
        self,
        state: FollowState,
        outliers: list[Outlier],
        overview: BatchOverview | None = None,
        started: float | None = None,
    ) -> Update:
        """The update of state's last batch (its overview and start time, if known)."""
        return Update(
            batch_id=state.last_batch_id,
            records=overview.records if overview else 0,
            state=state,
            new_outliers=outliers,
            lag=self.observe(state),
            seconds=time.monotonic() - started if started is not None else 0.0,
            finished_at=time.time(),
            oldest_record_ms=overview.oldest_ms if overview else None,
            newest_record_ms=overview.newest_ms if overview else None,
        )

    def show_saved(self) -> None:
        """The saved state's last update, shown again: a crash between a batch's save and
        its show loses nothing (a reader may see that batch id twice)."""
        if self.state.includes(0):
            self.on_update(self.update(self.state, list(self.state.last_outliers)))

    def write_dead_letters(self, bad: DataFrame) -> None:
        """The batch's bad records into the dead-letter topic, each acknowledged, before
        the state file names the batch (docs/follow.md: exactly once)."""
        contract = self.contract.contract
        if self.dead_letters is not None and contract is not None:
            migrations = contract.migration_rules()
            letters = dead_letters(
                bad, contract.read_rules, migrations, self.settings.value_subject
            )
            with one_line_failures():
                self.dead_letters.write(self.counted(letters))

    def counted(self, letters: Iterable[DeadLetter]) -> Iterator[DeadLetter]:
        """letters, each counted into the batch's dead letters as the topic takes it (a
        replayed batch's letters found written already count too: its count was never
        saved)."""
        for letter in letters:
            self.batch_dead_letters += 1
            yield letter

    def retried(self, call: Callable[[], T]) -> T:
        return with_retries(call, self.options.max_wait_s, self.stop)

    def positions(self, state: FollowState) -> Positions | None:
        """Where state stands in each partition; None when the broker does not answer.
        A partition no batch has touched stands at its earliest offset."""
        try:
            offsets = partition_offsets(self.clients.admin, self.settings.topic, self.partitions)
        except ConsumerError:
            return None
        counted = {
            p: max(state.next_offsets.get(p, r.earliest), r.earliest) for p, r in offsets.items()
        }
        return Positions(counted, {p: max(0, r.latest - counted[p]) for p, r in offsets.items()})

    def observe(self, state: FollowState) -> int | None:
        """The records behind the end of the topic after state (None when the broker does
        not answer); on the way, state's offsets committed to the consumer group and the
        lag per partition handed to the metrics."""
        positions = self.positions(state)
        self.last_observed = time.monotonic()
        if positions is None:
            self.last_lag = None
            return None
        if self.group is not None:
            self.group.commit(positions.counted)
        self.metrics.lag_refreshed(positions.lag)
        self.last_lag = sum(positions.lag.values())
        return self.last_lag

    # -- the query

    def start_query(self, spark: SparkSession) -> StreamingQuery:
        return (
            stream_topic(spark, self.settings, self.options.max_offsets_per_trigger)
            .writeStream.foreachBatch(self.process)
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
        now = time.monotonic()
        limit = self.options.until_idle_s
        idle_long_enough = limit is not None and now - self.last_arrival >= limit
        due = now - self.last_observed >= self.options.trigger_seconds
        if not (idle_long_enough or due):
            return False
        if not self.batch_running.acquire(blocking=False):
            return False
        try:
            return self.observe(self.state) == 0 and idle_long_enough
        finally:
            self.batch_running.release()

    def health(self) -> str | None:
        """None while the run makes progress: its query runs and a batch is running
        (however long a catch-up takes), or one was counted within HEALTHY_TRIGGERS
        triggers, or it is idle at the end of the topic; else why not, in one line."""
        query = self.query
        try:
            active = query is not None and query.isActive
        except (PySparkException, Py4JError):
            active = False
        if not active:
            return "the streaming query is not running"
        if self.batch_running.locked():
            return None
        silent_s = self.broker.silent_s() if self.broker is not None else None
        if silent_s is not None:
            return (
                f"Kafka broker unreachable at {self.settings.bootstrap_servers} "
                f"for {silent_s:.0f} s"
            )
        since = time.monotonic() - self.last_counted
        if since <= HEALTHY_TRIGGERS * self.options.trigger_seconds or self.last_lag == 0:
            return None
        stalled = f"no micro-batch counted for {since:.0f} s"
        if self.last_lag is None:  # the last ask for the end offsets went unanswered
            return (
                f"Kafka broker unreachable at {self.settings.bootstrap_servers} "
                f"(no answer for the topic's offsets); {stalled}"
            )
        trigger = self.options.trigger_seconds
        return f"{stalled} (trigger {trigger:g} s), {self.last_lag} records behind"

    def prepare(self) -> None:
        """The topic (waited for up to --max-wait) and the dead-letter topic, before Spark
        starts, so a wrong topic fails in seconds."""
        self.partitions = topic_partitions(
            self.clients.admin, self.settings, self.options.max_wait_s
        )
        self.dead_letters = dead_letter_sink(
            self.clients, self.settings, self.options.dead_letter_topic, self.partitions
        )

    def open_checkpoint(self, spark: SparkSession) -> None:
        """The checkpoint's saved state, read and checked through the driver's Hadoop
        client (the one Spark's checkpoint uses), before the query starts. Hadoop's IPC
        retries are bounded by --max-wait first: a NameNode that does not answer is one
        line within it, for these files and for Spark's checkpoint alike."""
        bound_ipc_retries(spark, self.options.max_wait_s)
        self.checkpoint = Checkpoint(spark, self.options.checkpoint)
        self.state = self.checkpoint.load()
        self.checkpoint.check(self.state, self.settings.topic)

    def run(self, spark: SparkSession) -> FollowState:
        """Follow, once prepared, until stopped (signal, --until-idle); the state at the
        end. ConsumerError when the query fails for good (after --max-wait of retries)."""
        spark.conf.set("spark.sql.streaming.stopTimeout", str(STOP_TIMEOUT_MS))
        if self.checkpoint is None:
            self.open_checkpoint(spark)
        self.show_saved()
        failing_since: float | None = None
        while True:
            batches_before = self.state.last_batch_id
            query: StreamingQuery | None = None
            try:  # starting reads the checkpoint: it fails while its filesystem is away
                query = self.query = self.start_query(spark)
                self.last_counted = time.monotonic()  # a start is progress
                self.watch(query)
                return self.state
            except StopRequested:
                return self.state
            except (PySparkException, Py4JError) as error:
                if self.fatal is not None:
                    raise self.fatal from None
                if self.stop.requested:
                    return self.state
                now = time.monotonic()
                if failing_since is None or self.state.last_batch_id != batches_before:
                    failing_since = now
                if now - failing_since >= self.options.max_wait_s:
                    raise ConsumerError(
                        f"streaming query failed (gave up after {self.options.max_wait_s:g} s): "
                        f"{first_line(error)}"
                    ) from None
                if self.stop.wait(min(LONGEST_RETRY_WAIT_S, self.options.max_wait_s)):
                    return self.state
            finally:
                if query is not None:
                    stop_query(query)

    def watch(self, query: StreamingQuery) -> None:
        """Wait for the query to end or to be asked to end (between batches), checking the
        broker meanwhile: one that has not answered for --max-wait ends the run."""
        broker = self.broker
        if broker is None:  # one watch for the run: a restarted query does not reset it
            broker = self.broker = BrokerWatch(
                self.clients.admin, self.settings.bootstrap_servers, self.options.max_wait_s
            )
        while not query.awaitTermination(POLL_S):
            if not self.stop.requested and self.between_batches():
                self.stop.request()
            if self.stop.requested:
                # The current batch finishes and saves its state first; a batch starting
                # after this sees the stop and raises before counting anything.
                with self.batch_running:
                    pass
                query.stop()
                return
            broker.check()
