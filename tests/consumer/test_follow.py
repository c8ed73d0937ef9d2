"""python -m consumer --follow against the real stack: schema versions mid-stream, crashes
and restarts (no loss, no double count), poison records and dead letters (outages of the
registry and the broker: test_follow_outages.py, on a stack of its own).

The follow process runs as users run it (a subprocess with its own Spark); the records
written are known exactly, so the final statistics are checked against an independent
Python computation and against batch mode's report on the same topic.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import fastavro
import pyspark
import pytest
from cli_runs import cli_env, start_cli, wait_for
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from contract_files import V3_RULES_FILE, V3_SCHEMA_FILE
from follow_runs import (
    RUN_TIMEOUT_S,
    START,
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
    saved_state,
)
from pyspark.sql import SparkSession
from topic_offsets import all_messages

from connection.paths import REPO_ROOT, STATISTICS_SCHEMA_FILE
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.batch import ConsumerOptions, consume
from consumer.state import STATE_FILE
from consumer.statistics_topic import statistics_topic
from contract.dead_letters import dead_letter_topic
from contract.registering import register_version
from contract.rules import load_rules_document
from producer.events import GeneratorPlan

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.slow]


@pytest.fixture
def v2_topic(fresh: ConnectionSettings, registry: SchemaRegistryClient) -> ContractTopic:
    return ContractTopic.registered(registry, fresh)


@pytest.fixture
def follow_env(stack: dict[str, str]) -> dict[str, str]:
    return cli_env(stack)


@pytest.fixture
def fresh(stack: dict[str, str], topic: str) -> ConnectionSettings:
    """A fresh 3-partition topic (the conftest's topic name, with a -f suffix)."""
    return new_topic(stack, f"{topic}-f")


# --- the tests ------------------------------------------------------------------------------


def test_version_registered_mid_stream_is_decoded_without_restart(
    fresh: ConnectionSettings,
    follow_env: dict[str, str],
    registry: SchemaRegistryClient,
    spark: SparkSession,
    tmp_path: Path,
) -> None:
    """Read in batches of at most 2,000 records, too: each counted once all the same."""
    run = FollowRun(
        follow_env,
        fresh.topic,
        tmp_path / "ck",
        *("--trigger-seconds", "1", "--until-idle", "10", "--max-offsets-per-trigger", "2000"),
    )
    writer = TopicWriter(fresh)
    try:
        v1_id = register(registry, fresh.value_subject, V1_SCHEMA)
        writer.events(v1_id, V1_SCHEMA, plan(5000, seed=11))
        wait_for(lambda: run.decoded() == 5000, "the v1 events decoded", RUN_TIMEOUT_S)
        v2_id = register(registry, fresh.value_subject, V2_SCHEMA)
        writer.events(v2_id, V2_SCHEMA, plan(5000, seed=12, minutes=5), ("USD", "EUR"))
        assert run.wait() == 0, "".join(run.stderr)[-3000:]
    finally:
        run.kill()
    last = run.last
    assert (last["messages"], last["decoded"], last["undecodable"]) == (10_000, 10_000, {})
    assert last["writer_schema_ids"] == sorted({v1_id, v2_id})
    assert last["lag"] == 0
    assert max(line["records"] for line in run.lines) <= 2000
    assert_lines_valid(run.lines)
    assert_statistics_equal(last["statistics"], writer.written)
    assert_equal_to_batch_mode(last["statistics"], spark, fresh)
    assert last_published(fresh) == {**last, "rule_failures": {}}


def last_published(settings: ConnectionSettings) -> dict[str, Any]:
    """The latest update on the topic's statistics topic, decoded with its contract."""
    topic = statistics_topic(settings.topic)
    reader = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers, "group.id": "test-statistics-topic"}
    )
    low, high = reader.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    assert high > low, f"nothing published to {topic}"
    reader.assign([TopicPartition(topic, 0, high - 1)])
    message = reader.poll(10)
    reader.close()
    assert message is not None and message.error() is None
    assert message.key() == settings.topic.encode()
    value = message.value()
    assert value is not None
    schema = fastavro.parse_schema(json.loads(STATISTICS_SCHEMA_FILE.read_text()))
    update = fastavro.schemaless_reader(io.BytesIO(value[5:]), schema)
    assert isinstance(update, dict)
    return update


@pytest.mark.parametrize("kill", ["after a committed batch", "between state saved and commit"])
def test_killed_and_restarted_follow_counts_every_record_once(
    kill: str,
    fresh: ConnectionSettings,
    follow_env: dict[str, str],
    v2_topic: ContractTopic,
    spark: SparkSession,
    tmp_path: Path,
) -> None:
    checkpoint = tmp_path / "ck"
    restarted, done = threading.Event(), threading.Event()

    def keep_writing() -> None:
        """Chunks of 200 events every 0.5 s until 10 chunks after the restart."""
        chunk, after_restart = 0, 0
        while after_restart < 10 and chunk < 2000:
            v2_topic.events(plan(200, seed=100 + chunk, minutes=chunk))
            chunk += 1
            after_restart += restarted.is_set()
            time.sleep(0.5)
        done.set()

    crash_after = ("state-saved", 1) if kill == "between state saved and commit" else None
    first = FollowRun(
        follow_env,
        fresh.topic,
        checkpoint,
        "--trigger-seconds",
        "1",
        crash_after=crash_after,
    )
    producer = threading.Thread(target=keep_writing)
    producer.start()
    try:
        if kill == "after a committed batch":
            wait_for(lambda: (checkpoint / "commits" / "0").exists(), "a committed batch", 300)
            first.kill()
        else:
            first.process.wait(RUN_TIMEOUT_S)  # it kills itself after saving batch 1
            first.kill()  # and its JVM with it
            saved = saved_state(checkpoint)
            assert saved.last_batch_id >= 1
            # The kill landed in the window: state saved, Spark's commit not written.
            assert (checkpoint / "offsets" / str(saved.last_batch_id)).exists()
            assert not (checkpoint / "commits" / str(saved.last_batch_id)).exists()
        assert not done.is_set(), "the producer stopped before the kill"
        second = FollowRun(
            follow_env, fresh.topic, checkpoint, "--trigger-seconds", "1", "--until-idle", "10"
        )
        restarted.set()
        producer.join(RUN_TIMEOUT_S)
        assert second.wait() == 0, "".join(second.stderr)[-3000:]
    finally:
        restarted.set()
        first.kill()
        producer.join(RUN_TIMEOUT_S)
    state = saved_state(checkpoint)
    assert state.decoded == state.messages == v2_topic.writer.written.events
    assert_lines_valid(second.lines)
    final = second.last["statistics"] if second.lines else None
    assert final is not None, "the restarted run counted no batch"
    assert second.last["decoded"] == v2_topic.writer.written.events
    assert_statistics_equal(final, v2_topic.writer.written)
    assert_equal_to_batch_mode(final, spark, fresh)


def test_sigterm_finishes_the_batch_commits_and_prints_the_final_table(
    fresh: ConnectionSettings,
    follow_env: dict[str, str],
    v2_topic: ContractTopic,
    tmp_path: Path,
) -> None:
    checkpoint = tmp_path / "ck"
    v2_topic.events(plan(3000, seed=31), ("USD", "EUR"))
    process = start_cli(
        "consumer",
        follow_env,
        "--follow",
        "--topic",
        fresh.topic,
        "--checkpoint",
        str(checkpoint),
        "--master",
        "local[2]",
        "--trigger-seconds",
        "1",
        "--statistics-topic",
        "no such/topic",  # not a topic name Kafka allows: one line, and following goes on
    )
    try:
        wait_for(lambda: (checkpoint / "commits" / "0").exists(), "a committed batch", 300)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
    assert process.returncode == 0, err[-3000:]
    assert "Following" in out and "3000 decoded" in out
    assert "Traceback" not in err
    published = [line for line in err.splitlines() if "no such/topic" in line]
    assert len(published) == 1 and published[0].startswith("consumer: statistics topic"), err
    state = saved_state(checkpoint)
    assert state.decoded == 3000
    assert (checkpoint / STATE_FILE).exists()


# --- dead letters, exactly once -------------------------------------------------------------


def dead_letter_origins(settings: ConnectionSettings) -> list[tuple[int, int]]:
    """(partition, offset) of every origin in the topic's dead-letter topic."""
    letters = all_messages(
        {"bootstrap.servers": settings.bootstrap_servers}, dead_letter_topic(settings.topic)
    )
    headers = [dict(m.headers() or []) for m in letters]
    return [
        (int(h["__connect.errors.partition"]), int(h["__connect.errors.offset"])) for h in headers
    ]


def test_dead_letters_land_once_across_two_kills_one_between_the_letters_and_the_save(
    fresh: ConnectionSettings,
    follow_env: dict[str, str],
    v2_topic: ContractTopic,
    spark: SparkSession,
    tmp_path: Path,
) -> None:
    checkpoint = tmp_path / "ck"
    breakers = GeneratorPlan(count=2000, seed=61, start=START, violations=0.05)
    v2_topic.events(breakers, ("USD", "EUR"))
    v2_topic.writer.poison()
    first = FollowRun(
        follow_env,
        fresh.topic,
        checkpoint,
        "--trigger-seconds",
        "1",
        crash_after=("dead-letters-written", 0),
    )
    first.process.wait(RUN_TIMEOUT_S)  # it kills itself once a batch's letters are written
    first.kill()
    written = dead_letter_origins(fresh)
    assert written, "no dead letter before the kill"
    assert saved_state(checkpoint).rule_failures == {}, "the state already names the batch"

    v2_topic.events(GeneratorPlan(count=1000, seed=62, start=START, violations=0.05))
    second = FollowRun(follow_env, fresh.topic, checkpoint, "--trigger-seconds", "1")
    wait_for(lambda: (checkpoint / "commits" / "0").exists(), "a committed batch", RUN_TIMEOUT_S)
    second.kill()
    v2_topic.writer.poison()
    third = FollowRun(
        follow_env, fresh.topic, checkpoint, "--trigger-seconds", "1", "--until-idle", "10"
    )
    assert third.wait() == 0, "".join(third.stderr)[-3000:]

    batch = consume(spark, Clients.of(fresh), fresh, ConsumerOptions())
    bad = sum(u.count for u in batch.undecodable) + sum(f.count for f in batch.rule_failures)
    origins = dead_letter_origins(fresh)
    assert len(origins) == len(set(origins)) == bad
    assert third.last["rule_failures"] == {f.rule: f.count for f in batch.rule_failures}
    assert_equal_to_batch_mode(third.last["statistics"], spark, fresh)


def test_a_new_major_mid_stream_migrates_and_a_kill_after_it_counts_every_record_once(
    fresh: ConnectionSettings,
    follow_env: dict[str, str],
    v2_topic: ContractTopic,
    registry: SchemaRegistryClient,
    spark: SparkSession,
    tmp_path: Path,
) -> None:
    checkpoint = tmp_path / "ck"
    v2_topic.events(plan(300, seed=1))
    first = FollowRun(follow_env, fresh.topic, checkpoint, "--trigger-seconds", "1")
    try:
        wait_for(lambda: first.decoded() == 300, "the major-1 records counted", 300)
        major_2 = register_version(
            registry,
            fresh.registry,
            fresh.value_subject,
            V3_SCHEMA_FILE.read_text(),
            load_rules_document(V3_RULES_FILE),
            new_major_checked=True,
        )
        v2_topic.writer.events_in_cents(major_2.schema_id, plan(400, seed=2, minutes=5))
        wait_for(lambda: first.decoded() >= 300 + 1, "a major-2 record counted", 300)
    finally:
        first.kill()
    v2_topic.writer.events_in_cents(major_2.schema_id, plan(200, seed=3, minutes=10))
    second = FollowRun(
        follow_env, fresh.topic, checkpoint, "--trigger-seconds", "1", "--until-idle", "10"
    )
    assert second.wait() == 0, "".join(second.stderr)[-3000:]
    assert "major none" in "".join(second.stderr)  # it reads into the newest of major 1
    written = v2_topic.writer.written
    assert second.last["decoded"] == second.last["messages"] == written.events == 900
    assert_statistics_equal(second.last["statistics"], written)
    assert_equal_to_batch_mode(second.last["statistics"], spark, fresh)


def test_under_spark_submit_follow_counts_in_the_session_spark_submit_made(
    fresh: ConnectionSettings,
    follow_env: dict[str, str],
    registry: SchemaRegistryClient,
    tmp_path: Path,
) -> None:
    """Its master and its --jars (no connector directory), run from another directory;
    Spark's Python runner merges stderr into stdout, so the JSON lines are picked out."""
    writer = TopicWriter(fresh)
    v2_id = register(registry, fresh.value_subject, V2_SCHEMA)
    writer.events(v2_id, V2_SCHEMA, plan(3000, seed=21), ("USD", "EUR"))
    jars = sorted(Path(follow_env["SPARK_CONNECTOR_JARS_DIR"]).glob("*.jar"))
    env = {
        **{k: v for k, v in follow_env.items() if k != "SPARK_CONNECTOR_JARS_DIR"},
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    submitted = subprocess.run(
        [
            str(Path(pyspark.__file__).parent / "bin" / "spark-submit"),
            *("--master", "local[2]", "--jars", ",".join(str(jar) for jar in jars)),
            "--driver-java-options",
            f"-Dlog4j2.configurationFile={REPO_ROOT / 'connection' / 'log4j2.properties'}",
            str(REPO_ROOT / "consumer" / "__main__.py"),
            *("follow", "--format", "jsonl", "--topic", fresh.topic),
            *("--checkpoint", str(tmp_path / "ck"), "--until-idle", "10"),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert submitted.returncode == 0, (submitted.stdout + submitted.stderr)[-3000:]
    lines = [json.loads(line) for line in submitted.stdout.splitlines() if line.startswith("{")]
    assert lines, submitted.stdout[-3000:]
    last = lines[-1]
    assert (last["messages"], last["decoded"], last["lag"]) == (3000, 3000, 0)
    assert_statistics_equal(last["statistics"], writer.written)
