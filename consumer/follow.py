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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from py4j.protocol import Py4JError
from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming.query import StreamingQuery

from connection.defaults import DEFAULTS
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.bad_records import dead_letter_sink, dead_letters
from consumer.checkpoint import check_checkpoint
from consumer.decoding import CURRENCY
from consumer.errors import ConsumerError, first_line, one_line_failures
from consumer.live_contract import LiveContract
from consumer.micro_batch import BatchCount, BatchOverview, batch_overview, count_batch
from consumer.report import Outlier
from consumer.source import partition_offsets, stream_topic, topic_partitions
from consumer.state import FollowState, StateFileError, Update, load_state, save_state
from consumer.supervision import (
    LONGEST_RETRY_WAIT_S,
    BrokerWatch,
    StopRequested,
    StopSignal,
    stop_query,
    with_retries,
)
from contract.dead_letters import DeadLetterTopic
from contract.migrations import rules_on_paths
from contract.schemas import ReaderChoice, ReaderSchema

POLL_S = 1  # seconds between the driver's looks at signals, idleness and the query
#: How long stopping the query may wait for its thread: one blocked in Spark's retries
#: against a broker that is gone does not end sooner (the process exits anyway).
STOP_TIMEOUT_MS = 10_000

T = TypeVar("T")


@dataclass(frozen=True)
class FollowOptions:
    checkpoint: Path
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
        self.last_arrival = time.monotonic()

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
            batch_id, counted.summary, overview.next_offsets, tuple(counted.new_outliers)
        )
        save_state(self.options.checkpoint, state)
        self.state = state
        self.on_update(self.update(state, counted.new_outliers, overview, started))

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
            lag=self.lag(state),
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
            migrations = rules_on_paths(contract.read_paths().values())
            with one_line_failures():
                self.dead_letters.write(
                    dead_letters(bad, contract.read_rules, migrations, self.settings.value_subject)
                )

    def retried(self, call: Callable[[], T]) -> T:
        return with_retries(call, self.options.max_wait_s, self.stop)

    def lag(self, state: FollowState) -> int | None:
        """Records behind the end of the topic; None when the broker does not answer."""
        try:
            offsets = partition_offsets(self.clients.admin, self.settings.topic, self.partitions)
        except ConsumerError:
            return None
        return sum(
            max(0, r.latest - max(state.next_offsets.get(p, r.earliest), r.earliest))
            for p, r in offsets.items()
        )

    # -- the query

    def start_query(self, spark: SparkSession) -> StreamingQuery:
        return (
            stream_topic(spark, self.settings)
            .writeStream.foreachBatch(self.process)
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

    def prepare(self) -> None:
        """The topic (waited for up to --max-wait) and the checkpoint's saved state, read
        before Spark starts, so a wrong topic or checkpoint fails in seconds."""
        self.partitions = topic_partitions(
            self.clients.admin, self.settings, self.options.max_wait_s
        )
        self.dead_letters = dead_letter_sink(
            self.clients, self.settings, self.options.dead_letter_topic, self.partitions
        )
        try:
            self.state = load_state(self.options.checkpoint)
        except StateFileError as error:
            raise ConsumerError(str(error)) from None
        check_checkpoint(self.options.checkpoint, self.state, self.settings.topic)

    def run(self, spark: SparkSession) -> FollowState:
        """Follow, once prepared, until stopped (signal, --until-idle); the state at the
        end. ConsumerError when the query fails for good (after --max-wait of retries)."""
        spark.conf.set("spark.sql.streaming.stopTimeout", str(STOP_TIMEOUT_MS))
        self.show_saved()
        failing_since: float | None = None
        while True:
            batches_before = self.state.last_batch_id
            query = self.start_query(spark)
            try:
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
                stop_query(query)

    def watch(self, query: StreamingQuery) -> None:
        """Wait for the query to end or to be asked to end (between batches), checking the
        broker meanwhile: one that has not answered for --max-wait ends the run."""
        broker = BrokerWatch(
            self.clients.admin, self.settings.bootstrap_servers, self.options.max_wait_s
        )
        while not query.awaitTermination(POLL_S):
            if not self.stop.requested and self.idle():
                self.stop.request()
            if self.stop.requested:
                # The current batch finishes and saves its state first; a batch starting
                # after this sees the stop and raises before counting anything.
                with self.batch_running:
                    pass
                query.stop()
                return
            broker.check()
