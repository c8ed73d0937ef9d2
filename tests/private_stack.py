"""A stack of the tests' own, started by scripts/local-stack.sh: for the tests that kill,
stop and restart services, or need more brokers than the session's stack has.

It lives in a folder of pytest's tmp dir (its own STACK_HOME, the shared download cache)
on a block of loopback ports nothing else listens on, so it runs beside the default stack
and any other private one. Services are killed and restarted by the pids the script wrote;
at the end every process is stopped by pid and none may be left.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from cli_runs import cli_env, process_alive, wait_for

from connection.paths import LOCAL_STACK, STACK_CACHE

# Offsets from a random base port: Kafka's listeners of node 1 (node N adds
# (N-1) * NODE_STEP), then the registry's, then Spark's (worker N adds N-1 to the worker
# ports). Bases lie below the kernel's ephemeral range (32768+), so an outgoing connection
# never takes one of these ports.
NODE_STEP = 100
KAFKA_PORT_OFFSETS = {
    "STACK_KAFKA_PORT": 0,
    "STACK_KAFKA_CONTROLLER_PORT": 1,
    "STACK_KAFKA_SASL_PORT": 2,
    "STACK_KAFKA_SSL_PORT": 3,
    "STACK_KAFKA_SASL_SSL_PORT": 4,
}
#: HDFS's NameNode (RPC and web UI), between node 1's Kafka ports and the registry's.
HDFS_PORT_OFFSETS = {"STACK_HDFS_PORT": 5, "STACK_HDFS_HTTP_PORT": 6}
REGISTRY_PORT_OFFSETS = {
    "STACK_REGISTRY_PORT": 10,
    "STACK_REGISTRY_TLS_PORT": 11,
    "STACK_REGISTRY_MANAGEMENT_PORT": 12,
}
SPARK_PORT_OFFSETS = {
    "STACK_SPARK_MASTER_PORT": 20,
    "STACK_SPARK_MASTER_WEBUI_PORT": 21,
    "STACK_SPARK_WORKER_PORT": 30,
    "STACK_SPARK_WORKER_WEBUI_PORT": 40,
}
PORT_OFFSETS = KAFKA_PORT_OFFSETS | HDFS_PORT_OFFSETS | REGISTRY_PORT_OFFSETS | SPARK_PORT_OFFSETS
MAX_BROKERS = 3

Stack = TypeVar("Stack", bound="PrivateStack")


def port_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def ports_of(base: int, brokers: int, spark_workers: int, hdfs: bool = False) -> list[int]:
    """Every port a stack of that shape listens on, from base (HDFS's DataNode takes
    ports the kernel chooses)."""
    ports = [
        base + offset + NODE_STEP * node
        for offset in KAFKA_PORT_OFFSETS.values()
        for node in range(brokers)
    ]
    ports += [base + offset for offset in REGISTRY_PORT_OFFSETS.values()]
    if hdfs:
        ports += [base + offset for offset in HDFS_PORT_OFFSETS.values()]
    if spark_workers:
        ports += [base + SPARK_PORT_OFFSETS["STACK_SPARK_MASTER_PORT"]]
        ports += [base + SPARK_PORT_OFFSETS["STACK_SPARK_MASTER_WEBUI_PORT"]]
        for name in ("STACK_SPARK_WORKER_PORT", "STACK_SPARK_WORKER_WEBUI_PORT"):
            ports += [base + SPARK_PORT_OFFSETS[name] + worker for worker in range(spark_workers)]
    return ports


def free_port_block(brokers: int, spark_workers: int, hdfs: bool = False) -> int:
    """A base port whose whole block is free right now."""
    assert brokers <= MAX_BROKERS and spark_workers < 10
    chooser = random.Random()
    for _ in range(100):
        base = chooser.randrange(20_000, 32_000 - MAX_BROKERS * NODE_STEP, 50)
        if all(port_free(port) for port in ports_of(base, brokers, spark_workers, hdfs)):
            return base
    raise AssertionError("no free block of loopback ports for a private stack")


@dataclass
class PrivateStack:
    """A local-stack.sh stack of the tests' own: its script's environment, its folder and
    its `env` output (settings)."""

    script_env: dict[str, str]
    home: Path
    settings: dict[str, str] = field(default_factory=dict)

    @classmethod
    @contextmanager
    def running(
        cls: type[Stack],
        home: Path,
        brokers: int = 1,
        spark_workers: int = 0,
        hdfs: bool = False,
    ) -> Iterator[Stack]:
        """A stack of brokers Kafka nodes, the registry, with spark_workers a Spark
        standalone cluster and with hdfs an HDFS, in home: up for the block, then stopped."""
        base = free_port_block(brokers, spark_workers, hdfs)
        script_env = {
            **os.environ,
            **{name: str(base + offset) for name, offset in PORT_OFFSETS.items()},
            "STACK_KAFKA_NODE_PORT_STEP": str(NODE_STEP),
            "STACK_BROKERS": str(brokers),
            "STACK_SPARK_WORKERS": str(spark_workers),
            "STACK_HDFS": "1" if hdfs else "0",
            "STACK_PYTHON": sys.executable,
            "STACK_HOME": str(home),
            "STACK_CACHE": os.environ.get("STACK_CACHE", str(STACK_CACHE)),
        }
        stack = cls(script_env=script_env, home=home)
        try:
            stack.up()
            yield stack
        finally:
            stack.down()

    def script(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LOCAL_STACK), *args],
            env=self.script_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def up(self) -> None:
        """Start whatever is not running (the data is kept) and read `env` once.

        `status` first: when every service runs, `up` would only check them again (on a
        cluster that includes a JVM asking for the prices topic, seconds each time)."""
        if self.script("status").returncode != 0:
            result = self.script("up")
            assert result.returncode == 0, result.stderr
        if not self.settings:
            output = self.script("env").stdout
            self.settings = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)

    def down(self) -> None:
        """Stop every service; none may be left running."""
        result = self.script("down")
        assert result.returncode == 0, result.stderr
        left = sorted(path.name for path in (self.home / "run").glob("*.pid"))
        assert left == [], f"left running: {left}"

    def pid(self, service: str) -> int:
        return int((self.home / "run" / f"{service}.pid").read_text())

    def kill(self, service: str, sig: signal.Signals = signal.SIGKILL, timeout: float = 30) -> None:
        """Signal the service (SIGKILL unless told) by the pid local-stack.sh wrote; return
        when it is gone (within timeout seconds)."""
        pid = self.pid(service)
        os.kill(pid, sig)
        wait_for(lambda: not process_alive(pid), f"{service} (pid {pid}) to die", timeout)

    @property
    def bootstrap(self) -> str:
        return self.settings["KAFKA_BOOTSTRAP_SERVERS"]

    @property
    def registry_url(self) -> str:
        return self.settings["SCHEMA_REGISTRY_URL"]

    @property
    def hdfs_url(self) -> str:
        return self.settings["HDFS_URL"]

    def client_env(self, **variables: str) -> dict[str, str]:
        """The environment of a producer, consumer or gate run against this stack."""
        return cli_env(self.settings, **variables)
