"""The one exception type the command line turns into exit code 2."""


class GateError(Exception):
    """A usage, input or connection problem: the check could not be carried out."""
