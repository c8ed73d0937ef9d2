"""scripts/local-stack.sh with STACK_BROKERS=3 and STACK_SPARK_WORKERS=2: every command
knows every node (HDFS too), and a broker is killed and started again by its own pid."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runs import process_alive, wait_for
from cluster_stack import ClusterStack
from confluent_kafka.admin import ConfigResource, ResourceType

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_status_lists_three_brokers_the_registry_the_spark_cluster_and_hdfs(
    cluster: ClusterStack,
) -> None:
    cluster.up()
    status = cluster.script("status")
    assert status.returncode == 0, status.stdout
    services = [line.split()[0] for line in status.stdout.splitlines()]
    assert services == [
        "kafka-1",
        "kafka-2",
        "kafka-3",
        "registry",
        "spark-master",
        "spark-worker-1",
        "spark-worker-2",
        "hdfs",
    ]
    assert all(line.split()[1] == "running" for line in status.stdout.splitlines())


def test_env_prints_every_broker_the_tls_endpoints_and_the_spark_master(
    cluster: ClusterStack,
) -> None:
    cluster.up()
    settings = cluster.settings
    for name in (
        "KAFKA_BOOTSTRAP_SERVERS",
        "STACK_SASL_BOOTSTRAP_SERVERS",
        "STACK_SSL_BOOTSTRAP_SERVERS",
        "STACK_SASL_SSL_BOOTSTRAP_SERVERS",
    ):
        assert len(settings[name].split(",")) == 3, name
    assert settings["SPARK_MASTER"].startswith("spark://127.0.0.1:")
    assert settings["STACK_REGISTRY_TLS_URL"].startswith("https://127.0.0.1:")
    assert Path(settings["STACK_CA_FILE"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    brokers = cluster.admin().list_topics(timeout=10).brokers
    assert sorted(brokers) == [1, 2, 3]
    assert {f"127.0.0.1:{b.port}" for b in brokers.values()} == set(
        settings["KAFKA_BOOTSTRAP_SERVERS"].split(",")
    )


def test_prices_topic_has_three_replicas_and_needs_two_in_sync(cluster: ClusterStack) -> None:
    cluster.up()
    metadata = cluster.admin().list_topics("prices", timeout=10).topics["prices"]
    assert len(metadata.partitions) == 3
    assert all(len(p.replicas) == 3 for p in metadata.partitions.values())
    resource = ConfigResource(ResourceType.TOPIC, "prices")
    admin = cluster.admin()  # the futures need their client alive
    configs = admin.describe_configs([resource])[resource].result(30)
    assert configs["min.insync.replicas"].value == "2"


@pytest.mark.parametrize("argument", ["7", "0", "-1", "two", "4"])
def test_kill_broker_outside_the_cluster_is_one_line_and_kills_nothing(
    cluster: ClusterStack, argument: str
) -> None:
    cluster.up()
    pids = [cluster.pid(f"kafka-{node}") for node in (1, 2, 3)]
    result = cluster.script("kill-broker", argument)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"local-stack: no broker '{argument}': this stack has 3 broker(s), numbered 1 to 3"
    ]
    assert all(process_alive(pid) for pid in pids)


def test_kill_broker_without_a_number_is_a_usage_error(cluster: ClusterStack) -> None:
    result = cluster.script("kill-broker")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("usage: ")


def test_killed_broker_is_reported_stopped_and_start_broker_brings_it_back(
    cluster: ClusterStack,
) -> None:
    cluster.up()
    pid = cluster.pid("kafka-2")
    cluster.broker("kill-broker", 2)
    assert not process_alive(pid)
    status = cluster.script("status")
    assert status.returncode == 3
    assert "kafka-2        stopped" in status.stdout.splitlines()
    again = cluster.script("kill-broker", "2")
    assert (again.returncode, again.stderr) == (
        1,
        "local-stack: broker 2 (kafka-2) is not running\n",
    )

    cluster.broker("start-broker", 2)
    assert cluster.pid("kafka-2") != pid
    assert cluster.script("status").returncode == 0
    wait_for(lambda: sorted(cluster.admin().list_topics(timeout=10).brokers) == [1, 2, 3], "3")
    wait_for(lambda: cluster.fully_replicated("prices"), "prices fully replicated", timeout=60)
