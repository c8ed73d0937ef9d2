"""python -m consumer --follow through outages of the registry and the broker, on a stack
of this file's own (one broker and the registry, scripts/local-stack.sh), whose services
these tests stop and start again without disturbing anyone else's: nothing is lost,
nothing is counted twice or as unknown, and a run that gives up says so in one line.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cli_runs import wait_for
from confluent_kafka.schema_registry import SchemaRegistryClient
from follow_runs import (
    RUN_TIMEOUT_S,
    V1_SCHEMA,
    V2_SCHEMA,
    ContractTopic,
    FollowRun,
    TopicWriter,
    assert_equal_to_batch_mode,
    assert_lines_valid,
    assert_statistics_equal,
    new_topic,
    plan,
    register,
)
from private_stack import PrivateStack
from pyspark.sql import SparkSession

from connection.clients import registry_client
from connection.settings import ConnectionSettings, RegistrySettings

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def outage_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    with PrivateStack.running(tmp_path_factory.mktemp("outage-stack")) as stack:
        yield stack


@pytest.fixture
def fresh(outage_stack: PrivateStack) -> ConnectionSettings:
    """A fresh 3-partition topic on this file's stack."""
    return new_topic(outage_stack.settings, f"outage-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def registry(outage_stack: PrivateStack) -> SchemaRegistryClient:
    return registry_client(RegistrySettings(outage_stack.registry_url))


@pytest.fixture
def follow_env(outage_stack: PrivateStack) -> dict[str, str]:
    return outage_stack.client_env()


@pytest.fixture
def v2_topic(fresh: ConnectionSettings, registry: SchemaRegistryClient) -> ContractTopic:
    return ContractTopic.registered(registry, fresh)


@contextmanager
def registry_stopped(stack: PrivateStack) -> Iterator[None]:
    """The stack's registry stopped (SIGTERM, by the pid the script wrote) for the block,
    then started again by the stack's script (its schemas are kept on disk)."""
    stack.kill("registry", signal.SIGTERM, timeout=60)  # a clean stop: its schemas on disk
    try:
        yield
    finally:
        stack.up()


@contextmanager
def broker_stopped(stack: PrivateStack) -> Iterator[None]:
    """The stack's broker stopped for the block, then started again by the stack's script
    (its log is kept on disk)."""
    stop = stack.script("stop-broker", "1")
    assert stop.returncode == 0, stop.stderr
    try:
        yield
    finally:
        start = stack.script("start-broker", "1")
        assert start.returncode == 0, start.stderr


def test_poison_and_a_registry_outage_lose_nothing_and_count_nothing_as_unknown(
    fresh: ConnectionSettings,
    follow_env: dict[str, str],
    registry: SchemaRegistryClient,
    outage_stack: PrivateStack,
    spark: SparkSession,
    tmp_path: Path,
) -> None:
    v1_id = register(registry, fresh.value_subject, V1_SCHEMA)
    writer = TopicWriter(fresh)
    writer.events(v1_id, V1_SCHEMA, plan(2000, seed=21))
    run = FollowRun(
        follow_env,
        fresh.topic,
        tmp_path / "ck",
        "--trigger-seconds",
        "1",
        "--until-idle",
        "10",
        "--max-wait",
        "300",
    )
    try:
        wait_for(lambda: run.decoded() == 2000, "the first events decoded", RUN_TIMEOUT_S)
        writer.poison()  # mid-stream
        wait_for(lambda: run.last["messages"] == 2000 + sum(writer.written.bad.values()), "poison")
        v2_id = register(registry, fresh.value_subject, V2_SCHEMA)  # not yet seen by the stream
        with registry_stopped(outage_stack):
            writer.events(v2_id, V2_SCHEMA, plan(1000, seed=22, minutes=3), ("EUR",))
            time.sleep(20)
            seen = run.last["messages"]
        assert seen == 2000 + sum(writer.written.bad.values()), "a batch went on without the id"
        assert run.wait() == 0, "".join(run.stderr)[-3000:]
    finally:
        run.kill()
    last = run.last
    assert last["decoded"] == writer.written.events == 3000
    assert last["undecodable"] == dict(writer.written.bad)  # the 4 unknown ids only
    assert last["writer_schema_ids"] == sorted({v1_id, v2_id})
    assert_lines_valid(run.lines)
    assert_statistics_equal(last["statistics"], writer.written)


def test_a_broker_gone_past_max_wait_ends_the_run_in_one_line_and_a_restart_resumes(
    fresh: ConnectionSettings,
    follow_env: dict[str, str],
    v2_topic: ContractTopic,
    outage_stack: PrivateStack,
    spark: SparkSession,
    tmp_path: Path,
) -> None:
    checkpoint = tmp_path / "ck"
    v2_topic.events(plan(2000, seed=41), ("USD", "EUR"))
    first = FollowRun(
        follow_env, fresh.topic, checkpoint, "--trigger-seconds", "1", "--max-wait", "15"
    )
    try:
        wait_for(lambda: first.decoded() == 2000, "the first events decoded", RUN_TIMEOUT_S)
        with broker_stopped(outage_stack):
            code = first.wait()
    finally:
        first.kill()
    errors = [line for line in first.stderr if line.startswith("consumer: error")]
    assert code == 1, "".join(first.stderr)[-3000:]
    assert len(errors) == 1 and "Kafka broker unreachable at" in errors[0], errors
    assert "gave up after 15 s" in errors[0]
    assert "Traceback" not in "".join(first.stderr)

    v2_topic.events(plan(1000, seed=42, minutes=3), ("USD", "EUR"))
    second = FollowRun(
        follow_env, fresh.topic, checkpoint, "--trigger-seconds", "1", "--until-idle", "10"
    )
    try:
        assert second.wait() == 0, "".join(second.stderr)[-3000:]
    finally:
        second.kill()
    last = second.last
    assert last["decoded"] == v2_topic.writer.written.events == 3000
    assert_statistics_equal(last["statistics"], v2_topic.writer.written)
    assert_equal_to_batch_mode(last["statistics"], spark, fresh)
