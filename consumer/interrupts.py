"""Ctrl-C while PySpark runs: one line instead of py4j's tracebacks, and no orphan JVM."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class InterruptNoiseFilter(logging.Filter):
    """Drops py4j's log records about calls that Ctrl-C broke.

    py4j logs a call interrupted by Ctrl-C, traceback included, before re-raising; and a
    py4j call made by a finalizer that the garbage collector runs inside the signal
    handler, while the interrupted call still holds the connection, fails as a reentrant
    read and is logged too (possibly before the handler's first line has run). Once
    Ctrl-C came, none of that is news.
    """

    def __init__(self) -> None:
        super().__init__()
        self.interrupted = False

    def on_sigint(self, _signum: int, _frame: FrameType | None) -> None:
        self.interrupted = True
        raise KeyboardInterrupt

    def filter(self, record: logging.LogRecord) -> bool:
        if "py4j" not in record.pathname and not record.exc_info:
            return True
        error = record.exc_info[1] if record.exc_info else None
        while error is not None:
            if isinstance(error, KeyboardInterrupt) or "reentrant call" in str(error):
                return False
            error = error.__context__
        return not (self.interrupted and "py4j" in record.pathname)


def quiet_interrupts() -> None:
    """Report Ctrl-C as KeyboardInterrupt and keep py4j's logging of it quiet.

    py4j logs through the root logger (logging.exception) and its own modules' loggers.
    """
    noise = InterruptNoiseFilter()
    for name in ("", "py4j.clientserver", "py4j.java_gateway"):
        logging.getLogger(name).addFilter(noise)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, noise.on_sigint)


@contextmanager
def interrupts_held_while_spark_starts() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the SparkSession is up, then raise KeyboardInterrupt.

    PySpark starts its JVM ignoring SIGINT; interrupted before that JVM reported its port,
    it leaves the JVM running with nothing to stop it (and holding our stdout). Once up,
    PySpark's own SIGINT handler calls into the JVM from inside the interrupted call, which
    logs py4j tracebacks; the previous handler (KeyboardInterrupt) is put back instead,
    and the JVM exits with this process (its stdin closes).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return
    received: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt
