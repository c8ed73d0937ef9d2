"""Follow on the 2-worker Spark cluster with its checkpoint on the stack's HDFS: the
driver SIGKILLed mid-stream and restarted from another working directory, as a cluster
manager restarts a driver elsewhere; every record counted once."""

from __future__ import annotations

from pathlib import Path

import pytest
from cluster_stack import ClusterStack
from follow_runs import (
    V2_SCHEMA,
    ContractTopic,
    TopicWriter,
    assert_statistics_equal,
    killed_and_restarted_elsewhere,
    register,
)

from connection.clients import registry_client
from connection.settings import ConnectionSettings, RegistrySettings

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.spark]


def test_follow_on_the_spark_cluster_killed_and_restarted_elsewhere_counts_once(
    cluster: ClusterStack, tmp_path: Path
) -> None:
    cluster.up()
    settings = ConnectionSettings(
        bootstrap_servers=cluster.bootstrap,
        registry=RegistrySettings(cluster.registry_url),
        topic=cluster.new_topic(),
    )
    registry = registry_client(settings.registry)
    topic = ContractTopic(
        register(registry, settings.value_subject, V2_SCHEMA), TopicWriter(settings)
    )
    directories = (tmp_path / "first", tmp_path / "second")
    for directory in directories:
        directory.mkdir()
    second = killed_and_restarted_elsewhere(
        cluster.client_env(),
        topic,
        f"{cluster.hdfs_url}/follow/{settings.topic}",
        directories,
        "--trigger-seconds",
        "2",
        "--master",
        cluster.settings["SPARK_MASTER"],
    )
    written = topic.writer.written
    assert second.last["messages"] == second.last["decoded"] == written.events
    assert_statistics_equal(second.last["statistics"], written)
