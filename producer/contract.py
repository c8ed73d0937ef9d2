"""The schema file, its registration under the topic's subject, and the message encoder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.schema_registry import RegisteredSchema, Schema, SchemaRegistryClient
from confluent_kafka.schema_registry import RuleSet as ConfluentRuleSet
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
from contract.rules import RuleSet
from producer.errors import ProducerError
from producer.serialization import FramedAvroSerializer, MessageEncoder

KEY_SCHEMA = Schema(json.dumps({"type": "string"}), "AVRO")
HTTP_CONFLICT = 409


@dataclass(frozen=True)
class RegisteredContract:
    """The value schema as the registry knows it, and the key schema's subject and id."""

    value: RegisteredSchema
    value_subject: str
    key_subject: str
    key_schema_id: int
    #: Why the value schema is registered without its rules (the registry refused the
    #: ruleSet), or None.
    rules_refused: str | None = None


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


def with_rules(schema: Schema, rule_set: RuleSet) -> Schema:
    """schema with rule_set in its registration request, as Confluent's registry expects."""
    if not rule_set.domain_rules:
        return schema
    rules = ConfluentRuleSet.from_dict(rule_set.to_json())
    return Schema(schema.schema_str, schema.schema_type, schema.references, rule_set=rules)


#: What a registry that knows no ruleSet answers a request holding one: an older Confluent
#: registry 422 ("Unrecognized field"), others a plain 400. Any other answer (409: the
#: schema itself is incompatible; 408, 429, 5xx: no verdict on the request) stays a failure.
RULES_REFUSED = frozenset({400, 422})


def refuses_rules(status: int) -> bool:
    """Whether a registry's answer to a registration with a ruleSet may mean it knows no
    ruleSet (RULES_REFUSED)."""
    return status in RULES_REFUSED


def register_contract(
    client: SchemaRegistryClient,
    registry: RegistrySettings,
    value_subject: str,
    value_schema: Schema,
    rule_set: RuleSet | None = None,
) -> RegisteredContract:
    """Register value and key schemas (a no-op when already there) before any event is sent.

    Registering first means an unreachable registry or an incompatible schema stops the
    run before the first event is written. The value schema goes first: when the
    registry refuses it, the key subject is left untouched too.
    """
    key_subject = value_subject.removesuffix("-value") + "-key"
    subject = value_subject
    rules_refused = None
    try:
        try:
            with registry_call(registry, f"registering {value_subject} with its rules"):
                client.register_schema(
                    value_subject, with_rules(value_schema, rule_set or RuleSet())
                )
        except RegistryRejected as error:
            if not refuses_rules(error.status) or not (rule_set and rule_set.domain_rules):
                raise
            rules_refused = str(error)  # a registry that knows no ruleSet: the schema alone
            with registry_call(registry, f"registering {value_subject}"):
                client.register_schema(value_subject, value_schema)
        with registry_call(registry, f"looking up {value_subject}"):
            registered = client.lookup_schema(value_subject, value_schema)
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
    except RegistryFailure as error:
        raise ProducerError(str(error)) from None
    return RegisteredContract(
        value=registered,
        value_subject=value_subject,
        key_subject=key_subject,
        key_schema_id=key_schema_id,
        rules_refused=rules_refused,
    )


def message_encoder(contract: RegisteredContract, value_schema: Schema) -> MessageEncoder:
    """Keys and values of event batches, written with the ids the registry gave the
    contract.

    Never registering anything itself, it writes exactly the bytes an ``AvroSerializer``
    with ``auto.register.schemas`` off writes for the topic's ``-key`` / ``-value``
    subjects (TopicNameStrategy).
    """
    if contract.value.schema_id is None:
        raise ProducerError(f"the registry returned no schema id for {contract.value_subject}")
    return MessageEncoder(
        FramedAvroSerializer(contract.key_schema_id, KEY_SCHEMA),
        FramedAvroSerializer(contract.value.schema_id, value_schema),
    )
