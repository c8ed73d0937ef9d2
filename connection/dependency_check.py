"""Importing this module ends the process with one line when the project's dependencies
are not installed in the running Python (a system python3 rather than .venv/bin/python),
instead of a ModuleNotFoundError traceback from deep inside a tool.

Every tool's __main__ imports it before anything else. It uses the standard library only,
and looks the modules up without importing them.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec

#: The top-level module of each runtime dependency in pyproject.toml
#: (tests/connection/test_connection_dependencies.py keeps the two lists in step).
RUNTIME_MODULES = (
    "avro",
    "celpy",
    "confluent_kafka",
    "fastavro",
    "httpx2",
    "jinja2",
    "jsonata",
    "lark",
    "matplotlib",
    "numpy",
    "prometheus_client",
    "py4j",
    "pyarrow",
    "pyspark",
    "re2",
    "sse_starlette",
    "starlette",
    "tqdm",
    "uvicorn",
    "yaml",
)


def missing_modules() -> list[str]:
    """The runtime dependencies this Python cannot import."""
    return [name for name in RUNTIME_MODULES if find_spec(name) is None]


def exit_unless_installed() -> None:
    missing = missing_modules()
    if missing:
        print(
            "prices: the dependencies are not installed in this Python "
            f"({sys.executable} lacks {', '.join(missing)}); "
            "run make venv and use .venv/bin/python",
            file=sys.stderr,
        )
        raise SystemExit(1)


exit_unless_installed()
