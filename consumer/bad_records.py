"""The records that break the contract (undecodable, or decided against by a DLQ rule),
with what the dead-letter topic keeps of each: the original key, value bytes, timestamp
and headers, and where and why."""

from __future__ import annotations

from collections.abc import Iterator

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from connection.clients import librdkafka_config
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.decoding import RULE
from consumer.summary import Summary
from contract.dead_letters import DeadLetter, DeadLetterTopic, RuleFailure
from contract.rules import RulePlan

READ = "READ"


def dead_letter_rules(rules: RulePlan) -> list[str]:
    """The rules whose failures go to the dead-letter topic (onFailure DLQ)."""
    return [rule.name for rule in rules.rules if rule.action == "DLQ"]


def has_dead_letters(summary: Summary, rules: RulePlan) -> bool:
    """Whether summary counts a record the dead-letter topic takes: one that cannot be
    decoded, or that a DLQ rule decided against (a NONE rule's failures are only
    counted)."""
    return bool(summary.undecodable) or any(
        name in summary.rule_failures for name in dead_letter_rules(rules)
    )


def bad_records(records: DataFrame, decoded: DataFrame, rules: RulePlan) -> DataFrame:
    """key, value, timestamp_ms, headers, partition, offset, reason, rule of each record
    of records (a Kafka batch) that decoded (its judged form) says goes to the dead-letter
    topic, in (partition, offset) order."""
    to_dlq = dead_letter_rules(rules)
    bad = decoded.where(F.col("reason").isNotNull() | F.col(RULE).isin(to_dlq)).select(
        "partition", "offset", "reason", RULE
    )
    return (
        records.join(bad, ["partition", "offset"])
        .select(
            "key",
            "value",
            F.unix_millis("timestamp").alias("timestamp_ms"),
            "headers",
            "partition",
            "offset",
            "reason",
            RULE,
        )
        .orderBy("partition", "offset")
    )


def dead_letters(bad: DataFrame, rules: RulePlan, subject: str) -> Iterator[DeadLetter]:
    """bad_records' rows as dead letters, streamed to the driver in order."""
    expressions = {rule.name: rule.rule.expr for rule in rules.rules}
    for row in bad.toLocalIterator():
        rule = row[RULE]
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
            rule=None if rule is None else RuleFailure(rule, expressions[rule], READ, subject),
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
