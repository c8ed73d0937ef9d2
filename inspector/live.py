"""Follow mode's statistics as they are published: one background consumer per statistics
topic (``<topic>-statistics``) keeps the latest update of its source topic and hands
every new one to the browsers listening (server-sent events)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from connection.clients import RegistryFailure
from inspector.decoding import Contracts, key_text
from inspector.kafka import KafkaReader, OffsetRange
from inspector.topics import STATISTICS_SUFFIX

#: How far back from a statistics topic's end a page looks for its source's latest update
#: (a statistics topic shared by several sources holds each source's updates).
LOOK_BACK = 200
#: How often a follower whose topic does not exist yet looks again.
TOPIC_RETRY_S = 1.0
POLL_S = 0.2


def statistics_topic(topic: str) -> str:
    return f"{topic}{STATISTICS_SUFFIX}"


@dataclass(frozen=True)
class Published:
    """One update as read from the statistics topic: its offset there and the document."""

    offset: int
    document: dict[str, Any]

    def event(self) -> dict[str, Any]:
        return {"offset": self.offset, "update": self.document}


@dataclass(frozen=True)
class LivePage:
    """A topic's live statistics page: its latest update, if any, and where the updates
    come from."""

    topic: str
    latest: Published | None

    @property
    def statistics_topic(self) -> str:
        return statistics_topic(self.topic)

    def document(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "statistics_topic": self.statistics_topic,
            "offset": None if self.latest is None else self.latest.offset,
            "update": None if self.latest is None else self.latest.document,
        }


def latest_update(reader: KafkaReader, contracts: Contracts, topic: str) -> Published | None:
    """The latest update of topic on its statistics topic; None when there is none
    (BrokerUnavailable, RegistryFailure)."""
    name = statistics_topic(topic)
    if name not in reader.topics():
        return None
    ranges = reader.offset_ranges({name: [0]})[name]
    available = ranges.get(0, OffsetRange(0, 0))
    end = available.high
    while end > available.low and available.high - end < LOOK_BACK:
        start = max(available.low, end - 20)
        messages = reader.read(name, {0: (start, end)})[0]
        contract = contracts.of(name)
        contract.learn([m.value() for m in messages])
        for message in reversed(messages):
            if key_text(message.key()) == topic:
                decoded = contract.decode(message.value())
                if decoded.value is not None:
                    return Published(message.offset() or 0, decoded.value)
        end = start
    return None


class Follower:
    """A background consumer of one topic's statistics topic."""

    def __init__(self, reader: KafkaReader, contracts: Contracts, topic: str) -> None:
        self.reader = reader
        self.contracts = contracts
        self.topic = topic
        self.name = statistics_topic(topic)
        self.latest: Published | None = None
        self.problem: str | None = None  # one line while the broker or registry is gone
        self._listeners: set[Callable[[str, dict[str, Any]], None]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._positioned = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"statistics-{topic}", daemon=True)

    def start(self, wait_s: float = 3.0) -> None:
        """Start following; return once the follower reads from the topic's current end
        (or wait_s passed, or the topic does not exist yet)."""
        self._thread.start()
        self._positioned.wait(wait_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def listen(self, listener: Callable[[str, dict[str, Any]], None]) -> Callable[[], None]:
        """Call listener(kind, data) for every update ("update") and change of problem
        ("status") from now on; returns the function that stops it."""
        with self._lock:
            self._listeners.add(listener)

        def stop() -> None:
            with self._lock:
                self._listeners.discard(listener)

        return stop

    def _tell(self, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(kind, data)

    def _set_problem(self, problem: str | None) -> None:
        if problem != self.problem:
            self.problem = problem
            self._tell("status", {"problem": problem})

    def _on_error(self, error: KafkaError) -> None:
        if error.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
            self._set_problem(
                f"Kafka broker unreachable at {self.reader.settings.bootstrap_servers}: "
                f"{error.str()}"
            )

    def _run(self) -> None:
        consumer = Consumer({**self.reader.consumer_config(), "error_cb": self._on_error})
        try:
            self._position(consumer)
            while not self._stop.is_set():
                self._poll(consumer)
        finally:
            consumer.close()

    def _position(self, consumer: Consumer) -> None:
        """Assign the topic from its current end, once it exists; a topic created later
        from its start (each update on it is newer than what a page showed: nothing)."""
        missing_at_start = False
        while not self._stop.is_set():
            try:
                if self.name in self.reader.topics():
                    ranges = self.reader.offset_ranges({self.name: [0]})[self.name][0]
                    start = ranges.low if missing_at_start else ranges.high
                    consumer.assign([TopicPartition(self.name, 0, start)])
                    self._set_problem(None)
                    self._positioned.set()
                    return
                missing_at_start = True
            except Exception as error:
                self._set_problem(" ".join(str(error).split()))
            self._positioned.set()  # nothing to wait for: the page says there is no update
            self._stop.wait(TOPIC_RETRY_S)

    def _poll(self, consumer: Consumer) -> None:
        try:
            message = consumer.poll(POLL_S)
        except KafkaException as failure:
            self._set_problem(" ".join(str(failure).split()))
            return
        if message is None:
            return
        kafka_error = message.error()
        if kafka_error is not None:
            if kafka_error.code() != KafkaError._PARTITION_EOF:
                self._on_error(kafka_error)
            else:
                self._set_problem(None)
            return
        self._set_problem(None)
        if key_text(message.key()) != self.topic:
            return
        try:
            contract = self.contracts.of(self.name)
            contract.learn([message.value()])
        except RegistryFailure as error:
            self._set_problem(str(error))
            return
        decoded = contract.decode(message.value())
        if decoded.value is not None:
            self.latest = Published(message.offset() or 0, decoded.value)
            self._tell("update", self.latest.event())


class Followers:
    """One follower per topic, started on first use, stopped with the app."""

    def __init__(self, reader: KafkaReader, contracts: Contracts) -> None:
        self.reader = reader
        self.contracts = contracts
        self._followers: dict[str, Follower] = {}
        self._lock = threading.Lock()

    def of(self, topic: str) -> Follower:
        with self._lock:
            follower = self._followers.get(topic)
            started = follower is None
            if follower is None:
                follower = self._followers[topic] = Follower(self.reader, self.contracts, topic)
        if started:
            follower.start()
        return follower

    def stop(self) -> None:
        with self._lock:
            followers = list(self._followers.values())
        for follower in followers:
            follower.stop()


def queue_listener(
    loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[tuple[str, dict[str, Any]]]
) -> Callable[[str, dict[str, Any]], None]:
    """A follower listener that hands events to an asyncio queue from the follower's thread."""

    def listener(kind: str, data: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, data))

    return listener
