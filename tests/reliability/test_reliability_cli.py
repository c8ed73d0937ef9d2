"""Bad arguments, Ctrl-C and a closed stdout: one clear line or none, never a traceback.

tests/test_producer_args.py and tests/test_consumer_cli.py already cover --count, the
connection flags, --start, --topic, --anomalies > --count, --partitions 0,
--delivery-timeout 0, an unknown flag, --z-threshold -1 and a missing topic; these tests
fill in the other wrong values of every flag of both CLIs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cli_runs import cli_env, start_cli, wait_for
from topic_offsets import message_count

from connection.exits import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED
from connection.paths import CONTRACT_FILE, REPO_ROOT
from connection.settings import ConnectionSettings, RegistrySettings
from consumer.__main__ import build_parser
from consumer.__main__ import main as consumer_main
from producer.__main__ import main as producer_main
from producer.__main__ import parse_args
from producer.events import GeneratorPlan
from producer.run import ProducerOptions, produce

pytestmark = pytest.mark.reliability

START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def no_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("KAFKA_", "SCHEMA_REGISTRY_")) or name == "SPARK_MASTER":
            monkeypatch.delenv(name)


def usage_error(parse: Callable[[], object], capsys: pytest.CaptureFixture[str]) -> str:
    """The one stderr line of a refused command line (exit code 2, nothing on stdout)."""
    with pytest.raises(SystemExit) as exited:
        parse()
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("python -m "), lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        (["--seed", "-1"], "--seed: must be at least 0, got -1"),
        (["--anomalies", "many"], "--anomalies: not a whole number: 'many'"),
        (["--partitions", "-3"], "--partitions: must be at least 1, got -3"),
        (["--partitions", "three"], "--partitions: not a whole number"),
        (["--delivery-timeout", "-5"], "--delivery-timeout: must be at least 1, got -5"),
        (["--delivery-timeout", "1m"], "--delivery-timeout: not a whole number: '1m'"),
        (["--bootstrap-servers", "127.0.0.1:0"], "--bootstrap-servers: not a host:port list"),
        (["--bootstrap-servers", "127.0.0.1:65536"], "--bootstrap-servers: not a host:port list"),
        (["--bootstrap-servers", "a:1,b"], "--bootstrap-servers: not a host:port list"),
        (["--schema-registry-url", "ftp://r:8081"], "--schema-registry-url: not an http(s) URL"),
        (["--schema-registry-url", "http://"], "--schema-registry-url: not an http(s) URL"),
        (["--topic", ".."], "--topic: not a legal Kafka topic name"),
        (["--topic", "x" * 250], "--topic: not a legal Kafka topic name"),
        (["--count"], "--count: expected one argument"),
    ],
)
def test_producer_refuses_each_wrong_flag_value_in_one_line(
    argv: list[str], mentions: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mentions in usage_error(lambda: parse_args(argv), capsys)


def test_producer_refuses_a_missing_schema_file_before_connecting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    dead = "127.0.0.1:1"  # the file is checked first: no connection is even tried
    argv = ["--schema", "/nonexistent/prices.avsc", "--bootstrap-servers", dead]
    assert producer_main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "producer: error: cannot read schema file /nonexistent/prices.avsc: "
        "No such file or directory\n"
    )


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        (["--bootstrap-servers", "localhost"], "--bootstrap-servers: not a host:port list"),
        (["--bootstrap-servers", "h:-1"], "--bootstrap-servers: not a host:port list"),
        (["--schema-registry-url", "registry:8081"], "--schema-registry-url: not an http(s) URL"),
        (["--topic", "bad/topic"], "--topic: not a legal Kafka topic name"),
        (["--master", "locale[*]"], "--master: not a Spark master URL: 'locale[*]'"),
        (["--master", "local[0]"], "--master: not a Spark master URL"),
        (["--master", "local[-2]"], "--master: not a Spark master URL"),
        (["--master", "spark://127.0.0.1"], "--master: not a Spark master URL"),
        (["--z-threshold", "0"], "--z-threshold: must be a positive number, got 0"),
        (["--z-threshold", "three"], "--z-threshold: not a number: 'three'"),
        (["--z-threshold", "nan"], "--z-threshold: must be a positive number"),
        (["--z-threshold", "inf"], "--z-threshold: must be a positive number"),
        (["--format", "xml"], "--format: invalid choice: 'xml'"),
        (["--plot", "/nonexistent/dir/prices.png"], "--plot: no directory '/nonexistent/dir'"),
        (["--min-partitions", "0"], "--min-partitions: must be at least 1, got 0"),
        (["--min-partitions", "-4"], "--min-partitions: must be at least 1, got -4"),
        (["--min-partitions", "many"], "--min-partitions: not a whole number: 'many'"),
        (["--reader-schema"], "--reader-schema: expected one argument"),
        (["--z-treshold", "2"], "unrecognized arguments: --z-treshold 2"),
    ],
)
def test_consumer_refuses_each_wrong_flag_value_in_one_line(
    argv: list[str], mentions: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mentions in usage_error(lambda: build_parser().parse_args(["report", *argv]), capsys)


def test_consumer_accepts_the_spark_master_urls_it_documents() -> None:
    for master in ("local", "local[*]", "local[4]", "local[2,3]", "spark://127.0.0.1:7077"):
        assert build_parser().parse_args(["report", "--master", master]).master == master


@pytest.mark.parametrize(
    ("variable", "value", "mentions"),
    [
        ("SPARK_MASTER", "yarn-client", "--master: not a Spark master URL: 'yarn-client'"),
        ("KAFKA_TOPIC", "a topic", "--topic: not a legal Kafka topic name"),
        ("SCHEMA_REGISTRY_URL", "8081", "--schema-registry-url: not an http(s) URL"),
    ],
)
def test_consumer_refuses_a_wrong_environment_value_in_one_line(
    variable: str,
    value: str,
    mentions: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    assert mentions in usage_error(lambda: consumer_main([]), capsys)


# --- real processes: missing files, Ctrl-C, closed stdout ---------------------------------


def ctrl_c(process: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGINT to the whole process group, as Ctrl-C in a terminal; the outputs after exit."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        return process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def java_children(pid: int) -> list[int]:
    """Pids of the java processes whose parent is pid (PySpark's JVM)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
        if fields.get("PPid") == str(pid) and fields.get("Name", "").startswith("java"):
            found.append(int(status.parent.name))
    return found


def gone(pid: int) -> bool:
    try:
        return "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True


def closed_pipe() -> int:
    """The write end of a pipe whose reader has already gone away."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end


@pytest.mark.integration
def test_consumer_reports_a_missing_reader_schema_file_in_one_line(
    stack: dict[str, str], topic: str
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "consumer",
            "--topic",
            topic,
            "--reader-schema",
            "/nonexistent.avsc",
        ],
        capture_output=True,
        text=True,
        env=cli_env(stack),
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "consumer: error: cannot read reader schema /nonexistent.avsc: No such file or directory\n"
    )


@pytest.mark.integration
def test_ctrl_c_while_the_producer_sends_is_one_line_and_exit_130(
    stack: dict[str, str],
) -> None:
    topic = f"test-reliability-sigint-{uuid.uuid4().hex[:12]}"
    producer = start_cli("producer", cli_env(stack), "--topic", topic, "--count", "1000000")
    wait_for(lambda: message_count(stack["KAFKA_BOOTSTRAP_SERVERS"], topic) > 0, "the first events")
    assert producer.poll() is None, "the producer finished before Ctrl-C"
    stdout, stderr = ctrl_c(producer)
    assert (producer.returncode, stdout, stderr) == (
        EXIT_INTERRUPTED,
        "",
        "producer: interrupted\n",
    )


@pytest.fixture(scope="module")
def busy_topic(stack: dict[str, str]) -> str:
    """A topic large enough that the consumer's Spark job runs for a few seconds."""
    settings = ConnectionSettings(
        stack["KAFKA_BOOTSTRAP_SERVERS"],
        RegistrySettings(stack["SCHEMA_REGISTRY_URL"]),
        f"test-reliability-busy-{uuid.uuid4().hex[:12]}",
    )
    plan = GeneratorPlan(count=400_000, seed=9, start=START)
    produce(settings, ProducerOptions(plan=plan, schema_file=CONTRACT_FILE))
    return settings.topic


def assert_interrupted_cleanly(process: subprocess.Popen[str], stdout: str, stderr: str) -> None:
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert stdout == ""
    # The JVM's own notice about the vector module is all that may precede our line.
    assert [line for line in stderr.splitlines() if "incubator" not in line] == [
        "consumer: interrupted"
    ], stderr


@pytest.mark.integration
@pytest.mark.spark
def test_ctrl_c_while_spark_starts_stops_the_consumer_and_its_jvm(
    stack: dict[str, str], busy_topic: str
) -> None:
    consumer = start_cli("consumer", cli_env(stack), "--topic", busy_topic)
    wait_for(lambda: bool(java_children(consumer.pid)), "the consumer's JVM", timeout=60)
    (jvm,) = java_children(consumer.pid)
    time.sleep(1)  # the JVM is starting: PySpark has not connected to it yet
    stdout, stderr = ctrl_c(consumer)
    assert_interrupted_cleanly(consumer, stdout, stderr)
    wait_for(lambda: gone(jvm), f"the consumer's JVM (pid {jvm}) to exit", timeout=30)


@pytest.mark.integration
@pytest.mark.spark
def test_ctrl_c_while_the_spark_job_runs_is_one_line_and_exit_130(
    stack: dict[str, str], busy_topic: str, tmp_path: Path
) -> None:
    env = cli_env(stack, SPARK_LOCAL_DIRS=str(tmp_path))
    consumer = start_cli("consumer", env, "--topic", busy_topic)
    # Spark's block manager directory appears once the session is up; the job follows.
    wait_for(lambda: any(tmp_path.glob("blockmgr-*")), "the Spark session", timeout=180)
    (jvm,) = java_children(consumer.pid)
    time.sleep(1)
    stdout, stderr = ctrl_c(consumer)
    assert_interrupted_cleanly(consumer, stdout, stderr)
    wait_for(lambda: gone(jvm), f"the consumer's JVM (pid {jvm}) to exit", timeout=30)


@pytest.mark.integration
def test_producer_with_a_closed_stdout_exits_quietly_after_sending_everything(
    stack: dict[str, str],
) -> None:
    topic = f"test-reliability-pipe-{uuid.uuid4().hex[:12]}"
    write_end = closed_pipe()
    try:
        producer = start_cli(
            "producer", cli_env(stack), "--topic", topic, "--count", "100", stdout=write_end
        )
    finally:
        os.close(write_end)
    _, stderr = producer.communicate(timeout=60)
    assert (producer.returncode, stderr) == (EXIT_BROKEN_PIPE, "")
    assert message_count(stack["KAFKA_BOOTSTRAP_SERVERS"], topic) == 100


@pytest.mark.integration
def test_consumer_with_a_closed_stdout_exits_quietly(stack: dict[str, str], topic: str) -> None:
    write_end = closed_pipe()
    try:
        consumer = start_cli("consumer", cli_env(stack), "--topic", topic, stdout=write_end)
    finally:
        os.close(write_end)
    _, stderr = consumer.communicate(timeout=60)
    assert (consumer.returncode, stderr) == (EXIT_BROKEN_PIPE, "")
