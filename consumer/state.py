"""The follow mode's running totals: exact per-group statistics merged batch by batch.

Pure Python, no Spark. A group (symbol, currency) keeps n, mean, M2 (the sum of squared
deviations from the mean), min and max; a micro-batch's own figures (one Spark
aggregation) are merged in with the parallel formula of Chan, Golub and LeVeque (1979):

    n = na + nb;  d = mean_b - mean_a;  mean = mean_a + d * nb / n
    M2 = M2_a + M2_b + d^2 * na * nb / n

The state also counts messages, decoded records and bad records by reason, remembers the
writer schema ids seen and the next offset of each partition, and names the last batch
it includes. It is saved atomically (a temp file in the same directory, fsync,
os.replace, fsync of the directory), so a crash leaves either the old file or the new
one, never a mix: a batch is either wholly in the file or not at all.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from consumer.report import GroupStatistics

STATE_FILE = "follow-state.json"
FORMAT_VERSION = 1
NO_BATCH = -1  # last_batch_id of a state that includes no batch yet

#: (symbol, currency); currency is None when the reader schema has no currency field.
GroupKey = tuple[str, str | None]


class StateFileError(Exception):
    """The state file exists but cannot be read as a follow state (message: one line)."""


@dataclass(frozen=True)
class RunningStatistics:
    """Exact running statistics of one group's prices."""

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
        """This group's statistics in the batch report's shape."""
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


@dataclass(frozen=True)
class BatchSummary:
    """What one micro-batch adds: its own counts and per-group statistics."""

    batch_id: int
    messages: int
    decoded: int
    undecodable: Mapping[str, int]  # by reason
    writer_schema_ids: frozenset[int]
    groups: Mapping[GroupKey, RunningStatistics]
    next_offsets: Mapping[int, int]  # by partition: 1 + the highest offset in the batch


@dataclass(frozen=True)
class FollowState:
    """Everything the stream has counted, up to and including last_batch_id."""

    last_batch_id: int = NO_BATCH
    messages: int = 0
    decoded: int = 0
    undecodable: Mapping[str, int] = field(default_factory=dict)
    writer_schema_ids: frozenset[int] = frozenset()
    groups: Mapping[GroupKey, RunningStatistics] = field(default_factory=dict)
    next_offsets: Mapping[int, int] = field(default_factory=dict)

    def includes(self, batch_id: int) -> bool:
        """True when batch_id's records are already counted (a replayed batch)."""
        return batch_id <= self.last_batch_id

    def merged(self, batch: BatchSummary) -> FollowState:
        """This state with batch's records added; ValueError if batch is already in it."""
        if self.includes(batch.batch_id):
            raise ValueError(
                f"batch {batch.batch_id} is already included (last {self.last_batch_id})"
            )
        groups = dict(self.groups)
        for key, statistics in batch.groups.items():
            groups[key] = groups[key].merged(statistics) if key in groups else statistics
        undecodable = dict(self.undecodable)
        for reason, count in batch.undecodable.items():
            undecodable[reason] = undecodable.get(reason, 0) + count
        next_offsets = dict(self.next_offsets)
        for partition, offset in batch.next_offsets.items():
            next_offsets[partition] = max(offset, next_offsets.get(partition, 0))
        return replace(
            self,
            last_batch_id=batch.batch_id,
            messages=self.messages + batch.messages,
            decoded=self.decoded + batch.decoded,
            undecodable=undecodable,
            writer_schema_ids=self.writer_schema_ids | batch.writer_schema_ids,
            groups=groups,
            next_offsets=next_offsets,
        )

    def with_currency_default(self, currency: str) -> FollowState:
        """Groups counted without a currency (read before the reader schema had one) moved
        into (symbol, currency): what a reader with that field default makes of the same
        records, so the totals equal a batch read with the newer reader."""
        if all(key[1] is not None for key in self.groups):
            return self
        groups: dict[GroupKey, RunningStatistics] = {}
        for (symbol, group_currency), statistics in self.groups.items():
            key = (symbol, currency if group_currency is None else group_currency)
            groups[key] = groups[key].merged(statistics) if key in groups else statistics
        return replace(self, groups=groups)


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


def group_order(item: tuple[GroupKey, object]) -> tuple[str, str]:
    """Sort key of (group, ...) pairs: by symbol, then currency (none first)."""
    (symbol, currency), _ = item
    return symbol, currency or ""


# --- the file ------------------------------------------------------------------------


def state_document(state: FollowState) -> dict[str, object]:
    """The state as JSON data (floats round-trip exactly through json)."""
    return {
        "format": FORMAT_VERSION,
        "last_batch_id": state.last_batch_id,
        "messages": state.messages,
        "decoded": state.decoded,
        "undecodable": dict(sorted(state.undecodable.items())),
        "writer_schema_ids": sorted(state.writer_schema_ids),
        "next_offsets": {str(p): o for p, o in sorted(state.next_offsets.items())},
        "groups": [
            {
                "symbol": symbol,
                "currency": currency,
                "n": s.n,
                "mean": s.mean,
                "m2": s.m2,
                "min": s.min,
                "max": s.max,
            }
            for (symbol, currency), s in sorted(state.groups.items(), key=group_order)
        ],
    }


def state_from_document(document: Mapping[str, Any]) -> FollowState:
    if document.get("format") != FORMAT_VERSION:
        raise ValueError(f"format {document.get('format')!r}, expected {FORMAT_VERSION}")
    return FollowState(
        last_batch_id=int(document["last_batch_id"]),
        messages=int(document["messages"]),
        decoded=int(document["decoded"]),
        undecodable={str(r): int(c) for r, c in document["undecodable"].items()},
        writer_schema_ids=frozenset(int(i) for i in document["writer_schema_ids"]),
        next_offsets={int(p): int(o) for p, o in document["next_offsets"].items()},
        groups={
            (
                str(g["symbol"]),
                None if g["currency"] is None else str(g["currency"]),
            ): RunningStatistics(
                n=int(g["n"]),
                mean=float(g["mean"]),
                m2=float(g["m2"]),
                min=float(g["min"]),
                max=float(g["max"]),
            )
            for g in document["groups"]
        },
    )


def load_state(directory: Path) -> FollowState:
    """The state saved in directory; an empty state when there is none yet."""
    path = directory / STATE_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return FollowState()
    except OSError as error:
        raise StateFileError(f"cannot read {path}: {error.strerror}") from None
    try:
        return state_from_document(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise StateFileError(f"{path} is not a follow state file: {error}") from None


def save_state(directory: Path, state: FollowState) -> None:
    """Replace directory's state file with state, atomically and durably."""
    directory.mkdir(parents=True, exist_ok=True)
    data = json.dumps(state_document(state), separators=(",", ":")).encode()
    descriptor, temporary = tempfile.mkstemp(prefix=f".{STATE_FILE}.", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, directory / STATE_FILE)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory_descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_descriptor)  # the rename itself survives a power loss
    finally:
        os.close(directory_descriptor)
