"""The security settings tests pass as environment variables, a password among them."""

from __future__ import annotations

SECRET = 's3cr3t-"quoted"-\\back'  # a password with characters JAAS must escape


def sasl_env(**overrides: str) -> dict[str, str]:
    """KAFKA_* variables of a SASL_PLAINTEXT (PLAIN) client with SECRET, then overrides."""
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_USERNAME": "alice",
        "KAFKA_SASL_PASSWORD": SECRET,
        **overrides,
    }
