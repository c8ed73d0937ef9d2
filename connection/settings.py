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
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from connection.defaults import DEFAULTS, LOOPBACK
from connection.paths import STACK_CACHE

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
        certificate_file("KAFKA_SSL_CA_LOCATION", ca_location)
    return KafkaSecurity(
        protocol=protocol,
        sasl_mechanism=sasl["KAFKA_SASL_MECHANISM"],
        sasl_username=sasl["KAFKA_SASL_USERNAME"],
        sasl_password=sasl["KAFKA_SASL_PASSWORD"],
        ssl_ca_location=ca_location,
    )


def certificate_file(name: str, path: str) -> str:
    """path, checked to be a file of PEM certificates that OpenSSL loads, as librdkafka, the
    registry client and Spark's PEM truststore will; SettingsError naming the variable and
    the file otherwise (else each client fails on its own, in a traceback of its own)."""
    not_pem = SettingsError(f"{name}: no PEM certificate in {path!r}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cafile=path)
    except ssl.SSLError:  # caught before OSError, which it is a kind of
        raise not_pem from None
    except OSError as error:  # missing, unreadable, a directory
        raise SettingsError(f"{name}: cannot read {path!r}: {error.strerror}") from None
    if context.cert_store_stats()["x509"] == 0:  # a file of CRLs alone loads too
        raise not_pem
    return path


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
class RegistrySettings:
    """Where the schema registry is, how to log in (left out of repr()) and which CA
    file vouches for its certificate (https only; default: the system's CAs)."""

    url: str
    user_info: str | None = field(default=None, repr=False)
    ca_location: str | None = None


def registry_settings_from_env(url: str, env: Mapping[str, str]) -> RegistrySettings:
    """url with SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO and SCHEMA_REGISTRY_SSL_CA_LOCATION."""
    ca_location = env.get("SCHEMA_REGISTRY_SSL_CA_LOCATION") or None
    if ca_location is not None:
        certificate_file("SCHEMA_REGISTRY_SSL_CA_LOCATION", ca_location)
    return RegistrySettings(
        url=url, user_info=registry_user_info_from_env(env), ca_location=ca_location
    )


@dataclass(frozen=True)
class ConnectionSettings:
    """Where the broker and the registry are, which topic holds the events, and the
    credentials for both (left out of repr())."""

    bootstrap_servers: str
    registry: RegistrySettings
    topic: str
    security: KafkaSecurity = PLAINTEXT

    @property
    def value_subject(self) -> str:
        """The registry subject of the topic's values (TopicNameStrategy)."""
        return f"{self.topic}-value"


@dataclass(frozen=True)
class SparkSettings:
    """Where Spark runs, where its Kafka and Avro connector jars are, and the address the
    driver binds and advertises."""

    master: str
    connector_jars_dir: Path
    driver_host: str
    #: The driver JVM's class-data archive for this install (connection.class_data), used
    #: once it is made; None: never (switched off, or the Java runtime is unknown).
    class_data_archive: Path | None = None
    #: A driver for a short run (a small topic's report, a few records): its JIT compiles
    #: with C1 only, which starts and warms up faster; long runs keep C2's faster code.
    short_run: bool = False


def spark_settings_from_env(master: str, env: Mapping[str, str] | None = None) -> SparkSettings:
    """master with SPARK_CONNECTOR_JARS_DIR (default: the local stack's cache for this
    pyspark version), SPARK_LOCAL_IP (default loopback) and SPARK_CLASS_DATA_SHARING
    (default on) of env (default os.environ)."""
    import pyspark  # only the consumer needs it

    from connection.class_data import archive_for

    env = os.environ if env is None else env
    jars_dir = env.get("SPARK_CONNECTOR_JARS_DIR") or str(
        STACK_CACHE / f"spark-connectors-{pyspark.__version__}"
    )
    return SparkSettings(
        master=master,
        connector_jars_dir=Path(jars_dir),
        driver_host=env.get("SPARK_LOCAL_IP") or LOOPBACK,
        class_data_archive=archive_for(Path(jars_dir), env),
    )


SPARK_MASTER_URL = re.compile(
    r"local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?"
    r"|spark://[^\s/:,]+:\d+(,[^\s/:,]+:\d+)*"
    r"|yarn|k8s://\S+"
)


def spark_master(text: str) -> str:
    """argparse type: a Spark master URL, checked before a JVM is started for it."""
    if not SPARK_MASTER_URL.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"not a Spark master URL: {text!r} (local[*], local[N], spark://host:port, "
            "yarn or k8s://...)"
        )
    return text


def add_spark_argument(parser: argparse.ArgumentParser) -> None:
    """Add --master with its env fallback."""
    parser.add_argument(
        "--master",
        type=spark_master,
        default=os.environ.get("SPARK_MASTER", DEFAULTS.spark_master),
        help="Spark master URL (env SPARK_MASTER; default %(default)s)",
    )


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


def add_registry_argument(parser: argparse.ArgumentParser) -> None:
    """Add --schema-registry-url with its env fallback."""
    parser.add_argument(
        "--schema-registry-url",
        type=registry_url,
        default=os.environ.get("SCHEMA_REGISTRY_URL", DEFAULTS.schema_registry_url),
        help="Confluent-compatible schema registry URL (env SCHEMA_REGISTRY_URL; "
        "default %(default)s)",
    )


def add_bootstrap_argument(parser: argparse.ArgumentParser) -> None:
    """Add --bootstrap-servers with its env fallback."""
    parser.add_argument(
        "--bootstrap-servers",
        type=bootstrap_servers,
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULTS.bootstrap_servers),
        help="Kafka brokers, host:port[,host:port] (env KAFKA_BOOTSTRAP_SERVERS; "
        "default %(default)s)",
    )


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --bootstrap-servers, --schema-registry-url and --topic with env fallbacks."""
    add_bootstrap_argument(parser)
    add_registry_argument(parser)
    parser.add_argument(
        "--topic",
        type=topic_name,
        default=os.environ.get("KAFKA_TOPIC", DEFAULTS.topic),
        help="topic of the price events (env KAFKA_TOPIC; default %(default)s)",
    )


def registry_settings_from_args(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> RegistrySettings:
    """The registry settings that add_registry_argument parsed, with the credentials and
    CA file of env (default os.environ); SettingsError when one of those is unusable."""
    return registry_settings_from_env(args.schema_registry_url, os.environ if env is None else env)


def settings_from_args(
    args: argparse.Namespace, env: Mapping[str, str] | None = None, topic: str | None = None
) -> ConnectionSettings:
    """The settings that add_connection_arguments parsed, with the security settings of
    env (default os.environ); SettingsError when one of those is unusable. A tool whose
    topic is a flag of its own (not --topic) passes it as topic."""
    env = os.environ if env is None else env
    return ConnectionSettings(
        bootstrap_servers=args.bootstrap_servers,
        registry=registry_settings_from_args(args, env),
        topic=topic if topic is not None else args.topic,
        security=kafka_security_from_env(env),
    )
