"""Every third-party module the code imports is a declared dependency, and a tool run by a
Python without the dependencies says how to get them in one line."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import tomllib

from connection import dependency_check
from connection.paths import REPO_ROOT

#: The packages that ship, and benchmarks/, which runs from a checkout with the dev extras.
SHIPPED_PACKAGES = ("producer", "consumer", "connection", "contract", "schemagate", "inspector")
DEV_PACKAGES = ("benchmarks",)
FIRST_PARTY = {*SHIPPED_PACKAGES, *DEV_PACKAGES}
SYSTEM_PYTHON = Path("/usr/bin/python3")


def canonical(name: str) -> str:
    """A distribution's name as packaging compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(requirements: list[str]) -> set[str]:
    """The distribution names of requirement strings such as `confluent-kafka[avro]==2.16.1`."""
    names = (re.match(r"[A-Za-z0-9._-]+", requirement) for requirement in requirements)
    return {canonical(name.group()) for name in names if name}


PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = declared(PROJECT["dependencies"])
DEV = declared(PROJECT["optional-dependencies"]["dev"])
#: What each package may import: the shipped ones their runtime dependencies only.
ALLOWED_DISTRIBUTIONS = {
    **dict.fromkeys(SHIPPED_PACKAGES, RUNTIME),
    **dict.fromkeys(DEV_PACKAGES, RUNTIME | DEV),
}


def third_party_imports(package: str) -> dict[str, set[str]]:
    """Each top-level module that package's files import (at any depth: a function's
    import is a dependency too), outside the standard library and this project, with the
    files that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO_ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO_ROOT)))
    return found


def distributions(module: str) -> set[str]:
    """The installed distributions that provide a top-level module."""
    return {canonical(name) for name in packages_distributions().get(module, [])}


@pytest.mark.parametrize("package", ALLOWED_DISTRIBUTIONS)
def test_every_third_party_import_is_a_declared_dependency(package: str) -> None:
    allowed = ALLOWED_DISTRIBUTIONS[package]
    imports = third_party_imports(package)
    assert imports, f"{package} imports no third-party module: is the walk broken?"
    undeclared = {
        module: sorted(files)
        for module, files in imports.items()
        if not distributions(module) & allowed
    }
    assert undeclared == {}, "imported but not declared in pyproject.toml"


def test_the_dependency_check_looks_for_every_runtime_dependency() -> None:
    provided = set().union(*map(distributions, dependency_check.RUNTIME_MODULES))
    assert provided == RUNTIME


def test_a_missing_dependency_is_one_line_that_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dependency_check, "RUNTIME_MODULES", ("numpy", "no_such_module"))
    with pytest.raises(SystemExit) as exited:
        dependency_check.exit_unless_installed()
    assert exited.value.code == 1
    assert capsys.readouterr() == (
        "",
        "prices: the dependencies are not installed in this Python "
        f"({sys.executable} lacks no_such_module); run make venv and use .venv/bin/python\n",
    )


def system_python_lacks_the_dependencies() -> bool:
    if not SYSTEM_PYTHON.exists():
        return False
    probe = "import importlib.util as u; raise SystemExit(u.find_spec('confluent_kafka') is None)"
    return subprocess.run([SYSTEM_PYTHON, "-c", probe], check=False).returncode == 1


@pytest.mark.skipif(
    not system_python_lacks_the_dependencies(),
    reason=f"no {SYSTEM_PYTHON} without the dependencies on this machine",
)
@pytest.mark.parametrize(
    "tool",
    ["producer", "schemagate", "consumer", "inspector"],
)
def test_a_tool_run_by_a_python_without_the_dependencies_says_so_in_one_line(
    tool: str,
) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    done = subprocess.run(
        [SYSTEM_PYTHON, "-m", tool, "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert re.fullmatch(
        r"prices: the dependencies are not installed in this Python \(/usr/bin/python3 lacks "
        r"[a-z0-9_, ]+\); run make venv and use \.venv/bin/python\n",
        done.stderr,
    ), done.stderr
