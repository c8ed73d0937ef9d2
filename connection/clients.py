"""The clients every tool uses, built from the settings in one place.

- the schema registry client (URL, basic auth, CA file, bounded timeout and retries) and
  the one mapping of its failures to one-line messages;
- Apicurio's own API beside its Confluent one, with the same settings, when the registry
  is an Apicurio (connection.apicurio);
- the Kafka client configurations: librdkafka's (producer, admin, plain consumers) and
  Spark's Kafka source options.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import cache

from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError
from httpx2 import TransportError  # the HTTP client under confluent-kafka's registry client

from connection.apicurio import ApicurioApi, native_url
from connection.defaults import DEFAULTS
from connection.settings import ConnectionSettings, RegistrySettings

HTTP_UNAUTHORIZED, HTTP_FORBIDDEN, HTTP_NOT_FOUND = 401, 403, 404
# Backoff between retries of one request: short, so the bound below stays small.
RETRY_WAIT_MS, RETRY_MAX_WAIT_MS = 250, 1000
#: The longest a registry call can take before it fails: every attempt times out, with
#: the longest backoff between them.
REGISTRY_GIVE_UP_S = (DEFAULTS.registry_max_retries + 1) * DEFAULTS.registry_request_timeout_s + (
    DEFAULTS.registry_max_retries * RETRY_MAX_WAIT_MS / 1000
)


class RegistryFailure(Exception):
    """A registry call failed; str() is one line that names the registry and the call."""


class RegistryUnreachable(RegistryFailure):
    """No HTTP answer: refused, name not found, timed out, or the TLS handshake failed."""


class RegistryRefused(RegistryFailure):
    """The registry refused the credentials (HTTP 401/403)."""


class RegistryNotFound(RegistryFailure):
    """The subject, version or schema id is not registered (HTTP 404)."""

    def __init__(self, message: str, error_code: int | None) -> None:
        super().__init__(message)
        self.error_code = error_code


class RegistryRejected(RegistryFailure):
    """Any other error answer (409 incompatible, 422 invalid, 5xx ...)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def registry_client(registry: RegistrySettings) -> SchemaRegistryClient:
    """A client for the registry that gives up within REGISTRY_GIVE_UP_S."""
    config: dict[str, object] = {
        "url": registry.url,
        "timeout": DEFAULTS.registry_request_timeout_s,
        "max.retries": DEFAULTS.registry_max_retries,
        "retries.wait.ms": RETRY_WAIT_MS,
        "retries.max.wait.ms": RETRY_MAX_WAIT_MS,
    }
    if registry.user_info is not None:
        config["basic.auth.user.info"] = registry.user_info
    if registry.ca_location is not None:
        config["ssl.ca.location"] = registry.ca_location
    return SchemaRegistryClient(config)


@cache
def apicurio_api(registry: RegistrySettings) -> ApicurioApi | None:
    """Apicurio's own API beside the registry's Confluent API, with the same credentials
    and CA file; None when the registry does not answer there as Apicurio does (asked once
    per registry and process)."""
    url = native_url(registry.url)
    if url is None:
        return None
    api = ApicurioApi(registry_client(replace(registry, url=url)))
    with registry_call(registry, "asking whether the registry is an Apicurio"):
        return api if api.is_apicurio() else None


def _transport_reason(error: Exception) -> str:
    """What went wrong below HTTP, in a few words (a TLS failure says which check)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "verify_message", None) or cause.reason or str(cause)
            return f"TLS handshake failed: {reason} (check SCHEMA_REGISTRY_SSL_CA_LOCATION)"
        cause = cause.__cause__ or cause.__context__
    return str(error) or type(error).__name__


@contextmanager
def registry_call(registry: RegistrySettings, what: str) -> Iterator[None]:
    """Turn the client's failures inside the block into one RegistryFailure each.

    Messages never contain the credentials: the client's errors carry the registry's
    answer, and the URL is checked to hold no user info (connection.settings).
    """
    try:
        yield
    except SchemaRegistryError as error:
        status = error.http_status_code
        where = f"schema registry at {registry.url}"
        if status in (HTTP_UNAUTHORIZED, HTTP_FORBIDDEN):
            hint = (
                "check SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO"
                if registry.user_info
                else "set SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=user:password"
            )
            raise RegistryRefused(
                f"{where} refused the credentials (HTTP {status}) for {what}; {hint}"
            ) from None
        message = " ".join(str(error.error_message).split())
        if status == HTTP_NOT_FOUND:
            raise RegistryNotFound(f"{where}: {what}: {message}", error.error_code) from None
        raise RegistryRejected(f"{where}: {what}: {message}", status) from None
    except (TransportError, OSError) as error:
        raise RegistryUnreachable(
            f"schema registry unreachable at {registry.url} ({what}): {_transport_reason(error)}"
        ) from None


def librdkafka_config(settings: ConnectionSettings) -> dict[str, str | int | float | bool]:
    """The brokers and security settings of confluent-kafka's producer, consumer and admin."""
    return {
        "bootstrap.servers": settings.bootstrap_servers,
        **settings.security.librdkafka_config(),
    }


def spark_kafka_options(settings: ConnectionSettings) -> dict[str, str]:
    """The same for Spark's Kafka source (a Java Kafka client)."""
    return {
        "kafka.bootstrap.servers": settings.bootstrap_servers,
        **settings.security.spark_kafka_options(),
    }
