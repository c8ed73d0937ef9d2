"""The inspector served by uvicorn: in the foreground (python -m inspector), or in a
background thread of another program (the benchmarks, the tests)."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from connection.defaults import LOOPBACK
from connection.settings import ConnectionSettings
from inspector.app import create_app

#: Open event streams (live pages) are closed this long after a stop is asked for.
GRACEFUL_SHUTDOWN_S = 2
START_TIMEOUT_S = 20.0


def config(settings: ConnectionSettings, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


def serve(settings: ConnectionSettings, host: str, port: int) -> None:
    """Serve until interrupted."""
    uvicorn.Server(config(settings, host, port)).run()


class BackgroundServer:
    """The inspector on a free loopback port in a thread of this process, for a with
    block; entering gives its base URL."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.server = uvicorn.Server(config(settings, LOOPBACK, 0))
        self.thread = threading.Thread(target=self.server.run, name="inspector", daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the inspector did not start")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://{LOOPBACK}:{port}"

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.server.should_exit = True
        self.thread.join(GRACEFUL_SHUTDOWN_S + 10)
