"""The consumer's one failure type: a message fit for a single line on stderr."""


class ConsumerError(Exception):
    """A failure the user can act on; str(error) is the whole explanation."""
