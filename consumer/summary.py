"""What one pass over records tells, as plain data: counts by reason, writer schema ids,
and exact per-group price statistics that merge.

A group (symbol, currency) keeps n, mean, M2 (the sum of squared deviations from the
mean), min and max. Batch mode reports a summary directly; follow mode merges each
micro-batch's summary into its running state with the parallel formula of Chan, Golub
and LeVeque (1979):

    n = na + nb;  d = mean_b - mean_a;  mean = mean_a + d * nb / n
    M2 = M2_a + M2_b + d^2 * na * nb / n
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from consumer.report import GroupStatistics

#: (symbol, currency); currency is None when the reader schema has no currency field.
GroupKey = tuple[str, str | None]


@dataclass(frozen=True)
class RunningStatistics:
    """Exact statistics of one group's prices."""

    n: int
    mean: float
    m2: float  # sum of squared deviations from the mean
    min: float
    max: float

    @property
    def stddev(self) -> float | None:
        """Sample standard deviation (n - 1); None for a single event."""
        return math.sqrt(max(self.m2, 0.0) / (self.n - 1)) if self.n > 1 else None

    def reported(self, group: GroupKey) -> GroupStatistics:
        """This group's statistics in the report's shape."""
        symbol, currency = group
        return GroupStatistics(symbol, currency, self.n, self.min, self.max, self.mean, self.stddev)

    def merged(self, other: RunningStatistics) -> RunningStatistics:
        """Both groups' events as one group (Chan et al.'s parallel formula)."""
        n = self.n + other.n
        delta = other.mean - self.mean
        return RunningStatistics(
            n=n,
            mean=self.mean + delta * other.n / n,
            m2=self.m2 + other.m2 + delta * delta * self.n * other.n / n,
            min=min(self.min, other.min),
            max=max(self.max, other.max),
        )


def merge_groups(
    groups: Mapping[GroupKey, RunningStatistics],
    more: Iterable[tuple[GroupKey, RunningStatistics]],
) -> dict[GroupKey, RunningStatistics]:
    """groups with more's statistics merged in, group by group."""
    merged = dict(groups)
    for key, statistics in more:
        merged[key] = merged[key].merged(statistics) if key in merged else statistics
    return merged


def add_counts(counts: Mapping[str, int], more: Mapping[str, int]) -> dict[str, int]:
    """Counts by name, summed."""
    total = dict(counts)
    for name, count in more.items():
        total[name] = total.get(name, 0) + count
    return total


def group_order(item: tuple[GroupKey, object]) -> tuple[str, str]:
    """Sort key of (group, ...) pairs: by symbol, then currency (none first)."""
    (symbol, currency), _ = item
    return symbol, currency or ""


def reported_statistics(groups: Mapping[GroupKey, RunningStatistics]) -> list[GroupStatistics]:
    """The groups as the report's statistics, in report order."""
    return [s.reported(group) for group, s in sorted(groups.items(), key=group_order)]


@dataclass(frozen=True)
class Summary:
    """Counts and statistics of a set of records (a topic, or one micro-batch)."""

    decoded: int = 0
    undecodable: Mapping[str, int] = field(default_factory=dict)  # by reason
    #: Ids of the records that carry a writer schema the registry knows (decoded or not).
    writer_schema_ids: frozenset[int] = frozenset()
    #: Every id seen, by reason (None: decoded); the unknown ones are looked up.
    schema_ids_by_reason: Mapping[str | None, frozenset[int]] = field(default_factory=dict)
    groups: Mapping[GroupKey, RunningStatistics] = field(default_factory=dict)
    #: Decoded records by the rule they failed: the deciding DLQ or ERROR rule, and each
    #: NONE rule judging reached (the records of the first are not in groups).
    rule_failures: Mapping[str, int] = field(default_factory=dict)
    #: Records whose migration failed, by the migration rule that failed (their reason
    #: is migration_failed: they are counted in undecodable too).
    migration_failures: Mapping[str, int] = field(default_factory=dict)

    @property
    def messages(self) -> int:
        return self.decoded + sum(self.undecodable.values())

    def ids_with_reason(self, reason: str | None) -> frozenset[int]:
        return self.schema_ids_by_reason.get(reason, frozenset())


def statistics_of(prices: Iterable[float]) -> RunningStatistics:
    """A group's statistics computed directly (two passes): for tests and small inputs."""
    values = list(prices)
    if not values:
        raise ValueError("no prices")
    mean = math.fsum(values) / len(values)
    return RunningStatistics(
        n=len(values),
        mean=mean,
        m2=math.fsum((v - mean) ** 2 for v in values),
        min=min(values),
        max=max(values),
    )
