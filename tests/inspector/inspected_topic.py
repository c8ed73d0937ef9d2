"""A topic worth inspecting, written on the real broker and registry: v1 and v2 records in
USD and EUR, one poison record of each reason, records that break the contract's rules,
a record whose symbol is markup, records with headers; and its dead-letter topic.

Also the tests' ground truth: an independent decode of every record with fastavro and
the registry's answers, written here without the inspector's code.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import fastavro
from confluent_kafka import Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE
from rule_cases import executor_fails
from topic_offsets import all_messages

from connection.clients import librdkafka_config
from connection.paths import RULES_FILE
from connection.settings import ConnectionSettings
from connection.timestamps import format_timestamp
from contract.dead_letters import DeadLetter, DeadLetterTopic, RuleFailure, dead_letter_topic
from inspector.server import BackgroundServer

XSS = "<img src=x onerror=alert(1)>"
#: The first record's time: an hour ago, whole minute (the broker's retention of 7 days
#: would delete records stamped much earlier).
T0 = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(second=0, microsecond=0)
UNKNOWN_ID = 2_000_000_123
PARTITIONS = 2


@dataclass(frozen=True)
class Written:
    partition: int
    key: str | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


def framed(schema_id: int, schema_text: str, record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    buffer.write(b"\x00" + schema_id.to_bytes(4, "big"))
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(json.loads(schema_text)), record)
    return buffer.getvalue()


def register_versions(registry: SchemaRegistryClient, subject: str) -> tuple[int, int]:
    """v1 then v2 of the contract under subject; their ids."""
    v1 = registry.register_schema(subject, Schema(V1_SCHEMA_FILE.read_text(), "AVRO"))
    v2 = registry.register_schema(subject, Schema(V2_SCHEMA_FILE.read_text(), "AVRO"))
    return v1, v2


def records_to_write(v1: int, v2: int) -> list[Written]:
    v1_text, v2_text = V1_SCHEMA_FILE.read_text(), V2_SCHEMA_FILE.read_text()

    def event(i: int, symbol: str, price: float, currency: str | None = None) -> bytes:
        record: dict[str, Any] = {"ts": T0 + timedelta(seconds=i), "symbol": symbol, "price": price}
        if currency is None:
            return framed(v1, v1_text, record)
        return framed(v2, v2_text, {**record, "currency": currency})

    return [
        Written(0, "AAPL", event(0, "AAPL", 101.5)),  # v1: currency from the default
        Written(1, "MSFT", event(1, "MSFT", 402.25)),
        Written(0, "AAPL", event(2, "AAPL", 103.75, "USD")),
        Written(1, "AAPL", event(3, "AAPL", 92.1, "EUR")),
        Written(0, "MSFT", event(4, "MSFT", 371.0, "EUR"), (("trace-id", b"abc-1"),)),
        Written(1, "GOOG", event(5, "GOOG", -1.0, "USD")),  # breaks price > 0
        Written(0, "GOOG", event(6, "GOOG", 170.2, "usd")),  # breaks the currency code rule
        Written(1, "XSS", event(7, XSS, 1.0, "USD"), (("note", XSS.encode()),)),
        Written(0, "null", None),
        Written(1, "short", b"\x00\x01"),
        Written(0, "magic", b"\x07" + b"\x00" * 9),
        Written(1, "unknown", b"\x00" + UNKNOWN_ID.to_bytes(4, "big") + b"\x02\x04ab"),
        Written(0, "truncated", b"\x00" + v2.to_bytes(4, "big") + b"\x02"),
        Written(1, None, event(8, "AAPL", 104.5, "USD"), (("bin", b"\xff\xfe"),)),
        Written(0, "AAPL", event(9, "AAPL", 93.0, "EUR")),
        Written(1, "MSFT", event(10, "MSFT", 405.0)),
    ]


def create_topic(settings: ConnectionSettings, name: str, partitions: int) -> None:
    admin = AdminClient(librdkafka_config(settings))
    admin.create_topics([NewTopic(name, num_partitions=partitions)])[name].result(30)


def write(settings: ConnectionSettings, topic: str, records: list[Written]) -> None:
    """Each record with a Kafka timestamp a second after the one before (T0 onwards)."""
    producer = Producer({**librdkafka_config(settings), "linger.ms": 0})
    failures: list[str] = []
    for i, record in enumerate(records):
        producer.produce(
            topic,
            key=None if record.key is None else record.key.encode(),
            value=record.value,
            partition=record.partition,
            headers=list(record.headers),
            timestamp=int((T0 + timedelta(seconds=i)).timestamp() * 1000),
            on_delivery=lambda e, _m: failures.append(str(e)) if e else None,
        )
        producer.flush(30)  # one at a time: each partition's timestamps in offset order
    assert not failures, failures


@dataclass(frozen=True)
class InspectedTopic:
    topic: str
    subject: str
    v1_id: int
    v2_id: int
    count: int
    dead_letters: str


def build(settings: ConnectionSettings, registry: SchemaRegistryClient) -> InspectedTopic:
    topic = f"inspect-{uuid.uuid4().hex[:10]}"
    subject = f"{topic}-value"
    create_topic(settings, topic, PARTITIONS)
    v1, v2 = register_versions(registry, subject)
    records = records_to_write(v1, v2)
    write(settings, topic, records)
    letters = [
        DeadLetter(
            key=m.key(),
            value=m.value(),
            timestamp_ms=m.timestamp()[1],
            headers=list(m.headers() or []),
            partition=m.partition(),
            offset=m.offset(),
            reason="undecodable" if m.key() == b"truncated" else None,
            rule=None
            if m.key() == b"truncated"
            else RuleFailure("price-positive", "message.price > 0.0", "READ", subject),
        )
        for m in read_all(settings, topic)
        if m.key() in (b"truncated", b"GOOG")
    ]
    sink = DeadLetterTopic(
        AdminClient(librdkafka_config(settings)),
        librdkafka_config(settings),
        dead_letter_topic(topic),
        topic,
        PARTITIONS,
    )
    sink.write(letters)
    return InspectedTopic(topic, subject, v1, v2, len(records), dead_letter_topic(topic))


def read_all(settings: ConnectionSettings, topic: str) -> list[Message]:
    """Every record of topic, read once by a reader of its own."""
    return all_messages(librdkafka_config(settings), topic)


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return format_timestamp(value)
    return value


def expected_rows(
    settings: ConnectionSettings, registry: SchemaRegistryClient, topic: str, subject: str
) -> dict[tuple[int, int], dict[str, str]]:
    """Each record's row attributes as an independent decode makes them: framing by hand,
    the writer schema from the registry by id, fastavro into the latest version."""
    versions = {
        registry.get_version(subject, n).schema_id: n for n in registry.get_versions(subject)
    }
    latest = registry.get_version(subject, max(registry.get_versions(subject)))
    reader_text = latest.schema.schema_str or ""
    reader_fields = [f["name"] for f in json.loads(reader_text)["fields"]]
    rows = {}
    for message in read_all(settings, topic):
        value = message.value()
        schema_id: int | None = None
        decoded: dict[str, Any] | None = None
        defaulted: list[str] = []
        if value is None:
            reason = "null_value"
        elif len(value) < 5:
            reason = "too_short"
        elif value[0] != 0:
            reason = "wrong_magic_byte"
        else:
            schema_id = int.from_bytes(value[1:5], "big")
            try:
                writer_text = registry.get_schema(schema_id).schema_str or ""
            except Exception:  # the registry does not know the id
                reason = "unknown_schema_id"
            else:
                writer_fields = [f["name"] for f in json.loads(writer_text)["fields"]]
                try:
                    decoded = fastavro.schemaless_reader(
                        io.BytesIO(value[5:]),
                        fastavro.parse_schema(json.loads(writer_text)),
                        fastavro.parse_schema(json.loads(reader_text)),
                    )
                    reason = ""
                    defaulted = [f for f in reader_fields if f not in writer_fields]
                except Exception:
                    reason = "undecodable"
        rows[(message.partition() or 0, message.offset() or 0)] = {
            "partition": str(message.partition()),
            "offset": str(message.offset()),
            "schemaId": "" if schema_id is None else str(schema_id),
            "version": "" if schema_id not in versions else str(versions[schema_id]),
            "reason": reason,
            "rule": "" if decoded is None else deciding_rule(decoded),
            "defaulted": ",".join(defaulted),
            "value": "" if decoded is None else json.dumps(jsonable(decoded), ensure_ascii=False),
        }
    return rows


def deciding_rule(record: dict[str, Any]) -> str:
    """The shipped rules' verdict on record by confluent-kafka's own CEL executor, in
    file order: the first failing DLQ or ERROR rule (empty: it keeps them)."""
    fields = {name: value for name, value in record.items() if name != "ts"}  # no rule reads it
    for rule in json.loads(RULES_FILE.read_text())["domainRules"]:
        if rule["onFailure"] != "NONE" and executor_fails(rule["expr"], fields):
            return str(rule["name"])
    return ""


#: The inspector's app served by uvicorn in a thread, on a free loopback port.
RunningInspector = BackgroundServer
