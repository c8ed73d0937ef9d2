"""One private Kafka cluster (3 KRaft nodes) and Spark cluster (master + 2 workers) per
pytest session, started by scripts/local-stack.sh on ports of its own (tests/private_stack.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster_stack import ClusterStack

BROKERS = 3
SPARK_WORKERS = 2


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterStack]:
    home = tmp_path_factory.mktemp("cluster-stack")
    with ClusterStack.running(home, brokers=BROKERS, spark_workers=SPARK_WORKERS) as stack:
        yield stack
