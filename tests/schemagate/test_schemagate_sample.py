"""--sample-topic against the real stack: a topic with known rule breakers, written with
fastavro in Confluent's framing, judged by the gate's CLI with the new schema and rules.

Partition 0 holds 25 records, of which the sample (--sample 20) takes the last 20;
the 5 before them all break price-positive and must not be counted. Partition 1 holds
6 records, fewer than the sample size: 4 that cannot be decoded (one per reason) and 2
good ones.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from cli_runs import cli_env, run_cli
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE
from fastavro import parse_schema, schemaless_writer

from connection.paths import RULES_FILE

pytestmark = pytest.mark.integration

SAMPLE = 20
V1_TEXT, V2_TEXT = V1_SCHEMA_FILE.read_text(), V2_SCHEMA_FILE.read_text()
T0 = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
SHIPPED_RULES = json.loads(RULES_FILE.read_text())
#: The new rules: the shipped three, then a NONE rule counted where judging reaches it.
NEW_RULES = {
    "domainRules": [
        *SHIPPED_RULES["domainRules"],
        {
            "name": "symbol-short",
            "kind": "CONDITION",
            "mode": "WRITEREAD",
            "type": "CEL",
            "expr": "size(message.symbol) <= 5",
            "onFailure": "NONE",
        },
    ]
}


def framed(schema_id: int, schema_text: str, record: dict[str, Any]) -> bytes:
    buffer = BytesIO()
    buffer.write(b"\x00" + schema_id.to_bytes(4, "big"))
    schemaless_writer(buffer, parse_schema(json.loads(schema_text)), record)
    return buffer.getvalue()


def v2(symbol: str = "AAPL", price: float = 10.0, currency: str = "EUR") -> dict[str, Any]:
    return {"ts": T0, "symbol": symbol, "price": price, "currency": currency}


def v1(symbol: str = "MSFT", price: float = 5.0) -> dict[str, Any]:
    return {"ts": T0, "symbol": symbol, "price": price}


@pytest.fixture
def sampled_topic(stack: dict[str, str], registry: SchemaRegistryClient) -> Iterator[str]:
    """The topic, written; its value subject has v1 and v2 of the contract."""
    topic = f"gate-sample-{uuid.uuid4().hex[:10]}"
    bootstrap = stack["KAFKA_BOOTSTRAP_SERVERS"]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(30)
    subject = f"{topic}-value"
    v1_id = registry.register_schema(subject, Schema(V1_TEXT, "AVRO"))
    v2_id = registry.register_schema(subject, Schema(V2_TEXT, "AVRO"))
    old = [framed(v2_id, V2_TEXT, v2(price=-1.0)) for _ in range(5)]  # before the sample
    window = [
        *(framed(v2_id, V2_TEXT, v2()) for _ in range(10)),
        *(framed(v1_id, V1_TEXT, v1()) for _ in range(3)),  # read as USD: they pass
        framed(v2_id, V2_TEXT, v2(price=0.0)),  # price-positive
        framed(v2_id, V2_TEXT, v2(symbol="LONGSYM", price=-3.5)),  # price-positive decides
        framed(v2_id, V2_TEXT, v2(symbol="bad", price=-1.0)),  # price-positive, the first
        framed(v2_id, V2_TEXT, v2(currency="usd")),  # currency-iso-4217
        framed(v2_id, V2_TEXT, v2(currency="usd")),  # currency-iso-4217
        framed(v2_id, V2_TEXT, v2(symbol="aapl")),  # symbol-ticker
        framed(v2_id, V2_TEXT, v2(symbol="GOOGL1")),  # passes; symbol-short counts it
    ]
    other_partition = [
        b"\x01" + framed(v2_id, V2_TEXT, v2())[1:],  # wrong_magic_byte
        None,  # null_value
        framed(2**31 - 7, V2_TEXT, v2()),  # unknown_schema_id
        framed(v2_id, V2_TEXT, v2())[:7],  # undecodable: the body cut short
        framed(v2_id, V2_TEXT, v2(symbol="IBM")),
        framed(v1_id, V1_TEXT, v1(symbol="SAP")),
    ]
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in [*old, *window]:
        producer.produce(topic, value=value, partition=0)
    for value in other_partition:
        producer.produce(topic, value=value, partition=1)
    assert producer.flush(30) == 0
    yield topic


def test_the_sample_counts_what_each_new_rule_would_do(
    stack: dict[str, str], sampled_topic: str, tmp_path: Path
) -> None:
    schema = tmp_path / f"{sampled_topic}-value.avsc"
    schema.write_text(V2_TEXT)
    (tmp_path / f"{sampled_topic}-value.rules.json").write_text(json.dumps(NEW_RULES))
    env = {**cli_env(stack), "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)}

    def gate(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(
            "schemagate",
            env,
            *("check", str(schema), "--sample-topic", sampled_topic, "--sample", str(SAMPLE)),
            *args,
        )

    done = gate("--format", "json")
    assert done.returncode == 0, done.stderr
    [subject] = json.loads(done.stdout)["subjects"]
    assert subject["rules"]["compared"] is False  # the registry keeps no rule set, no git here
    sample = subject["sample"]
    assert sample == {
        "topic": sampled_topic,
        "per_partition": SAMPLE,
        "partitions": 2,
        "read": 26,
        "undecodable": {
            "null_value": 1,
            "undecodable": 1,
            "unknown_schema_id": 1,
            "wrong_magic_byte": 1,
        },
        "not_judged": 0,
        "judgements": [
            {
                "directions": ["WRITE", "READ"],
                "rules": [
                    {"name": "price-positive", "action": "DLQ", "failed": 3},
                    {"name": "currency-iso-4217", "action": "DLQ", "failed": 2},
                    {"name": "symbol-ticker", "action": "DLQ", "failed": 1},
                    {"name": "symbol-short", "action": "NONE", "failed": 1},
                ],
                "passed": 16,
            }
        ],
        "judged": 22,
    }

    done = gate()
    assert done.returncode == 0, done.stderr
    assert (
        f"sample of topic {sampled_topic} (the last 20 records of each of 2 partitions): "
        "26 read, 4 not decodable into the new schema (null_value 1, undecodable 1, "
        "unknown_schema_id 1, wrong_magic_byte 1), 22 judged"
    ) in done.stdout
    for line in (
        "on write and read: 16 of 22 pass every DLQ and ERROR rule",
        "rule price-positive (DLQ) would send 3 of 22 sampled records to the dead-letter topic",
        "rule symbol-ticker (DLQ) would send 1 of 22 sampled records to the dead-letter topic",
        "rule symbol-short (NONE) fails on 1 of 22 sampled records (counted only)",
    ):
        assert line in done.stdout


def test_register_takes_the_sample_before_it_registers(
    stack: dict[str, str], sampled_topic: str, tmp_path: Path, registry: SchemaRegistryClient
) -> None:
    subject = f"{sampled_topic}-value"
    schema = tmp_path / f"{subject}.avsc"
    v3 = json.loads(V2_TEXT)
    v3["fields"].append({"name": "venue", "type": "string", "default": ""})
    schema.write_text(json.dumps(v3))
    (tmp_path / f"{subject}.rules.json").write_text(json.dumps(NEW_RULES))
    done = run_cli(
        "schemagate",
        {**cli_env(stack), "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)},
        *("register", str(schema), "--sample-topic", sampled_topic, "--sample", str(SAMPLE)),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    sample_line = next(i for i, line in enumerate(lines) if "sample of topic" in line)
    registered = next(i for i, line in enumerate(lines) if line.startswith("registered"))
    assert sample_line < registered
    assert lines[registered].startswith(f"registered {subject} version 3 id ")
    assert sorted(registry.get_versions(subject)) == [1, 2, 3]


def test_a_topic_that_does_not_exist_is_one_line_and_exit_2(
    stack: dict[str, str], tmp_path: Path
) -> None:
    schema = tmp_path / "prices-value.avsc"
    schema.write_text(V2_TEXT)
    topic = f"gate-missing-{uuid.uuid4().hex[:10]}"
    done = run_cli(
        "schemagate",
        cli_env(stack),
        "check",
        str(schema),
        *("--sample-topic", topic),
        "--level",
        "NONE",
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"schema-gate: error: no topic {topic} on {stack['KAFKA_BOOTSTRAP_SERVERS']} to sample\n"
    )
