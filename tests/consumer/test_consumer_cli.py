"""python -m consumer as users run it: a subprocess, on local[*] and on a standalone cluster.

Spark starts take 10+ s here, so the Spark-backed runs are few: one local run and one on
a standalone master/worker started (and stopped, by pid) by this module. Failures that
the consumer catches before Spark starts are cheap and each get their own run.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pyspark
import pytest
from cli_runs import cli_env, run_cli
from confluent_kafka import Producer
from topic_offsets import end_offsets

from connection.paths import CONTRACT_FILE
from connection.settings import ConnectionSettings, RegistrySettings
from consumer.views.json import REPORT_SCHEMA_FILE
from producer.events import GeneratorPlan, anomaly_positions, generate_events
from producer.run import ProducerOptions, produce

pytestmark = pytest.mark.integration

REPORT_SCHEMA = json.loads(REPORT_SCHEMA_FILE.read_text())
PLAN = GeneratorPlan(
    count=5000,
    seed=4242,
    start=datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc),
    anomalies=8,
    currencies=("USD", "EUR"),
)
UNKNOWN_ID = 0x7FFF_FFF0  # far beyond any id the registry hands out
DEAD_PORT = "127.0.0.1:1"  # nothing listens on port 1: connection refused at once
SPARK_TIMEOUT_S = 240


def run_consumer(
    stack: dict[str, str], *args: str, timeout: float = SPARK_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """python -m consumer with the stack's connection in the environment."""
    return run_cli("consumer", cli_env(stack), *args, timeout=timeout)


def assert_one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("consumer: error: "), result.stderr
    return lines[0]


def assert_same_report(actual: Any, expected: Any, path: str = "$") -> None:
    """Equal documents, floats to 1e-9 (Spark may sum partitions in another order)."""
    if isinstance(expected, float):
        assert math.isclose(actual, expected, rel_tol=0, abs_tol=1e-9), path
    elif isinstance(expected, dict):
        assert sorted(actual) == sorted(expected), path
        for key in expected:
            assert_same_report(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), path
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same_report(a, e, f"{path}[{index}]")
    else:
        assert actual == expected, path


@pytest.fixture(scope="module")
def seeded_topic(stack: dict[str, str]) -> str:
    topic = f"test-consumer-cli-{uuid.uuid4().hex[:12]}"
    settings = ConnectionSettings(
        stack["KAFKA_BOOTSTRAP_SERVERS"], RegistrySettings(stack["SCHEMA_REGISTRY_URL"]), topic
    )
    produce(settings, ProducerOptions(plan=PLAN, schema_file=CONTRACT_FILE))
    return topic


@pytest.fixture(scope="module")
def poison_partition(stack: dict[str, str], seeded_topic: str) -> int:
    """After the events, in the partition holding the most of them: one record with an id
    no registry knows; that partition."""
    bootstrap = stack["KAFKA_BOOTSTRAP_SERVERS"]
    ends = end_offsets(bootstrap, seeded_topic) or {}
    partition = max(ends, key=lambda p: ends[p])
    producer = Producer({"bootstrap.servers": bootstrap})
    poison = b"\x00" + UNKNOWN_ID.to_bytes(4, "big") + b"\x02"
    producer.produce(seeded_topic, key=b"AAPL", value=poison, partition=partition)
    assert producer.flush(30) == 0
    return partition


@pytest.fixture(scope="module")
def local_run(
    stack: dict[str, str],
    seeded_topic: str,
    poison_partition: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    plot = tmp_path_factory.mktemp("plot") / "prices.png"
    result = run_consumer(stack, "--topic", seeded_topic, "--format", "json", "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    return result, plot


def test_json_output_is_one_document_of_the_documented_shape(
    local_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = local_run
    document = json.loads(result.stdout)
    jsonschema.validate(document, REPORT_SCHEMA)
    assert document["messages"] == PLAN.count + 1
    assert document["decoded"] == PLAN.count
    assert {s["currency"] for s in document["statistics"]} == {"USD", "EUR"}


def test_cli_reports_every_injected_anomaly(
    local_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = local_run
    events = list(generate_events(PLAN))
    injected = {
        (
            f"{events[i].ts:%Y-%m-%d %H:%M:%S}.{events[i].ts.microsecond // 1000:03d}",
            events[i].currency,
            events[i].price,
        )
        for i in anomaly_positions(PLAN)
    }
    outliers = json.loads(result.stdout)["outliers"]
    reported = {(o["ts"], o["currency"], o["price"]) for o in outliers}
    assert injected <= reported


def test_spark_logs_stay_out_of_the_output(
    local_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = local_run
    # The JVM's own notice about the vector module is all that reaches stderr.
    assert [line for line in result.stderr.splitlines() if "incubator" not in line] == []


def test_plot_is_written_as_png(local_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, plot = local_run
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def run_records(
    stack: dict[str, str], topic: str, partition: int, *args: str
) -> subprocess.CompletedProcess[str]:
    """python -m consumer records on one partition (limit: all of it unless args say)."""
    return run_consumer(
        stack,
        "records",
        "--topic",
        topic,
        "--partition",
        str(partition),
        "--limit",
        "100000",
        *args,
    )


def test_records_command_prints_typed_records_with_their_writer_schema(
    stack: dict[str, str], seeded_topic: str, poison_partition: int
) -> None:
    result = run_records(stack, seeded_topic, poison_partition, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["offset"] for r in records] == list(range(len(records)))
    good, (poison,) = records[:-1], records[-1:]
    assert good and all(r["partition"] == poison_partition for r in records)
    for record in good:
        assert (record["schema_id"], record["subject_version"], record["reason"]) == (
            good[0]["schema_id"],
            1,
            None,
        )
        assert sorted(record["value"]) == ["currency", "price", "symbol", "ts"]
        assert record["key"] == record["value"]["symbol"]
    assert poison["key"] == "AAPL"  # a key that is not Avro shows as text
    assert {r["value"]["currency"] for r in good} == {"USD", "EUR"}
    assert (poison["value"], poison["reason"], poison["schema_id"]) == (
        None,
        "unknown_schema_id",
        UNKNOWN_ID,
    )


def test_records_command_table_starts_at_the_asked_offset(
    stack: dict[str, str], seeded_topic: str, poison_partition: int
) -> None:
    result = run_records(
        stack, seeded_topic, poison_partition, "--from-offset", "5", "--limit", "2"
    )
    assert result.returncode == 0, result.stderr
    header, _, first, second = result.stdout.splitlines()
    assert header.split()[:4] == ["partition", "offset", "timestamp", "key"]
    partition = str(poison_partition)
    assert first.split()[:2] == [partition, "5"] and second.split()[:2] == [partition, "6"]
    assert '"currency":' in first


def test_empty_topic_reports_zero_messages(stack: dict[str, str], topic: str) -> None:
    result = run_consumer(stack, "--topic", topic)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Topic {topic}: 0 messages, 0 decoded\n")


def test_missing_topic_fails_in_one_line(stack: dict[str, str]) -> None:
    missing = f"test-missing-{uuid.uuid4().hex[:12]}"
    line = assert_one_line_failure(run_consumer(stack, "--topic", missing, timeout=60))
    assert f"topic {missing} does not exist" in line


def test_unreachable_broker_fails_in_one_line(stack: dict[str, str], topic: str) -> None:
    result = run_consumer(stack, "--topic", topic, "--bootstrap-servers", DEAD_PORT, timeout=60)
    assert "Kafka broker unreachable at 127.0.0.1:1" in assert_one_line_failure(result)


def test_unreachable_registry_fails_in_one_line(stack: dict[str, str], seeded_topic: str) -> None:
    dead_registry = f"http://{DEAD_PORT}/apis/ccompat/v7"
    result = run_consumer(
        stack, "--topic", seeded_topic, "--schema-registry-url", dead_registry, timeout=60
    )
    assert f"schema registry unreachable at {dead_registry}" in assert_one_line_failure(result)


def test_bad_z_threshold_is_a_usage_error_in_one_line(stack: dict[str, str]) -> None:
    result = run_consumer(stack, "--z-threshold", "-1", timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--z-threshold" in result.stderr


# --- a real standalone cluster --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_daemon(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A Spark daemon in its own process group (so its executors can be stopped with it)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def stop_daemon(process: subprocess.Popen[bytes]) -> None:
    """Stop the daemon's process group (it and any executor it launched), then check."""
    group = process.pid
    for sig, patience in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            process.poll()
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
    process.wait(10)
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)


def wait_for(condition: Callable[[], bool], what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} within {timeout:.0f} s; log:\n{log.read_text()[-3000:]}")


def master_state(web_ui: str) -> dict[str, Any] | None:
    """The master's status document (workers, applications), None until it answers."""
    try:
        with urllib.request.urlopen(f"{web_ui}/json/", timeout=2) as answer:
            state: dict[str, Any] = json.load(answer)
            return state
    except OSError:
        return None


def alive_workers(web_ui: str) -> int:
    return int((master_state(web_ui) or {}).get("aliveworkers", 0))


@dataclass(frozen=True)
class StandaloneCluster:
    master_url: str
    web_ui: str


@pytest.fixture(scope="module")
def standalone_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    """spark://127.0.0.1:<port>: one master, one worker (2 cores), loopback only."""
    spark_home = Path(pyspark.__file__).resolve().parent  # the pip install is a Spark home
    spark_class = str(spark_home / "bin" / "spark-class")
    home = tmp_path_factory.mktemp("standalone")
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_WORKER_DIR": str(home),
        "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",  # no fixed port 6066
    }
    port, master_ui = free_port(), free_port()
    master_log = home / "master.log"
    master = start_daemon(
        [
            spark_class,
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(master_ui),
        ],
        master_log,
        env,
    )
    worker = None
    try:
        web_ui = f"http://127.0.0.1:{master_ui}"
        wait_for(lambda: master_state(web_ui) is not None, "master up", master_log)
        worker_log = home / "worker.log"
        worker = start_daemon(
            [
                spark_class,
                "org.apache.spark.deploy.worker.Worker",
                "--host",
                "127.0.0.1",
                "--port",
                str(free_port()),
                "--webui-port",
                str(free_port()),
                "--cores",
                "2",
                "--memory",
                "2g",
                "--work-dir",
                str(home),
                f"spark://127.0.0.1:{port}",
            ],
            worker_log,
            env,
        )
        wait_for(lambda: alive_workers(web_ui) == 1, "worker registered", worker_log)
        yield StandaloneCluster(master_url=f"spark://127.0.0.1:{port}", web_ui=web_ui)
    finally:
        if worker is not None:
            stop_daemon(worker)
        stop_daemon(master)


def test_standalone_cluster_gives_the_same_report_as_local(
    stack: dict[str, str],
    seeded_topic: str,
    local_run: tuple[subprocess.CompletedProcess[str], Path],
    standalone_cluster: StandaloneCluster,
) -> None:
    master = standalone_cluster.master_url
    result = run_consumer(stack, "--topic", seeded_topic, "--format", "json", "--master", master)
    assert result.returncode == 0, result.stderr
    local, _ = local_run
    assert_same_report(json.loads(result.stdout), json.loads(local.stdout))
    # and it did run there: the master lists the finished application
    state = master_state(standalone_cluster.web_ui) or {}
    assert [app["name"] for app in state.get("completedapps", [])] == ["prices-consumer"]
