"""From Kafka records to a Report: frame, decode, summarise, find outliers.

The writer schemas registered under the topic's subject are known before Kafka is read,
so the usual topic decodes in one pass. The jobs: one aggregation (reason counts, schema
ids, per-group statistics), one outlier scan, and, only when needed, the first offsets
of each bad reason and the histograms of a plot. Only those small results reach the
driver. With dead letters asked for, the decoding pass keeps the raw bytes of the records
that do not pass in its cache, one more job collects the dead letters from there, and
the first records of each reason and rule whose records are all among them are taken
from those (no job of their own). Ids outside the subject are looked up after the first
job; if the registry knows any, the analysis is redone with them (the rare topic written
under several subjects).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Row, Window
from pyspark.sql import functions as F

from consumer.bad_records import MOST_COLLECTED, bad_records, dead_letter_count
from consumer.decoding import MIGRATION_RULE, NONE_FAILED, RULE, Paths, decoded_records, passing
from consumer.framing import REASONS, UNKNOWN_SCHEMA_ID
from consumer.migration_columns import python_rule_names
from consumer.outliers import collect_outliers
from consumer.report import (
    GroupStatistics,
    Histogram,
    RecordLocation,
    Report,
    RuleFailures,
    Undecodable,
    WriterMigration,
)
from consumer.statistics import price_histograms, statistics_frame, summarise
from consumer.summary import reported_statistics
from consumer.timings import Timings
from contract.migrations import NoMigration
from contract.rules import RulePlan
from contract.schemas import Contract


@dataclass(frozen=True)
class AnalysisOptions:
    """What the report holds beyond the statistics, how outliers are judged, and where
    the records that break the contract go."""

    z_threshold: float
    histogram_bins: int = 0  # > 0 when a plot is asked for
    examples_per_reason: int = 3
    #: Cache the decoded records in memory (a small topic) rather than on local disk.
    cache_in_memory: bool = False
    #: Given the bad records (rows of bad_records' columns, in order) when there are any:
    #: the DLQ's writer.
    on_bad_records: Callable[[Iterable[Row]], None] | None = None


def cached_records(
    records: DataFrame, contract: Contract, paths: Paths, in_memory: bool, keep_raw: bool
) -> DataFrame:
    """The decoded records, to be cached by the first job that reads them.

    The cache spares the outlier job a second read of Kafka (at 10M events the read is
    most of a pass). A large topic's go to local disk, not memory, so the driver's memory
    does not grow with the topic (in local mode the executors live in the driver's JVM);
    a small topic's stay in memory, sparing the disk writes and reads.

    Measured against one pass without a cache that keeps each group's most extreme prices
    as outlier candidates (max_by/min_by with k): at 10M events the bounded heaps cost
    about as much as the cache (k = 1,000), and a topic of normal prices has about 0.27%
    of its records beyond 3 sigma (some 2,700 per group and side at 10M), more than such
    candidates hold, so the second pass would run anyway.
    """
    level = StorageLevel.MEMORY_ONLY if in_memory else StorageLevel.DISK_ONLY
    decoded = decoded_records(
        records,
        contract.writers.known,
        contract.reader.schema,
        contract.read_rules.rules,
        paths,
        keep_raw,
    )
    return decoded.persist(level)


def analyse(
    records: DataFrame,
    topic: str,
    contract: Contract,
    options: AnalysisOptions,
    timings: Timings | None = None,
) -> Report:
    """The report for records (a Kafka batch DataFrame), decoded with the writer schemas
    known so far and with the ones the registry has for the ids the records bring.
    Each job is timed as a phase of timings (if given)."""
    if timings is None:
        timings = Timings()
    writers, reader, rules = contract.writers, contract.reader, contract.read_rules
    paths = contract.read_paths()
    keep_raw = options.on_bad_records is not None
    with timings.phase("plan: decode (from_avro per writer schema) and cache"):
        decoded = cached_records(records, contract, paths, options.cache_in_memory, keep_raw)
    try:
        with timings.phase("job: summary (read Kafka, decode, cache, aggregate)"):
            summary = summarise(decoded)
        if writers.add_ids(set(summary.ids_with_reason(UNKNOWN_SCHEMA_ID))):
            decoded.unpersist()
            paths = contract.read_paths()
            decoded = cached_records(records, contract, paths, options.cache_in_memory, keep_raw)
            with timings.phase("job: summary again, with the ids found"):
                summary = summarise(decoded)
        migrations = contract.migration_rules()
        statistics = reported_statistics(summary.groups)
        events = decoded.where(passing())
        judged = statistics_frame(decoded.sparkSession, statistics)
        with timings.phase("job: outliers (from the cache)"):
            outlier_list = collect_outliers(events, judged, options.z_threshold)
        letters = dead_letter_count(summary, rules, migrations)
        collected: list[Row] = []
        if options.on_bad_records is not None and 0 < letters <= MOST_COLLECTED:
            with timings.phase("job: bad records (from the cache)"):
                collected = bad_records(decoded, rules, migrations).collect()
        undecodable: list[Undecodable] = []
        if summary.undecodable:
            found = examples_among(collected, "reason", summary.undecodable, options)
            with timings.phase(examples_phase("undecodable reason", found, summary.undecodable)):
                undecodable = undecodable_records(
                    decoded, summary.undecodable, options.examples_per_reason, found
                )
        failures: list[RuleFailures] = []
        if summary.rule_failures:
            found = examples_among(collected, RULE, summary.rule_failures, options)
            with timings.phase(examples_phase("rule failure", found, summary.rule_failures)):
                failures = rule_failure_records(
                    decoded, summary.rule_failures, rules, options.examples_per_reason, found
                )
        migration_failures: list[RuleFailures] = []
        if summary.migration_failures:
            found = examples_among(collected, MIGRATION_RULE, summary.migration_failures, options)
            with timings.phase(
                examples_phase("failed migration rule", found, summary.migration_failures)
            ):
                migration_failures = migration_failure_records(
                    decoded, summary.migration_failures, options.examples_per_reason, found
                )
        if options.on_bad_records is not None and letters:
            if collected:
                with timings.phase("dead letters written"):
                    options.on_bad_records(collected)
            else:
                with timings.phase("job: bad records to the dead-letter topic, streamed"):
                    options.on_bad_records(
                        bad_records(decoded, rules, migrations, few=False).toLocalIterator()
                    )
        histograms: list[Histogram] = []
        if options.histogram_bins:
            with timings.phase("job: histograms (for the plot)"):
                histograms = collect_histograms(events, judged, statistics, options.histogram_bins)
    finally:
        decoded.unpersist()
    return Report(
        topic=topic,
        messages=summary.messages,
        decoded=summary.decoded,
        reader_schema=reader.source,
        writer_schema_ids=sorted(summary.writer_schema_ids),
        z_threshold=options.z_threshold,
        statistics=statistics,
        outliers=outlier_list,
        undecodable=undecodable,
        rule_failures=failures,
        histograms=histograms,
        reader_version=None if reader.version is None else reader.version.version,
        reader_major=None if reader.version is None else reader.version.major,
        migrations=writer_migrations(contract, paths, summary.writer_schema_ids),
        migration_failures=migration_failures,
    )


def writer_migrations(
    contract: Contract, paths: Paths, seen: Iterable[int]
) -> list[WriterMigration]:
    """How the records of each writer id seen reach the reader, for the ids that do not
    by resolution alone."""
    found: list[WriterMigration] = []
    for schema_id in sorted(set(seen) & set(paths)):
        path, writer = paths[schema_id], contract.writers.version_of(schema_id)
        if writer is None:
            continue  # a path starts at a version of the subject
        if isinstance(path, NoMigration):
            migration, rules, python = path.migration, [], []
        else:
            migration = path.transforms[0].migration
            rules, python = list(path.rule_names), list(python_rule_names(path))
        found.append(
            WriterMigration(schema_id, writer.version, writer.major, migration, rules, python)
        )
    return found


Examples = Mapping[str, list[RecordLocation]]


def examples_among(
    rows: Sequence[Row], column: str, counts: Mapping[str, int], options: AnalysisOptions
) -> dict[str, list[RecordLocation]]:
    """The first records of each label (a value of column) counted in counts whose records
    are all among rows (in (partition, offset) order): a label with fewer there has
    records elsewhere, and its first ones may be among those."""
    among: Counter[str] = Counter()
    first: dict[str, list[RecordLocation]] = defaultdict(list)
    for row in rows:
        label = row[column]
        if label is None:
            continue
        among[label] += 1
        if len(first[label]) < options.examples_per_reason:
            first[label].append(RecordLocation(row["partition"], row["offset"]))
    return {label: first[label] for label, count in counts.items() if among[label] == count}


def examples_phase(what: str, found: Examples, counts: Mapping[str, int]) -> str:
    """The timings phase of the first records of each what: a job unless found has all."""
    if set(counts) <= set(found):
        return f"first records of each {what} (from the bad records collected)"
    return f"job: first records of each {what}"


def first_records_of(
    labelled: DataFrame, counts: Mapping[str, int], count: int, found: Examples
) -> dict[str, list[RecordLocation]]:
    """found, and the first count (partition, offset) of each label of counts it lacks
    (one job over labelled, none when it lacks none)."""
    missing = sorted(set(counts) - set(found))
    examples = dict(found)
    if missing:
        examples.update(first_records(labelled.where(F.col("label").isin(missing)), count))
    return examples


def migration_failure_records(
    decoded: DataFrame, counts: Mapping[str, int], examples_per_rule: int, found: Examples
) -> list[RuleFailures]:
    """Each failed migration rule's count, with its first few records (found: those known
    already)."""
    examples = first_records_of(
        decoded.select("partition", "offset", F.col(MIGRATION_RULE).alias("label")),
        counts,
        examples_per_rule,
        found,
    )
    return [
        RuleFailures(rule=name, count=count, examples=examples.get(name, []))
        for name, count in sorted(counts.items())
    ]


def first_records(labelled: DataFrame, count: int) -> dict[str, list[RecordLocation]]:
    """The first count (partition, offset) of each label (labelled: partition, offset,
    label; a null label is none)."""
    first = Window.partitionBy("label").orderBy("partition", "offset")
    rows = (
        labelled.where(F.col("label").isNotNull())
        .withColumn("rank", F.row_number().over(first))
        .where(F.col("rank") <= count)
        .orderBy("label", "rank")
        .collect()
    )
    found: dict[str, list[RecordLocation]] = defaultdict(list)
    for row in rows:
        found[row["label"]].append(RecordLocation(row["partition"], row["offset"]))
    return found


def undecodable_records(
    decoded: DataFrame, counts: Mapping[str, int], examples_per_reason: int, found: Examples
) -> list[Undecodable]:
    """Each reason's count, with the first few (partition, offset) of its records (found:
    those known already)."""
    examples = first_records_of(
        decoded.select("partition", "offset", F.col("reason").alias("label")),
        counts,
        examples_per_reason,
        found,
    )
    return [
        Undecodable(reason=reason, count=counts[reason], examples=examples.get(reason, []))
        for reason in REASONS
        if reason in counts
    ]


def rule_failure_records(
    decoded: DataFrame,
    counts: Mapping[str, int],
    rules: RulePlan,
    examples_per_rule: int,
    found: Examples,
) -> list[RuleFailures]:
    """Each failing rule's count (in the rules' order), with its first few records (found:
    those known already)."""
    failed = F.array_compact(
        F.array(
            F.col(RULE),
            *(
                F.when(F.col(f"`{NONE_FAILED}{rule.name}`"), F.lit(rule.name))
                for rule in rules.rules
                if not rule.decisive
            ),
        )
    )
    examples = first_records_of(
        decoded.select("partition", "offset", F.explode(failed).alias("label")),
        counts,
        examples_per_rule,
        found,
    )
    return [
        RuleFailures(rule=rule.name, count=counts[rule.name], examples=examples.get(rule.name, []))
        for rule in rules.rules
        if rule.name in counts
    ]


def collect_histograms(
    events: DataFrame, statistics: DataFrame, groups: list[GroupStatistics], bins: int
) -> list[Histogram]:
    """Each group's histogram over [min, max] in `bins` bins."""
    counts = {
        (row["symbol"], row["currency"], row["bin"]): int(row["count"])
        for row in price_histograms(events, statistics, bins).collect()
    }
    return [
        Histogram(
            symbol=g.symbol,
            currency=g.currency,
            low=g.min,
            high=g.max,
            counts=[counts.get((g.symbol, g.currency, index), 0) for index in range(bins)],
        )
        for g in groups
    ]
