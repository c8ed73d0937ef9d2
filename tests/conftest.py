"""One real local stack per pytest session; a unique topic and subject per test.

The stack is started by scripts/local-stack.sh unless it already runs (then it is
reused and left running); whatever this session started, it stops at the end.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from pyspark.sql import SparkSession

from connection.clients import registry_client
from connection.paths import LOCAL_STACK
from connection.settings import ConnectionSettings, RegistrySettings, spark_settings_from_env


def _stack(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LOCAL_STACK), command], capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def stack() -> Iterator[dict[str, str]]:
    """The local stack's connection environment (KAFKA_BOOTSTRAP_SERVERS, ...)."""
    started_here = _stack("status").returncode != 0
    if started_here:
        up = _stack("up")
        if up.returncode != 0:
            pytest.fail(f"local stack did not start:\n{up.stderr}", pytrace=False)
    env = dict(line.split("=", 1) for line in _stack("env").stdout.splitlines() if "=" in line)
    yield env
    if started_here:
        _stack("down")


@pytest.fixture
def topic(stack: dict[str, str]) -> str:
    """A fresh, empty topic (one partition) for this test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": stack["KAFKA_BOOTSTRAP_SERVERS"]})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(30)
    return name


@pytest.fixture
def settings(stack: dict[str, str], topic: str) -> ConnectionSettings:
    """Connection settings for this test's own topic and subject."""
    return ConnectionSettings(
        bootstrap_servers=stack["KAFKA_BOOTSTRAP_SERVERS"],
        registry=RegistrySettings(stack["SCHEMA_REGISTRY_URL"]),
        topic=topic,
    )


@pytest.fixture(scope="session")
def registry_url(stack: dict[str, str]) -> str:
    return stack["SCHEMA_REGISTRY_URL"]


@pytest.fixture(scope="session")
def registry(registry_url: str) -> SchemaRegistryClient:
    """A client that gives up (rather than hanging a test run) when the registry stalls."""
    return registry_client(RegistrySettings(registry_url))


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """A local SparkSession; needs no stack (tests that read Kafka ask for one too)."""
    from connection.spark import build_spark_session

    session = build_spark_session(spark_settings_from_env("local[2]"), app_name="prices-tests")
    yield session
    session.stop()


#: Test folders whose files share one session fixture (a 3-broker cluster stack): with
#: pytest-xdist, their tests run on one worker, so the cluster starts once.
SHARED_SESSION_FOLDERS = ("cluster",)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the local stack is an integration test, marked or not, so
    `make check` (-m "not integration ...") never starts a service.

    Under pytest-xdist (`make test`, --dist loadgroup) each test file is one group, so a
    file's module-scoped fixtures are built once, on one worker.
    """
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
        folder = item.path.parent.name
        group = folder if folder in SHARED_SESSION_FOLDERS else str(item.path)
        item.add_marker(pytest.mark.xdist_group(group))
