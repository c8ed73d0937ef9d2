"""Connection settings shared by the producer and the consumer.

One place reads them: command-line flags first, then the environment variables that
docker-compose, the Makefile and the tests set (the same names everywhere), then the
local stack's defaults. Security settings (SASL credentials, CA file, registry basic
auth) come from the environment only, never from flags, so they stay out of ``ps``
listings and shell history, and no repr or message shows a password.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_BOOTSTRAP_SERVERS = "127.0.0.1:9092"
DEFAULT_SCHEMA_REGISTRY_URL = "http://127.0.0.1:8081/apis/ccompat/v7"
DEFAULT_TOPIC = "prices"

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
#: SASL mechanisms with a username and password, and the JAAS login module Java clients use.
SASL_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


class SettingsError(ValueError):
    """A setting from the environment is unusable; the message names the variable (never
    its secret value)."""


def _jaas_quoted(text: str) -> str:
    """text as a double-quoted JAAS option value."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class KafkaSecurity:
    """How clients authenticate to the brokers and check their certificates.

    The password is left out of repr(), so logging the settings never shows it.
    """

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_ca_location: str | None = None

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    def librdkafka_config(self) -> dict[str, str]:
        """The settings for confluent-kafka's Producer, Consumer and AdminClient."""
        config = {"security.protocol": self.protocol}
        if self.uses_sasl:
            config["sasl.mechanism"] = self.sasl_mechanism or "PLAIN"
            config["sasl.username"] = self.sasl_username or ""
            config["sasl.password"] = self.sasl_password or ""
        if self.ssl_ca_location:
            config["ssl.ca.location"] = self.ssl_ca_location
        return config

    def spark_kafka_options(self) -> dict[str, str]:
        """The same settings as options of Spark's Kafka source (a Java Kafka client)."""
        options = {"kafka.security.protocol": self.protocol}
        if self.uses_sasl:
            mechanism = self.sasl_mechanism or "PLAIN"
            options["kafka.sasl.mechanism"] = mechanism
            options["kafka.sasl.jaas.config"] = (
                f"{SASL_LOGIN_MODULES[mechanism]} required "
                f"username={_jaas_quoted(self.sasl_username or '')} "
                f"password={_jaas_quoted(self.sasl_password or '')};"
            )
        if self.ssl_ca_location:
            options["kafka.ssl.truststore.type"] = "PEM"
            options["kafka.ssl.truststore.location"] = self.ssl_ca_location
        return options


PLAINTEXT = KafkaSecurity()


def kafka_security_from_env(env: Mapping[str, str]) -> KafkaSecurity:
    """KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME,
    KAFKA_SASL_PASSWORD and KAFKA_SSL_CA_LOCATION, checked; SettingsError when unusable."""
    protocol = (env.get("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT").upper()
    if protocol not in SECURITY_PROTOCOLS:
        raise SettingsError(
            f"KAFKA_SECURITY_PROTOCOL: unknown protocol {protocol!r} "
            f"(one of {', '.join(SECURITY_PROTOCOLS)})"
        )
    sasl = {
        name: env.get(name) or None
        for name in ("KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")
    }
    ca_location = env.get("KAFKA_SSL_CA_LOCATION") or None
    if not protocol.startswith("SASL_"):
        for name, value in sasl.items():
            if value is not None:
                raise SettingsError(
                    f"{name} is set but KAFKA_SECURITY_PROTOCOL is {protocol} "
                    "(SASL needs SASL_PLAINTEXT or SASL_SSL)"
                )
    else:
        mechanism = (sasl["KAFKA_SASL_MECHANISM"] or "PLAIN").upper()
        if mechanism not in SASL_LOGIN_MODULES:
            raise SettingsError(
                f"KAFKA_SASL_MECHANISM: unsupported mechanism {mechanism!r} "
                f"(one of {', '.join(SASL_LOGIN_MODULES)})"
            )
        for name in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
            if sasl[name] is None:
                raise SettingsError(f"{name} is required with KAFKA_SECURITY_PROTOCOL={protocol}")
        sasl["KAFKA_SASL_MECHANISM"] = mechanism
    if ca_location is not None:
        if not protocol.endswith("SSL"):
            raise SettingsError(
                f"KAFKA_SSL_CA_LOCATION is set but KAFKA_SECURITY_PROTOCOL is {protocol} "
                "(TLS needs SSL or SASL_SSL)"
            )
        if not os.access(ca_location, os.R_OK) or not Path(ca_location).is_file():
            raise SettingsError(f"KAFKA_SSL_CA_LOCATION: no readable file {ca_location!r}")
    return KafkaSecurity(
        protocol=protocol,
        sasl_mechanism=sasl["KAFKA_SASL_MECHANISM"],
        sasl_username=sasl["KAFKA_SASL_USERNAME"],
        sasl_password=sasl["KAFKA_SASL_PASSWORD"],
        ssl_ca_location=ca_location,
    )


def registry_user_info_from_env(env: Mapping[str, str]) -> str | None:
    """SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO (``user:password``), checked; None when unset."""
    user_info = env.get("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO") or None
    if user_info is not None:
        user, colon, _ = user_info.partition(":")
        if not user or not colon:
            raise SettingsError(
                "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: expected user:password "
                "(the Confluent convention)"
            )
    return user_info


@dataclass(frozen=True)
class ConnectionSettings:
    """Where the broker and the registry are, which topic holds the events, and the
    credentials for both (left out of repr())."""

    bootstrap_servers: str
    schema_registry_url: str
    topic: str
    security: KafkaSecurity = PLAINTEXT
    registry_user_info: str | None = field(default=None, repr=False)

    @property
    def value_subject(self) -> str:
        """The registry subject of the topic's values (TopicNameStrategy)."""
        return f"{self.topic}-value"


def registry_url(text: str) -> str:
    """argparse type: an http(s) URL with a host."""
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    if parsed.username is not None or parsed.password is not None:
        # Echoing the URL would show the password: say where credentials belong instead.
        raise argparse.ArgumentTypeError(
            "credentials in the URL are not accepted (they would show in messages); "
            "set SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=user:password instead"
        )
    return text.rstrip("/")


def bootstrap_servers(text: str) -> str:
    """argparse type: a comma-separated list of host:port."""
    for server in text.split(","):
        host, _, port = server.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise argparse.ArgumentTypeError(f"not a host:port list: {text!r}")
    return text


def topic_name(text: str) -> str:
    """argparse type: a legal Kafka topic name."""
    legal = text and len(text) <= 249 and text not in (".", "..")
    if not legal or any(not (c.isascii() and (c.isalnum() or c in "._-")) for c in text):
        raise argparse.ArgumentTypeError(f"not a legal Kafka topic name: {text!r}")
    return text


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --bootstrap-servers, --schema-registry-url and --topic with env fallbacks."""
    env = os.environ
    parser.add_argument(
        "--bootstrap-servers",
        type=bootstrap_servers,
        default=env.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP_SERVERS),
        help="Kafka brokers, host:port[,host:port] (env KAFKA_BOOTSTRAP_SERVERS; "
        "default %(default)s)",
    )
    parser.add_argument(
        "--schema-registry-url",
        type=registry_url,
        default=env.get("SCHEMA_REGISTRY_URL", DEFAULT_SCHEMA_REGISTRY_URL),
        help="Confluent-compatible schema registry URL (env SCHEMA_REGISTRY_URL; "
        "default %(default)s)",
    )
    parser.add_argument(
        "--topic",
        type=topic_name,
        default=env.get("KAFKA_TOPIC", DEFAULT_TOPIC),
        help="topic of the price events (env KAFKA_TOPIC; default %(default)s)",
    )


def settings_from_args(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> ConnectionSettings:
    """The settings that add_connection_arguments parsed, with the security settings of
    env (default os.environ); SettingsError when one of those is unusable."""
    env = os.environ if env is None else env
    return ConnectionSettings(
        bootstrap_servers=args.bootstrap_servers,
        schema_registry_url=args.schema_registry_url,
        topic=args.topic,
        security=kafka_security_from_env(env),
        registry_user_info=registry_user_info_from_env(env),
    )
