"""A standalone Spark master's reachability, checked before a driver is started for it.

Spark's own client keeps retrying a master that does not answer for about a minute, then
fails in a long stack trace; a TCP connect says the same within a few seconds.
"""

from __future__ import annotations

import socket

from connection.defaults import DEFAULTS
from connection.exits import ToolError

STANDALONE_SCHEME = "spark://"
SPARK_MASTER_TIMEOUT_S = DEFAULTS.spark_master_timeout_s


class SparkMasterUnreachable(ToolError):
    """No master of a spark:// URL accepted a connection."""


def standalone_masters(master: str) -> list[tuple[str, int]]:
    """The (host, port) of each master of a spark://host:port[,host:port] URL (checked by
    connection.settings.spark_master); [] for the others (local, yarn, k8s)."""
    if not master.startswith(STANDALONE_SCHEME):
        return []
    addresses = []
    for address in master.removeprefix(STANDALONE_SCHEME).split(","):
        host, _, port = address.rpartition(":")
        addresses.append((host, int(port)))
    return addresses


def check_spark_master(master: str, timeout_s: float = SPARK_MASTER_TIMEOUT_S) -> None:
    """Return once a master of a spark:// URL accepts a TCP connection (each is given
    timeout_s, one after the other); SparkMasterUnreachable naming the URL and why each
    failed when none does. Other masters need no check: local runs in this process, and
    yarn and k8s are reached through their own clients."""
    failures = []
    for host, port in standalone_masters(master):
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                return
        except TimeoutError:
            failures.append(f"{host}:{port}: no answer within {timeout_s:g} s")
        except OSError as error:  # refused, unknown host, no route
            failures.append(f"{host}:{port}: {error.strerror or error}")
    if failures:
        raise SparkMasterUnreachable(
            f"Spark master unreachable at {master} ({'; '.join(failures)})"
        )
