"""The consumer's report as data: computed once in Spark, rendered as text, JSON or a plot."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def utc_from_micros(micros: int) -> datetime:
    """The aware UTC datetime of microseconds since the Unix epoch."""
    return UNIX_EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True)
class GroupStatistics:
    """Price statistics of one (symbol, currency) group.

    currency is None only when the reader schema has no currency field (a reader older
    than the contract's version 2).
    """

    symbol: str
    currency: str | None
    count: int
    min: float
    max: float
    mean: float
    stddev: float | None  # sample standard deviation; None for a single event


@dataclass(frozen=True)
class Outlier:
    """An event far from its own (symbol, currency) group's mean."""

    ts: datetime  # aware, UTC
    symbol: str
    currency: str | None
    price: float
    z: float


@dataclass(frozen=True)
class RecordLocation:
    partition: int
    offset: int


@dataclass(frozen=True)
class Undecodable:
    """Records left out of the statistics for one reason, with a few examples."""

    reason: str
    count: int
    examples: list[RecordLocation]


@dataclass(frozen=True)
class RuleFailures:
    """Decoded records that failed one of the contract's rules, with a few examples: the
    deciding DLQ or ERROR rule (left out of the statistics) or a NONE rule (counted)."""

    rule: str
    count: int
    examples: list[RecordLocation]


@dataclass(frozen=True)
class Histogram:
    """One group's price distribution: counts of equal-width bins from low to high."""

    symbol: str
    currency: str | None
    low: float
    high: float
    counts: list[int]


@dataclass(frozen=True)
class WriterMigration:
    """How the records of one writer schema id reach the reader: the version and major
    they were written in, and the migration rules they run through in order (none when
    no rule takes them across: no_migration)."""

    schema_id: int
    version: int
    major: str | None
    mode: str  # UPGRADE or DOWNGRADE
    rules: list[str]
    #: The rules that run in jsonata-python (outside the subset compiled to Spark).
    python_rules: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    topic: str
    messages: int
    decoded: int
    reader_schema: str
    writer_schema_ids: list[int]
    z_threshold: float
    statistics: list[GroupStatistics]
    outliers: list[Outlier]
    undecodable: list[Undecodable] = field(default_factory=list)
    rule_failures: list[RuleFailures] = field(default_factory=list)
    rules: str = "none"  # where the rules came from
    histograms: list[Histogram] = field(default_factory=list)  # only when a plot is asked for
    #: The registered version the reader schema is, and its major (None: a file).
    reader_version: int | None = None
    reader_major: str | None = None
    #: Per writer schema id seen whose records migrate (or cannot): how.
    migrations: list[WriterMigration] = field(default_factory=list)
    #: Records whose migration failed, by the migration rule that failed.
    migration_failures: list[RuleFailures] = field(default_factory=list)
