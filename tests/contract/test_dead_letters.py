"""The dead-letter topic on the real broker: bytes and headers kept, origins added, each
bad record written once however often it is offered."""

from __future__ import annotations

import pytest
from confluent_kafka import Message
from topic_offsets import all_messages

from connection.clients import librdkafka_config
from connection.services import Clients
from connection.settings import ConnectionSettings
from contract.dead_letters import DeadLetter, DeadLetterTopic, RuleFailure, dead_letter_topic

pytestmark = pytest.mark.integration

RULE = RuleFailure("price-positive", "message.price > 0.0", "READ", "prices-value")


def letters(partition: int, offsets: range) -> list[DeadLetter]:
    return [
        DeadLetter(
            key=f"k{offset}".encode(),
            value=b"\x00\x00\x00\x00\x01" + bytes([offset % 256]),
            timestamp_ms=1_767_225_600_000 + offset,
            headers=[("trace", b"t")],
            partition=partition,
            offset=offset,
            rule=RULE if offset % 2 else None,
            reason=None if offset % 2 else "undecodable",
        )
        for offset in offsets
    ]


def read_all(settings: ConnectionSettings, topic: str) -> list[Message]:
    return all_messages(librdkafka_config(settings), topic)


def sink(settings: ConnectionSettings) -> DeadLetterTopic:
    return DeadLetterTopic(
        Clients.of(settings).admin,
        librdkafka_config(settings),
        dead_letter_topic(settings.topic),
        settings.topic,
        partitions=2,
    )


def test_letters_keep_their_bytes_get_origin_headers_and_land_once(
    settings: ConnectionSettings,
) -> None:
    first = letters(0, range(0, 4)) + letters(1, range(10, 13))
    assert sink(settings).write(first) == 7
    assert sink(settings).write(first) == 0  # a rerun: nothing again
    assert sink(settings).write(letters(0, range(2, 6))) == 2  # only offsets 4 and 5 are new
    written = read_all(settings, dead_letter_topic(settings.topic))
    assert len(written) == 9
    by_origin = {
        (m.partition(), dict(m.headers() or [])["__connect.errors.offset"]): m for m in written
    }
    message = by_origin[(1, b"11")]
    assert (message.key(), message.value()) == (b"k11", b"\x00\x00\x00\x00\x01\x0b")
    assert message.timestamp()[1] == 1_767_225_600_011
    assert dict(message.headers() or []) == {
        "trace": b"t",
        "__connect.errors.topic": settings.topic.encode(),
        "__connect.errors.partition": b"1",
        "__connect.errors.offset": b"11",
        "__connect.errors.exception.message": b"price-positive: message.price > 0.0",
        "__rule.name": b"price-positive",
        "__rule.mode": b"READ",
        "__rule.subject": b"prices-value",
        "__rule.topic": settings.topic.encode(),
    }
    assert dict(by_origin[(0, b"2")].headers() or [])["__connect.errors.exception.message"] == (
        b"undecodable"
    )


def test_a_writers_letters_have_no_origin_and_do_not_hide_a_readers(
    settings: ConnectionSettings,
) -> None:
    refused = DeadLetter(
        key=b"AAPL",
        value=b"\x00\x00\x00\x00\x01\x02",
        timestamp_ms=1_767_225_600_000,
        rule=RuleFailure("price-positive", "message.price > 0.0", "WRITE", "prices-value"),
    )
    assert sink(settings).write(letters(0, range(0, 2))) == 2
    assert sink(settings).write([refused, refused]) == 2
    assert sink(settings).write(letters(0, range(0, 3))) == 1  # the origins are still found
    headers = [
        dict(m.headers() or []) for m in read_all(settings, dead_letter_topic(settings.topic))
    ]
    writer_letters = [h for h in headers if "__connect.errors.offset" not in h]
    assert len(writer_letters) == 2
    assert writer_letters[0] == {
        "__rule.name": b"price-positive",
        "__rule.mode": b"WRITE",
        "__rule.subject": b"prices-value",
        "__rule.topic": settings.topic.encode(),
    }
