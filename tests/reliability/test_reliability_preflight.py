"""Each tool's checks before any work: the files its settings name, then every endpoint.

A CA file that is missing or not PEM is one line naming the variable and the file, before
any client is built; a broker, registry or Spark master that refuses connections or takes
them and never answers is one line, within the bound its check documents. Each tool runs
as users run it: a process, settings from the environment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cli_runs import CLIENT_VARIABLE_PREFIXES, cli_env
from failing_endpoints import refused_port, silent_port

from connection.clients import REGISTRY_GIVE_UP_S
from connection.exits import EXIT_FAILED, EXIT_USAGE
from connection.kafka import BROKER_TIMEOUT_S
from connection.paths import CONTRACT_FILE, REPO_ROOT
from connection.settings import ConnectionSettings
from connection.spark_master import SPARK_MASTER_TIMEOUT_S
from producer.events import GeneratorPlan
from producer.run import ProducerOptions, produce

pytestmark = pytest.mark.reliability

#: Interpreter start and imports (pyspark's among them) on a busy 2-core machine, on top
#: of the bound a check documents.
START_MARGIN_S = 30
#: Each tool's command line (the gate checks the shipped contract in schemas/).
COMMANDS = {
    "producer": ["producer", "--count", "10"],
    "consumer": ["consumer"],
    "gate": ["schemagate", "check"],
}
#: The start of a failed run's line.
PREFIXES = {
    "producer": "producer: error: ",
    "consumer": "consumer: error: ",
    "gate": "schema-gate: error: ",
}
#: A run that cannot reach an endpoint fails; the gate's code for it is 2 (1 is "not
#: compatible").
UNREACHABLE_EXIT = {"producer": EXIT_FAILED, "consumer": EXIT_FAILED, "gate": EXIT_USAGE}
#: Ways an endpoint fails: nothing listens, or a service takes connections and hangs.
UNREACHABLE: dict[str, Callable[[], AbstractContextManager[int]]] = {
    "refused": refused_port,
    "silent": silent_port,
}


def run_tool_process(
    tool: str, env: dict[str, str], topic: str, *args: str, bound_s: float
) -> subprocess.CompletedProcess[str]:
    """The tool's run on topic to completion; killed with its children (Spark's JVM), and
    the test failed, when it takes longer than bound_s."""
    topic_args = [] if tool == "gate" else ["--topic", topic]
    command = [sys.executable, "-m", *COMMANDS[tool], *topic_args, *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=bound_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{tool} was still running after {bound_s:.0f} s", pytrace=False)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def failure_line(result: subprocess.CompletedProcess[str], tool: str) -> str:
    """The one stderr line of a run that could not reach an endpoint: the tool's exit code,
    nothing on stdout, no traceback (the JVM's notice about its vector module aside)."""
    assert result.returncode == UNREACHABLE_EXIT[tool], result.stderr
    return only_line(result)


def only_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.stdout == ""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if "incubator" not in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


def own_env(**variables: str) -> dict[str, str]:
    """This process's environment without its client settings, plus variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLIENT_VARIABLE_PREFIXES)}
    return {**env, **variables}


def new_topic() -> str:
    return f"test-preflight-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def dead_endpoints() -> Iterator[dict[str, str]]:
    """Broker and registry addresses that refuse connections: a run that gets past a check
    by mistake fails there, and never reaches the shared stack."""
    with refused_port() as broker, refused_port() as registry:
        yield {
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker}",
            "SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{registry}",
        }


# --- files that settings name -------------------------------------------------------------

#: Each tool's file-valued settings, with the variables that put them to use.
CA_SETTINGS = [
    pytest.param(tool, variable, enabling, id=f"{tool}-{variable}")
    for tool, variable, enabling in (
        ("producer", "KAFKA_SSL_CA_LOCATION", {"KAFKA_SECURITY_PROTOCOL": "SSL"}),
        ("consumer", "KAFKA_SSL_CA_LOCATION", {"KAFKA_SECURITY_PROTOCOL": "SSL"}),
        ("producer", "SCHEMA_REGISTRY_SSL_CA_LOCATION", {}),
        ("consumer", "SCHEMA_REGISTRY_SSL_CA_LOCATION", {}),
        ("gate", "SCHEMA_REGISTRY_SSL_CA_LOCATION", {}),
    )
]


@pytest.mark.parametrize("kind", ["missing", "not PEM"])
@pytest.mark.parametrize(("tool", "variable", "enabling"), CA_SETTINGS)
def test_a_bad_ca_file_is_one_line_naming_the_variable_and_the_file(
    tool: str,
    variable: str,
    enabling: dict[str, str],
    kind: str,
    dead_endpoints: dict[str, str],
    tmp_path: Path,
) -> None:
    ca_file = tmp_path / "ca.pem"
    if kind == "not PEM":
        ca_file.write_text("not a certificate\n")
    env = own_env(**dead_endpoints, **enabling, **{variable: str(ca_file)})
    result = run_tool_process(tool, env, new_topic(), bound_s=START_MARGIN_S)
    # An unusable setting is a usage error, in the gate too.
    assert result.returncode == EXIT_USAGE, result.stderr
    line = only_line(result)
    assert line.startswith(("python -m producer: ", "python -m consumer: ", "schema-gate: "))
    reason = "cannot read" if kind == "missing" else "no PEM certificate in"
    assert f"error: {variable}: {reason} {str(ca_file)!r}" in line, line


# --- endpoints ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", UNREACHABLE)
@pytest.mark.parametrize("tool", ["producer", "consumer"])
def test_an_unreachable_broker_is_one_line_within_the_broker_timeout(
    tool: str, mode: str, dead_endpoints: dict[str, str]
) -> None:
    with UNREACHABLE[mode]() as port:
        broker = f"127.0.0.1:{port}"
        env = own_env(**{**dead_endpoints, "KAFKA_BOOTSTRAP_SERVERS": broker})
        result = run_tool_process(tool, env, new_topic(), bound_s=BROKER_TIMEOUT_S + START_MARGIN_S)
    line = failure_line(result, tool)
    assert line.startswith(
        f"{PREFIXES[tool]}Kafka broker unreachable at {broker} "
        f"(no answer within {BROKER_TIMEOUT_S:.0f} s)"
    ), line


def assert_registry_unreachable(tool: str, env: dict[str, str], topic: str, mode: str) -> None:
    with UNREACHABLE[mode]() as port:
        registry = f"http://127.0.0.1:{port}"
        result = run_tool_process(
            tool,
            {**env, "SCHEMA_REGISTRY_URL": registry},
            topic,
            bound_s=REGISTRY_GIVE_UP_S + START_MARGIN_S,
        )
    line = failure_line(result, tool)
    assert line.startswith(f"{PREFIXES[tool]}schema registry unreachable at {registry} ("), line


@pytest.mark.parametrize("mode", UNREACHABLE)
def test_an_unreachable_registry_stops_the_gate_in_one_line(
    mode: str, dead_endpoints: dict[str, str]
) -> None:
    assert_registry_unreachable("gate", own_env(**dead_endpoints), new_topic(), mode)


@pytest.mark.integration
@pytest.mark.parametrize("mode", UNREACHABLE)
@pytest.mark.parametrize("tool", ["producer", "consumer"])
def test_an_unreachable_registry_stops_a_client_in_one_line_after_the_broker_check(
    tool: str, mode: str, stack: dict[str, str], topic: str
) -> None:
    assert_registry_unreachable(tool, cli_env(stack), topic, mode)


@pytest.mark.integration
@pytest.mark.spark
def test_an_unreachable_spark_master_stops_the_consumer_in_one_line(
    stack: dict[str, str], settings: ConnectionSettings
) -> None:
    start = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
    plan = GeneratorPlan(count=10, seed=10, start=start)
    produce(settings, ProducerOptions(plan=plan, schema_file=CONTRACT_FILE))
    with refused_port() as port:
        master = f"spark://127.0.0.1:{port}"
        result = run_tool_process(
            "consumer",
            cli_env(stack),
            settings.topic,
            "--master",
            master,
            bound_s=SPARK_MASTER_TIMEOUT_S + START_MARGIN_S,
        )
    line = failure_line(result, "consumer")
    assert line.startswith(f"consumer: error: Spark master unreachable at {master} ("), line
