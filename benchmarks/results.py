"""Every measurement of a run, as data (rendered by benchmarks.report and .chart)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from benchmarks.machine import Machine

MB = 1_000_000

# Producer ways, in table order.
JSON_BASELINE = "baseline (a): JSON, produce, flush"
NAIVE_AVRO_BASELINE = "baseline (b): naive AvroSerializer loop"
OURS = "ours: producer.run.produce"
OURS_UNCOMPRESSED = "ours with --compression none"
PRODUCER_WAYS = (JSON_BASELINE, NAIVE_AVRO_BASELINE, OURS, OURS_UNCOMPRESSED)

# Consumer ways.
SPARK_CONSUMER = "ours: consumer.batch.consume (in-process, warm)"
KAFKA_READ_LIMIT = (
    "limit: Spark's Kafka source alone, read as consume() reads, noop sink (in-process, warm)"
)
PLAIN_PYTHON = "baseline: confluent-kafka + AvroDeserializer + statistics"


@dataclass(frozen=True)
class ProducerRun:
    way: str
    events: int
    seconds: float  # first send to last acknowledgement
    payload_bytes: int  # keys + values as sent
    load: float  # 1-minute load average when the run ended
    runs: int = 1  # this is the median (by seconds) of that many runs

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.payload_bytes / MB / self.seconds


@dataclass(frozen=True)
class ConsumerCliRun:
    """`python -m consumer` as a subprocess, Spark start included."""

    events: int
    report_seconds: float  # process start to the report on stdout
    exit_seconds: float  # process start to exit (Spark shut down)
    peak_rss_bytes: int  # the process tree (Python + JVM), sampled
    peak_python_rss_bytes: int  # the Python process alone
    load: float
    phases: tuple[tuple[str, float], ...] = ()  # its --timings: (phase, seconds)


@dataclass(frozen=True)
class ConsumerRun:
    way: str
    events: int
    seconds: float
    load: float

    @property
    def records_per_s(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class SparkVariant:
    min_partitions: int
    shuffle_partitions: int
    events: int
    seconds: float

    @property
    def records_per_s(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class ProfileLine:
    function: str
    seconds: float
    share: float  # of the profiled call's total


@dataclass(frozen=True)
class Profile:
    way: str
    events: int
    seconds: float
    categories: list[ProfileLine]  # time by kind of work
    lines: list[ProfileLine]  # the functions with most self time


# The rows of the ratio table, by a stable name (the figures' texts carry counts), in
# table order: the three figures (the report's start-up against both the bare start and a
# bare read of its topic), what the contract's rules cost on read and on write,
# what reading records of a newer major through its migration rules costs, what writing
# the dead letters costs a report, then two references (what the class-data archive
# saves; the start-up with nothing but Spark's Kafka read).
START_UP_LIMIT = "start-up"
REPORT_AGAINST_READ = "report against the bare read"
PRODUCER_LIMIT = "producer"
CONSUMER_LIMIT = "consumer"
RULES_ON_READ = "rules on read"
RULES_ON_WRITE = "rules on write"
MIGRATION_ON_READ = "migration on read"
CHECKPOINT_ON_HDFS = "checkpoint on HDFS"
DEAD_LETTERS_ON_READ = "dead letters on read"
CLASS_DATA_REFERENCE = "class-data archive"
KAFKA_READ_REFERENCE = "bare Kafka read"
LIMIT_ORDER = (
    START_UP_LIMIT,
    REPORT_AGAINST_READ,
    PRODUCER_LIMIT,
    CONSUMER_LIMIT,
    RULES_ON_READ,
    RULES_ON_WRITE,
    MIGRATION_ON_READ,
    CHECKPOINT_ON_HDFS,
    DEAD_LETTERS_ON_READ,
    CLASS_DATA_REFERENCE,
    KAFKA_READ_REFERENCE,
)

#: How a figure compares with its limit: seconds (ours / limit, 1.0 at best) or a rate
#: (ours' events/s over the limit's, 1.0 at best).
TIME = "time"
RATE = "rate"


@dataclass(frozen=True)
class PairedRun:
    """One repeat: the limit's run, then ours right after it, on the same events."""

    limit_seconds: float
    ours_seconds: float
    load: float  # 1-minute load average after the pair

    def ratio(self, kind: str) -> float:
        """ours / limit in seconds (TIME), or ours' rate / the limit's (RATE)."""
        if kind == TIME:
            return self.ours_seconds / self.limit_seconds
        return self.limit_seconds / self.ours_seconds


@dataclass(frozen=True)
class LimitRatio:
    """A figure of ours against its limit, measured interleaved in the same run."""

    name: str  # one of LIMIT_ORDER
    figure: str
    limit: str
    events: int
    kind: str  # TIME or RATE
    target: float | None  # TIME: at most this ratio; RATE: at least; None: none set
    runs: list[PairedRun]

    def __post_init__(self) -> None:
        if self.name not in LIMIT_ORDER:  # a row no table would show
            raise ValueError(f"unknown ratio-table row {self.name!r}: not in LIMIT_ORDER")

    def ratios(self) -> list[float]:
        return sorted(run.ratio(self.kind) for run in self.runs)

    def met(self) -> bool | None:
        """Whether the median ratio meets the target (None without a target)."""
        if self.target is None:
            return None
        median = statistics.median(self.ratios())
        return median <= self.target if self.kind == TIME else median >= self.target


@dataclass(frozen=True)
class MigrationFallback:
    """consume() reading records of a newer major whose migration rules are outside the
    subset compiled to Spark columns, so they run in jsonata-python in an Arrow UDF: the
    records of the migration row's topic, rules and all, but for that."""

    events: int
    seconds: float
    load: float
    python_rules: tuple[str, ...]  # the rules that ran in jsonata-python, as the report names them

    @property
    def records_per_s(self) -> float:
        return self.events / self.seconds


#: Follow keeps up with an offered rate when the largest lag of the offering's second
#: half is at most this many times the first half's: a follower that keeps up swings in
#: the same band (about a trigger's arrivals), one that falls behind grows it steadily.
LAG_GROWTH_BOUND = 1.25
LAG_MIN_BATCHES = 2  # per half: fewer say nothing about the lag's trend
VIOLATIONS = 0.01  # of the events follow's producer writes unjudged: each a dead letter


def lag_bounded(first_half: list[int], second_half: list[int]) -> bool:
    """Whether the lags after the batches of an offering's two halves stay bounded."""
    if min(len(first_half), len(second_half)) < LAG_MIN_BATCHES:
        return False
    return max(second_half) <= LAG_GROWTH_BOUND * max(first_half)


@dataclass(frozen=True)
class FollowBenchmark:
    """Follow mode (rules judged, dead letters written) under a steady producer: sustained
    rate, produce-to-statistics latency, and whether its lag stays bounded."""

    trigger_seconds: float
    offered_events_per_s: int  # asked of the producer
    written_events_per_s: float  # what it wrote: events over its records' timestamp span
    events: int  # written, each counted (checked)
    events_per_s: float  # events / (the batch that counted the last - the first record)
    batches: int
    latency_median_s: float  # of each batch's oldest record
    latency_max_s: float
    dead_letters: int  # records that broke the rules or did not decode, written once
    lag_first_half: int  # the largest lag (records) after a batch, first half of the offering
    lag_second_half: int  # ... and second half
    bounded: bool  # lag_bounded() over the two halves' batches

    @property
    def offered_seconds(self) -> float:
        return self.events / self.offered_events_per_s


@dataclass(frozen=True)
class FollowCatchUp:
    """Follow mode (rules, dead letters) reading a backlog, beside batch consume() with the
    rules and --dlq reading the same topic, and plain consume() reading a clean topic of
    as many events, in the same warm session."""

    events: int
    dead_letters: int
    seconds: float  # the query's start to the batch that counted the last record
    batches: int
    batch_seconds: float  # consume() with --dlq on the same topic
    load: float
    clean_batch_seconds: float  # consume(), no --dlq, on a clean topic of as many events

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    @property
    def batch_events_per_s(self) -> float:
        return self.events / self.batch_seconds

    @property
    def clean_batch_events_per_s(self) -> float:
        return self.events / self.clean_batch_seconds


@dataclass(frozen=True)
class PageTimes:
    """The inspector's pages from the middle of a topic: milliseconds per page, the first
    (cold: contract and connections) left out."""

    topic: str
    records: int  # in the topic
    partition: int
    first_offset: int  # of the first page asked for
    limit: int
    milliseconds: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.milliseconds)

    @property
    def max_ms(self) -> float:
        return max(self.milliseconds)


@dataclass
class BenchResults:
    machine: Machine
    quick: bool
    producer: list[ProducerRun] = field(default_factory=list)
    consumer_cli: list[ConsumerCliRun] = field(default_factory=list)
    consumer: list[ConsumerRun] = field(default_factory=list)
    variants: list[SparkVariant] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    generator_events_per_s: float = 0.0  # generate_batches alone: any producer's ceiling
    client_events_per_s: float = 0.0  # the Kafka client's produce loop alone: another ceiling
    default_min_partitions: int = 0
    default_shuffle_partitions: int = 0
    limits: list[LimitRatio] = field(default_factory=list)  # in any order; see limit()
    follow: list[FollowBenchmark] = field(default_factory=list)  # latency, light load
    sustained: list[FollowBenchmark] = field(default_factory=list)  # rates beside batch's
    follow_catch_up: FollowCatchUp | None = None
    inspector_pages: PageTimes | None = None
    migration_fallback: MigrationFallback | None = None  # beside the migration row

    def producer_run(self, way: str, events: int) -> ProducerRun | None:
        return next((r for r in self.producer if r.way == way and r.events == events), None)

    def consumer_run(self, way: str, events: int) -> ConsumerRun | None:
        return next((r for r in self.consumer if r.way == way and r.events == events), None)

    def limit(self, name: str) -> LimitRatio | None:
        """The ratio table's row called name (one of LIMIT_ORDER), if measured."""
        return next((r for r in self.limits if r.name == name and r.runs), None)

    def measured_limits(self) -> list[LimitRatio]:
        """The measured rows of the ratio table, in LIMIT_ORDER."""
        return [row for name in LIMIT_ORDER if (row := self.limit(name)) is not None]
