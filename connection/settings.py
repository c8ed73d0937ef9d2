"""Connection settings shared by the producer and the consumer.

One place reads them: command-line flags first, then the environment variables that
docker-compose, the Makefile and the tests set (the same names everywhere), then the
local stack's defaults.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from urllib.parse import urlparse

DEFAULT_BOOTSTRAP_SERVERS = "127.0.0.1:9092"
DEFAULT_SCHEMA_REGISTRY_URL = "http://127.0.0.1:8081/apis/ccompat/v7"
DEFAULT_TOPIC = "prices"


@dataclass(frozen=True)
class ConnectionSettings:
    """Where the broker and the registry are, and which topic holds the events."""

    bootstrap_servers: str
    schema_registry_url: str
    topic: str

    @property
    def value_subject(self) -> str:
        """The registry subject of the topic's values (TopicNameStrategy)."""
        return f"{self.topic}-value"


def registry_url(text: str) -> str:
    """argparse type: an http(s) URL with a host."""
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
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


def settings_from_args(args: argparse.Namespace) -> ConnectionSettings:
    """The settings that add_connection_arguments parsed."""
    return ConnectionSettings(
        bootstrap_servers=args.bootstrap_servers,
        schema_registry_url=args.schema_registry_url,
        topic=args.topic,
    )
