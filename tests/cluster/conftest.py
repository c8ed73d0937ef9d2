"""One private Kafka cluster (3 KRaft nodes) and Spark cluster (master + 2 workers) per
pytest session, started by scripts/local-stack.sh on ports of its own.

The stack lives in pytest's tmp dir (its own STACK_HOME, the shared download cache), on
a block of loopback ports nothing else uses, so it runs beside the default stack and the
reliability tests' private one. Every process is stopped by pid at teardown.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_stack import ClusterStack, port_free

from connection.paths import STACK_CACHE

# Offsets from a random base port: Kafka's listeners of node 1 (node N adds (N-1)*100),
# then the registry's, then Spark's. Below the kernel's ephemeral range (32768+), so an
# outgoing connection never takes one of them.
NODE_STEP = 100
PORT_OFFSETS = {
    "STACK_KAFKA_PORT": 0,
    "STACK_KAFKA_CONTROLLER_PORT": 1,
    "STACK_KAFKA_SASL_PORT": 2,
    "STACK_KAFKA_SSL_PORT": 3,
    "STACK_KAFKA_SASL_SSL_PORT": 4,
    "STACK_REGISTRY_PORT": 10,
    "STACK_REGISTRY_TLS_PORT": 11,
    "STACK_REGISTRY_MANAGEMENT_PORT": 12,
    "STACK_SPARK_MASTER_PORT": 20,
    "STACK_SPARK_MASTER_WEBUI_PORT": 21,
    "STACK_SPARK_WORKER_PORT": 22,  # worker 2: 23
    "STACK_SPARK_WORKER_WEBUI_PORT": 24,  # worker 2: 25
}
BROKERS = 3
SPARK_WORKERS = 2


def ports_of(base: int) -> list[int]:
    kafka = [base + offset + NODE_STEP * node for offset in range(5) for node in range(BROKERS)]
    return kafka + [base + offset for offset in (10, 11, 12, 20, 21, 22, 23, 24, 25)]


def free_port_block() -> int:
    """A base port whose whole block is free right now."""
    chooser = random.Random()
    for _ in range(100):
        base = chooser.randrange(20_000, 32_000 - 3 * NODE_STEP, 50)
        if all(port_free(port) for port in ports_of(base)):
            return base
    pytest.fail("no free block of loopback ports for the cluster stack", pytrace=False)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterStack]:
    home = tmp_path_factory.mktemp("cluster-stack")
    base = free_port_block()
    script_env = {
        **os.environ,
        **{name: str(base + offset) for name, offset in PORT_OFFSETS.items()},
        "STACK_KAFKA_NODE_PORT_STEP": str(NODE_STEP),
        "STACK_BROKERS": str(BROKERS),
        "STACK_SPARK_WORKERS": str(SPARK_WORKERS),
        "STACK_PYTHON": sys.executable,
        "STACK_HOME": str(home),
        "STACK_CACHE": os.environ.get("STACK_CACHE", str(STACK_CACHE)),
    }
    stack = ClusterStack(script_env=script_env, home=home)
    try:
        stack.up()
        yield stack
    finally:
        down = stack.script("down")
        assert down.returncode == 0, down.stderr
        left = sorted(path.name for path in Path(home, "run").glob("*.pid"))
        assert left == [], f"left running: {left}"
