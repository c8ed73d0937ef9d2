"""The schema file, its registration under the topic's subject, and the message encoder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from fastavro import parse_schema
from fastavro.schema import SchemaParseException
from fastavro.validation import ValidationError, validate

from connection.clients import (
    RegistryFailure,
    RegistryNotFound,
    RegistryRejected,
    registry_call,
)
from connection.settings import RegistrySettings
from contract.registering import (
    RegisteredVersion,
    RegistrationRefused,
    register_version,
)
from contract.rules import RulesDocument, RulesError
from producer.errors import ProducerError
from producer.serialization import FramedAvroSerializer, MessageEncoder

KEY_SCHEMA = Schema(json.dumps({"type": "string"}), "AVRO")
HTTP_CONFLICT = 409


@dataclass(frozen=True)
class RegisteredContract:
    """The value schema as the registry knows it (its notes: how the registry keeps its
    rules, when the user should know), and the key schema's subject and id."""

    value: RegisteredVersion
    value_subject: str
    key_subject: str
    key_schema_id: int


def load_schema(path: Path, sample: dict[str, object]) -> Schema:
    """The Avro schema in path, checked locally to parse and to fit a sample record.

    Checked before the broker or registry is touched, so a wrong --schema file is one
    line on stderr, not a serialization traceback after the schema was registered.
    """
    try:
        text = path.read_text()
        parsed = parse_schema(json.loads(text))
        validate(sample, parsed, raise_errors=True)
    except OSError as error:
        raise ProducerError(f"cannot read schema file {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ProducerError(f"schema file {path} is not JSON: {error}") from None
    except (SchemaParseException, ValueError) as error:
        raise ProducerError(f"schema file {path} is not a valid Avro schema: {error}") from None
    except ValidationError as error:
        problems = " ".join(str(error).split())  # a JSON list of problems, one per line
        raise ProducerError(
            f"schema file {path} does not fit the price events: {problems}"
        ) from None
    return Schema(text, "AVRO")


def has_field(schema: Schema, name: str) -> bool:
    """True when the record schema has a field called name."""
    return any(field["name"] == name for field in json.loads(schema.schema_str or "{}")["fields"])


def register_contract(
    client: SchemaRegistryClient,
    registry: RegistrySettings,
    value_subject: str,
    value_schema: Schema,
    document: RulesDocument | None = None,
) -> RegisteredContract:
    """Register value and key schemas (a no-op when already there) before any event is
    sent, the value schema with its metadata and rules, kept by the registry
    (contract.registering).

    Registering first means an unreachable registry or an incompatible schema stops the
    run before the first event is written. The value schema goes first: when the
    registry refuses it, the key subject is left untouched too. A new major the registry
    cannot check across (Apicurio) is registered by ``schema-gate register``, after the
    gate's check, never here.
    """
    key_subject = value_subject.removesuffix("-value") + "-key"
    subject = value_subject
    try:
        text = value_schema.schema_str or ""
        value = register_version(client, registry, value_subject, text, document or RulesDocument())
        subject = key_subject
        with registry_call(registry, f"registering {key_subject}"):
            key_schema_id = client.register_schema(key_subject, KEY_SCHEMA)
    except RegistryRejected as error:
        if error.status == HTTP_CONFLICT:
            raise ProducerError(
                f"the registry refused the schema as incompatible with subject {subject} "
                f"({HTTP_CONFLICT}): {error}"
            ) from None
        raise ProducerError(str(error)) from None
    except RegistryNotFound as error:
        raise ProducerError(
            f"{error}; is {registry.url} the registry's Confluent-compatible API "
            "(for Apicurio: .../apis/ccompat/v7)?"
        ) from None
    except (RegistryFailure, RegistrationRefused, RulesError) as error:
        raise ProducerError(str(error)) from None
    return RegisteredContract(
        value=value,
        value_subject=value_subject,
        key_subject=key_subject,
        key_schema_id=key_schema_id,
    )


def message_encoder(contract: RegisteredContract, value_schema: Schema) -> MessageEncoder:
    """Keys and values of event batches, written with the ids the registry gave the
    contract.

    Never registering anything itself, it writes exactly the bytes an ``AvroSerializer``
    with ``auto.register.schemas`` off writes for the topic's ``-key`` / ``-value``
    subjects (TopicNameStrategy).
    """
    return MessageEncoder(
        FramedAvroSerializer(contract.key_schema_id, KEY_SCHEMA),
        FramedAvroSerializer(contract.value.schema_id, value_schema),
    )
