"""Unusable security settings are one line that shows no secret, in every tool; registry
basic auth is sent and a refusal is one line.

How the settings reach each client is unit-tested in tests/connection/; the SASL listener
itself (right and wrong credentials, end to end) is exercised in
tests/reliability/test_reliability_stack.py against a private stack.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from security_env import SECRET, sasl_env

from connection.paths import REPO_ROOT
from consumer.__main__ import main as consumer_main
from producer.__main__ import parse_args

pytestmark = pytest.mark.reliability


@pytest.fixture(autouse=True)
def no_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("KAFKA_", "SCHEMA_REGISTRY_")):
            monkeypatch.delenv(name)


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
            "KAFKA_SSL_CA_LOCATION: cannot read '/nonexistent/ca.pem': No such file",
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
