"""The cluster tests' view of their private stack: its script, its processes, its topics."""

from __future__ import annotations

import io
import json
import math
import os
import socket
import subprocess
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cli_runs import cli_env, wait_for
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from fastavro import parse_schema, schemaless_reader
from topic_offsets import end_offsets

from connection.paths import CONTRACT_FILE, LOCAL_STACK

ESTABLISHED = "01"  # the TCP state's code in /proc/net/tcp

EventKey = tuple[datetime, str, float, str]


def port_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@dataclass
class ClusterStack:
    """A local-stack.sh stack of 3 brokers and 2 Spark workers, and its `env` output."""

    script_env: dict[str, str]
    home: Path
    settings: dict[str, str] = field(default_factory=dict)

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
        """Start whatever is not running (the data is kept) and read `env`."""
        result = self.script("up")
        assert result.returncode == 0, result.stderr
        env_output = self.script("env").stdout
        self.settings = dict(line.split("=", 1) for line in env_output.splitlines() if "=" in line)

    def pid(self, service: str) -> int:
        return int((self.home / "run" / f"{service}.pid").read_text())

    def broker(self, command: str, node: int) -> None:
        """kill-broker, stop-broker or start-broker node; each returns when it is done."""
        result = self.script(command, str(node))
        assert result.returncode == 0, result.stderr

    @property
    def bootstrap(self) -> str:
        return self.settings["KAFKA_BOOTSTRAP_SERVERS"]

    @property
    def broker_ports(self) -> set[int]:
        """Every Kafka client port of every node (plaintext, SASL, SSL, SASL_SSL)."""
        lists = ("KAFKA_BOOTSTRAP_SERVERS", "STACK_SASL_BOOTSTRAP_SERVERS")
        lists += ("STACK_SSL_BOOTSTRAP_SERVERS", "STACK_SASL_SSL_BOOTSTRAP_SERVERS")
        return {
            int(server.rsplit(":", 1)[1])
            for name in lists
            for server in self.settings[name].split(",")
        }

    def client_env(self, **variables: str) -> dict[str, str]:
        """The environment of a producer, consumer or gate run against this stack."""
        return cli_env(self.settings, **variables)

    def admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.bootstrap})

    def new_topic(self, partitions: int = 3) -> str:
        """A fresh topic with the brokers' defaults (replication factor, min.insync.replicas)."""
        name = f"test-cluster-{uuid.uuid4().hex[:12]}"
        admin = self.admin()  # the future needs its client alive
        admin.create_topics([NewTopic(name, num_partitions=partitions)])[name].result(30)
        wait_for(lambda: all(self.leader(name, p) > 0 for p in range(partitions)), "leaders", 30)
        return name

    def leader(self, topic: str, partition: int) -> int:
        """The node id leading the partition (-1 while none does)."""
        metadata = self.admin().list_topics(topic, timeout=10).topics[topic]
        return int(metadata.partitions[partition].leader)

    def fully_replicated(self, topic: str) -> bool:
        """Every partition has all its replicas in sync."""
        metadata = self.admin().list_topics(topic, timeout=10).topics[topic]
        return all(sorted(p.isrs) == sorted(p.replicas) for p in metadata.partitions.values())

    def executors(self, worker: int) -> list[int]:
        """Pids of the Spark executors that worker N launched."""
        parent = self.pid(f"spark-worker-{worker}")
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent_pid = int(stat.rsplit(")", 1)[1].split()[1])
            if parent_pid == parent and b"CoarseGrainedExecutorBackend" in cmdline:
                found.append(int(entry.name))
        return found

    def reads_kafka(self, pid: int) -> bool:
        """The process holds an open connection to one of the brokers (a task reads)."""
        return bool(connected_ports(pid) & self.broker_ports)


def connected_ports(pid: int) -> set[int]:
    """Remote ports of the established TCP connections of pid."""
    try:
        sockets = {
            os.readlink(fd)[len("socket:[") : -1]
            for fd in Path(f"/proc/{pid}/fd").iterdir()
            if os.readlink(fd).startswith("socket:[")
        }
    except OSError:
        return set()
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            columns = line.split()
            if columns[3] == ESTABLISHED and columns[9] in sockets:
                ports.add(int(columns[2].rsplit(":", 1)[1], 16))
    return ports


def topic_events(bootstrap: str, topic: str) -> Counter[EventKey]:
    """An independent reader: every value in the topic, read with a plain consumer and
    decoded with fastavro past the 5-byte header, as a multiset of
    (ts, symbol, price, currency)."""
    schema = parse_schema(json.loads(CONTRACT_FILE.read_text()))
    remaining = {p: end for p, end in (end_offsets(bootstrap, topic) or {}).items() if end > 0}
    client = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "enable.auto.commit": False}
    )
    client.assign([TopicPartition(topic, p, 0) for p in remaining])
    events: Counter[EventKey] = Counter()
    try:
        while remaining:
            batch = client.consume(10_000, timeout=10)
            assert batch, f"no records within 10 s; still expected up to {remaining}"
            for message in batch:
                if message.error() is not None:
                    raise KafkaException(message.error())
                value = message.value()
                assert value is not None and value[0] == 0
                record = schemaless_reader(io.BytesIO(value[5:]), schema, None)
                key = (record["ts"], record["symbol"], record["price"], record["currency"])
                events[key] += 1
                if message.offset() + 1 >= remaining.get(message.partition(), 0):
                    remaining.pop(message.partition(), None)
    finally:
        client.close()
    return events


def assert_same_report(actual: object, expected: object, path: str = "$") -> None:
    """Equal consumer reports, floats to 1e-9 (Spark may sum partitions in another order)."""
    if isinstance(expected, float):
        assert isinstance(actual, float) and math.isclose(actual, expected, abs_tol=1e-9), path
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected), path
        for key in expected:
            assert_same_report(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same_report(a, e, f"{path}[{index}]")
    else:
        assert actual == expected, path
