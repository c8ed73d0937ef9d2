"""python -m consumer --follow against the real stack: schema versions mid-stream, crashes
and restarts (no loss, no double count), poison records and a registry outage.

The follow process runs as users run it (a subprocess with its own Spark); the records
written are known exactly, so the final statistics are checked against an independent
Python computation and against batch mode's report on the same topic.
"""

from __future__ import annotations

import io
import json
import os
import signal
import statistics
import struct
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import fastavro
import jsonschema
import pytest
from cli_runs import cli_env, start_cli, wait_for
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE, V3_RULES_FILE, V3_SCHEMA_FILE
from pyspark.sql import SparkSession
from topic_offsets import all_messages

from connection.paths import LOCAL_STACK, REPO_ROOT
from connection.services import Clients
from connection.settings import ConnectionSettings, RegistrySettings
from consumer.batch import ConsumerOptions, consume
from consumer.framing import NULL_VALUE, TOO_SHORT, UNKNOWN_SCHEMA_ID, WRONG_MAGIC_BYTE
from consumer.state import STATE_FILE, FollowState, decode_state
from consumer.statistics_topic import SCHEMA_FILE as STATISTICS_SCHEMA_FILE
from consumer.statistics_topic import statistics_topic
from consumer.views.live import SCHEMA_FILE as FOLLOW_SCHEMA_FILE
from contract.dead_letters import dead_letter_topic
from contract.registering import register_version
from contract.rules import load_rules_document
from producer.events import GeneratorPlan, generate_records

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.slow]

V1_SCHEMA = V1_SCHEMA_FILE.read_text()
V2_SCHEMA = V2_SCHEMA_FILE.read_text()  # adds currency
FOLLOW_SCHEMA = json.loads(FOLLOW_SCHEMA_FILE.read_text())
START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
UNKNOWN_ID = 0x7FFF_FFF0  # far beyond any id the registry hands out
RUN_TIMEOUT_S = 600  # the machine is shared: generous, a bound not a measurement

Group = tuple[str, str]


# --- writing known records -----------------------------------------------------------------


@dataclass
class Written:
    """Every event written to a topic, by group (the test's ground truth)."""

    prices: dict[Group, list[float]] = field(default_factory=lambda: defaultdict(list))
    bad: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def events(self) -> int:
        return sum(len(p) for p in self.prices.values())


class TopicWriter:
    """Writes Confluent-framed Avro values with a given schema id (no serializer's own
    registry lookups, so it keeps writing while the registry is down)."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self.producer = Producer(
            {"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True}
        )
        self.written = Written()

    def events(
        self, schema_id: int, schema: str, plan: GeneratorPlan, currencies: Sequence[str] = ()
    ) -> None:
        """plan's events; with currencies, the i-th event's is currencies[i % len]."""
        parsed = fastavro.parse_schema(json.loads(schema))
        for index, record in enumerate(generate_records(plan)):
            value: dict[str, Any] = dict(record)
            currency = "USD"
            if currencies:
                currency = value["currency"] = currencies[index % len(currencies)]
            body = io.BytesIO()
            fastavro.schemaless_writer(body, parsed, value)
            self.raw(b"\x00" + struct.pack(">I", schema_id) + body.getvalue())
            self.written.prices[(record["symbol"], currency)].append(record["price"])
        self.flush()

    def events_in_cents(self, schema_id: int, plan: GeneratorPlan) -> None:
        """plan's events written in the contract's major 2 (docs/examples/major-2: ticker,
        price_cents), counted as major 1 reads them (cents / 100)."""
        parsed = fastavro.parse_schema(json.loads(V3_SCHEMA_FILE.read_text()))
        for record in generate_records(plan):
            cents = round(record["price"] * 100)
            value = {"ts": record["ts"], "ticker": record["symbol"], "price_cents": cents}
            body = io.BytesIO()
            fastavro.schemaless_writer(body, parsed, {**value, "currency": "USD"})
            self.raw(b"\x00" + struct.pack(">I", schema_id) + body.getvalue())
            self.written.prices[(record["symbol"], "USD")].append(cents / 100)
        self.flush()

    def raw(self, value: bytes | None) -> None:
        while True:
            try:
                self.producer.produce(self.settings.topic, value=value)
                return
            except BufferError:
                self.producer.poll(0.1)

    def poison(self) -> None:
        """A few bad records of each kind, counted by the reason the consumer must give."""
        bad: dict[str, list[bytes | None]] = {
            NULL_VALUE: [None] * 2,
            TOO_SHORT: [b"", b"\x00\x01", b"\x00\x00\x00\x01"],
            WRONG_MAGIC_BYTE: [b'{"ts": 1}', b"\x01" + b"\x00" * 10],
            UNKNOWN_SCHEMA_ID: [b"\x00" + struct.pack(">I", UNKNOWN_ID) + b"\x02"] * 4,
        }
        for reason, values in bad.items():
            for value in values:
                self.raw(value)
            self.written.bad[reason] += len(values)
        self.flush()

    def flush(self) -> None:
        assert self.producer.flush(60) == 0


def saved_state(checkpoint: Path) -> FollowState:
    """The state file follow wrote into a local checkpoint, read from the disk."""
    return decode_state((checkpoint / STATE_FILE).read_bytes(), str(checkpoint))


def plan(count: int, seed: int, minutes: int = 0) -> GeneratorPlan:
    return GeneratorPlan(count=count, seed=seed, start=START + timedelta(minutes=minutes))


@dataclass
class ContractTopic:
    """The test's fresh topic with the shipped contract (v2) registered, and its writer."""

    schema_id: int
    writer: TopicWriter

    def events(self, events: GeneratorPlan, currencies: Sequence[str] = ()) -> None:
        self.writer.events(self.schema_id, V2_SCHEMA, events, currencies)


def register(registry: SchemaRegistryClient, subject: str, schema: str) -> int:
    return registry.register_schema(subject, Schema(schema, "AVRO"))


# --- the follow process ----------------------------------------------------------------------


class FollowRun:
    """python -m consumer --follow --format jsonl in its own process group; its lines read
    as they come."""

    def __init__(
        self,
        env: dict[str, str],
        topic: str,
        checkpoint: Path,
        *args: str,
        crash_after: tuple[str, int] | None = None,
    ) -> None:
        command = (
            ("consumer", "--follow")
            if crash_after is None
            else ("tests.consumer.crash_after", crash_after[0], str(crash_after[1]))
        )
        self.process = start_cli(
            *command[:1],
            env,
            *command[1:],
            "--format",
            "jsonl",
            "--topic",
            topic,
            "--checkpoint",
            str(checkpoint),
            "--master",
            "local[2]",
            *args,
        )
        self.lines: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self.readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(json.loads(line))

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self.stderr.extend(self.process.stderr)

    @property
    def last(self) -> dict[str, Any]:
        assert self.lines, f"no JSON line yet; stderr: {''.join(self.stderr)[-2000:]}"
        return self.lines[-1]

    def decoded(self) -> int:
        return self.lines[-1]["decoded"] if self.lines else 0

    def wait(self, timeout: float = RUN_TIMEOUT_S) -> int:
        try:
            code = self.process.wait(timeout)
        finally:
            self.kill()
        for reader in self.readers:
            reader.join(10)
        return code

    def kill(self) -> None:
        """SIGKILL the whole group (Python and its Spark JVM), as a crash would."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


@pytest.fixture
def v2_topic(fresh: ConnectionSettings, registry: SchemaRegistryClient) -> ContractTopic:
    return ContractTopic(register(registry, fresh.value_subject, V2_SCHEMA), TopicWriter(fresh))


@pytest.fixture
def follow_env(stack: dict[str, str]) -> dict[str, str]:
    return cli_env(stack)


def new_topic(stack: dict[str, str], name: str, partitions: int = 3) -> ConnectionSettings:
    admin = AdminClient({"bootstrap.servers": stack["KAFKA_BOOTSTRAP_SERVERS"]})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[
        name
    ].result(30)
    return ConnectionSettings(
        bootstrap_servers=stack["KAFKA_BOOTSTRAP_SERVERS"],
        registry=RegistrySettings(stack["SCHEMA_REGISTRY_URL"]),
        topic=name,
    )


@pytest.fixture
def fresh(stack: dict[str, str], topic: str) -> ConnectionSettings:
    """A fresh 3-partition topic (the conftest's topic name, with a -f suffix)."""
    return new_topic(stack, f"{topic}-f")


# --- checks ---------------------------------------------------------------------------------


def assert_statistics_equal(items: list[dict[str, Any]], written: Written) -> None:
    """Follow's statistics items against the events written (two-pass, plain Python)."""
    got = {(i["symbol"], i["currency"]): i for i in items}
    assert set(got) == set(written.prices)
    for group, prices in written.prices.items():
        item = got[group]
        assert (item["count"], item["min"], item["max"]) == (len(prices), min(prices), max(prices))
        assert item["mean"] == pytest.approx(statistics.fmean(prices), rel=1e-9)
        if len(prices) > 1:
            assert item["stddev"] == pytest.approx(statistics.stdev(prices), rel=1e-9)


def assert_equal_to_batch_mode(
    items: list[dict[str, Any]], spark: SparkSession, settings: ConnectionSettings
) -> None:
    """Follow's statistics against batch mode's report on the same topic."""
    report = consume(spark, Clients.of(settings), settings, ConsumerOptions())
    batch = {(s.symbol, s.currency): s for s in report.statistics}
    got = {(i["symbol"], i["currency"]): i for i in items}
    assert set(got) == set(batch)
    for group, s in batch.items():
        item = got[group]
        assert (item["count"], item["min"], item["max"]) == (s.count, s.min, s.max)
        assert item["mean"] == pytest.approx(s.mean, rel=1e-9)
        assert item["stddev"] == pytest.approx(s.stddev, rel=1e-9)


def assert_lines_valid(lines: list[dict[str, Any]]) -> None:
    for line in lines:
        jsonschema.validate(line, FOLLOW_SCHEMA)


# --- the tests ------------------------------------------------------------------------------


def test_version_registered_mid_stream_is_decoded_without_restart(
    fresh: ConnectionSettings,
    follow_env: dict[str, str],
    registry: SchemaRegistryClient,
    spark: SparkSession,
    tmp_path: Path,
) -> None:
    run = FollowRun(
        follow_env, fresh.topic, tmp_path / "ck", "--trigger-seconds", "1", "--until-idle", "10"
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


@pytest.mark.disruptive
def test_poison_and_a_registry_outage_lose_nothing_and_count_nothing_as_unknown(
    fresh: ConnectionSettings,
    follow_env: dict[str, str],
    registry: SchemaRegistryClient,
    stack: dict[str, str],
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
        with registry_stopped(stack):
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


# --- a registry outage on the session's stack -----------------------------------------------


@contextmanager
def registry_stopped(stack: dict[str, str]) -> Iterator[None]:
    """The session stack's registry stopped (its own pid, from the stack's pid file) for
    the block, then started again by the stack's script (its schemas are kept on disk)."""
    stack_home = Path(os.environ.get("STACK_HOME", REPO_ROOT / ".stack"))
    pid = int((stack_home / "run" / "registry.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), "the registry to stop", 60)
    try:
        yield
    finally:
        up = subprocess.run(
            [str(LOCAL_STACK), "up"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert up.returncode == 0, up.stderr


# --- a broker outage on the session's stack -------------------------------------------------


@contextmanager
def broker_stopped() -> Iterator[None]:
    """The session stack's broker stopped (by its own pid) for the block, then started
    again by the stack's script (its log is kept on disk)."""
    stop = subprocess.run(
        [str(LOCAL_STACK), "stop-broker", "1"], capture_output=True, text=True, check=False
    )
    assert stop.returncode == 0, stop.stderr
    try:
        yield
    finally:
        start = subprocess.run(
            [str(LOCAL_STACK), "start-broker", "1"], capture_output=True, text=True, check=False
        )
        assert start.returncode == 0, start.stderr


@pytest.mark.disruptive
def test_a_broker_gone_past_max_wait_ends_the_run_in_one_line_and_a_restart_resumes(
    fresh: ConnectionSettings,
    follow_env: dict[str, str],
    v2_topic: ContractTopic,
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
        with broker_stopped():
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
