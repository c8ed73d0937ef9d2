"""The follow mode's running totals, merged batch by batch, and the file that keeps them.

Pure Python, no Spark. The state counts messages, decoded records and bad records by
reason, remembers the writer schema ids seen and the next offset of each partition,
keeps each group's running statistics (consumer.summary), and names the last batch it
includes. Here it becomes bytes and back; consumer.checkpoint stores them beside Spark's
checkpoint, replaced atomically, so a batch is either wholly in the file or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
#: 2 added batches and dead_letters; a format 1 file still loads (below).
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
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
    #: Batches counted (a replayed batch is not counted again).
    batches: int = 0
    #: Records written to the dead-letter topic.
    dead_letters: int = 0

    def includes(self, batch_id: int) -> bool:
        """True when batch_id's records are already counted (a replayed batch)."""
        return batch_id <= self.last_batch_id

    def merged(
        self,
        batch_id: int,
        batch: Summary,
        next_offsets: Mapping[int, int],
        outliers: tuple[Outlier, ...] = (),
        dead_letters: int = 0,
    ) -> FollowState:
        """This state with batch (the records of batch_id up to next_offsets, the outliers
        found in them and the dead letters written of them) added; ValueError if batch_id
        is already in it."""
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
            batches=self.batches + 1,
            dead_letters=self.dead_letters + dead_letters,
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
        "batches": state.batches,
        "dead_letters": state.dead_letters,
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
    """The state a document of any readable format holds. Format 1 kept no batch count:
    every batch id up to the last one was counted once (Spark numbers them from 0), so
    it is last_batch_id + 1; nor a dead-letter count, which starts at 0."""
    if document.get("format") not in READABLE_FORMATS:
        raise ValueError(
            f"format {document.get('format')!r}, expected one of "
            f"{', '.join(map(str, READABLE_FORMATS))}"
        )
    last_batch_id = int(document["last_batch_id"])
    return FollowState(
        last_batch_id=last_batch_id,
        batches=int(document.get("batches", last_batch_id + 1)),
        dead_letters=int(document.get("dead_letters", 0)),
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


def encode_state(state: FollowState) -> bytes:
    return json.dumps(state_document(state), separators=(",", ":")).encode()


def decode_state(data: bytes, where: str) -> FollowState:
    """The state in data (read from where); StateFileError (one line) if it is none."""
    try:
        return state_from_document(json.loads(data))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise StateFileError(f"{where} is not a follow state file: {error}") from None
