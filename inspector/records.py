"""A page of a topic's records: which records (newest across partitions, a partition from
an offset, from a time, with a key), read and decoded, each as one row.

Pages go back (newest first) or forward (oldest first) from a position per partition.
Each partition is read in its own offset order and the partitions are merged by record
timestamp, so a page is a prefix of every partition's records from the position, and
the next page starts where this one stopped in each partition.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message

from connection.timestamps import format_timestamp, parse_timestamp
from inspector.decoding import TopicContract, key_text, text_of
from inspector.kafka import KafkaReader, OffsetRange
from inspector.rules import deciding_rules

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: The most records a key filter looks at for one page, over all partitions.
KEY_SCAN_RECORDS = 10_000
#: Records read from one partition at a time while a key filter looks for matches.
KEY_SCAN_CHUNK = 1000
#: Headers that say where a dead letter came from and why (Kafka Connect's and Confluent's).
DEAD_LETTER_PREFIXES = ("__connect.errors.", "__rule.")


class BadQuery(ValueError):
    """A query parameter cannot be used; str() is one line naming it."""


@dataclass(frozen=True)
class Query:
    """What a records page shows: from where, in which direction, how many, which key."""

    limit: int = DEFAULT_LIMIT
    partition: int | None = None
    offset: int | None = None
    since: str | None = None  # the `from` parameter as given
    since_ms: int | None = None
    key: str | None = None
    starts: dict[int, int] | None = None  # forward from these offsets (a next page)
    ends: dict[int, int] | None = None  # back from these offsets (an older page)
    major: str | None = None  # read into the newest version of this major (None: the latest)

    @property
    def forward(self) -> bool:
        return self.partition is not None or self.since_ms is not None or self.starts is not None

    def link_params(self, **changes: Any) -> dict[str, str]:
        """The query string of another page of the same view (limit, key and major kept)."""
        params: dict[str, str] = {}
        if self.limit != DEFAULT_LIMIT:
            params["limit"] = str(self.limit)
        if self.key is not None:
            params["key"] = self.key
        if self.major is not None:
            params["major"] = self.major
        params.update({k: str(v) for k, v in changes.items() if v is not None})
        return params


def _int(params: Mapping[str, str], name: str, low: int, high: int | None = None) -> int | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        number = int(text)
    except ValueError:
        raise BadQuery(f"{name}: not a whole number: {text!r}") from None
    if number < low or (high is not None and number > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise BadQuery(f"{name}: {number} is out of range ({bound})")
    return number


def positions(text: str, name: str) -> dict[int, int]:
    """``0:120,1:98`` as {partition: offset}."""
    found = {}
    for item in text.split(","):
        partition, colon, offset = item.partition(":")
        if not colon or not partition.isdigit() or not offset.isdigit():
            raise BadQuery(f"{name}: expected partition:offset[,partition:offset], not {text!r}")
        found[int(partition)] = int(offset)
    return found


def format_positions(found: Mapping[int, int]) -> str:
    return ",".join(f"{p}:{o}" for p, o in sorted(found.items()))


def parse_query(params: Mapping[str, str]) -> Query:
    """The page's query parameters, checked; BadQuery naming the first unusable one."""
    limit = _int(params, "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT
    partition = _int(params, "partition", 0)
    offset = _int(params, "offset", 0)
    if offset is not None and partition is None:
        raise BadQuery("offset: needs partition (?partition=P&offset=O)")
    since = params.get("from") or None
    since_ms = None
    if since is not None:
        try:
            since_ms = int(parse_timestamp(since).timestamp() * 1000)
        except ValueError:
            raise BadQuery(
                f"from: not a time: {since!r} (UTC, yyyy-mm-dd hh:mm:ss.fff or ISO 8601)"
            ) from None
    starts = positions(params["starts"], "starts") if params.get("starts") else None
    ends = positions(params["ends"], "ends") if params.get("ends") else None
    key = params.get("key")
    major = params.get("major") or None
    return Query(
        limit, partition, offset, since, since_ms, key if key else None, starts, ends, major
    )


@dataclass(frozen=True)
class Row:
    """One record as the page shows it."""

    partition: int
    offset: int
    timestamp: str | None
    key: str | None
    headers: list[tuple[str, str | None]]
    dead_letter: list[tuple[str, str | None]]  # the origin and rule headers, if any
    schema_id: int | None
    version: int | None
    value: dict[str, Any] | None
    defaulted: tuple[str, ...]
    reason: str | None
    first_bytes: str | None
    rule: str | None
    #: A record written in another major: the migration rules it was read through, and
    #: its value as written (in its writer's version, ``version``).
    migrated_by: tuple[str, ...] = ()
    written: dict[str, Any] | None = None
    #: Why its migration failed, or why no rule takes it to the reader (one line).
    failure: str | None = None

    @property
    def value_json(self) -> str:
        return "" if self.value is None else json.dumps(self.value, ensure_ascii=False)

    def document(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp,
            "key": self.key,
            "headers": [{"name": n, "value": v} for n, v in self.headers],
            "schema_id": self.schema_id,
            "version": self.version,
            "value": self.value,
            "defaulted": list(self.defaulted),
            "reason": self.reason,
            "first_bytes": self.first_bytes,
            "rule": self.rule,
            "migrated_by": list(self.migrated_by),
            "written": self.written,
            "failure": self.failure,
        }


@dataclass
class Scanned:
    """What a page read: per partition, the offsets looked at."""

    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)  # [first, last + 1)

    def add(self, partition: int, start: int, stop: int) -> None:
        if start >= stop:
            return
        first, end = self.ranges.get(partition, (start, stop))
        self.ranges[partition] = (min(first, start), max(end, stop))

    @property
    def records(self) -> int:
        return sum(stop - start for start, stop in self.ranges.values())


@dataclass(frozen=True)
class Page:
    """A page of records, how they were read, and where the pages around it start."""

    topic: str
    query: Query
    rows: list[Row]
    offsets: dict[int, OffsetRange]
    scanned: Scanned
    scan_limited: bool  # a key filter stopped at KEY_SCAN_RECORDS
    next_params: dict[str, str] | None  # the following page (older, or newer when forward)
    previous_params: dict[str, str] | None  # partition view: the records before this page
    subject: str | None = None  # the value subject read with (None: none registered)
    reader_version: int | None = None
    reader_source: str | None = None  # the reader's source and major, as people read it

    def document(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "subject": self.subject,
            "reader_version": self.reader_version,
            "partitions": {
                str(p): {"low": r.low, "high": r.high} for p, r in sorted(self.offsets.items())
            },
            "records": [row.document() for row in self.rows],
            "scanned": {
                "records": self.scanned.records,
                "ranges": {
                    str(p): {"from": start, "to": stop - 1}
                    for p, (start, stop) in sorted(self.scanned.ranges.items())
                },
                "limited": self.scan_limited,
            },
            "next": self.next_params,
            "previous": self.previous_params,
        }


def timestamp_ms(message: Message) -> int | None:
    kind, ms = message.timestamp()
    return None if kind == TIMESTAMP_NOT_AVAILABLE else ms


def headers_of(message: Message) -> list[tuple[str, str | None]]:
    """The headers, each value as text (hex when it is not UTF-8)."""
    headers = message.headers() or []
    found = list(headers.items()) if isinstance(headers, dict) else list(headers)
    return [(name, value if isinstance(value, str) else text_of(value)) for name, value in found]


def build_rows(messages: list[Message], contract: TopicContract) -> list[Row]:
    """The rows of messages (the registry is asked for writer ids not seen before)."""
    contract.learn([m.value() for m in messages])
    decoded = [contract.decode(m.value()) for m in messages]
    rules = deciding_rules(contract, [d.record for d in decoded])
    rows = []
    for message, found, rule in zip(messages, decoded, rules, strict=True):
        ms = timestamp_ms(message)
        headers = headers_of(message)
        rows.append(
            Row(
                partition=message.partition() or 0,
                offset=message.offset() or 0,
                timestamp=None
                if ms is None
                else format_timestamp(datetime.fromtimestamp(ms / 1000, timezone.utc)),
                key=key_text(message.key()),
                headers=headers,
                dead_letter=[(n, v) for n, v in headers if n.startswith(DEAD_LETTER_PREFIXES)],
                schema_id=found.schema_id,
                version=found.version,
                value=found.value,
                defaulted=found.defaulted,
                reason=found.reason,
                first_bytes=found.first_bytes,
                rule=rule,
                migrated_by=found.migrated_by,
                written=found.written,
                failure=found.failure,
            )
        )
    return rows


def merged(lists: Mapping[int, list[Message]], limit: int, newest_first: bool) -> list[Message]:
    """Up to limit messages from per-partition lists (each in the page's order), taking
    the newest (or oldest) head each time: a prefix of every list."""
    sign = -1 if newest_first else 1

    def order(message: Message) -> tuple[int, int]:
        return (sign * (timestamp_ms(message) or 0), message.partition() or 0)

    heads = [(order(items[0]), p, 0) for p, items in lists.items() if items]
    heapq.heapify(heads)
    taken: list[Message] = []
    while heads and len(taken) < limit:
        _, partition, index = heapq.heappop(heads)
        items = lists[partition]
        taken.append(items[index])
        if index + 1 < len(items):
            heapq.heappush(heads, (order(items[index + 1]), partition, index + 1))
    return taken


def read_page(reader: KafkaReader, contract: TopicContract, topic: str, query: Query) -> Page:
    """The page query asks for (BrokerUnavailable, TopicNotFound, BadQuery, RegistryFailure)."""
    partitions = reader.partitions(topic)
    offsets = reader.offset_ranges({topic: partitions})[topic]
    if query.partition is not None and query.partition not in offsets:
        raise BadQuery(f"partition: topic {topic} has no partition {query.partition}")
    if query.partition is not None:
        one = {query.partition: offsets[query.partition]}
        if query.offset is not None:
            origin = {query.partition: query.offset}
        elif query.since_ms is not None:
            origin = reader.offsets_at(topic, one, query.since_ms)
        else:
            origin = {query.partition: one[query.partition].low}
    elif query.since_ms is not None:
        origin = reader.offsets_at(topic, offsets, query.since_ms)
    elif query.starts is not None:
        origin = {p: query.starts.get(p, offsets[p].high) for p in offsets}
    elif query.ends is not None:
        origin = {p: query.ends.get(p, offsets[p].low) for p in offsets}
    else:
        origin = {p: r.high for p, r in offsets.items()}
    # a position outside a partition's records (deleted, or not written yet) is its edge
    origin = {p: min(max(o, offsets[p].low), offsets[p].high) for p, o in origin.items()}
    matches: Callable[[Message], bool] = (
        (lambda m: key_text(m.key()) == query.key) if query.key is not None else (lambda _m: True)
    )
    found, scanned, limited = scan(reader, topic, offsets, origin, query, matches)
    shown = merged(found, query.limit, newest_first=not query.forward)
    if query.partition is not None:
        shown.sort(key=lambda m: m.offset() or 0)
    rows = build_rows(shown, contract)
    following = next_positions(origin, found, shown, scanned, query.forward, offsets)
    return Page(
        topic=topic,
        query=query,
        rows=rows,
        offsets=offsets,
        scanned=scanned,
        scan_limited=limited,
        next_params=next_link(query, following),
        previous_params=previous_link(query, origin, offsets),
        subject=contract.subject,
        reader_version=contract.reader_version,
        reader_source=None if contract.reader is None else contract.reader.described,
    )


def scan(
    reader: KafkaReader,
    topic: str,
    offsets: Mapping[int, OffsetRange],
    origin: Mapping[int, int],
    query: Query,
    matches: Callable[[Message], bool],
) -> tuple[dict[int, list[Message]], Scanned, bool]:
    """Per partition, up to limit matching records from origin in the page's direction
    (each list in that order), what was looked at, and whether a key scan hit its bound."""
    budget_each = max(query.limit, KEY_SCAN_RECORDS // max(len(origin), 1))
    if query.key is None:
        budget_each = query.limit
    chunk = query.limit if query.key is None else KEY_SCAN_CHUNK
    found: dict[int, list[Message]] = {p: [] for p in origin}
    edge = {p: origin[p] for p in origin}  # the next offset to read in each partition
    scanned = Scanned()
    limited = False
    while True:
        wanted = {}
        for p, at in edge.items():
            looked = abs(origin[p] - at)
            if len(found[p]) >= query.limit or looked >= budget_each:
                continue
            size = min(chunk, budget_each - looked)
            if query.forward and at < offsets[p].high:
                wanted[p] = (at, min(at + size, offsets[p].high))
            elif not query.forward and at > offsets[p].low:
                wanted[p] = (max(at - size, offsets[p].low), at)
        if not wanted:
            break
        read = reader.read(topic, wanted)
        for p, (start, stop) in wanted.items():
            scanned.add(p, start, stop)
            hits = [m for m in read[p] if matches(m)]
            found[p].extend(hits if query.forward else reversed(hits))
            edge[p] = stop if query.forward else start
    if query.key is not None:
        limited = any(
            abs(origin[p] - edge[p]) >= budget_each
            and len(found[p]) < query.limit
            and (edge[p] < offsets[p].high if query.forward else edge[p] > offsets[p].low)
            for p in origin
        )
    for p in found:
        del found[p][query.limit :]
    return found, scanned, limited


def next_positions(
    origin: Mapping[int, int],
    found: Mapping[int, list[Message]],
    shown: list[Message],
    scanned: Scanned,
    forward: bool,
    offsets: Mapping[int, OffsetRange],
) -> dict[int, int] | None:
    """Where the following page starts in each partition; None when there is nothing left
    in the page's direction."""
    following = {}
    for p, at in origin.items():
        mine = [m.offset() or 0 for m in shown if m.partition() == p]
        if mine:
            following[p] = max(mine) + 1 if forward else min(mine)
        elif found[p]:
            following[p] = at  # matches here, but newer (older) ones filled the page
        elif p in scanned.ranges:
            start, stop = scanned.ranges[p]
            following[p] = stop if forward else start
        else:
            following[p] = at
    exhausted = all(
        (following[p] >= offsets[p].high) if forward else (following[p] <= offsets[p].low)
        for p in following
    )
    return None if exhausted else following


def next_link(query: Query, following: dict[int, int] | None) -> dict[str, str] | None:
    if following is None:
        return None
    if query.partition is not None:
        return query.link_params(partition=query.partition, offset=following[query.partition])
    if query.forward:
        return query.link_params(starts=format_positions(following))
    return query.link_params(ends=format_positions(following))


def previous_link(
    query: Query, origin: Mapping[int, int], offsets: Mapping[int, OffsetRange]
) -> dict[str, str] | None:
    """The partition view's page before this one (other views page one way)."""
    if query.partition is None or query.key is not None:
        return None
    start = origin[query.partition]
    low = offsets[query.partition].low
    if start <= low:
        return None
    return query.link_params(partition=query.partition, offset=max(low, start - query.limit))
