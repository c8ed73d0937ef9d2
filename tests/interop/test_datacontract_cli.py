"""An independent judge on live topics: datacontract-cli runs the exported ODCS contract's
checks and counts, per rule, the records our consumer counts.

datacontract-cli 1.2.8 lives in a venv of its own (``make test-interop`` makes it; its
path in DATACONTRACT_CLI): it reads the whole topic, decodes each record with its writer
schema from the registry, loads the records into DuckDB and runs each quality check's SQL.
Our count per rule is the consumer's own (``python -m consumer report``) with every rule's
action set to NONE: each rule is then judged on every record, as a check counts alone.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import uuid
from collections.abc import Mapping
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from cli_runs import cli_env, run_cli
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema
from contract_files import V1_SCHEMA_FILE, V3_SCHEMA_FILE
from fastavro import parse_schema, schemaless_writer

from connection.clients import registry_client
from connection.paths import CONTRACT_FILE, REPO_ROOT
from connection.settings import RegistrySettings
from contract.rules import load_rules_document, rules_file
from producer.serialization import confluent_header

pytestmark = pytest.mark.interop

DATACONTRACT = Path(
    os.environ.get("DATACONTRACT_CLI", REPO_ROOT / ".venv-interop" / "bin" / "datacontract")
)
RULES = load_rules_document(rules_file(CONTRACT_FILE)).rule_set
RULE_NAMES = [rule.name for rule in RULES.domain_rules]
T0_MS = 1_796_000_000_000
#: Records that break rules together, and the rules each breaks (NaN breaks price > 0.0,
#: "USD\n" breaks ^[A-Z]{3}$ in RE2 and CEL, not in Python's re).
BREAKERS: list[tuple[dict[str, Any], set[str]]] = [
    ({"symbol": "aapl", "price": -1.0, "currency": "usd"}, set(RULE_NAMES)),
    (
        {"symbol": "AAPL", "price": math.nan, "currency": "eur"},
        {"price-positive", "currency-iso-4217"},
    ),
    ({"symbol": "msft", "price": -2.5, "currency": "USD"}, {"price-positive", "symbol-ticker"}),
    ({"symbol": "ibm", "price": 3.0, "currency": "EURO"}, {"currency-iso-4217", "symbol-ticker"}),
    ({"symbol": "IBM", "price": 3.0, "currency": "USD\n"}, {"currency-iso-4217"}),
]


@pytest.fixture(scope="module")
def datacontract() -> Path:
    if not DATACONTRACT.exists():
        pytest.fail(f"no datacontract-cli at {DATACONTRACT}: run make test-interop", pytrace=False)
    return DATACONTRACT


@pytest.fixture
def env(stack: dict[str, str]) -> dict[str, str]:
    return cli_env(stack)


def fresh_topic() -> str:
    return f"interop-{uuid.uuid4().hex[:10]}"


def produce(env: dict[str, str], topic: str, *args: str) -> None:
    done = run_cli("producer", env, "--topic", topic, *args)
    assert done.returncode == 0, done.stderr


def write_records(
    env: dict[str, str], topic: str, records: list[dict[str, Any]], subject: str | None = None
) -> None:
    """Records framed with the subject's latest schema id (default the topic's value
    subject), as a writer without rules."""
    registry = registry_client(RegistrySettings(env["SCHEMA_REGISTRY_URL"]))
    latest = registry.get_latest_version(subject or f"{topic}-value")
    parsed = parse_schema(json.loads(latest.schema.schema_str))
    producer = Producer({"bootstrap.servers": env["KAFKA_BOOTSTRAP_SERVERS"]})
    for index, record in enumerate(records):
        buffer = BytesIO()
        schemaless_writer(buffer, parsed, {"ts": T0_MS + index, **record})
        producer.produce(topic, confluent_header(latest.schema_id) + buffer.getvalue())
    assert producer.flush(30) == 0


def export(env: dict[str, str], topic: str, tmp_path: Path) -> Path:
    done = run_cli("schemagate", env, "export", "--format", "odcs", "--topic", topic)
    assert (done.returncode, done.stderr) == (0, "")
    path = tmp_path / f"{topic}.odcs.yaml"
    path.write_text(done.stdout)
    return path


def datacontract_test(datacontract: Path, contract: Path, env: dict[str, str]) -> dict[str, Any]:
    """datacontract test's JSON result."""
    output = contract.with_suffix(".result.json")
    subprocess.run(
        [
            str(datacontract),
            "test",
            str(contract),
            "--output",
            str(output),
            "--output-format",
            "json",
        ],
        env={**env, "DATACONTRACT_KAFKA_SCHEMA_REGISTRY_URL": env["SCHEMA_REGISTRY_URL"]},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result: dict[str, Any] = json.loads(output.read_text())
    return result


def quality_counts(result: Mapping[str, Any]) -> dict[str, int]:
    """Each quality check's failing count, by its id (the rule's name)."""
    return {
        check["qualityId"]: check["diagnostics"]["value"]
        for check in result["checks"]
        if check.get("qualityId")
    }


def consumer_rule_failures(env: dict[str, str], topic: str, rules: Path | None) -> dict[str, int]:
    """The consumer's report's rule_failures (rule -> records), with these rules."""
    args = ["report", "--topic", topic, "--format", "json"]
    done = run_cli("consumer", env, *args, *(["--rules", str(rules)] if rules else []), timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    return {item["rule"]: item["count"] for item in report["rule_failures"]}


def counted_only(tmp_path: Path) -> Path:
    """The shipped rules with every action NONE: each rule judges every record."""
    data = RULES.to_json()
    for rule in data["domainRules"]:
        rule["onFailure"] = "NONE"
    path = tmp_path / "counted-only.rules.json"
    path.write_text(json.dumps(data))
    return path


def test_each_check_counts_the_records_our_consumer_finds_breaking_its_rule(
    datacontract: Path, env: dict[str, str], tmp_path: Path
) -> None:
    topic = fresh_topic()
    produce(
        env, topic, "--count", "2000", "--seed", "7", "--no-rules", "--inject-violations", "0.02"
    )
    write_records(env, topic, [record for record, _ in BREAKERS])
    result = datacontract_test(datacontract, export(env, topic, tmp_path), env)

    ours = consumer_rule_failures(env, topic, counted_only(tmp_path))
    theirs = quality_counts(result)
    assert set(theirs) == set(RULE_NAMES)
    assert theirs == {name: ours.get(name, 0) for name in RULE_NAMES}
    for name in RULE_NAMES:  # the breakers are in the counts
        assert theirs[name] > sum(name in broken for _, broken in BREAKERS)
    assert result["result"] == "failed"

    # The report names one deciding rule per record (the first failing DLQ rule in file
    # order): a record breaking k rules is in k checks' counts and once in rule_failures.
    deciding = consumer_rule_failures(env, topic, None)
    overlap = sum(len(broken) - 1 for _, broken in BREAKERS)
    assert sum(theirs.values()) - sum(deciding.values()) == overlap
    assert deciding[RULE_NAMES[0]] == theirs[RULE_NAMES[0]]


def test_a_clean_topic_passes_every_check(
    datacontract: Path, env: dict[str, str], tmp_path: Path
) -> None:
    topic = fresh_topic()
    produce(env, topic, "--count", "500", "--seed", "3")
    result = datacontract_test(datacontract, export(env, topic, tmp_path), env)
    assert quality_counts(result) == dict.fromkeys(RULE_NAMES, 0)
    assert [check["name"] for check in result["checks"] if check["result"] != "passed"] == []
    assert result["result"] == "passed"


def test_a_topic_of_v1_and_v2_records_passes_every_check(
    datacontract: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """v1 records have no currency: read without a reader schema it is NULL, which the
    currency check reads as the default, USD, as our consumer does."""
    topic = fresh_topic()
    produce(
        env, topic, "--count", "300", "--seed", "5", "--schema", str(V1_SCHEMA_FILE), "--no-rules"
    )
    produce(env, topic, "--count", "300", "--seed", "6")
    result = datacontract_test(datacontract, export(env, topic, tmp_path), env)
    assert quality_counts(result) == dict.fromkeys(RULE_NAMES, 0)
    rows = {
        check["diagnostics"].get("row_count")
        for check in result["checks"]
        if check.get("diagnostics") and "row_count" in check["diagnostics"]
    }
    assert rows == {600}
    assert result["result"] == "passed"


def test_an_undecodable_record_stops_datacontract_cli(
    datacontract: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """The documented difference: one record that is not Avro for its schema id fails the
    whole run, and no check runs (our consumer counts such a record as undecodable and
    reports on the rest: tests/consumer)."""
    topic = fresh_topic()
    produce(env, topic, "--count", "50", "--seed", "9", "--partitions", "1")
    registry = registry_client(RegistrySettings(env["SCHEMA_REGISTRY_URL"]))
    schema_id = registry.get_latest_version(f"{topic}-value").schema_id
    producer = Producer({"bootstrap.servers": env["KAFKA_BOOTSTRAP_SERVERS"]})
    producer.produce(topic, confluent_header(schema_id) + b"\x02")  # a string cut short
    assert producer.flush(30) == 0
    result = datacontract_test(datacontract, export(env, topic, tmp_path), env)
    assert result["result"] in ("failed", "error")
    counted = [check for check in result["checks"] if check.get("diagnostics")]
    assert counted == []  # no check ran
    reasons = {check.get("reason") or "" for check in result["checks"]}
    assert any("Cannot decode the Avro messages" in reason for reason in reasons), reasons


def test_across_a_breaking_change_datacontract_cli_merges_the_versions_by_column_name(
    datacontract: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """The documented difference: records of the major-2 schema (ticker, price_cents) in
    the topic are decoded as written and unioned by column name with the v2 records, with
    no reader schema and no migration: the v2 contract's checks see NULL price and symbol
    in each of them, where our consumer migrates each record to its reader's version."""
    topic = fresh_topic()
    produce(env, topic, "--count", "100", "--seed", "4")
    major_2 = f"{topic}-major-2-value"  # the registry id is all datacontract-cli reads
    registry = registry_client(RegistrySettings(env["SCHEMA_REGISTRY_URL"]))
    registry.register_schema(major_2, Schema(V3_SCHEMA_FILE.read_text(), "AVRO"))
    record = {"ticker": "AAPL", "price_cents": 12345, "currency": "USD"}
    write_records(env, topic, [record] * 40, subject=major_2)
    result = datacontract_test(datacontract, export(env, topic, tmp_path), env)
    assert quality_counts(result) == {
        "price-positive": 40,
        "currency-iso-4217": 0,
        "symbol-ticker": 40,
    }
