"""One batch run: check broker, topic and registry first, then analyse in Spark."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from pyspark.sql import Row, SparkSession

from connection.defaults import DEFAULTS
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.analysis import AnalysisOptions, analyse
from consumer.bad_records import dead_letter_sink, letters_of
from consumer.errors import ConsumerError, one_line_failures
from consumer.report import Report
from consumer.source import OffsetRange, partition_offsets, read_topic, topic_partitions
from consumer.timings import Timings
from contract.dead_letters import DeadLetterTopic
from contract.migrations import with_action
from contract.rules import ERROR, RulePlan
from contract.schemas import Contract, ReaderChoice, SubjectNotRegistered, topic_contract


@dataclass(frozen=True)
class ConsumerOptions:
    z_threshold: float = DEFAULTS.z_threshold
    reader_schema_file: Path | None = None
    #: Read into the newest version of this major (None: of any major).
    contract_major: str | None = None
    rules_file: Path | None = None  # default: contract.schemas.contract_rules' choice
    min_partitions: int | None = None  # default: read_min_partitions' choice
    histogram_bins: int = 0  # > 0 when a plot is asked for
    #: Where the records that break the contract are written (None: nowhere).
    dead_letter_topic: str | None = None


def empty_report(settings: ConnectionSettings, options: ConsumerOptions) -> Report:
    """The report on a topic without records (and without a registered subject)."""
    return Report(
        topic=settings.topic,
        messages=0,
        decoded=0,
        reader_schema=f"none ({settings.value_subject} is not registered)",
        writer_schema_ids=[],
        z_threshold=options.z_threshold,
        statistics=[],
        outliers=[],
    )


@dataclass(frozen=True)
class CheckedTopic:
    """What is known before Spark starts: the topic's partitions, their offsets, and how
    to read it (None for a topic without records and without a registered subject:
    nothing to decode)."""

    partitions: int
    offsets: dict[int, OffsetRange]
    contract: Contract | None

    @property
    def records(self) -> int:
        """The records in the offset ranges (at most: transaction markers take offsets)."""
        return sum(r.latest - r.earliest for r in self.offsets.values())

    @property
    def small(self) -> bool:
        """Small enough to cache in memory and to aggregate in one shuffle partition."""
        return self.records <= DEFAULTS.small_topic_records


def check_sources(
    clients: Clients, settings: ConnectionSettings, options: ConsumerOptions
) -> CheckedTopic:
    """Broker, topic and registry (and the reader schema), checked without Spark, so a
    missing topic or an unreachable service fails in seconds with one line;
    ConsumerError when one fails."""
    partitions = topic_partitions(clients.admin, settings)
    offsets = partition_offsets(clients.admin, settings.topic, partitions)
    with one_line_failures():
        try:
            contract = topic_contract(
                clients.registry,
                settings.registry,
                settings.value_subject,
                options.reader_schema_file,
                options.rules_file,
                ReaderChoice(options.contract_major, report_fields=True),
            )
        except SubjectNotRegistered:
            # A topic nobody has written to yet has no contract either: nothing to decode.
            if all(r.earliest == r.latest for r in offsets.values()):
                return CheckedTopic(partitions, offsets, None)
            raise
    return CheckedTopic(partitions, offsets, contract)


def read_min_partitions(spark: SparkSession, topic: CheckedTopic, options: ConsumerOptions) -> int:
    """The minPartitions consume() reads the checked topic with: the option when given;
    else one task per Kafka partition for a small topic (splitting it more costs more in
    tasks than it saves); else partitions or cores, whichever is more."""
    if options.min_partitions:
        return options.min_partitions
    if topic.small:
        return topic.partitions
    return max(topic.partitions, spark.sparkContext.defaultParallelism)


#: Spark's settings for a small topic's jobs: one shuffle partition for the aggregations'
#: exchanges, and no adaptive execution. Adaptive execution re-plans the query after each
#: shuffle stage and runs that stage as a job of its own; a small topic's aggregations
#: leave nothing to coalesce or rebalance, so it only adds two jobs to a run of seconds.
SMALL_TOPIC_CONF = {"spark.sql.shuffle.partitions": "1", "spark.sql.adaptive.enabled": "false"}


@contextmanager
def session_conf(spark: SparkSession, conf: Mapping[str, str]) -> Iterator[None]:
    """spark's SQL settings as conf says while the block runs, then as they were."""
    before: dict[str, str | None] = {key: spark.conf.get(key, None) for key in conf}
    try:
        for key, value in conf.items():
            spark.conf.set(key, value)
        yield
    finally:
        for key, was in before.items():
            if was is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, was)


def refuse_error_rule_failures(report: Report, rules: RulePlan, contract: Contract) -> None:
    """ConsumerError naming the rule and the first record when a rule whose action is
    ERROR decided against a record, or a migration rule whose action is ERROR failed on
    one: the run stops (no report)."""
    stopping = {rule.name: rule.rule.expr for rule in rules.rules if rule.stops}
    migrations = contract.migration_rules()
    stopping_migrations = {
        name: f"migration rule {name} ({migrations[name][1]}, onFailure ERROR)"
        for name in with_action(migrations, ERROR)
    }
    described = {name: f"rule {name} ({expr}, onFailure ERROR)" for name, expr in stopping.items()}
    for failures, what in (
        *((f, described) for f in report.rule_failures),
        *((f, stopping_migrations) for f in report.migration_failures),
    ):
        if failures.rule in what:
            first = failures.examples[0]
            raise ConsumerError(
                f"{what[failures.rule]} failed for the record at partition "
                f"{first.partition} offset {first.offset} of {report.topic} "
                f"({failures.count} records in all)"
            )


def report_on(
    spark: SparkSession,
    settings: ConnectionSettings,
    options: ConsumerOptions,
    topic: CheckedTopic,
    contract: Contract,
    timings: Timings | None = None,
    dead_letters: DeadLetterTopic | None = None,
) -> Report:
    """The report on the checked topic's records, read with contract, the records that
    break it written to dead_letters (if given); ConsumerError on any failure.

    A small topic is read with one task per Kafka partition (read_min_partitions), cached
    in memory and aggregated in one shuffle partition, without adaptive execution
    (SMALL_TOPIC_CONF, for these jobs only).
    """
    if timings is None:
        timings = Timings()
    min_partitions = read_min_partitions(spark, topic, options)
    rules = contract.read_rules
    subject = settings.value_subject

    def write_dead_letters(bad: Iterable[Row]) -> None:
        if dead_letters is not None:
            migrations = contract.migration_rules()
            dead_letters.write(letters_of(bad, rules, migrations, subject))

    analysis = AnalysisOptions(
        z_threshold=options.z_threshold,
        histogram_bins=options.histogram_bins,
        cache_in_memory=topic.small,
        on_bad_records=write_dead_letters if dead_letters is not None else None,
    )
    with session_conf(spark, SMALL_TOPIC_CONF if topic.small else {}), one_line_failures():
        with timings.phase("Kafka source (Spark looks up the topic's offsets)"):
            records = read_topic(spark, settings, min_partitions)
        report = analyse(records, settings.topic, contract, analysis, timings)
    refuse_error_rule_failures(report, rules, contract)
    return replace(report, rules=contract.rules.source)


def consume(
    spark: SparkSession, clients: Clients, settings: ConnectionSettings, options: ConsumerOptions
) -> Report:
    """The report on every record in settings.topic; ConsumerError on any failure."""
    topic = check_sources(clients, settings, options)
    if topic.contract is None:
        return empty_report(settings, options)
    sink = dead_letter_sink(clients, settings, options.dead_letter_topic, topic.partitions)
    return report_on(spark, settings, options, topic, topic.contract, dead_letters=sink)
