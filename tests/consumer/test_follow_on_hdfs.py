"""python -m consumer follow as a service: its checkpoint on a real HDFS, its lag where
Kafka's tools look, its metrics and health, on a stack of this file's own (one broker, the
registry and an HDFS, scripts/local-stack.sh with STACK_HDFS=1), whose services these
tests stop and start again without disturbing anyone else's.
"""

from __future__ import annotations

import signal
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runs import wait_for
from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient
from follow_runs import (
    RUN_TIMEOUT_S,
    ContractTopic,
    FollowRun,
    assert_statistics_equal,
    killed_and_restarted_elsewhere,
    new_topic,
    plan,
)
from private_stack import PrivateStack, free_port_block
from prometheus_client.parser import text_string_to_metric_families
from topic_offsets import end_offsets

from connection.clients import registry_client
from connection.settings import RegistrySettings

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def hdfs_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    with PrivateStack.running(tmp_path_factory.mktemp("hdfs-stack"), hdfs=True) as stack:
        yield stack


@pytest.fixture
def contract_topic(hdfs_stack: PrivateStack) -> ContractTopic:
    """A fresh 3-partition topic with the shipped contract registered."""
    settings = new_topic(hdfs_stack.settings, f"hdfs-{uuid.uuid4().hex[:10]}")
    registry = registry_client(RegistrySettings(hdfs_stack.registry_url))
    return ContractTopic.registered(registry, settings)


def checkpoint_on_hdfs(stack: PrivateStack, topic: ContractTopic) -> str:
    return f"{stack.hdfs_url}/follow/{topic.writer.settings.topic}"


def test_killed_on_hdfs_and_restarted_from_another_directory_counts_every_record_once(
    hdfs_stack: PrivateStack, contract_topic: ContractTopic, tmp_path: Path
) -> None:
    directories = (tmp_path / "first", tmp_path / "second")
    for directory in directories:
        directory.mkdir()
    second = killed_and_restarted_elsewhere(
        hdfs_stack.client_env(),
        contract_topic,
        checkpoint_on_hdfs(hdfs_stack, contract_topic),
        directories,
        "--trigger-seconds",
        "1",
    )
    written = contract_topic.writer.written
    assert second.last["messages"] == second.last["decoded"] == written.events
    assert_statistics_equal(second.last["statistics"], written)
    # Nothing of the checkpoint went to either working directory.
    assert [list(d.iterdir()) for d in directories] == [[], []]


# --- the metrics, the consumer group and the health ------------------------------------------


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scraped(port: int) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """/metrics read back with prometheus_client's own parser: sample name -> labels ->
    value."""
    status, text = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def total(samples: dict[str, dict[tuple[tuple[str, str], ...], float]], name: str) -> float:
    return samples.get(name, {}).get((), -1.0)


def by_label(
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]], name: str
) -> dict[str, float]:
    return {labels[0][1]: value for labels, value in samples.get(name, {}).items()}


def committed_offsets(bootstrap: str, group: str) -> dict[int, int]:
    """The group's committed offsets, through the AdminClient."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    request = ConsumerGroupTopicPartitions(group)
    found = admin.list_consumer_group_offsets([request])[group].result(30)
    return {tp.partition: tp.offset for tp in found.topic_partitions}


def consumer_group_tool(stack: PrivateStack, group: str) -> dict[int, tuple[int, int, int]]:
    """Kafka's own consumer-group tool through the stack's wrapper: per partition its
    CURRENT-OFFSET, LOG-END-OFFSET and LAG."""
    result = stack.script("kafka-consumer-groups", "--describe", "--group", group, timeout=120)
    assert result.returncode == 0, result.stderr
    rows: dict[int, tuple[int, int, int]] = {}
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[0] == group and fields[2].isdigit():
            rows[int(fields[2])] = (int(fields[3]), int(fields[4]), int(fields[5]))
    return rows


def test_metrics_consumer_group_and_health_of_a_running_follower(
    hdfs_stack: PrivateStack, contract_topic: ContractTopic
) -> None:
    settings = contract_topic.writer.settings
    contract_topic.events(plan(3000, seed=401))
    contract_topic.writer.poison()
    written = contract_topic.writer.written
    messages = written.events + sum(written.bad.values())
    port = free_port_block(1, 0)
    run = FollowRun(
        hdfs_stack.client_env(),
        settings.topic,
        checkpoint_on_hdfs(hdfs_stack, contract_topic),
        "--trigger-seconds",
        "1",
        "--max-wait",
        "300",
        "--metrics-port",
        str(port),
    )
    try:
        wait_for(
            lambda: run.lines and run.last["messages"] == messages and run.last["lag"] == 0,
            "every record counted",
            RUN_TIMEOUT_S,
        )
        last = run.last
        samples = scraped(port)
        assert total(samples, "prices_follow_messages_total") == last["messages"] == messages
        assert total(samples, "prices_follow_decoded_total") == last["decoded"]
        assert by_label(samples, "prices_follow_undecodable_total") == last["undecodable"]
        assert by_label(samples, "prices_follow_rule_failures_total") == last["rule_failures"]
        assert total(samples, "prices_follow_batches_total") == len(run.lines)
        # every undecodable record went to the dead-letter topic (no DLQ rule failed here)
        assert total(samples, "prices_follow_dead_letters_total") == sum(written.bad.values())
        assert total(samples, "prices_follow_batch_seconds_count") == len(run.lines)
        assert by_label(samples, "prices_follow_lag_records") == {"0": 0, "1": 0, "2": 0}
        assert total(samples, "prices_follow_last_batch_timestamp_seconds") > 0
        assert get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")

        group = f"{settings.topic}-follow"
        ends = end_offsets(settings.bootstrap_servers, settings.topic)
        assert ends is not None and sum(ends.values()) == messages
        wait_for(
            lambda: committed_offsets(settings.bootstrap_servers, group) == ends,
            "the group's offsets at the end offsets",
            60,
        )
        tool = consumer_group_tool(hdfs_stack, group)
        assert tool == {p: (end, end, 0) for p, end in ends.items()}

        stopped = hdfs_stack.script("stop-broker", "1")
        assert stopped.returncode == 0, stopped.stderr
        try:
            unreachable = f"Kafka broker unreachable at {settings.bootstrap_servers}"
            answers: list[tuple[int, str]] = []

            def says_unreachable() -> bool:
                answers.append(get(f"http://127.0.0.1:{port}/healthz"))
                return answers[-1][0] == 503 and answers[-1][1].startswith(unreachable)

            wait_for(says_unreachable, "/healthz to answer 503: broker unreachable", 60)
            assert answers[-1][1].count("\n") == 1
        finally:
            started = hdfs_stack.script("start-broker", "1")
            assert started.returncode == 0, started.stderr
        wait_for(
            lambda: get(f"http://127.0.0.1:{port}/healthz")[0] == 200,
            "/healthz to answer 200 again",
            120,
        )
        run.process.send_signal(signal.SIGTERM)  # to follow, as a shell's kill does
        assert run.wait() == 0, "".join(run.stderr)[-3000:]
    finally:
        run.kill()


# --- HDFS going away ----------------------------------------------------------------------------


def test_hdfs_stopped_shorter_than_max_wait_is_survived_and_longer_is_one_line(
    hdfs_stack: PrivateStack, contract_topic: ContractTopic
) -> None:
    settings = contract_topic.writer.settings
    checkpoint = checkpoint_on_hdfs(hdfs_stack, contract_topic)
    env = hdfs_stack.client_env()
    written = contract_topic.writer.written
    contract_topic.events(plan(1000, seed=501))
    # Long enough for HDFS to stop, start again and leave safe mode on a busy machine (a
    # minute or more here): the outage stays shorter than --max-wait.
    run = FollowRun(env, settings.topic, checkpoint, "--trigger-seconds", "1", "--max-wait", "300")
    try:
        wait_for(lambda: run.decoded() == written.events, "the first events", RUN_TIMEOUT_S)
        assert hdfs_stack.script("stop-hdfs").returncode == 0
        contract_topic.events(plan(1000, seed=502, minutes=10))  # arrives while HDFS is away
        started = hdfs_stack.script("start-hdfs")
        assert started.returncode == 0, started.stderr
        contract_topic.events(plan(1000, seed=503, minutes=20))
        wait_for(
            lambda: run.decoded() == written.events or run.process.poll() is not None,
            "every event",
            RUN_TIMEOUT_S,
        )
        assert run.process.poll() is None, "".join(run.stderr)[-3000:]
        assert run.last["messages"] == written.events
    finally:
        run.kill()

    longer = FollowRun(
        env, settings.topic, checkpoint, "--trigger-seconds", "1", "--max-wait", "15"
    )
    try:
        wait_for(lambda: longer.lines != [], "the saved state shown", RUN_TIMEOUT_S)
        assert hdfs_stack.script("stop-hdfs").returncode == 0
        contract_topic.events(plan(1000, seed=504, minutes=30))
        assert longer.wait(RUN_TIMEOUT_S) == 1
    finally:
        longer.kill()
        assert hdfs_stack.script("start-hdfs").returncode == 0
    # one line saying why, and no retry storm or stack trace around it
    said = [line for line in longer.stderr if "incubator" not in line]
    errors = [line for line in said if line.startswith("consumer: error: ")]
    assert len(errors) == 1 and "gave up after 15 s" in errors[0], "".join(said)[-3000:]
    assert all(line.startswith("consumer: ") for line in said), "".join(said)[-3000:]

    final = FollowRun(
        env, settings.topic, checkpoint, "--trigger-seconds", "1", "--until-idle", "10"
    )
    assert final.wait() == 0, "".join(final.stderr)[-3000:]
    assert final.last["messages"] == final.last["decoded"] == written.events
    assert_statistics_equal(final.last["statistics"], written)
