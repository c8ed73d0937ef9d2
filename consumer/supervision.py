"""What keeps a follow run going and ends it cleanly: retries of calls that may pass,
the broker watch, the stop signals, and stopping the streaming query."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql.streaming.query import StreamingQuery

from connection.clients import RegistryFailure, RegistryRejected, RegistryUnreachable
from consumer.errors import ConsumerError

FIRST_RETRY_WAIT_S, LONGEST_RETRY_WAIT_S = 0.5, 5.0
BROKER_CHECK_S = 5.0  # seconds between the driver's own checks that the broker answers

T = TypeVar("T")


class StopRequested(Exception):
    """A batch that started after a stop was asked for: not counted, not committed."""


class StopSignal:
    """Set by SIGINT, SIGTERM, --until-idle or a failure; every wait watches it."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def request(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        self.event.set()

    def install(self) -> None:
        """SIGINT and SIGTERM ask for a stop (the running batch finishes first)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self.request)
            signal.signal(signal.SIGTERM, self.request)

    @property
    def requested(self) -> bool:
        return self.event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to seconds; True when a stop was asked for meanwhile."""
        return self.event.wait(seconds)


def with_retries(call: Callable[[], T], max_wait_s: float, stop: StopSignal) -> T:
    """call()'s result, trying again while the registry is unreachable or answers 5xx,
    waiting 0.5, 1, 2, 4, 5, 5 ... s between tries; ConsumerError once max_wait_s has
    passed or for any other registry failure, StopRequested if a stop is asked for."""
    deadline = time.monotonic() + max_wait_s
    wait = FIRST_RETRY_WAIT_S
    while True:
        try:
            return call()
        except (RegistryUnreachable, RegistryRejected) as failure:
            if isinstance(failure, RegistryRejected) and failure.status < 500:
                raise ConsumerError(str(failure)) from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConsumerError(f"{failure} (gave up after {max_wait_s:g} s)") from None
        except RegistryFailure as failure:  # refused credentials, not found: final
            raise ConsumerError(str(failure)) from None
        if stop.wait(min(wait, remaining)):
            raise StopRequested
        wait = min(wait * 2, LONGEST_RETRY_WAIT_S)


class BrokerWatch:
    """Whether the broker has answered within the last max_wait_s, asked every
    BROKER_CHECK_S seconds; ConsumerError once it has not.

    Spark's Kafka source waits for a broker that is gone, retrying for minutes without
    failing the query, so the driver asks the broker itself.
    """

    def __init__(self, admin: AdminClient, bootstrap_servers: str, max_wait_s: float) -> None:
        self.admin = admin
        self.bootstrap_servers = bootstrap_servers
        self.max_wait_s = max_wait_s
        self.last_answer = self.last_check = time.monotonic()
        self.answered = True  # at the last check

    def silent_s(self) -> float | None:
        """Seconds since the broker last answered, once a check has gone unanswered."""
        return None if self.answered else time.monotonic() - self.last_answer

    def check(self) -> None:
        now = time.monotonic()
        if now - self.last_check < BROKER_CHECK_S:
            return
        self.last_check = now
        try:
            self.admin.list_topics(timeout=BROKER_CHECK_S)
            self.last_answer = time.monotonic()
            self.answered = True
        except KafkaException:
            self.answered = False
            if now - self.last_answer >= self.max_wait_s:
                raise ConsumerError(
                    f"Kafka broker unreachable at {self.bootstrap_servers} "
                    f"(gave up after {self.max_wait_s:g} s); a restart resumes from the checkpoint"
                ) from None


def stop_query(query: StreamingQuery) -> None:
    """Stop the query if it runs, waiting at most spark.sql.streaming.stopTimeout for its
    thread; a thread stuck in a call to a broker that is gone is left to the process's
    exit (its batch is not committed, so a restart runs it again)."""
    if not query.isActive:
        return
    with contextlib.suppress(PySparkException, Py4JError):
        query.stop()
