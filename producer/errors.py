"""The producer's one failure type: a message fit for a single line on stderr."""

from connection.exits import ToolError


class ProducerError(ToolError):
    """A failure the user can act on; str(error) is the whole explanation."""
