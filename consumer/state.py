"""The follow mode's running totals, merged batch by batch, and the file that keeps them.

Pure Python, no Spark. The state counts messages, decoded records and bad records by
reason, remembers the writer schema ids seen and the next offset of each partition,
keeps each group's running statistics (consumer.summary), and names the last batch it
includes. It is saved atomically (a temp file in the same directory, fsync, os.replace,
fsync of the directory), so a crash leaves either the old file or the new one, never a
mix: a batch is either wholly in the file or not at all.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from connection.timestamps import format_timestamp, parse_timestamp
from consumer.report import Outlier
from consumer.summary import (
    GroupKey,
    RunningStatistics,
    Summary,
    add_counts,
    group_order,
    merge_groups,
)

STATE_FILE = "follow-state.json"
FORMAT_VERSION = 1
NO_BATCH = -1  # last_batch_id of a state that includes no batch yet


class StateFileError(Exception):
    """The state file exists but cannot be read as a follow state (message: one line)."""


@dataclass(frozen=True)
class FollowState:
    """Everything the stream has counted, up to and including last_batch_id."""

    last_batch_id: int = NO_BATCH
    messages: int = 0
    decoded: int = 0
    undecodable: Mapping[str, int] = field(default_factory=dict)
    rule_failures: Mapping[str, int] = field(default_factory=dict)
    writer_schema_ids: frozenset[int] = frozenset()
    groups: Mapping[GroupKey, RunningStatistics] = field(default_factory=dict)
    next_offsets: Mapping[int, int] = field(default_factory=dict)
    #: The outliers the last batch found: a restart shows the saved state with them again,
    #: so a crash between the save and the show loses no update.
    last_outliers: tuple[Outlier, ...] = ()

    def includes(self, batch_id: int) -> bool:
        """True when batch_id's records are already counted (a replayed batch)."""
        return batch_id <= self.last_batch_id

    def merged(
        self,
        batch_id: int,
        batch: Summary,
        next_offsets: Mapping[int, int],
        outliers: tuple[Outlier, ...] = (),
    ) -> FollowState:
        """This state with batch (the records of batch_id up to next_offsets, and the
        outliers found in them) added; ValueError if batch_id is already in it."""
        if self.includes(batch_id):
            raise ValueError(f"batch {batch_id} is already included (last {self.last_batch_id})")
        offsets = dict(self.next_offsets)
        for partition, offset in next_offsets.items():
            offsets[partition] = max(offset, offsets.get(partition, 0))
        return replace(
            self,
            last_batch_id=batch_id,
            messages=self.messages + batch.messages,
            decoded=self.decoded + batch.decoded,
            undecodable=add_counts(self.undecodable, batch.undecodable),
            rule_failures=add_counts(self.rule_failures, batch.rule_failures),
            writer_schema_ids=self.writer_schema_ids | batch.writer_schema_ids,
            groups=merge_groups(self.groups, batch.groups.items()),
            next_offsets=offsets,
            last_outliers=outliers,
        )

    def with_currency_default(self, currency: str) -> FollowState:
        """Groups counted without a currency (read before the reader schema had one) moved
        into (symbol, currency): what a reader with that field default makes of the same
        records, so the totals equal a batch read with the newer reader."""
        if all(key[1] is not None for key in self.groups):
            return self
        moved = (
            ((symbol, currency if group_currency is None else group_currency), statistics)
            for (symbol, group_currency), statistics in self.groups.items()
        )
        return replace(self, groups=merge_groups({}, moved))


@dataclass(frozen=True)
class Update:
    """One micro-batch counted: what it held, and the totals including it."""

    batch_id: int
    records: int  # Kafka records in this batch
    state: FollowState  # totals so far, this batch included
    new_outliers: list[Outlier]
    lag: int | None  # records behind the end of the topic after this batch (None: unknown)
    seconds: float  # the batch's processing time in this process
    finished_at: float  # time.time() when the batch was counted
    oldest_record_ms: int | None  # Kafka timestamps of the batch's records
    newest_record_ms: int | None

    @property
    def events_per_s(self) -> float | None:
        return self.records / self.seconds if self.records and self.seconds > 0 else None


# --- the file ------------------------------------------------------------------------


def state_document(state: FollowState) -> dict[str, object]:
    """The state as JSON data (floats round-trip exactly through json)."""
    return {
        "format": FORMAT_VERSION,
        "last_batch_id": state.last_batch_id,
        "messages": state.messages,
        "decoded": state.decoded,
        "undecodable": dict(sorted(state.undecodable.items())),
        "rule_failures": dict(sorted(state.rule_failures.items())),
        "writer_schema_ids": sorted(state.writer_schema_ids),
        "next_offsets": {str(p): o for p, o in sorted(state.next_offsets.items())},
        "last_outliers": [
            {
                "ts": format_timestamp(o.ts),
                "symbol": o.symbol,
                "currency": o.currency,
                "price": o.price,
                "z": o.z,
            }
            for o in state.last_outliers
        ],
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
        rule_failures={str(r): int(c) for r, c in document.get("rule_failures", {}).items()},
        writer_schema_ids=frozenset(int(i) for i in document["writer_schema_ids"]),
        next_offsets={int(p): int(o) for p, o in document["next_offsets"].items()},
        last_outliers=tuple(
            Outlier(
                ts=parse_timestamp(o["ts"]),
                symbol=str(o["symbol"]),
                currency=None if o["currency"] is None else str(o["currency"]),
                price=float(o["price"]),
                z=float(o["z"]),
            )
            for o in document.get("last_outliers", [])
        ),
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
