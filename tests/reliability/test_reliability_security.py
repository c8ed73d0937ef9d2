"""Security settings from the environment: read in one place, passed to librdkafka, Spark's
Kafka source and the registry client, and never shown.

The SASL listener itself (right and wrong credentials, end to end) is exercised in
tests/test_reliability_stack.py against a private stack.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from connection.paths import REPO_ROOT
from connection.settings import (
    KafkaSecurity,
    SettingsError,
    kafka_security_from_env,
    registry_url,
    settings_from_args,
)
from consumer.__main__ import main as consumer_main
from producer.__main__ import parse_args

pytestmark = pytest.mark.reliability

SECRET = 's3cr3t-"quoted"-\\back'  # a password with characters JAAS must escape
PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"


@pytest.fixture(autouse=True)
def no_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("KAFKA_", "SCHEMA_REGISTRY_")):
            monkeypatch.delenv(name)


def sasl_env(**overrides: str) -> dict[str, str]:
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_USERNAME": "alice",
        "KAFKA_SASL_PASSWORD": SECRET,
        **overrides,
    }


def test_no_security_variables_mean_plaintext() -> None:
    security = kafka_security_from_env({})
    assert security == KafkaSecurity()
    assert security.librdkafka_config() == {"security.protocol": "PLAINTEXT"}
    assert security.spark_kafka_options() == {"kafka.security.protocol": "PLAINTEXT"}


def test_sasl_plain_settings_reach_librdkafka_and_spark() -> None:
    security = kafka_security_from_env(sasl_env())
    assert security.librdkafka_config() == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "alice",
        "sasl.password": SECRET,
    }
    assert security.spark_kafka_options() == {
        "kafka.security.protocol": "SASL_PLAINTEXT",
        "kafka.sasl.mechanism": "PLAIN",
        "kafka.sasl.jaas.config": f'{PLAIN_LOGIN} required username="alice" '
        'password="s3cr3t-\\"quoted\\"-\\\\back";',
    }


def test_scram_over_tls_with_a_ca_file_reaches_librdkafka_and_spark(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    security = kafka_security_from_env(
        sasl_env(
            KAFKA_SECURITY_PROTOCOL="sasl_ssl",
            KAFKA_SASL_MECHANISM="scram-sha-512",
            KAFKA_SSL_CA_LOCATION=str(ca),
        )
    )
    assert security.librdkafka_config() == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": SECRET,
        "ssl.ca.location": str(ca),
    }
    options = security.spark_kafka_options()
    assert options["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert options["kafka.sasl.jaas.config"].startswith(f"{SCRAM_LOGIN} required ")
    assert (options["kafka.ssl.truststore.type"], options["kafka.ssl.truststore.location"]) == (
        "PEM",
        str(ca),
    )


def test_settings_carry_the_security_and_repr_shows_no_secret() -> None:
    env = {**sasl_env(), "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": f"bob:{SECRET}"}
    args = argparse.Namespace(
        bootstrap_servers="127.0.0.1:9094", schema_registry_url="http://r", topic="t"
    )
    settings = settings_from_args(args, env)
    assert settings.security.sasl_password == SECRET
    assert settings.registry.user_info == f"bob:{SECRET}"
    assert SECRET not in repr(settings)
    assert "alice" in repr(settings)  # the user name helps; only secrets are hidden


@pytest.mark.parametrize(
    ("env", "mentions"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL: unknown protocol 'TLS'"),
        (sasl_env(KAFKA_SASL_MECHANISM="GSSAPI"), "KAFKA_SASL_MECHANISM: unsupported mechanism"),
        (sasl_env(KAFKA_SASL_PASSWORD=""), "KAFKA_SASL_PASSWORD is required"),
        (sasl_env(KAFKA_SASL_USERNAME=""), "KAFKA_SASL_USERNAME is required"),
        ({"KAFKA_SASL_PASSWORD": SECRET}, "KAFKA_SASL_PASSWORD is set but KAFKA_SECURITY_PROTOCOL"),
        (
            sasl_env(KAFKA_SSL_CA_LOCATION="/etc/hostname"),
            "KAFKA_SSL_CA_LOCATION is set but KAFKA_SECURITY_PROTOCOL is SASL_PLAINTEXT",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CA_LOCATION": "/nonexistent/ca.pem"},
            "KAFKA_SSL_CA_LOCATION: no readable file",
        ),
        (
            {"SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": SECRET},
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: expected user:password",
        ),
    ],
)
@pytest.mark.parametrize("cli", ["producer", "consumer"])
def test_unusable_security_variable_is_a_one_line_usage_error_without_the_secret(
    cli: str,
    env: dict[str, str],
    mentions: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    parse: Callable[[], object] = (
        (lambda: parse_args([])) if cli == "producer" else (lambda: consumer_main([]))
    )
    with pytest.raises(SystemExit) as exited:
        parse()
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"python -m {cli}: error: {mentions}"), captured.err
    assert SECRET not in captured.err


def test_registry_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        registry_url(f"http://bob:{SECRET}@registry:8081")
    assert "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO" in str(refused.value)
    assert SECRET not in str(refused.value)


def test_settings_error_is_a_value_error_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="KAFKA_SASL_MECHANISM"):
        kafka_security_from_env(sasl_env(KAFKA_SASL_MECHANISM="OAUTHBEARER"))


# --- registry basic auth, seen by a registry stand-in that refuses everyone -------------


class RefusingRegistry(BaseHTTPRequestHandler):
    """Answers every request 401 and records the Authorization header it got."""

    authorizations: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        self.refuse()

    def do_POST(self) -> None:
        self.refuse()

    def refuse(self) -> None:
        self.authorizations.append(self.headers.get("Authorization"))
        body = b'{"error_code": 401, "message": "Unauthorized"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the recorded headers instead."""


@pytest.fixture
def refusing_registry() -> Iterator[tuple[str, list[str | None]]]:
    RefusingRegistry.authorizations = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusingRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", RefusingRegistry.authorizations
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.integration
@pytest.mark.parametrize("cli", ["producer", "consumer"])
def test_registry_basic_auth_is_sent_and_a_refusal_is_one_line_without_the_secret(
    cli: str, stack: dict[str, str], topic: str, refusing_registry: tuple[str, list[str | None]]
) -> None:
    url, authorizations = refusing_registry
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "SCHEMA_REG"))},
        "KAFKA_BOOTSTRAP_SERVERS": stack["KAFKA_BOOTSTRAP_SERVERS"],
        "SCHEMA_REGISTRY_URL": url,
        "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": f"bob:{SECRET}",
    }
    result = subprocess.run(
        [sys.executable, "-m", cli, "--topic", topic],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (1, "")
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{cli}: error: "), result.stderr
    assert "refused the credentials (HTTP 401)" in lines[0]
    assert SECRET not in result.stderr
    expected = "Basic " + base64.b64encode(f"bob:{SECRET}".encode()).decode()
    assert authorizations and set(authorizations) == {expected}
