"""The in-process consumer measurements, in a child process of their own.

A SparkSession's JVM lives as long as the Python process that started it, and the
Kafka clients inside it would re-create (empty, auto-created) topics the benchmark
deletes at the end. Running consume() in a child ends the JVM with the child.

Parent: ``run_spark_probe(request)``; child: ``python -m benchmarks.spark_probe`` with
the request as JSON on stdin and the result as JSON on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pyspark.sql import SparkSession

from benchmarks.consumer_spark import (
    consume_min_partitions,
    read_alone_seconds,
    time_consume,
    time_migrated,
    time_variant,
)
from benchmarks.dead_letters import dead_letters_cost
from benchmarks.machine import load_average
from benchmarks.results import (
    KAFKA_READ_LIMIT,
    ConsumerRun,
    MigrationFallback,
    PairedRun,
    SparkVariant,
)
from connection.defaults import DEFAULTS
from connection.paths import REPO_ROOT
from connection.settings import ConnectionSettings, RegistrySettings, spark_settings_from_env
from connection.spark import build_spark_session
from consumer.batch import ConsumerOptions


@dataclass(frozen=True)
class SparkProbeRequest:
    bootstrap_servers: str
    schema_registry_url: str
    topics: dict[str, str]  # event count (as text: JSON keys) -> topic holding them
    warm_up_counts: list[int]
    counts: list[int]
    variant_count: int  # 0: no settings grid
    ratio_repeats: int = 0  # pairs (Kafka read alone, consume()) at the largest count
    rules_count: int = 0  # pairs (consume() without rules, with them) at this count; 0: none
    #: Pairs (consume() of the major-1 topic of this count, of the same events written in
    #: major 2 and read as major 1) and the fallback's run; 0: none.
    migration_count: int = 0
    major_2_topic: str = ""  # migration_count events in major 2, its rules compiled
    fallback_topic: str = ""  # the same, its DOWNGRADE rule run in jsonata-python
    #: The topic of breakers and poison and its record count: pairs (consume() without
    #: --dlq, with it), one per dead-letter topic named here; none when empty.
    dead_letters_topic: str = ""
    dead_letters_records: int = 0
    dead_letter_topics: list[str] = field(default_factory=list)


@dataclass
class SparkProbeResult:
    consumer: list[ConsumerRun] = field(default_factory=list)
    variants: list[SparkVariant] = field(default_factory=list)
    default_min_partitions: int = 0  # consume()'s choice for the settings grid's topic
    default_shuffle_partitions: int = 0
    read_limit: list[PairedRun] = field(default_factory=list)
    rules_cost: list[PairedRun] = field(default_factory=list)  # without rules, then with
    migration_cost: list[PairedRun] = field(default_factory=list)  # limit: major 1; ours: major 2
    migration_fallback: MigrationFallback | None = None
    dead_letters_cost: list[PairedRun] = field(default_factory=list)  # without --dlq, with

    @classmethod
    def from_json(cls, text: str) -> SparkProbeResult:
        data = json.loads(text)
        fallback = data["migration_fallback"]
        return cls(
            consumer=[ConsumerRun(**run) for run in data["consumer"]],
            variants=[SparkVariant(**variant) for variant in data["variants"]],
            default_min_partitions=data["default_min_partitions"],
            default_shuffle_partitions=data["default_shuffle_partitions"],
            read_limit=[PairedRun(**run) for run in data["read_limit"]],
            rules_cost=[PairedRun(**run) for run in data["rules_cost"]],
            migration_cost=[PairedRun(**run) for run in data["migration_cost"]],
            migration_fallback=None
            if fallback is None
            else MigrationFallback(**{**fallback, "python_rules": tuple(fallback["python_rules"])}),
            dead_letters_cost=[PairedRun(**run) for run in data["dead_letters_cost"]],
        )


def progress(message: str) -> None:
    print(f"bench: {message} (load {load_average():.1f})", file=sys.stderr, flush=True)


def probe(request: SparkProbeRequest) -> SparkProbeResult:
    def named(name: str) -> ConnectionSettings:
        return ConnectionSettings(
            request.bootstrap_servers, RegistrySettings(request.schema_registry_url), name
        )

    def topic(count: int) -> ConnectionSettings:
        return named(request.topics[str(count)])

    result = SparkProbeResult()
    spark = build_spark_session(spark_settings_from_env(DEFAULTS.spark_master))
    for count in request.warm_up_counts:  # session start, class loading, JIT: not timed
        time_consume(spark, topic(count), count)
    cores = spark.sparkContext.defaultParallelism
    largest = max(request.counts)
    result.default_min_partitions = consume_min_partitions(
        spark, topic(request.variant_count or largest)
    )
    result.default_shuffle_partitions = int(spark.conf.get("spark.sql.shuffle.partitions") or 0)
    for count in request.counts:  # the limit, then ours, at each size
        seconds = read_alone_seconds(spark, topic(count))
        result.consumer.append(ConsumerRun(KAFKA_READ_LIMIT, count, seconds, load_average()))
        run = time_consume(spark, topic(count), count)
        progress(f"consume() {count:,}: {run.records_per_s:,.0f} rec/s")
        result.consumer.append(run)
    for _ in range(request.ratio_repeats):  # interleaved: the limit, then ours
        limit = read_alone_seconds(spark, topic(largest))
        ours = time_consume(spark, topic(largest), largest).seconds
        result.read_limit.append(PairedRun(limit, ours, load_average()))
        progress(f"Kafka read alone {limit:.1f} s, consume() {ours:.1f} s at {largest:,}")
    if request.rules_count:
        result.rules_cost = rules_cost(spark, topic(request.rules_count), request)
    if request.migration_count:
        count = request.migration_count
        result.migration_cost = migration_cost(
            spark, topic(count), named(request.major_2_topic), count, request.ratio_repeats
        )
        result.migration_fallback = fallback_rate(spark, named(request.fallback_topic), count)
    if request.dead_letter_topics:
        result.dead_letters_cost = dead_letters_cost(
            spark,
            named(request.dead_letters_topic),
            request.dead_letters_records,
            request.dead_letter_topics,
            progress,
        )
    if request.variant_count:
        for min_partitions in sorted({result.default_min_partitions, cores, 2 * cores, 4 * cores}):
            for shuffle in sorted({result.default_shuffle_partitions, cores}):
                variant = time_variant(
                    spark,
                    topic(request.variant_count),
                    request.variant_count,
                    min_partitions,
                    shuffle,
                )
                progress(
                    f"minPartitions {min_partitions}, shuffle {shuffle}: {variant.seconds:.1f} s"
                )
                result.variants.append(variant)
    spark.stop()
    return result


def interleaved(
    repeats: int, limit: Callable[[], float], ours: Callable[[], float]
) -> Iterator[PairedRun]:
    """repeats pairs of the limit's seconds and ours', each pair in the other order than
    the last: neither is always the warmer."""
    for repeat in range(repeats):
        if repeat % 2 == 0:
            limit_seconds = limit()
            ours_seconds = ours()
        else:
            ours_seconds = ours()
            limit_seconds = limit()
        yield PairedRun(limit_seconds, ours_seconds, load_average())


def rules_cost(
    spark: SparkSession, settings: ConnectionSettings, request: SparkProbeRequest
) -> list[PairedRun]:
    """Pairs of consume() on the same topic: with no rules (an empty ruleSet) and with the
    contract's (the shipped file, the registry keeping none), interleaved."""
    count = request.rules_count
    pairs = []
    with tempfile.TemporaryDirectory() as folder:
        no_rules = Path(folder) / "none.rules.json"
        no_rules.write_text(json.dumps({"domainRules": []}))
        without_rules = ConsumerOptions(rules_file=no_rules)
        for pair in interleaved(
            request.ratio_repeats,
            lambda: time_consume(spark, settings, count, without_rules).seconds,
            lambda: time_consume(spark, settings, count).seconds,
        ):
            pairs.append(pair)
            progress(
                f"consume() at {count:,}: {pair.limit_seconds:.1f} s without rules, "
                f"{pair.ours_seconds:.1f} s with them"
            )
    return pairs


def migration_cost(
    spark: SparkSession,
    major_1: ConnectionSettings,
    major_2: ConnectionSettings,
    count: int,
    repeats: int,
) -> list[PairedRun]:
    """Pairs of consume() on count events: written in major 1, and written in major 2
    and read as major 1 through the compiled DOWNGRADE rule, interleaved. The major-2
    read runs once untimed first: its first run generates code the warm-ups (major-1
    reads) have not."""
    time_migrated(spark, major_2, count, in_python=False)
    pairs = []
    for pair in interleaved(
        repeats,
        lambda: time_consume(spark, major_1, count).seconds,
        lambda: time_migrated(spark, major_2, count, in_python=False)[0],
    ):
        pairs.append(pair)
        progress(
            f"consume() at {count:,}: {pair.limit_seconds:.1f} s written in major 1, "
            f"{pair.ours_seconds:.1f} s written in major 2"
        )
    return pairs


def fallback_rate(
    spark: SparkSession, settings: ConnectionSettings, count: int
) -> MigrationFallback:
    """consume() on count events written in major 2 whose DOWNGRADE rule runs in
    jsonata-python (one run: a rate reported, no target)."""
    seconds, rules = time_migrated(spark, settings, count, in_python=True)
    fallback = MigrationFallback(count, seconds, load_average(), rules)
    progress(
        f"consume() at {count:,} written in major 2, {', '.join(rules)} in jsonata-python: "
        f"{fallback.records_per_s:,.0f} rec/s"
    )
    return fallback


class SparkProbeFailed(RuntimeError):
    """The child process failed (its stderr has already been shown)."""


def run_spark_probe(request: SparkProbeRequest) -> SparkProbeResult:
    """Run probe(request) in `python -m benchmarks.spark_probe` (stderr passes through)."""
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.spark_probe"],
        cwd=REPO_ROOT,
        input=json.dumps(asdict(request)),
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise SparkProbeFailed(f"benchmarks.spark_probe exited with {child.returncode}")
    return SparkProbeResult.from_json(child.stdout)


def main() -> int:
    request = SparkProbeRequest(**json.loads(sys.stdin.read()))
    print(json.dumps(asdict(probe(request))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
