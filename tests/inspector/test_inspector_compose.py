"""The inspector in docker-compose.yml (its own profile) as the real Compose v2 parser
resolves it, its image, and its command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from connection.defaults import DEFAULTS_FILE, read_env_file
from connection.paths import REPO_ROOT
from inspector.__main__ import DEFAULT_PORT, build_parser

DOCKERFILE = REPO_ROOT / "inspector" / "Dockerfile"


def services(*profiles: str, override: bool = False) -> dict[str, Any]:
    compose = Path(sys.executable).parent / "docker-compose"
    args = [str(compose), "--project-directory", str(REPO_ROOT), "-f", "docker-compose.yml"]
    if override:
        args += ["-f", "tests/docker/compose.test.yml"]
    for profile in profiles:
        args += ["--profile", profile]
    result = subprocess.run(
        [*args, "config", "--format", "json"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)["services"]
    return found


def test_the_inspector_runs_only_with_its_profile() -> None:
    assert "inspector" not in services()
    inspector = services("inspector")["inspector"]
    assert inspector["profiles"] == ["inspector"]
    assert inspector["depends_on"] == {"kafka": {"condition": "service_healthy", "required": True}}


def test_the_inspector_listens_on_every_interface_inside_and_publishes_8088() -> None:
    inspector = services("inspector")["inspector"]
    assert inspector["command"] == ["python", "-m", "inspector", "--host", "0.0.0.0"]
    assert [(p["target"], p["published"]) for p in inspector["ports"]] == [(8088, "8088")]
    assert f"CMD {json.dumps(inspector['command'])}" in DOCKERFILE.read_text()
    assert Path(inspector["build"]["context"]) == REPO_ROOT
    assert inspector["build"]["dockerfile"] == "inspector/Dockerfile"


def test_the_inspector_has_the_clients_settings() -> None:
    found = services("inspector")
    defaults = read_env_file(DEFAULTS_FILE)
    assert found["inspector"]["environment"] == found["producer"]["environment"]
    assert {name: found["inspector"]["environment"][name] for name in defaults} == defaults


def test_the_test_override_reaches_the_stand_in_and_publishes_nothing() -> None:
    inspector = services("inspector", override=True)["inspector"]
    assert inspector["environment"]["SCHEMA_REGISTRY_URL"] == "http://kafka:8081/apis/ccompat/v7"
    assert not inspector.get("ports")


def test_the_image_is_debian_bookworm_slim_not_root_and_holds_what_it_imports() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert set(re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)) == {"debian:bookworm-slim"}
    assert re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)[-1] not in ("root", "0")
    copied = set(re.findall(r"^COPY (\w+) /app/", dockerfile, re.MULTILINE))
    assert {"inspector", "contract", "connection", "schemagate", "schemas"} <= copied
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert all(f"!{name}/" in ignored for name in copied)


def test_loopback_and_port_8088_unless_told_otherwise() -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", DEFAULT_PORT) == ("127.0.0.1", 8088)
    args = build_parser().parse_args(["--host", "0.0.0.0", "--port", "9000"])
    assert (args.host, args.port) == ("0.0.0.0", 9000)


def test_a_bad_port_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--port", "http"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
