"""A schema registry client with bounded waits, and the errors that mean "unreachable"."""

from __future__ import annotations

from confluent_kafka.schema_registry import SchemaRegistryClient

try:  # confluent-kafka 2.16 talks HTTP through httpx2, older releases through httpx
    from httpx2 import TransportError
except ImportError:  # pragma: no cover - depends on the installed confluent-kafka
    from httpx import TransportError  # type: ignore[no-redef]

REGISTRY_TIMEOUT_S = 10

#: Raised by SchemaRegistryClient when no HTTP answer came back (refused, DNS, timeout).
RegistryUnreachable = TransportError


def registry_client(url: str, user_info: str | None = None) -> SchemaRegistryClient:
    """A client for url that gives up within a bounded time; user_info (``user:password``)
    is sent as HTTP basic auth."""
    config: dict[str, object] = {"url": url, "timeout": REGISTRY_TIMEOUT_S, "max.retries": 2}
    if user_info is not None:
        config["basic.auth.user.info"] = user_info
    return SchemaRegistryClient(config)
