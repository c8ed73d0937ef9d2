"""Faults on a real 3-broker Kafka cluster and a 2-worker Spark cluster: a leader killed,
a rolling restart, a broker down while reading, an executor killed while the job runs.

Each check reads the topic back with an independent reader (a plain confluent-kafka
consumer and fastavro): every generated event is there exactly once. Events are told
apart by their timestamp, which the generator makes strictly increasing (a sequence
number in effect).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from datetime import datetime, timedelta, timezone

import pytest
from cli_runs import process_alive, run_cli, start_cli, wait_for
from cluster_stack import ClusterStack, assert_same_report
from topic_offsets import expected_events, message_count, topic_events

from producer.events import GeneratorPlan

pytestmark = [pytest.mark.slow, pytest.mark.integration]

START = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
SPARK_RUN_TIMEOUT_S = 600


def plan_args(plan: GeneratorPlan) -> list[str]:
    return ["--count", str(plan.count), "--seed", str(plan.seed), "--start", f"{plan.start}"]


def assert_each_event_once(cluster: ClusterStack, topic: str, *plans: GeneratorPlan) -> None:
    total = sum(plan.count for plan in plans)
    assert message_count(cluster.bootstrap, topic) == total
    events = topic_events(cluster.bootstrap, topic)
    assert max(events.values()) == 1, "an event was written twice"
    assert events == expected_events(*plans)


def finish(producer: subprocess.Popen[str], timeout: float = 600) -> tuple[str, str]:
    try:
        return producer.communicate(timeout=timeout)
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.communicate()


def test_leader_of_partition_0_killed_mid_produce_loses_and_duplicates_nothing(
    cluster: ClusterStack,
) -> None:
    cluster.up()
    topic = cluster.new_topic()
    plan = GeneratorPlan(count=1_000_000, seed=3_000_001, start=START)
    producer = start_cli(
        "producer",
        cluster.client_env(),
        "--topic",
        topic,
        *plan_args(plan),
        "--delivery-timeout",
        "120",
    )
    try:
        wait_for(lambda: message_count(cluster.bootstrap, topic) >= 100_000, "100,000", 300)
        leader = cluster.leader(topic, 0)
        assert producer.poll() is None, "the producer finished before the leader was killed"
        cluster.broker("kill-broker", leader)
        wait_for(lambda: cluster.leader(topic, 0) not in (-1, leader), "a new leader", 60)
        wait_for(lambda: message_count(cluster.bootstrap, topic) >= 500_000, "500,000", 300)
        cluster.broker("start-broker", leader)
        stdout, stderr = finish(producer)
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.communicate()
    assert producer.returncode == 0, stderr
    assert stdout.startswith("sent 1000000 events, 1000000 acknowledged"), stdout
    # the restarted node catches up and is a replica in sync again
    wait_for(lambda: cluster.fully_replicated(topic), "all replicas in sync", 120)
    assert_each_event_once(cluster, topic, plan)


def test_rolling_restart_during_a_produce_is_exact_and_reports_no_failure(
    cluster: ClusterStack,
) -> None:
    """Brokers 1, 2, 3 stopped (controlled shutdown) and started one after another, the
    next only once every replica is back in sync, while producer runs follow each other
    without a pause; each run must report every event acknowledged."""
    cluster.up()
    topic = cluster.new_topic()
    runs: list[tuple[GeneratorPlan, subprocess.CompletedProcess[str]]] = []
    restarted = threading.Event()

    def produce_until_restarted() -> None:
        run = 0
        while not restarted.is_set() or run < 2:
            # a day apart, so the runs' timestamps (their sequence numbers) never meet
            plan = GeneratorPlan(200_000, seed=4_000 + run, start=START + timedelta(days=run))
            args = ["--topic", topic, *plan_args(plan), "--delivery-timeout", "120"]
            runs.append((plan, run_cli("producer", cluster.client_env(), *args, timeout=600)))
            run += 1

    sender = threading.Thread(target=produce_until_restarted)
    sender.start()
    try:
        wait_for(lambda: message_count(cluster.bootstrap, topic) > 0, "the first events", 120)
        for node in (1, 2, 3):
            cluster.broker("stop-broker", node)
            cluster.broker("start-broker", node)
            wait_for(lambda: cluster.fully_replicated(topic), "all replicas in sync", 120)
    finally:
        restarted.set()
        sender.join(timeout=900)
    assert not sender.is_alive()
    for plan, result in runs:
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"sent {plan.count} events, {plan.count} acknowledged")
    assert_each_event_once(cluster, topic, *(plan for plan, _ in runs))


@pytest.fixture(scope="module")
def report_topic(cluster: ClusterStack) -> tuple[str, dict[str, object]]:
    """A topic of 300,000 events and the consumer's report on it, all brokers up, local."""
    cluster.up()
    topic = cluster.new_topic()
    plan = GeneratorPlan(count=300_000, seed=5_000_001, start=START)
    produced = run_cli("producer", cluster.client_env(), "--topic", topic, *plan_args(plan))
    assert produced.returncode == 0, produced.stderr
    return topic, consumer_report(cluster, topic, "local[2]")


def consumer_report(cluster: ClusterStack, topic: str, master: str) -> dict[str, object]:
    result = run_cli(
        "consumer",
        cluster.client_env(),
        "--topic",
        topic,
        "--format",
        "json",
        "--master",
        master,
        timeout=SPARK_RUN_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_report_with_one_of_three_brokers_stopped_equals_the_one_with_all_up(
    cluster: ClusterStack, report_topic: tuple[str, dict[str, object]]
) -> None:
    topic, all_up = report_topic
    assert all_up["messages"] == all_up["decoded"] == 300_000
    down = cluster.leader(topic, 0)  # the one that led the first partition
    cluster.broker("kill-broker", down)
    try:
        assert_same_report(consumer_report(cluster, topic, "local[2]"), all_up)
    finally:
        cluster.broker("start-broker", down)


def test_executor_killed_while_the_job_runs_gives_the_local_report(
    cluster: ClusterStack, report_topic: tuple[str, dict[str, object]]
) -> None:
    """SIGKILL the first executor seen reading from Kafka: Spark retries its tasks on the
    other worker (and on a new executor), and the report is the same as local mode's."""
    cluster.up()
    topic, local = report_topic
    consumer = start_cli(
        "consumer",
        cluster.client_env(),
        "--topic",
        topic,
        "--format",
        "json",
        "--master",
        cluster.settings["SPARK_MASTER"],
    )
    killed: list[int] = []

    def kill_a_reading_executor() -> bool:
        for worker in (1, 2):
            for pid in cluster.executors(worker):
                if cluster.reads_kafka(pid):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return True
        assert consumer.poll() is None, "the consumer ended before an executor read"
        return False

    try:
        wait_for(kill_a_reading_executor, "an executor reading the topic", SPARK_RUN_TIMEOUT_S)
        assert consumer.poll() is None, "the job had ended when the executor was killed"
        wait_for(lambda: not process_alive(killed[0]), "the executor to die", 30)
        stdout, stderr = finish(consumer, SPARK_RUN_TIMEOUT_S)
    finally:
        if consumer.poll() is None:
            os.killpg(consumer.pid, signal.SIGKILL)
            consumer.communicate()
    assert consumer.returncode == 0, stderr
    assert_same_report(json.loads(stdout), local)
    # the master saw the executor go and gave the application a new one
    master_log = (cluster.home / "run" / "spark-master.log").read_text()
    assert "EXITED" in master_log or "Removing executor" in master_log, master_log[-3000:]
