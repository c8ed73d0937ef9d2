"""One producer run: check the broker, register the contract, create the topic, send."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from confluent_kafka import KafkaException, Producer

from connection.clients import librdkafka_config, registry_client
from connection.defaults import DEFAULTS
from connection.kafka import (
    BROKER_TIMEOUT_S,
    BrokerCheckFailed,
    admin_client,
    cluster_metadata,
    ensure_topic,
)
from connection.paths import RULES_FILE
from connection.settings import ConnectionSettings
from contract.dead_letters import DeadLetterError, DeadLetterTopic, dead_letter_topic
from contract.rules import (
    WRITE,
    RulesDocument,
    RulesError,
    RuleSet,
    avro_field_types,
    load_rules_document,
    plan_rules,
)
from producer.contract import has_field, load_schema, message_encoder, register_contract
from producer.errors import ProducerError
from producer.events import DEFAULT_CURRENCY, GeneratorPlan, generate_batches, generate_records
from producer.pacing import paced
from producer.send import DEFAULT_COMPRESSION, DeliveryReport, producer_config, send_events
from producer.write_rules import WriteJudge


@dataclass(frozen=True)
class ProducerOptions:
    """How many events, from which plan, against which schema, with what patience."""

    plan: GeneratorPlan
    schema_file: Path
    partitions: int = DEFAULTS.partitions
    delivery_timeout_s: float = DEFAULTS.delivery_timeout_s
    compression: str = DEFAULT_COMPRESSION
    #: The contract's metadata and rules, registered with the schema (None: none).
    rules_file: Path | None = RULES_FILE
    #: Whether every event is judged by the rules before it is sent (False: none is, as
    #: a writer that runs no rules writes; the contract registered is the same).
    judge: bool = True
    #: Events sent a second (None: as fast as the broker takes them).
    events_per_s: float | None = None


@dataclass(frozen=True)
class ProduceSummary:
    """The facts of a finished run (rendered as one line by __main__)."""

    topic: str
    subject: str
    schema_id: int
    schema_version: int
    report: DeliveryReport
    seconds: float
    seed: int
    start: datetime
    currencies: tuple[str, ...]
    violations: float = 0.0  # the plan's rate of events made to break a rule
    #: Events a DLQ rule refused, by rule: in the dead-letter topic, not the topic.
    dead_lettered: dict[str, int] = field(default_factory=dict)
    #: How the registry keeps the schema's rules, when the user should know (one line
    #: each): e.g. it refused them, so the schema is registered without them.
    registry_notes: tuple[str, ...] = ()


def produce(settings: ConnectionSettings, options: ProducerOptions) -> ProduceSummary:
    """Send options.plan's events to settings.topic; ProducerError on any failure.

    Everything that can be checked is checked before the first event is sent, so an
    unreachable broker or registry, or a refused schema, leaves the topic untouched.
    """
    first_record = next(generate_records(options.plan), None)
    if first_record is None:
        raise ProducerError("nothing to send: the plan has no events")
    value_schema = load_schema(options.schema_file, dict(first_record))
    try:
        document = (
            load_rules_document(options.rules_file) if options.rules_file else RulesDocument()
        )
        rules = plan_rules(
            document.rule_set if options.judge else RuleSet(),
            WRITE,
            avro_field_types(json.loads(value_schema.schema_str or "")),
        )
    except RulesError as error:
        raise ProducerError(str(error)) from None
    if options.plan.currencies != (DEFAULT_CURRENCY,) and not has_field(value_schema, "currency"):
        raise ProducerError(
            f"schema file {options.schema_file} has no currency field: prices in "
            f"{', '.join(options.plan.currencies)} would read as {DEFAULT_CURRENCY}"
        )
    admin = admin_client(settings)
    try:
        metadata = cluster_metadata(admin, settings.bootstrap_servers)
    except BrokerCheckFailed as error:
        raise ProducerError(str(error)) from None
    # Created now, the idempotent producer gets its producer id while the contract is
    # registered: librdkafka may take about 0.5 s for it, during which sends would wait.
    producer = Producer(producer_config(settings, options.delivery_timeout_s, options.compression))
    contract = register_contract(
        registry_client(settings.registry),
        settings.registry,
        settings.value_subject,
        value_schema,
        document,
    )
    try:
        ensure_topic(admin, metadata, settings.topic, options.partitions)
    except KafkaException as error:
        raise ProducerError(
            f"cannot create topic {settings.topic}: {error.args[0].str()}"
        ) from None
    except TimeoutError:
        raise ProducerError(
            f"cannot create topic {settings.topic}: no answer from {settings.bootstrap_servers} "
            f"within {BROKER_TIMEOUT_S:.0f} s"
        ) from None
    encode = message_encoder(contract, value_schema)
    judge = WriteJudge(rules, settings.value_subject)
    messages = judge.passing(generate_batches(options.plan), encode)
    if options.events_per_s is not None:
        messages = paced(messages, options.events_per_s)
    started = time.perf_counter()
    report = send_events(producer, settings.topic, messages, options.plan.count)
    seconds = time.perf_counter() - started
    if judge.stop is not None:
        raise ProducerError(f"{judge.stop}; {report.acknowledged} events sent before it")
    if judge.letters:
        sink = DeadLetterTopic(
            admin,
            librdkafka_config(settings),
            dead_letter_topic(settings.topic),
            settings.topic,
            options.partitions,
        )
        try:
            sink.write(judge.letters)
        except DeadLetterError as error:
            raise ProducerError(str(error)) from None
    if not report.complete:
        raise ProducerError(
            f"only {report.acknowledged} of {options.plan.count} events were acknowledged by "
            f"{settings.bootstrap_servers} (delivery timeout {options.delivery_timeout_s:.0f} s): "
            f"{report.sent} sent, {report.failed} failed, "
            f"the first with: {report.first_error}"
        )
    return ProduceSummary(
        topic=settings.topic,
        subject=contract.value_subject,
        schema_id=contract.value.schema_id,
        schema_version=contract.value.version,
        report=report,
        seconds=seconds,
        seed=options.plan.seed,
        start=options.plan.start,
        currencies=options.plan.currencies,
        violations=options.plan.violations,
        dead_lettered=judge.refused,
        registry_notes=contract.value.notes,
    )
