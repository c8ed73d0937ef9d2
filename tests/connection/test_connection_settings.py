"""Security settings from the environment: read in one place, passed to librdkafka, Spark's
Kafka source and the registry client, and never shown.

How the tools report an unusable setting, and the SASL listener itself, are exercised in
tests/reliability/.
"""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

import pytest
from security_env import SECRET, sasl_env

from connection.settings import (
    KafkaSecurity,
    SettingsError,
    kafka_security_from_env,
    registry_settings_from_env,
    registry_url,
    settings_from_args,
)

DATA = Path(__file__).resolve().parent / "data"
CA_FILE = str(DATA / "ca.pem")  # a self-signed CA certificate (its key was thrown away)
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


def test_scram_over_tls_with_a_ca_file_reaches_librdkafka_and_spark() -> None:
    security = kafka_security_from_env(
        sasl_env(
            KAFKA_SECURITY_PROTOCOL="sasl_ssl",
            KAFKA_SASL_MECHANISM="scram-sha-512",
            KAFKA_SSL_CA_LOCATION=CA_FILE,
        )
    )
    assert security.librdkafka_config() == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": SECRET,
        "ssl.ca.location": CA_FILE,
    }
    options = security.spark_kafka_options()
    assert options["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert options["kafka.sasl.jaas.config"].startswith(f"{SCRAM_LOGIN} required ")
    assert (options["kafka.ssl.truststore.type"], options["kafka.ssl.truststore.location"]) == (
        "PEM",
        CA_FILE,
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


# --- CA files: there, readable and PEM certificates, before any client is built ----------


def kafka_ca(path: str) -> str | None:
    env = {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CA_LOCATION": path}
    return kafka_security_from_env(env).ssl_ca_location


def registry_ca(path: str) -> str | None:
    env = {"SCHEMA_REGISTRY_SSL_CA_LOCATION": path}
    return registry_settings_from_env("https://registry:8443", env).ca_location


CA_READERS = {"KAFKA_SSL_CA_LOCATION": kafka_ca, "SCHEMA_REGISTRY_SSL_CA_LOCATION": registry_ca}


@pytest.mark.parametrize("variable", CA_READERS)
def test_a_pem_ca_certificate_is_taken(variable: str) -> None:
    assert CA_READERS[variable](CA_FILE) == CA_FILE


CERTIFICATE = (DATA / "ca.pem").read_text()
#: Files OpenSSL loads no certificate from, by what is wrong with them.
NOT_PEM_CERTIFICATES = {
    "empty": b"",
    "text": b"not a certificate\n",
    "truncated PEM": CERTIFICATE[: len(CERTIFICATE) // 2].encode(),
    "DER": ssl.PEM_cert_to_DER_cert(CERTIFICATE),
    "a key": b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    "a CRL alone": (DATA / "crl-only.pem").read_bytes(),
}


@pytest.mark.parametrize("variable", CA_READERS)
@pytest.mark.parametrize("content", NOT_PEM_CERTIFICATES.values(), ids=NOT_PEM_CERTIFICATES)
def test_a_file_without_a_pem_certificate_is_one_line_naming_the_variable_and_file(
    variable: str, content: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "ca.pem"
    path.write_bytes(content)
    with pytest.raises(SettingsError) as refused:
        CA_READERS[variable](str(path))
    assert str(refused.value) == f"{variable}: no PEM certificate in {str(path)!r}"


@pytest.mark.parametrize("variable", CA_READERS)
@pytest.mark.parametrize(
    ("path", "reason"),
    [("/nonexistent/ca.pem", "No such file or directory"), (str(DATA), "Is a directory")],
    ids=["missing", "a directory"],
)
def test_an_unreadable_ca_file_is_one_line_naming_the_variable_file_and_reason(
    variable: str, path: str, reason: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        CA_READERS[variable](path)
    assert str(refused.value) == f"{variable}: cannot read {path!r}: {reason}"
