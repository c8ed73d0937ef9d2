"""TLS end to end on the cluster stack: the brokers' SSL and SASL_SSL listeners and the
registry over HTTPS, all with certificates of the stack's throwaway CA.

The producer, the consumer (Spark's Kafka source with a PEM truststore, on the standalone
cluster too) and the schema gate take the CA file from KAFKA_SSL_CA_LOCATION and
SCHEMA_REGISTRY_SSL_CA_LOCATION. A CA that did not sign the certificates is one line
naming the endpoint that could not be verified.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cli_runs import run_cli
from cluster_stack import ClusterStack

from connection.paths import REPO_ROOT
from producer.events import GeneratorPlan, generate_events

pytestmark = [pytest.mark.slow, pytest.mark.integration]

START = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)
SPARK_RUN_TIMEOUT_S = 600


def tls_env(cluster: ClusterStack, protocol: str, ca_file: str, **more: str) -> dict[str, str]:
    """Kafka over protocol (SSL or SASL_SSL) and the registry over HTTPS, trusting ca_file."""
    settings = cluster.settings
    variables = {
        "KAFKA_BOOTSTRAP_SERVERS": settings[f"STACK_{protocol}_BOOTSTRAP_SERVERS"],
        "KAFKA_SECURITY_PROTOCOL": protocol,
        "KAFKA_SSL_CA_LOCATION": ca_file,
        "SCHEMA_REGISTRY_URL": settings["STACK_REGISTRY_TLS_URL"],
        "SCHEMA_REGISTRY_SSL_CA_LOCATION": ca_file,
    }
    if protocol == "SASL_SSL":
        variables |= {
            "KAFKA_SASL_MECHANISM": "PLAIN",
            "KAFKA_SASL_USERNAME": settings["STACK_SASL_USERNAME"],
            "KAFKA_SASL_PASSWORD": settings["STACK_SASL_PASSWORD"],
        }
    return cluster.client_env(**{**variables, **more})


def run_gate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """scripts/schema-gate, with this test run's python first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(REPO_ROOT / "scripts" / "schema-gate"), *args],
        capture_output=True,
        text=True,
        env={**env, "PATH": path},
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CA certificate that signed none of the stack's certificates."""
    folder = tmp_path_factory.mktemp("other-ca")
    command = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=other-ca",
    ]
    command += ["-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.pem")]
    subprocess.run(command, capture_output=True, check=True)
    return str(folder / "ca.pem")


def one_line_failure(result: subprocess.CompletedProcess[str], prefix: str) -> str:
    """The single stderr line of a failed run (no traceback, nothing on stdout)."""
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "incubator" not in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("protocol", "master"), [("SSL", "local[2]"), ("SASL_SSL", "the standalone cluster")]
)
def test_producer_and_consumer_work_over_tls_with_an_https_registry(
    cluster: ClusterStack, protocol: str, master: str
) -> None:
    cluster.up()
    env = tls_env(cluster, protocol, cluster.settings["STACK_CA_FILE"])
    if master != "local[2]":
        master = cluster.settings["SPARK_MASTER"]
    topic = f"test-cluster-tls-{uuid.uuid4().hex[:12]}"
    plan = GeneratorPlan(count=20_000, seed=7_000_001, start=START)
    produced = run_cli(
        "producer", env, "--topic", topic, "--count", "20000", "--seed", "7000001",
        "--start", f"{plan.start}",
    )  # fmt: skip
    assert produced.returncode == 0, produced.stderr
    assert produced.stdout.startswith("sent 20000 events, 20000 acknowledged")
    consumed = run_cli(
        "consumer", env, "--topic", topic, "--format", "json", "--master", master,
        timeout=SPARK_RUN_TIMEOUT_S,
    )  # fmt: skip
    assert consumed.returncode == 0, consumed.stderr
    report = json.loads(consumed.stdout)
    assert report["messages"] == report["decoded"] == plan.count
    symbols = Counter(event.symbol for event in generate_events(plan))
    assert {s["symbol"]: s["count"] for s in report["statistics"]} == symbols
    assert cluster.settings["STACK_SASL_PASSWORD"] not in produced.stderr + consumed.stderr


def test_schema_gate_checks_and_registers_over_https(cluster: ClusterStack) -> None:
    cluster.up()
    env = tls_env(cluster, "SSL", cluster.settings["STACK_CA_FILE"])
    checked = run_gate(env, "check", "--format", "json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["subjects"], checked.stdout
    registered = run_gate(env, "register")
    assert registered.returncode == 0, registered.stderr
    assert "registered prices-value version " in registered.stdout


@pytest.mark.parametrize("cli", ["producer", "consumer"])
def test_kafka_certificate_from_another_ca_is_one_line_naming_the_brokers(
    cluster: ClusterStack, other_ca: str, cli: str
) -> None:
    cluster.up()
    env = tls_env(
        cluster,
        "SSL",
        cluster.settings["STACK_CA_FILE"],
        KAFKA_SSL_CA_LOCATION=other_ca,  # the registry's CA is right
    )
    result = run_cli(cli, env, "--topic", f"test-cluster-tls-{uuid.uuid4().hex[:12]}")
    assert result.returncode == 1
    line = one_line_failure(result, f"{cli}: error: ")
    assert cluster.settings["STACK_SSL_BOOTSTRAP_SERVERS"] in line


@pytest.mark.parametrize("cli", ["producer", "consumer", "schema-gate"])
def test_registry_certificate_from_another_ca_is_one_line_naming_the_registry(
    cluster: ClusterStack, other_ca: str, cli: str
) -> None:
    cluster.up()
    env = tls_env(
        cluster,
        "SSL",
        cluster.settings["STACK_CA_FILE"],
        SCHEMA_REGISTRY_SSL_CA_LOCATION=other_ca,  # the brokers' CA is right
    )
    topic = f"test-cluster-tls-{uuid.uuid4().hex[:12]}"
    if cli == "consumer":  # a topic with events, so that the consumer asks the registry
        seeded = run_cli("producer", cluster.client_env(), "--topic", topic, "--count", "100")
        assert seeded.returncode == 0, seeded.stderr
    if cli == "schema-gate":
        result = run_gate(env, "check")
        assert result.returncode == 2
    else:
        result = run_cli(cli, env, "--topic", topic)
        assert result.returncode == 1
    line = one_line_failure(result, f"{cli}: error: ")
    assert cluster.settings["STACK_REGISTRY_TLS_URL"] in line
