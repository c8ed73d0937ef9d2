"""What the new contract would do to the data already in a topic, before it is registered.

The last records of each partition are read (assign() at each partition's end minus the
sample size, under a group id of the run's own, nothing committed), decoded with their
writer schemas by id from the registry into the NEW schema (fastavro's schema
resolution, as the consumer reads), and judged by the NEW rules with the producer's batch
evaluator (contract.judge_numpy): in file order, the first failing DLQ or ERROR rule decides a
record's fate, a failing NONE rule is counted. Records that cannot be decoded are counted
apart, by reason (contract.reasons' names).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import fastavro
import numpy as np
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from connection.clients import RegistryFailure, librdkafka_config
from connection.defaults import DEFAULTS
from connection.kafka import BrokerCheckFailed, cluster_metadata, silent_librdkafka_logger
from connection.services import Clients
from connection.settings import ConnectionSettings
from contract.columns import fields_read, null_free, record_columns
from contract.decoder import RecordDecoder
from contract.judge_numpy import judge_batch
from contract.migrations import MigrationPath, NoMigration, without_logical_types
from contract.reasons import (
    HEADER_BYTES,
    UNDECODABLE,
    frame_problem,
    frame_schema_id,
)
from contract.rules import (
    DIRECTIONS,
    Direction,
    RulePlan,
    RulesError,
    RuleSet,
    avro_field_types,
    plan_rules,
)
from contract.schemas import ReaderSchema, ReadPath, WriterSchemas
from schemagate.check import Version, canonical_form
from schemagate.errors import GateError
from schemagate.model import RuleCount, Sample, SampleJudgement

DEFAULT_PER_PARTITION = 1000
#: How long the read may go without a record before the brokers count as not answering.
QUIET_S = DEFAULTS.broker_timeout_s
_TRANSIENT = frozenset({KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN})


@dataclass(frozen=True)
class Sampling:
    """Which topic to sample, how many records of each partition, and how to reach it."""

    settings: ConnectionSettings
    per_partition: int = DEFAULT_PER_PARTITION

    @property
    def topic(self) -> str:
        return self.settings.topic


@dataclass(frozen=True)
class TopicRead:
    """The values of the topic's last records, and how many partitions it has."""

    clients: Clients
    values: list[bytes | None]
    partitions: int


def read_topic(sampling: Sampling) -> TopicRead:
    """The sampled topic's last records (GateError in one line when the brokers cannot
    be used)."""
    clients = Clients.of(sampling.settings)
    values, partitions = read_last(sampling, clients)
    return TopicRead(clients, values, partitions)


def take_sample(
    sampling: Sampling,
    schema_text: str,
    rules: RuleSet | None,
    read: TopicRead,
    across: Mapping[str, MigrationPath | NoMigration] | None = None,
) -> Sample:
    """Decode (through `across`'s migration paths for a new major) and judge the records
    read (GateError in one line when the registry cannot be used)."""
    try:
        records, undecodable = decode(read.values, read.clients, sampling, schema_text, across)
    except RegistryFailure as error:
        raise GateError(str(error)) from None
    not_judged, judgements = judge(records, schema_text, rules or RuleSet())
    return Sample(
        topic=sampling.topic,
        per_partition=sampling.per_partition,
        partitions=read.partitions,
        read=len(read.values),
        undecodable=dict(sorted(undecodable.items())),
        not_judged=not_judged,
        judgements=judgements,
    )


def read_last(sampling: Sampling, clients: Clients) -> tuple[list[bytes | None], int]:
    """The values of the last `per_partition` records of each partition (fewer where the
    log has gaps), and the number of partitions."""
    settings = sampling.settings
    try:
        metadata = cluster_metadata(clients.admin, settings.bootstrap_servers)
    except BrokerCheckFailed as error:
        raise GateError(str(error)) from None
    found = metadata.topics.get(sampling.topic)
    if found is None or found.error is not None:
        raise GateError(f"no topic {sampling.topic} on {settings.bootstrap_servers} to sample")
    consumer = Consumer(
        {
            **librdkafka_config(settings),
            "group.id": f"schema-gate-sample-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "logger": silent_librdkafka_logger(),
        }
    )
    try:
        return _read(consumer, sampling, sorted(found.partitions)), len(found.partitions)
    except KafkaException as error:
        raise GateError(f"sampling topic {sampling.topic}: {error.args[0].str()}") from None
    finally:
        consumer.close()


def _read(consumer: Consumer, sampling: Sampling, partitions: list[int]) -> list[bytes | None]:
    ends: dict[int, int] = {}
    starts = []
    for partition in partitions:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(sampling.topic, partition), timeout=QUIET_S
        )
        start = max(low, high - sampling.per_partition)
        if start < high:
            ends[partition] = high
            starts.append(TopicPartition(sampling.topic, partition, start))
    values: dict[int, list[bytes | None]] = {partition: [] for partition in ends}
    consumer.assign(starts)  # each partition positioned (seeked) at its start offset
    quiet_since = time.monotonic()
    while ends:
        messages = consumer.consume(num_messages=1000, timeout=0.2)
        if messages:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > QUIET_S:
            raise GateError(
                f"sampling topic {sampling.topic}: no records from partitions "
                f"{', '.join(map(str, sorted(ends)))} within {QUIET_S:g} s"
            )
        for message in messages:
            error = message.error()
            if error is not None and error.code() != KafkaError._PARTITION_EOF:
                if error.retriable() or error.code() in _TRANSIENT:
                    continue  # librdkafka retries by itself; QUIET_S bounds an outage
                raise KafkaException(error)
            number = message.partition()
            if number is None or number not in ends:
                continue
            if error is not None:  # the end (also where transaction markers end the log)
                del ends[number]
                continue
            offset = message.offset()
            if offset is not None and offset < ends[number]:
                values[number].append(message.value())
            if offset is None or offset + 1 >= ends[number]:
                del ends[number]
    return [value for partition in sorted(values) for value in values[partition]]


def decode(
    values: Sequence[bytes | None],
    clients: Clients,
    sampling: Sampling,
    schema_text: str,
    across: Mapping[str, MigrationPath | NoMigration] | None = None,
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """The values read into the new schema (contract.decoder), and the count of the
    others by reason. `across`: for a new major, per writer schema (its canonical form)
    the migration path into the new version; a writer not in it is resolved as usual."""
    writers = WriterSchemas(clients.registry, sampling.settings.registry)
    writers.add_ids(
        {frame_schema_id(v) for v in values if v is not None and frame_problem(v) is None}
    )

    def read_path(schema_id: int) -> ReadPath:
        writer = json.loads(writers.known[schema_id])
        return None if across is None else across.get(canonical_form(writer))

    decoder = RecordDecoder(writers, ReaderSchema(schema_text, "the new schema"), read_path)
    records: list[dict[str, Any]] = []
    undecodable: Counter[str] = Counter()
    for value in values:
        read = decoder.decode(value)
        if read.reason is not None:
            undecodable[read.reason] += 1
        elif isinstance(read.record, dict):
            records.append(read.record)
        else:  # the new schema is not a record: there is nothing for rules to read
            undecodable[UNDECODABLE] += 1
    return records, undecodable


def topic_records(
    sampling: Sampling, read: TopicRead, history: Sequence[Version]
) -> dict[str, list[dict[str, Any]]]:
    """The records read, per label of the history version that wrote them, as written
    (plain values: logical types as their base types, as a migration rule sees them).
    A writer schema is a version's when their canonical forms are the same; records of
    no version, or not decodable, are left out."""
    writers = WriterSchemas(read.clients.registry, sampling.settings.registry)
    framed = [v for v in read.values if v is not None and frame_problem(v) is None]
    try:
        writers.add_ids({frame_schema_id(v) for v in framed})
    except RegistryFailure as error:
        raise GateError(str(error)) from None
    labels = {canonical_form(v.schema.to_json()): v.label for v in history}
    plain: dict[int, tuple[str, Any] | None] = {}
    by_label: dict[str, list[dict[str, Any]]] = {}
    for value in framed:
        schema_id = frame_schema_id(value)
        if schema_id not in plain:
            text = writers.known.get(schema_id)
            document = json.loads(text) if text else None
            label = labels.get(canonical_form(document)) if document else None
            plain[schema_id] = (
                (label, fastavro.parse_schema(without_logical_types(document)))
                if label is not None and document is not None
                else None
            )
        found = plain[schema_id]
        if found is None:
            continue
        try:
            record = fastavro.schemaless_reader(BytesIO(value[HEADER_BYTES:]), found[1], None)
        except Exception:  # fastavro raises many kinds for bytes that are not the schema's
            continue
        if isinstance(record, dict):
            by_label.setdefault(found[0], []).append(record)
    return by_label


def judge(
    records: Sequence[Mapping[str, Any]], schema_text: str, rules: RuleSet
) -> tuple[int, tuple[SampleJudgement, ...]]:
    """The records left out for a null the rules read, and the judgement per direction
    (one for both when both run the same rules with the same actions)."""
    try:
        fields = avro_field_types(json.loads(schema_text))
        plans = {d: plan_rules(rules, d, fields, skip_missing=False) for d in DIRECTIONS}
    except RulesError as error:
        raise GateError(f"the new rules cannot judge the new schema's records: {error}") from None
    read = sorted(fields_read(rule for plan in plans.values() for rule in plan.rules))
    keep = null_free(records, read)
    judged = [record for record, kept in zip(records, keep, strict=True) if kept]
    columns = record_columns(judged, fields, read)
    judgements = []
    for directions, plan in _grouped(plans):
        verdicts = judge_batch(plan.rules, columns, len(judged))
        decided = np.bincount(verdicts.decider[verdicts.decider >= 0], minlength=len(plan.rules))
        counted = verdicts.none_counts()
        counts = tuple(
            RuleCount(
                rule.name,
                rule.action,
                int(decided[index]) if rule.decisive else counted[rule.name],
            )
            for index, rule in enumerate(plan.rules)
        )
        judgements.append(SampleJudgement(directions, counts, int(verdicts.passed.sum())))
    return len(records) - len(judged), tuple(judgements)


def _grouped(plans: Mapping[Direction, RulePlan]) -> list[tuple[tuple[str, ...], RulePlan]]:
    """The directions whose plans run the same rules with the same actions, together;
    directions that run no rule left out."""
    groups: list[tuple[tuple[str, ...], RulePlan]] = []
    for direction, plan in plans.items():
        if not plan.rules:
            continue
        for index, (directions, other) in enumerate(groups):
            if other.rules == plan.rules:
                groups[index] = ((*directions, direction), other)
                break
        else:
            groups.append(((direction,), plan))
    return groups
