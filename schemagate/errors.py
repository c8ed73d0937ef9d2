"""The gate's one failure type, which ends a run with exit code 2: 1 means "not compatible"."""

from typing import ClassVar

from connection.exits import EXIT_USAGE, ToolError


class GateError(ToolError):
    """A usage, input or connection problem: the check could not be carried out."""

    exit_code: ClassVar[int] = EXIT_USAGE
