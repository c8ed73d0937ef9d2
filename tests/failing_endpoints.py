"""Endpoints that fail in each way a broker, a registry or a Spark master can, on loopback.

- refused: a port bound but not listening, so a connection is refused at once (and the
  port stays ours while the test runs);
- unanswered: a listener whose accept queue is full, so the kernel drops every further
  handshake and a connect waits until its own timeout, as with a host that is down;
- silent: a listener that accepts every connection and never sends a byte, as a hung
  service does.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"


@contextmanager
def refused_port() -> Iterator[int]:
    with socket.socket() as bound:
        bound.bind((LOOPBACK, 0))
        yield bound.getsockname()[1]


@contextmanager
def unanswered_port() -> Iterator[int]:
    with ExitStack() as sockets:
        listener = sockets.enter_context(socket.socket())
        listener.bind((LOOPBACK, 0))
        listener.listen(0)  # room for one connection that is never accepted
        port: int = listener.getsockname()[1]
        sockets.enter_context(socket.create_connection((LOOPBACK, port), timeout=5))
        yield port


@dataclass
class SilentServer:
    """Accepts connections and holds them open without a word; connected is set at the
    first one (the client is then waiting for an answer)."""

    listener: socket.socket
    connected: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        port: int = self.listener.getsockname()[1]
        return port

    def serve(self) -> None:
        held = []
        self.listener.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                held.append(self.listener.accept()[0])
            except TimeoutError:
                continue
            self.connected.set()
        for connection in held:
            connection.close()


@contextmanager
def silent_server() -> Iterator[SilentServer]:
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(16)
        server = SilentServer(listener)
        thread = threading.Thread(target=server.serve, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.stopping.set()
            thread.join()


@contextmanager
def silent_port() -> Iterator[int]:
    """The port of a silent_server."""
    with silent_server() as server:
        yield server.port
