"""How every tool's process ends: its exit codes and the one place that maps failures to them.

0 ok, 1 a failed run, 2 a usage error (argparse exits with it itself), 130 Ctrl-C, 141 a
closed stdout (what a shell reports for a process ended by SIGPIPE).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import ClassVar

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class ToolError(Exception):
    """A failure the user can act on; str(error) is the whole explanation, and run_tool
    prints it as one line. Each tool's own failure type derives from it."""

    #: The exit code run_tool ends the process with.
    exit_code: ClassVar[int] = EXIT_FAILED


def run_tool(prog: str, body: Callable[[], int]) -> int:
    """body's exit code, or the one that ends it: a ToolError is `prog: error: <one line>`
    on stderr and its exit_code, Ctrl-C is `prog: interrupted` and 130, a closed stdout is
    141 and nothing on stderr. Usage errors (SystemExit from argparse) pass through.

    stdout is flushed before body's code is returned, so a closed pipe shows here rather
    than as Python's own complaint at exit. The tools' other pipes (sockets to the broker
    and the registry) end in their own errors, so a BrokenPipeError here is stdout's.
    """
    try:
        code = body()
        sys.stdout.flush()
    except ToolError as error:
        one_line = " ".join(str(error).split())  # registry and Spark messages may span lines
        print(f"{prog}: error: {one_line}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # stdout closed early (e.g. `| head -1`): nobody reads the rest
        # Python flushes stdout again at exit: into devnull, that says nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code
