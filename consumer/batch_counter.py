"""Follow's micro-batches, each counted exactly once into the running statistics kept in
the checkpoint, through the steps batch mode uses (consumer.micro_batch).

Spark's ``foreachBatch`` hands each micro-batch over as an ordinary DataFrame, decoded
with the writer schemas known so far: an id the batch carries that was not known is
fetched from the registry by id and the batch decoded again, so a version registered
mid-stream decodes from its first record on. ``foreachBatch`` alone is at-least-once (a
batch whose offsets were logged but not committed runs again after a crash, with the same
id and offsets); the state file names the last batch it includes and is replaced
atomically, and a batch it already includes is skipped. The effects of a batch, in order:
state saved, update shown; Spark then commits. docs/follow.md has the whole argument and
its limits.

The checkpoint and the state file live on any Hadoop filesystem (consumer.checkpoint);
the counted offsets go to a consumer group for the lag tools (consumer.consumer_group);
the totals and lag are handed to the metrics (consumer.follow_metrics).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from connection.hadoop_fs import bound_ipc_retries
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.bad_records import dead_letter_sink, dead_letters
from consumer.checkpoint import Checkpoint
from consumer.consumer_group import GroupOffsets
from consumer.decoding import CURRENCY
from consumer.errors import ConsumerError, one_line_failures
from consumer.follow_metrics import FollowMetrics
from consumer.follow_options import FollowOptions
from consumer.live_contract import LiveContract
from consumer.micro_batch import (
    BatchCount,
    BatchOverview,
    batch_overview,
    count_batch,
    decoded_batch,
    framed_batch,
)
from consumer.report import Outlier
from consumer.source import partition_offsets, topic_partitions
from consumer.state import FollowState, Update
from consumer.supervision import StopRequested, StopSignal, with_retries
from contract.dead_letters import DeadLetter, DeadLetterTopic
from contract.schemas import ReaderChoice, ReaderSchema

T = TypeVar("T")


@dataclass(frozen=True)
class Positions:
    """Per partition, the next offset the state counts from, and the records behind the
    partition's end."""

    counted: dict[int, int]
    lag: dict[int, int]


class BatchCounter:
    """Counts each micro-batch into the running state, once; every counted batch goes to
    on_update. Once stop is requested, a batch that starts is not counted and a retry
    against an unreachable service ends.

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
        self.stop = StopSignal()
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
        #: Held while a batch runs: the query is stopped and the positions observed
        #: between batches only.
        self.batch_running = threading.Lock()
        self.fatal: ConsumerError | None = None  # why a batch failed for good
        self.state = FollowState()
        self.partitions = 0
        self.last_arrival = self.last_counted = self.last_observed = time.monotonic()
        self.last_lag: int | None = None
        self.batch_dead_letters = 0  # handed to the dead-letter topic in this batch
        self.checkpoint: Checkpoint | None = None  # opened by open_checkpoint(), once Spark runs
        self.metrics = FollowMetrics(lambda: self.state)
        self.group = (
            None
            if options.group_id is None
            else GroupOffsets(clients.admin, options.group_id, settings.topic, notice)
        )

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

    # -- one micro-batch (runs in py4j's callback thread)

    def process(self, records: DataFrame, batch_id: int) -> None:
        with self.batch_running:
            if self.stop.requested:
                raise StopRequested  # the batch is not committed: a restart runs it
            if self.state.includes(batch_id):
                return  # replayed after a crash: its records are counted already
            try:
                self.count(records, batch_id)
            except ConsumerError as error:
                self.fatal = error
                raise

    def count(self, records: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        self.batch_dead_letters = 0
        keep_raw = self.dead_letters is not None
        known = self.contract.contract
        if known is None:  # no writer schema yet: the overview reads the frames, kept
            records = records.persist(StorageLevel.MEMORY_AND_DISK)
        decoded = None if known is None else decoded_batch(records, known, keep_raw)
        try:
            overview = batch_overview(framed_batch(records) if decoded is None else decoded)
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
                    if decoded is None or contract is not known:  # the batch's ids are new
                        if decoded is not None:
                            decoded.unpersist()
                        decoded = decoded_batch(records, contract, keep_raw)
                    counted = count_batch(
                        decoded,
                        contract,
                        state.groups,
                        self.options.z_threshold,
                        self.options.min_count,
                        self.write_dead_letters if keep_raw else None,
                    )
        finally:
            if decoded is not None:
                decoded.unpersist()
            if known is None:
                records.unpersist()
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
        assert self.checkpoint is not None, "open_checkpoint() opens the checkpoint"
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

    # -- where the state stands in the topic

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
