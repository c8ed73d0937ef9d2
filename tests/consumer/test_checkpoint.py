"""The checkpoint through the driver's Hadoop client (the one Spark's checkpoint uses), on
file: URIs: the state file replaced atomically, the checks of Spark's logs, and the bad
locations, each one line. Needs a SparkSession, no stack (tests/cluster/ runs it on HDFS).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from checkpoint_files import spark_commit_log, spark_offset_log
from pyspark.sql import SparkSession

from connection.hadoop_fs import filesystem_uri
from consumer.checkpoint import Checkpoint
from consumer.errors import ConsumerError
from consumer.state import STATE_FILE, FollowState, decode_state
from consumer.summary import RunningStatistics, Summary

pytestmark = pytest.mark.spark


def counted(batches: int) -> FollowState:
    state = FollowState()
    for batch_id in range(batches):
        summary = Summary(decoded=2, groups={("AAPL", "USD"): RunningStatistics(2, 1.5, 0.5, 1, 2)})
        state = state.merged(batch_id, summary, {0: 2 * (batch_id + 1)}, dead_letters=1)
    return state


def test_a_plain_path_is_a_file_uri_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert filesystem_uri("checkpoints/prices") == f"file://{tmp_path}/checkpoints/prices"
    assert filesystem_uri("hdfs://namenode:8020/ck") == "hdfs://namenode:8020/ck"
    assert filesystem_uri("file:/tmp/ck") == "file:/tmp/ck"


def test_the_state_is_replaced_whole_and_read_back(spark: SparkSession, tmp_path: Path) -> None:
    checkpoint = Checkpoint(spark, filesystem_uri(str(tmp_path / "ck")))
    assert checkpoint.load() == FollowState()
    checkpoint.save(counted(1))
    checkpoint.save(counted(2))
    assert checkpoint.load() == counted(2)
    # What Python reads from the disk is what the Hadoop client wrote; only the state file
    # and the checksum file of the local filesystem are left, no temporary file.
    assert decode_state((tmp_path / "ck" / STATE_FILE).read_bytes(), "file") == counted(2)
    assert sorted(os.listdir(tmp_path / "ck")) == [f".{STATE_FILE}.crc", STATE_FILE]


def test_a_checkpoint_of_another_topic_is_refused_naming_that_topic(
    spark: SparkSession, tmp_path: Path
) -> None:
    spark_offset_log(tmp_path, "prices-yesterday")
    checkpoint = Checkpoint(spark, filesystem_uri(str(tmp_path)))
    with pytest.raises(ConsumerError, match="belongs to topic prices-yesterday, not prices"):
        checkpoint.check(FollowState(), "prices")
    checkpoint.check(FollowState(), "prices-yesterday")


def test_a_state_without_spark_offsets_is_refused(spark: SparkSession, tmp_path: Path) -> None:
    checkpoint = Checkpoint(spark, filesystem_uri(str(tmp_path)))
    checkpoint.save(counted(1))
    refused = re.escape("has a state file (up to batch 0) but no Spark offset log")
    with pytest.raises(ConsumerError, match=refused):
        checkpoint.check(checkpoint.load(), "prices")


def test_a_spark_commit_newer_than_the_state_is_refused(
    spark: SparkSession, tmp_path: Path
) -> None:
    for batch_id in range(3):
        spark_offset_log(tmp_path, "prices", batch_id)
        spark_commit_log(tmp_path, batch_id)
    checkpoint = Checkpoint(spark, filesystem_uri(str(tmp_path)))
    checkpoint.save(counted(2))
    with pytest.raises(ConsumerError, match="Spark committed batch 2 but the state file"):
        checkpoint.check(checkpoint.load(), "prices")


def test_an_unknown_scheme_is_one_line_naming_the_known_ones(spark: SparkSession) -> None:
    with pytest.raises(ConsumerError) as raised:
        Checkpoint(spark, "nosuchfs://somewhere/ck")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("checkpoint nosuchfs://somewhere/ck: no Hadoop filesystem for scheme")
    assert "file" in message and "hdfs" in message


def test_a_file_that_is_not_a_state_is_one_line(spark: SparkSession, tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(ConsumerError, match=f"{STATE_FILE} is not a follow state file"):
        Checkpoint(spark, filesystem_uri(str(tmp_path))).load()
