"""What the follow tests share: records written with a known ground truth, the follow
process run as users run it (its own process group, its JSON lines read as they come),
and the checks of its statistics against the records written and against batch mode."""

from __future__ import annotations

import io
import json
import os
import signal
import statistics
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import fastavro
import jsonschema
import pytest
from cli_runs import start_cli, wait_for
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE, V3_SCHEMA_FILE
from pyspark.sql import SparkSession

from connection.paths import REPO_ROOT
from connection.services import Clients
from connection.settings import ConnectionSettings, RegistrySettings
from consumer.batch import ConsumerOptions, consume
from consumer.framing import NULL_VALUE, TOO_SHORT, UNKNOWN_SCHEMA_ID, WRONG_MAGIC_BYTE
from consumer.state import STATE_FILE, FollowState, decode_state
from consumer.views.live import SCHEMA_FILE as FOLLOW_SCHEMA_FILE
from producer.events import GeneratorPlan, generate_records

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
    """The state file follow wrote into a local checkpoint, read from the disk (an empty
    state when it has written none yet)."""
    path = checkpoint / STATE_FILE
    return decode_state(path.read_bytes(), str(path)) if path.exists() else FollowState()


def plan(count: int, seed: int, minutes: int = 0) -> GeneratorPlan:
    return GeneratorPlan(count=count, seed=seed, start=START + timedelta(minutes=minutes))


@dataclass
class ContractTopic:
    """The test's fresh topic with the shipped contract (v2) registered, and its writer."""

    schema_id: int
    writer: TopicWriter

    def events(self, events: GeneratorPlan, currencies: Sequence[str] = ()) -> None:
        self.writer.events(self.schema_id, V2_SCHEMA, events, currencies)

    @classmethod
    def registered(
        cls, registry: SchemaRegistryClient, settings: ConnectionSettings
    ) -> ContractTopic:
        """settings' topic with the shipped contract registered under its value subject."""
        return cls(register(registry, settings.value_subject, V2_SCHEMA), TopicWriter(settings))


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
        checkpoint: Path | str,
        *args: str,
        crash_after: tuple[str, int] | None = None,
        cwd: Path = REPO_ROOT,
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
            cwd=cwd,
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


def first_batch_committed(run: FollowRun) -> bool:
    """Spark has committed the run's first batch: it only runs batch 1 after that, and a
    batch's line is shown before foreachBatch returns."""
    return any(line["batch_id"] >= 1 for line in run.lines)


def killed_and_restarted_elsewhere(
    env: dict[str, str],
    topic: ContractTopic,
    checkpoint: str,
    directories: tuple[Path, Path],
    *args: str,
) -> FollowRun:
    """follow on checkpoint from the first directory, SIGKILLed (its whole process group)
    mid-stream while events are being written, more events written while it is down,
    then restarted from the second directory until idle; the restarted run, ended."""
    settings = topic.writer.settings
    restarted, done = threading.Event(), threading.Event()

    def keep_writing() -> None:
        """Chunks of 200 events every 0.5 s until 10 chunks after the restart."""
        chunk, after_restart = 0, 0
        while after_restart < 10 and chunk < 2000:
            topic.events(plan(200, seed=300 + chunk, minutes=chunk))
            chunk += 1
            after_restart += restarted.is_set()
            time.sleep(0.5)
        done.set()

    first_dir, second_dir = directories
    first = FollowRun(env, settings.topic, checkpoint, *args, cwd=first_dir)
    producer = threading.Thread(target=keep_writing)
    producer.start()
    try:
        wait_for(lambda: first_batch_committed(first), "a committed batch", RUN_TIMEOUT_S)
        first.kill()
        assert not done.is_set(), "the producer stopped before the kill"
        topic.events(plan(1000, seed=299, minutes=-30))  # while no follower runs
        second = FollowRun(
            env, settings.topic, checkpoint, *args, "--until-idle", "10", cwd=second_dir
        )
        restarted.set()
        producer.join(RUN_TIMEOUT_S)
        assert second.wait() == 0, "".join(second.stderr)[-3000:]
    finally:
        restarted.set()
        first.kill()
        producer.join(RUN_TIMEOUT_S)
    assert second.lines, "the restarted run counted no batch"
    return second
