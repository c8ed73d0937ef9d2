"""run_tool: the one mapping of a tool's failures to its exit code and stderr line."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import ClassVar

import pytest

from connection.exits import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, ToolError, run_tool
from connection.paths import REPO_ROOT


class UsageLikeError(ToolError):
    exit_code: ClassVar[int] = 2


def raising(error: BaseException) -> int:
    raise error


def test_the_body_exit_code_is_returned_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> int:
        print("report")
        return 1  # e.g. the gate's "not compatible"

    assert run_tool("tool", body) == 1
    assert capsys.readouterr() == ("report\n", "")


def test_a_tool_error_is_one_line_on_stderr_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    error = ToolError("registry said:\n  subject not found\t(40401)\n")
    assert run_tool("tool", lambda: raising(error)) == 1
    assert capsys.readouterr() == ("", "tool: error: registry said: subject not found (40401)\n")


def test_a_tool_error_type_chooses_its_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_tool("gate", lambda: raising(UsageLikeError("no such ref"))) == 2
    assert capsys.readouterr().err == "gate: error: no such ref\n"


def test_ctrl_c_is_one_line_and_exit_130(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_tool("tool", lambda: raising(KeyboardInterrupt())) == EXIT_INTERRUPTED
    assert capsys.readouterr() == ("", "tool: interrupted\n")


def test_usage_errors_and_other_failures_pass_through() -> None:
    with pytest.raises(SystemExit):
        run_tool("tool", lambda: raising(SystemExit(2)))
    with pytest.raises(ZeroDivisionError):  # a bug stays a traceback: it is ours to fix
        run_tool("tool", lambda: raising(ZeroDivisionError()))


@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["unbuffered", "buffered"])
def test_a_closed_stdout_is_exit_141_and_nothing_on_stderr(unbuffered: str) -> None:
    """Unbuffered, print meets the closed pipe; buffered, run_tool's flush does."""
    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    read_end, write_end = os.pipe()
    os.close(read_end)
    program = (
        "from connection.exits import run_tool\n"
        "def body():\n"
        "    print('report')\n"
        "    return 0\n"
        "raise SystemExit(run_tool('tool', body))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", program],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO_ROOT,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (EXIT_BROKEN_PIPE, "")
