"""The records that break the contract (undecodable, decided against by a DLQ rule, or
whose migration failed, unless its rule's action is NONE), with what the dead-letter
topic keeps of each: the original key, value bytes, timestamp and headers, and where
and why.

They are few, and the decoding pass keeps their raw columns (decoding.RAW) in the cache
it writes, so they are read from there in one job: one task sorts them, the driver
collects them and writes them in offset order. The driver holds at most MOST_COLLECTED
of them; past that they are range-sorted and streamed to the driver a partition at a
time (a job each). Never written from the executors: Spark retries tasks and may split
a partition, and the exactly-once argument needs each partition's letters written in
origin order by one writer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F

from connection.clients import librdkafka_config
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.decoding import MIGRATION_MODE, MIGRATION_RULE, RAW, RULE
from consumer.summary import Summary
from contract.dead_letters import DeadLetter, DeadLetterTopic, RuleFailure
from contract.migrations import MigrationRules, with_action
from contract.rules import ERROR, NONE, READ, RulePlan

#: The most bad records a run collects in the driver at once (about 100 MB at 1 kB each);
#: more are streamed from the cache a partition at a time.
MOST_COLLECTED = 100_000


def dead_letter_rules(rules: RulePlan) -> list[str]:
    """The rules whose failures go to the dead-letter topic (onFailure DLQ)."""
    return [rule.name for rule in rules.rules if rule.dead_letters]


def counted_migrations(migrations: MigrationRules) -> list[str]:
    """The migration rules whose failures are only counted (onFailure NONE)."""
    return with_action(migrations, NONE)


def dead_letter_count(summary: Summary, rules: RulePlan, migrations: MigrationRules) -> int:
    """How many records summary counts that the dead-letter topic takes: those that cannot
    be decoded or migrated, and those a DLQ rule decided against (a NONE rule's failures
    are only counted)."""
    only_counted = sum(summary.migration_failures.get(n, 0) for n in counted_migrations(migrations))
    return (
        sum(summary.undecodable.values())
        - only_counted
        + sum(summary.rule_failures.get(name, 0) for name in dead_letter_rules(rules))
    )


def stopping_failure(
    summary: Summary, rules: RulePlan, migrations: MigrationRules
) -> tuple[str, str] | None:
    """The column and the name of the first ERROR rule (a domain rule's, else a
    migration rule's) that failed on a record summary counts: the run stops on it."""
    for bound in rules.rules:
        if bound.stops and bound.name in summary.rule_failures:
            return RULE, bound.name
    for name in with_action(migrations, ERROR):
        if name in summary.migration_failures:
            return MIGRATION_RULE, name
    return None


def bad_records(
    decoded: DataFrame, rules: RulePlan, migrations: MigrationRules, few: bool = True
) -> DataFrame:
    """key, value, timestamp_ms, headers, partition, offset, reason, rule, migration rule
    and mode of each record that decoded (decoding.decoded_records' columns, RAW kept)
    says goes to the dead-letter topic, in (partition, offset) order.

    few (at most MOST_COLLECTED): in one partition, sorted by one task after a shuffle of
    the bad records alone, so the driver reads them in one job; otherwise range-sorted
    into the session's shuffle partitions, read a partition at a time.

    decoded is the cached frame the summary read: on an uncached one, Spark pushes this
    filter into the decoding and copies a migration's expressions into it, a plan whose
    generated code outgrows the JVM's limits."""
    to_dlq = dead_letter_rules(rules)
    counted = counted_migrations(migrations)
    unreadable = F.col("reason").isNotNull()
    if counted:
        unreadable &= ~F.coalesce(F.col(MIGRATION_RULE).isin(counted), F.lit(False))
    bad = decoded.where(unreadable | F.col(RULE).isin(to_dlq)).select(
        *(F.col(f"{RAW}.{name}").alias(name) for name in ("key", "value", "timestamp_ms")),
        F.col(f"{RAW}.headers").alias("headers"),
        "partition",
        "offset",
        "reason",
        RULE,
        MIGRATION_RULE,
        MIGRATION_MODE,
    )
    if few:
        return bad.repartition(1).sortWithinPartitions("partition", "offset")
    return bad.orderBy("partition", "offset")


def dead_letters(
    bad: DataFrame, rules: RulePlan, migrations: MigrationRules, subject: str
) -> Iterator[DeadLetter]:
    """bad_records' rows as dead letters, streamed to the driver in order."""
    return letters_of(bad.toLocalIterator(), rules, migrations, subject)


def letters_of(
    rows: Iterable[Row], rules: RulePlan, migrations: MigrationRules, subject: str
) -> Iterator[DeadLetter]:
    """bad_records' rows (in their order) as dead letters: a failed migration's names its
    rule with the mode it ran in (UPGRADE or DOWNGRADE)."""
    expressions = {rule.name: rule.rule.expr for rule in rules.rules}
    for row in rows:
        failure = None
        if row[RULE] is not None:
            failure = RuleFailure(row[RULE], expressions[row[RULE]], READ, subject)
        elif row[MIGRATION_RULE] is not None:
            migration = migrations[row[MIGRATION_RULE]][0]
            failure = RuleFailure(migration.name, migration.expr, row[MIGRATION_MODE], subject)
        yield DeadLetter(
            key=None if row["key"] is None else bytes(row["key"]),
            value=None if row["value"] is None else bytes(row["value"]),
            timestamp_ms=row["timestamp_ms"],
            headers=[
                (h["key"], None if h["value"] is None else bytes(h["value"]))
                for h in row["headers"] or []
            ],
            partition=row["partition"],
            offset=row["offset"],
            reason=row["reason"],
            rule=failure,
        )


def dead_letter_sink(
    clients: Clients, settings: ConnectionSettings, topic: str | None, partitions: int
) -> DeadLetterTopic | None:
    """The dead-letter topic called topic, written for settings.topic, whose partitions
    it mirrors (None: none)."""
    if topic is None:
        return None
    return DeadLetterTopic(
        clients.admin,
        librdkafka_config(settings),
        topic,
        settings.topic,
        partitions,
    )
