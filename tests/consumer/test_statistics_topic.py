"""The statistics topic on the real broker and registry: follow mode's update documents
written as Avro under their own subject, on a compacted topic keyed by the source topic,
and every failure as one line."""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import datetime, timezone

import fastavro
import jsonschema
import pytest
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource
from confluent_kafka.schema_registry import SchemaRegistryClient

from connection.clients import librdkafka_config, registry_client
from connection.paths import STATISTICS_SCHEMA_FILE
from connection.settings import ConnectionSettings, RegistrySettings
from consumer import statistics_topic as module
from consumer.report import Outlier
from consumer.state import FollowState, Update
from consumer.statistics_topic import (
    StatisticsTopic,
    StatisticsTopicError,
    statistics_topic,
)
from consumer.summary import RunningStatistics
from consumer.views.live import SCHEMA_FILE as FOLLOW_SCHEMA_FILE
from consumer.views.live import update_document
from contract.reasons import HEADER_BYTES, frame_schema_id

pytestmark = pytest.mark.integration


def an_update(batch_id: int, lag: int | None = 3) -> Update:
    state = FollowState(
        last_batch_id=batch_id,
        messages=12 + batch_id,
        decoded=10 + batch_id,
        undecodable={"too_short": 1, "unknown_schema_id": 1},
        writer_schema_ids=frozenset({4, 7}),
        groups={
            ("AAPL", "USD"): RunningStatistics(n=4, mean=101.25, m2=8.75, min=99.5, max=104.0),
            ("AAPL", "EUR"): RunningStatistics(n=1, mean=90.5, m2=0.0, min=90.5, max=90.5),
            ("MSFT", None): RunningStatistics(n=5 + batch_id, mean=310.1, m2=2.2, min=309, max=311),
        },
    )
    outlier = Outlier(
        datetime(2026, 11, 27, 9, 30, 0, 123000, tzinfo=timezone.utc), "AAPL", "USD", 104.0, 3.1
    )
    return Update(batch_id, 6, state, [outlier], lag, 0.5, time.time(), None, None)


def read_back(settings: ConnectionSettings, topic: str) -> list[Message]:
    reader = Consumer(
        {
            **librdkafka_config(settings),
            "group.id": f"test-statistics-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    reader.assign([TopicPartition(topic, 0, 0)])
    messages = []
    try:
        while True:
            message = reader.poll(10)
            assert message is not None, "the statistics topic did not answer"
            error = message.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                return messages
            assert error is None, error
            messages.append(message)
    finally:
        reader.close()


def decoded(registry: SchemaRegistryClient, value: bytes) -> dict[str, object]:
    writer = registry.get_schema(frame_schema_id(value)).schema_str
    parsed = fastavro.parse_schema(json.loads(writer or ""))
    record = fastavro.schemaless_reader(io.BytesIO(value[HEADER_BYTES:]), parsed, parsed)
    assert isinstance(record, dict)
    return record


def publisher(settings: ConnectionSettings, registry: SchemaRegistryClient) -> StatisticsTopic:
    return StatisticsTopic(
        librdkafka_config(settings), registry, statistics_topic(settings.topic), settings.topic
    )


def test_updates_are_written_as_avro_keyed_by_the_source_topic(
    settings: ConnectionSettings, registry: SchemaRegistryClient
) -> None:
    topic = publisher(settings, registry)
    documents = [update_document(an_update(batch_id)) for batch_id in (0, 1)]
    for document in documents:
        topic.publish(document)
    topic.close()

    messages = read_back(settings, f"{settings.topic}-statistics")
    assert [m.key() for m in messages] == [settings.topic.encode()] * 2
    values = [decoded(registry, m.value() or b"") for m in messages]
    # exactly the jsonl object, and the rule failures the contract adds by default
    assert values == [{**document, "rule_failures": {}} for document in documents]
    registered = registry.get_latest_version(f"{settings.topic}-statistics-value")
    assert json.loads(registered.schema.schema_str or "") == json.loads(
        STATISTICS_SCHEMA_FILE.read_text()
    )
    assert frame_schema_id(messages[0].value() or b"") == registered.schema_id


def test_the_topic_is_created_compacted_with_one_partition(
    settings: ConnectionSettings, registry: SchemaRegistryClient
) -> None:
    publisher(settings, registry).publish(update_document(an_update(0, lag=None)))
    name = statistics_topic(settings.topic)
    admin = AdminClient(librdkafka_config(settings))
    assert len(admin.list_topics(name, timeout=10).topics[name].partitions) == 1
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    configs = admin.describe_configs([resource])[resource].result(10)
    assert configs["cleanup.policy"].value == "compact"


def test_the_contract_holds_every_update_follow_mode_writes() -> None:
    document = update_document(an_update(3))
    jsonschema.validate(document, json.loads(FOLLOW_SCHEMA_FILE.read_text()))
    parsed = fastavro.parse_schema(json.loads(STATISTICS_SCHEMA_FILE.read_text()))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, document)
    buffer.seek(0)
    assert fastavro.schemaless_reader(buffer, parsed, parsed) == {**document, "rule_failures": {}}


def test_an_update_that_does_not_fit_the_contract_is_one_line(
    settings: ConnectionSettings, registry: SchemaRegistryClient
) -> None:
    document = {**update_document(an_update(0)), "records": "many"}
    with pytest.raises(StatisticsTopicError) as raised:
        publisher(settings, registry).publish(document)
    assert "\n" not in str(raised.value)
    assert f"{settings.topic}-statistics-value" in str(raised.value)


def test_an_unreachable_broker_is_one_line(
    settings: ConnectionSettings, registry: SchemaRegistryClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "TIMEOUT_S", 2.0)
    gone = ConnectionSettings("127.0.0.1:1", settings.registry, settings.topic)
    with pytest.raises(StatisticsTopicError) as raised:
        publisher(gone, registry).publish(update_document(an_update(0)))
    message = str(raised.value)
    assert "\n" not in message and f"statistics topic {settings.topic}-statistics" in message


def test_an_unreachable_registry_is_one_line_and_the_next_publish_tries_again(
    settings: ConnectionSettings, registry: SchemaRegistryClient
) -> None:
    gone = registry_client(RegistrySettings("http://127.0.0.1:1"))
    topic = StatisticsTopic(
        librdkafka_config(settings), gone, statistics_topic(settings.topic), settings.topic
    )
    with pytest.raises(StatisticsTopicError) as raised:
        topic.publish(update_document(an_update(0)))
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith(f"cannot register {settings.topic}-statistics-value")
    topic.registry = registry  # the registry is back
    topic.publish(update_document(an_update(1)))
    assert len(read_back(settings, statistics_topic(settings.topic))) == 1
