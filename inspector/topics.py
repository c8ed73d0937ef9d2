"""The index: every topic with its partitions, record count, value subject and latest
version, and its dead-letter and statistics topics."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from connection.clients import RegistryNotFound, registry_call
from inspector.decoding import DLQ_SUFFIX, Contracts, value_subject
from inspector.kafka import KafkaReader

STATISTICS_SUFFIX = "-statistics"


@dataclass(frozen=True)
class TopicSummary:
    name: str
    partitions: int
    records: int  # end minus start offsets, summed over the partitions
    subject: str | None
    latest_version: int | None
    dead_letter_topic: str | None
    dead_letters: int | None
    statistics_topic: str | None

    def document(self) -> dict[str, Any]:
        return asdict(self)


def topic_summaries(reader: KafkaReader, contracts: Contracts) -> list[TopicSummary]:
    """Every topic but the internal ones, by name (BrokerUnavailable, RegistryFailure)."""
    topics = reader.topics()
    ranges = reader.offset_ranges({name: list(range(n)) for name, n in topics.items()})
    counts = {name: sum(r.count for r in ranges[name].values()) for name in topics}
    subjects = contracts.subjects()
    latest: dict[str, int | None] = {}
    summaries = []
    for name in sorted(topics):
        subject = value_subject(name, subjects)
        if subject is not None and subject not in latest:
            latest[subject] = latest_version(contracts, subject)
        dead_letters = f"{name}{DLQ_SUFFIX}"
        statistics = f"{name}{STATISTICS_SUFFIX}"
        summaries.append(
            TopicSummary(
                name=name,
                partitions=topics[name],
                records=counts[name],
                subject=subject,
                latest_version=None if subject is None else latest[subject],
                dead_letter_topic=dead_letters if dead_letters in topics else None,
                dead_letters=counts.get(dead_letters),
                statistics_topic=statistics if statistics in topics else None,
            )
        )
    return summaries


def latest_version(contracts: Contracts, subject: str) -> int | None:
    try:
        with registry_call(contracts.registry, f"versions of {subject}"):
            return max(contracts.client.get_versions(subject), default=None)
    except RegistryNotFound:
        return None
