"""The producer and consumer CLIs run as users run them: a process, settings from the env."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from connection.paths import REPO_ROOT

# The caller's own client settings (a topic, credentials, a Spark master) never leak in.
CLIENT_VARIABLE_PREFIXES = ("KAFKA_", "SCHEMA_REGISTRY_", "SPARK_MASTER")


def cli_env(stack: Mapping[str, str], **variables: str) -> dict[str, str]:
    """The environment of a run against stack (`local-stack.sh env` settings), plus
    variables."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(CLIENT_VARIABLE_PREFIXES)
    }
    return {
        **env,
        "KAFKA_BOOTSTRAP_SERVERS": stack["KAFKA_BOOTSTRAP_SERVERS"],
        "SCHEMA_REGISTRY_URL": stack["SCHEMA_REGISTRY_URL"],
        "SPARK_CONNECTOR_JARS_DIR": stack["SPARK_CONNECTOR_JARS_DIR"],
        "SPARK_LOCAL_IP": "127.0.0.1",
        **variables,
    }


def run_cli(
    module: str, env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """python -m module to completion, outputs captured."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=timeout,
        check=False,
    )


def start_cli(
    module: str,
    env: dict[str, str],
    *args: str,
    stdout: int = subprocess.PIPE,
    cwd: Path = REPO_ROOT,
) -> subprocess.Popen[str]:
    """The CLI in a process group of its own, as a shell runs a foreground job (from the
    checkout unless cwd says otherwise)."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    """Poll condition until it holds; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def process_alive(pid: int) -> bool:
    """True while pid runs (a zombie waiting for its parent counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
