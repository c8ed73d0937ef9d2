"""`python -m consumer` as a user runs it: wall time to the printed report, peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO

from benchmarks.machine import load_average
from benchmarks.memory import RssSampler
from benchmarks.results import ConsumerCliRun
from connection.paths import REPO_ROOT
from connection.settings import ConnectionSettings


class ConsumerCliFailed(RuntimeError):
    """The consumer exited with an error or reported another number of messages."""


class OutputCollector(threading.Thread):
    """Reads a pipe to its end, noting when the first byte arrived."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.chunks: list[bytes] = []
        self.first_byte_at: float | None = None

    def run(self) -> None:
        while chunk := os.read(self.stream.fileno(), 1 << 16):  # returns what has arrived
            if self.first_byte_at is None:
                self.first_byte_at = time.perf_counter()
            self.chunks.append(chunk)


def consumer_command(settings: ConnectionSettings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "consumer",
        "--format",
        "json",
        "--bootstrap-servers",
        settings.bootstrap_servers,
        "--schema-registry-url",
        settings.registry.url,
        "--topic",
        settings.topic,
        "--timings",
    ]


def timings_from(stderr: str) -> tuple[tuple[str, float], ...]:
    """The (phase, seconds) of the consumer's --timings lines on stderr."""
    phases = []
    for line in stderr.splitlines():
        if line.startswith("timings: ") and line.endswith(" s"):
            name, _, seconds = line[len("timings: ") : -len(" s")].rstrip().rpartition(" ")
            phases.append((name.strip(), float(seconds)))
    return tuple(phases)


def run_consumer_cli(settings: ConnectionSettings, expected_events: int) -> ConsumerCliRun:
    """One `python -m consumer --format json` over settings.topic, checked for its count.

    The report is printed at the very end and stdout is unbuffered, so the first byte on
    stdout marks "report printed"; the exit comes later, after Spark has shut down.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            consumer_command(settings),
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        if process.stdout is None:
            raise ConsumerCliFailed("no stdout pipe")
        output = OutputCollector(process.stdout)
        with RssSampler(process.pid) as sampler:
            output.start()
            returncode = process.wait()
            exited = time.perf_counter()
        output.join()
        errors.seek(0)
        stderr = errors.read().decode(errors="replace").strip()
    if returncode != 0 or output.first_byte_at is None:
        raise ConsumerCliFailed(f"consumer exited with {returncode}: {stderr[-2000:]}")
    messages = json.loads(b"".join(output.chunks))["messages"]
    if messages != expected_events:
        raise ConsumerCliFailed(
            f"consumer reported {messages} messages, expected {expected_events}"
        )
    return ConsumerCliRun(
        events=expected_events,
        report_seconds=output.first_byte_at - started,
        exit_seconds=exited - started,
        peak_rss_bytes=sampler.peak.tree,
        peak_python_rss_bytes=sampler.peak.root,
        load=load_average(),
        phases=timings_from(stderr),
    )
