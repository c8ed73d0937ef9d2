"""The cluster tests' view of their private stack: its nodes, its topics, its executors."""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path

from cli_runs import wait_for
from confluent_kafka.admin import AdminClient, NewTopic
from private_stack import PrivateStack

ESTABLISHED = "01"  # the TCP state's code in /proc/net/tcp


class ClusterStack(PrivateStack):
    """A private stack of 3 brokers and 2 Spark workers: its nodes, topics and executors."""

    def broker(self, command: str, node: int) -> None:
        """kill-broker, stop-broker or start-broker node; each returns when it is done."""
        result = self.script(command, str(node))
        assert result.returncode == 0, result.stderr

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
