"""The consumer's one failure type, and the failures of the libraries under it as one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from py4j.protocol import Py4JError
from pyspark.errors import PySparkException

from connection.clients import RegistryFailure
from connection.exits import ToolError
from connection.spark import java_failure
from contract.dead_letters import DeadLetterError
from contract.rules import RulesError
from contract.schemas import ContractError


class ConsumerError(ToolError):
    """A failure the user can act on; str(error) is the whole explanation."""


def first_line(error: BaseException) -> str:
    """An exception's first line (Spark's and Java's messages run to stack traces); for a
    call into the JVM that failed, the Java exception's."""
    if isinstance(error, Py4JError):
        return java_failure(error)
    text = str(error).strip()
    return text.splitlines()[0] if text else repr(error)


@contextmanager
def one_line_failures(spark_doing: str = "Spark job failed") -> Iterator[None]:
    """Registry, contract (schema, rules, dead-letter topic), Spark and py4j failures
    inside the block as one ConsumerError each, Spark's named by spark_doing."""
    try:
        yield
    except (RegistryFailure, ContractError, RulesError, DeadLetterError) as error:
        raise ConsumerError(str(error)) from None
    except (PySparkException, Py4JError) as error:
        raise ConsumerError(f"{spark_doing}: {first_line(error)}") from None
