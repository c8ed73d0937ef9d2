"""A new major against the real registry, with --sample-topic: the migrations run on the
topic's last records (written in v1 and v2, framed as Confluent's serializer frames them),
where any problem is an error; without a topic, on generated records."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runs import cli_env, run_cli
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from contract_files import BREAKING_RULES, V1_SCHEMA_FILE, V2_SCHEMA_FILE, V3_SCHEMA_FILE
from gate_repo import Repo
from migration_cases import V2_RULES
from test_schemagate_sample import framed

pytestmark = pytest.mark.integration

V1_TEXT, V2_TEXT = V1_SCHEMA_FILE.read_text(), V2_SCHEMA_FILE.read_text()
TS = 1_795_000_000_000
SUB_CENT = 10.005


def v2(price: float, symbol: str = "AAPL") -> dict[str, Any]:
    return {"ts": TS, "symbol": symbol, "price": price, "currency": "EUR"}


@pytest.fixture
def topic(stack: dict[str, str], registry: SchemaRegistryClient) -> Iterator[str]:
    """A topic of 8 v2 records (one with a sub-cent price, one the v2 rules refuse) and 2
    v1 records; its value subject has v1 and v2 of the contract."""
    name = f"gate-major-{uuid.uuid4().hex[:10]}"
    bootstrap = stack["KAFKA_BOOTSTRAP_SERVERS"]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(30)
    v1_id = registry.register_schema(f"{name}-value", Schema(V1_TEXT, "AVRO"))
    v2_id = registry.register_schema(f"{name}-value", Schema(V2_TEXT, "AVRO"))
    values = [
        *(framed(v2_id, V2_TEXT, v2(price)) for price in (1.0, 2.5, 19.99, 224.25, 0.29, 7.0)),
        framed(v2_id, V2_TEXT, v2(SUB_CENT)),
        framed(v2_id, V2_TEXT, v2(-3.0)),  # v2's readers refuse it already: not counted
        *(framed(v1_id, V1_TEXT, {"ts": TS, "symbol": "SAP", "price": 3.5}) for _ in range(2)),
    ]
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(name, value=value)
    assert producer.flush(30) == 0
    yield name


@pytest.fixture
def contract(topic: str, tmp_path: Path) -> Path:
    """The major-2 contract for the topic's subject, in a git repository whose HEAD has v2
    with its rules (the registry keeps no rule set: git's HEAD is the rules baseline)."""
    repo = Repo(tmp_path)
    schema = repo.root / "schemas" / f"{topic}-value.avsc"
    schema.write_text(V2_TEXT)
    schema.with_name(f"{topic}-value.rules.json").write_text(json.dumps(V2_RULES))
    repo.commit()
    schema.write_text(V3_SCHEMA_FILE.read_text())
    schema.with_name(f"{topic}-value.rules.json").write_text(json.dumps(BREAKING_RULES))
    return schema


def test_a_topic_record_that_loses_a_sub_cent_is_an_error(
    stack: dict[str, str], topic: str, contract: Path
) -> None:
    done = run_cli(
        "schemagate",
        cli_env(stack),
        *("check", str(contract), "--sample-topic", topic, "--format", "json"),
    )
    assert done.returncode == 1, done.stderr
    [subject] = json.loads(done.stdout)["subjects"]
    assert subject["new_major"] and subject["compared_with"] == []
    [trip] = [m for m in subject["migrations"] if m["origin"] == "topic"]
    assert (trip["rule"], trip["severity"], trip["records"], trip["sampled"]) == (
        "MIGRATION_ROUND_TRIP",
        "error",
        1,
        7,  # v2's records of the topic its readers let through
    )
    assert trip["source"] == "version 2 (major none)"
    assert trip["example"] == v2(SUB_CENT)
    assert f"price {SUB_CENT} comes back as 10.01" in trip["message"]
    assert not [m for m in subject["migrations"] if m["origin"] == "generated"]
    sample = subject["sample"]  # read through the migrations into major 2, then judged
    assert (sample["read"], sample["undecodable"], sample["judged"]) == (10, {}, 10)
    [judgement] = sample["judgements"]
    assert judgement["rules"][0] == {"name": "price-cents-positive", "action": "DLQ", "failed": 1}


def test_at_a_transitive_level_v1s_records_of_the_topic_migrate_too(
    stack: dict[str, str], topic: str, contract: Path
) -> None:
    done = run_cli(
        "schemagate",
        cli_env(stack),
        *("check", str(contract), "--sample-topic", topic, "--format", "json"),
        *("--level", "BACKWARD_TRANSITIVE"),
    )
    [subject] = json.loads(done.stdout)["subjects"]
    from_v1 = [m for m in subject["migrations"] if m["source"] == "version 1 (major none)"]
    assert from_v1 and {m["origin"] for m in from_v1} == {"extreme"}  # v1's 2 records pass
    assert done.returncode == 1  # v2's sub-cent record


def test_without_a_topic_generated_records_only_warn(
    stack: dict[str, str], topic: str, contract: Path
) -> None:
    done = run_cli("schemagate", cli_env(stack), "check", str(contract))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "first version of major 2, its migrations checked: compatible" in done.stdout
    assert (
        "MIGRATION_ROUND_TRIP version 2 (major none) -> the new version (major 2) and back"
        in done.stdout
    )


def test_majors_and_rules_kept_in_the_registry_group_the_versions(
    stack: dict[str, str], tmp_path: Path
) -> None:
    """No git: what `register` keeps in the registry (Apicurio's version labels) is all
    the gate knows of the versions' majors and rules."""
    subject = f"gate-groups-{uuid.uuid4().hex[:10]}-value"
    schema = tmp_path / f"{subject}.avsc"
    rules = tmp_path / f"{subject}.rules.json"
    env = {**cli_env(stack), "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)}

    def gate(*args: str) -> tuple[int, dict[str, Any]]:
        done = run_cli("schemagate", env, *args, str(schema), "--format", "json")
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout)

    schema.write_text(V2_TEXT)
    rules.write_text(json.dumps(V2_RULES))
    assert gate("register")[0] == 0
    schema.write_text(V3_SCHEMA_FILE.read_text())
    rules.write_text(json.dumps(BREAKING_RULES))
    code, report = gate("register")
    [subject_result] = report["subjects"]
    assert subject_result["new_major"] and not [
        m for m in subject_result["migrations"] if m["severity"] == "error"
    ]  # v2's rules, kept in the registry, direct the generated records
    assert (code, [r["version"] for r in report["registrations"]]) == (0, [2])

    with_venue = json.loads(V3_SCHEMA_FILE.read_text())
    with_venue["fields"].append({"name": "venue", "type": "string", "default": ""})
    schema.write_text(json.dumps(with_venue))
    code, report = gate("check", "--level", "FULL_TRANSITIVE")
    [subject_result] = report["subjects"]
    assert (code, subject_result["major"], subject_result["compared_with"]) == (0, "2", ["2"])
    assert subject_result["rules"]["baseline"] == "registry version 2"
