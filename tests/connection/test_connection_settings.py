"""Security settings from the environment: read in one place, passed to librdkafka, Spark's
Kafka source and the registry client, and never shown.

How the tools report an unusable setting, and the SASL listener itself, are exercised in
tests/reliability/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from security_env import SECRET, sasl_env

from connection.settings import (
    KafkaSecurity,
    SettingsError,
    kafka_security_from_env,
    registry_url,
    settings_from_args,
)

PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"


def test_no_security_variables_mean_plaintext() -> None:
    security = kafka_security_from_env({})
    assert security == KafkaSecurity()
    assert security.librdkafka_config() == {"security.protocol": "PLAINTEXT"}
    assert security.spark_kafka_options() == {"kafka.security.protocol": "PLAINTEXT"}


def test_sasl_plain_settings_reach_librdkafka_and_spark() -> None:
    security = kafka_security_from_env(sasl_env())
    assert security.librdkafka_config() == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "alice",
        "sasl.password": SECRET,
    }
    assert security.spark_kafka_options() == {
        "kafka.security.protocol": "SASL_PLAINTEXT",
        "kafka.sasl.mechanism": "PLAIN",
        "kafka.sasl.jaas.config": f'{PLAIN_LOGIN} required username="alice" '
        'password="s3cr3t-\\"quoted\\"-\\\\back";',
    }


def test_scram_over_tls_with_a_ca_file_reaches_librdkafka_and_spark(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    security = kafka_security_from_env(
        sasl_env(
            KAFKA_SECURITY_PROTOCOL="sasl_ssl",
            KAFKA_SASL_MECHANISM="scram-sha-512",
            KAFKA_SSL_CA_LOCATION=str(ca),
        )
    )
    assert security.librdkafka_config() == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": SECRET,
        "ssl.ca.location": str(ca),
    }
    options = security.spark_kafka_options()
    assert options["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert options["kafka.sasl.jaas.config"].startswith(f"{SCRAM_LOGIN} required ")
    assert (options["kafka.ssl.truststore.type"], options["kafka.ssl.truststore.location"]) == (
        "PEM",
        str(ca),
    )


def test_settings_carry_the_security_and_repr_shows_no_secret() -> None:
    env = {**sasl_env(), "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": f"bob:{SECRET}"}
    args = argparse.Namespace(
        bootstrap_servers="127.0.0.1:9094", schema_registry_url="http://r", topic="t"
    )
    settings = settings_from_args(args, env)
    assert settings.security.sasl_password == SECRET
    assert settings.registry.user_info == f"bob:{SECRET}"
    assert SECRET not in repr(settings)
    assert "alice" in repr(settings)  # the user name helps; only secrets are hidden


def test_registry_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        registry_url(f"http://bob:{SECRET}@registry:8081")
    assert "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO" in str(refused.value)
    assert SECRET not in str(refused.value)


def test_settings_error_is_a_value_error_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="KAFKA_SASL_MECHANISM"):
        kafka_security_from_env(sasl_env(KAFKA_SASL_MECHANISM="OAUTHBEARER"))
