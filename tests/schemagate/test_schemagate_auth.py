"""The gate against a registry that requires basic auth, and against one that never answers.

The secured registry is the real one behind a basic-auth gateway (how Schema Registry is
commonly secured: a proxy in front, or its own realm; the client sends the same header).
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE

from connection.paths import REPO_ROOT

pytestmark = pytest.mark.integration

GATE = REPO_ROOT / "scripts" / "schema-gate"
USER, SECRET = "gate", "s3cret-for-the-gateway"
GIVE_UP_S = 15  # the bound the gate must give up within on a registry that never answers


def basic(user_info: str) -> str:
    return "Basic " + base64.b64encode(user_info.encode()).decode()


def gateway_handler(upstream: str) -> type[BaseHTTPRequestHandler]:
    class BasicAuthGateway(BaseHTTPRequestHandler):
        """401 without the right Authorization header; else the upstream registry's answer."""

        def do_GET(self) -> None:
            self.forward()

        def do_POST(self) -> None:
            self.forward()

        def do_PUT(self) -> None:
            self.forward()

        def forward(self) -> None:
            if self.headers.get("Authorization") != basic(f"{USER}:{SECRET}"):
                self.answer(401, b'{"error_code": 401, "message": "Unauthorized"}', {})
                return
            length = int(self.headers.get("Content-Length") or 0)
            request = urllib.request.Request(
                upstream + self.path,
                data=self.rfile.read(length) if length else None,
                method=self.command,
                headers={k: v for k, v in self.headers.items() if k.lower() == "content-type"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    self.answer(answer.status, answer.read(), dict(answer.headers))
            except urllib.error.HTTPError as error:
                self.answer(error.code, error.read(), dict(error.headers))

        def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return BasicAuthGateway


@pytest.fixture(scope="module")
def secured_registry(stack: dict[str, str]) -> Iterator[str]:
    """The stack's registry behind basic auth: its URL (same API path)."""
    url = stack["SCHEMA_REGISTRY_URL"]
    origin, path = url.split("/apis", 1)
    server = ThreadingHTTPServer(("127.0.0.1", 0), gateway_handler(origin))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/apis{path}"
    finally:
        server.shutdown()
        server.server_close()


def run_gate(
    url: str, schemas: Path, *args: str, user_info: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMA_REGISTRY")}
    env["SCHEMA_REGISTRY_URL"] = url
    if user_info is not None:
        env["SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO"] = user_info
    return subprocess.run(
        [str(GATE), *args, "--schemas-dir", str(schemas)],
        capture_output=True,
        text=True,
        env=env,
        timeout=GIVE_UP_S,  # TimeoutExpired fails the test: the gate must give up sooner
        check=False,
    )


def contract(tmp_path: Path, schema_file: Path) -> Path:
    """A schemas folder holding schema_file under a subject of this test's own."""
    schemas = tmp_path / "schemas"
    schemas.mkdir(exist_ok=True)
    subject = f"test-gate-auth-{uuid.uuid4().hex[:12]}-value"
    (schemas / f"{subject}.avsc").write_text(schema_file.read_text())
    return schemas


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("schema-gate: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_gate_registers_and_checks_through_basic_auth_with_the_right_credentials(
    secured_registry: str, tmp_path: Path
) -> None:
    schemas = contract(tmp_path, V1_SCHEMA_FILE)
    registered = run_gate(secured_registry, schemas, "register", user_info=f"{USER}:{SECRET}")
    assert registered.returncode == 0, registered.stderr
    (schema_file,) = schemas.iterdir()
    schema_file.write_text(V2_SCHEMA_FILE.read_text())
    checked = run_gate(secured_registry, schemas, "check", user_info=f"{USER}:{SECRET}")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert schema_file.stem in checked.stdout


@pytest.mark.parametrize("user_info", [f"{USER}:wrong-{SECRET}", None], ids=["wrong", "none"])
def test_gate_refused_by_the_registry_fails_in_one_line_without_the_secret(
    secured_registry: str, tmp_path: Path, user_info: str | None
) -> None:
    result = run_gate(
        secured_registry, contract(tmp_path, V2_SCHEMA_FILE), "check", user_info=user_info
    )
    line = assert_one_line_error(result)
    assert "refused the credentials (HTTP 401)" in line
    assert "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO" in line
    assert SECRET not in result.stderr


@pytest.fixture
def silent_registry() -> Iterator[str]:
    """A port that accepts connections and never answers: the worst unreachable registry."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/apis/ccompat/v7"


@pytest.mark.parametrize("kind", ["silent", "refused"])
def test_gate_gives_up_on_an_unreachable_registry_in_one_line(
    silent_registry: str, tmp_path: Path, kind: str
) -> None:
    url = silent_registry if kind == "silent" else "http://127.0.0.1:1/apis/ccompat/v7"
    result = run_gate(url, contract(tmp_path, V2_SCHEMA_FILE), "check")
    assert f"schema registry unreachable at {url}" in assert_one_line_error(result)
