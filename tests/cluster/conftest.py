"""One private Kafka cluster (3 KRaft nodes), Spark cluster (master + 2 workers) and HDFS per
pytest session, started by scripts/local-stack.sh on ports of its own (tests/private_stack.py)
and stopped after the last test of this folder, so the rest of the session runs without its
eight JVMs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_stack import ClusterStack

BROKERS = 3
SPARK_WORKERS = 2
CLUSTER_TESTS = Path(__file__).resolve().parent
RUNNING: list[ClusterStack] = []


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterStack]:
    home = tmp_path_factory.mktemp("cluster-stack")
    with ClusterStack.running(
        home, brokers=BROKERS, spark_workers=SPARK_WORKERS, hdfs=True
    ) as stack:
        RUNNING.append(stack)
        yield stack


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After this folder's last test, stop the cluster (the fixture's own end finds it
    stopped and checks that no process is left)."""
    if nextitem is None or CLUSTER_TESTS not in nextitem.path.parents:
        while RUNNING:
            RUNNING.pop().down()
