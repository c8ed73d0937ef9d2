"""What the consumer checks before any work starts: each is one line on stderr and exit 1,
before Spark starts (a broken contract, no Java) or, for what only the driver's Hadoop
client can read, before the query starts (a checkpoint of another topic)."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timezone
from pathlib import Path

import pytest
from checkpoint_files import spark_offset_log
from cli_runs import cli_env, run_cli
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from contract_files import V2_SCHEMA_FILE

from connection.settings import ConnectionSettings

V2 = json.loads(V2_SCHEMA_FILE.read_text())


def without(name: str) -> dict[str, object]:
    return {**V2, "fields": [f for f in V2["fields"] if f["name"] != name]}


def with_type(name: str, avro_type: object) -> dict[str, object]:
    fields = [{**f, "type": avro_type} if f["name"] == name else f for f in V2["fields"]]
    return {**V2, "fields": fields}


BROKEN_READERS = [
    ("not json {", "is not JSON: Expecting value: line 1 column 1 (char 0)"),
    ('"string"', "is not an Avro record schema"),
    (json.dumps(without("symbol")), "has no field 'symbol'"),
    (json.dumps(with_type("price", "string")), "has field 'price' of type string, not double"),
    (json.dumps(with_type("ts", "long")), "has field 'ts' of type long, not timestamp-millis"),
    (json.dumps(with_type("currency", "int")), "has field 'currency' of type int, not string"),
]


def one_error_line(result: object) -> str:
    assert result.returncode == 1, result.stderr  # type: ignore[attr-defined]
    # Spark's JVM, once started, prints its incubator-module warning (README)
    lines = [
        line
        for line in result.stderr.splitlines()  # type: ignore[attr-defined]
        if "incubator" not in line
    ]
    assert len(lines) == 1 and lines[0].startswith("consumer: error: "), lines
    return str(lines[0])


@pytest.mark.integration
@pytest.mark.parametrize("command", ["report", "records", "follow"])
@pytest.mark.parametrize(("text", "problem"), BROKEN_READERS)
def test_a_reader_schema_file_without_what_the_report_needs_is_one_line_before_spark(
    command: str,
    text: str,
    problem: str,
    stack: dict[str, str],
    settings: ConnectionSettings,
    tmp_path: Path,
) -> None:
    reader = tmp_path / "reader.avsc"
    reader.write_text(text)
    # A Spark master nothing answers at: reaching Spark would fail differently.
    result = run_cli(
        "consumer",
        cli_env(stack),
        command,
        "--topic",
        settings.topic,
        "--reader-schema",
        str(reader),
        "--master",
        "spark://127.0.0.1:1",
        *(["--checkpoint", str(tmp_path / "ck")] if command == "follow" else []),
    )
    assert one_error_line(result).startswith(f"consumer: error: reader schema {reader} {problem}")


@pytest.mark.integration
@pytest.mark.parametrize(
    ("latest", "problem"),
    [
        (without("symbol"), "has no field 'symbol'"),
        (with_type("price", "string"), "has field 'price' of type string, not double"),
    ],
)
def test_a_subject_without_a_version_the_report_can_read_is_one_line(
    latest: dict[str, object],
    problem: str,
    stack: dict[str, str],
    settings: ConnectionSettings,
    registry: SchemaRegistryClient,
) -> None:
    """The report reads into the newest version with its fields: with none, one line
    naming what the latest lacks, before Spark starts (its master does not answer)."""
    subject = settings.value_subject
    registry.register_schema(subject, Schema(json.dumps(latest), "AVRO"))
    result = run_cli(
        "consumer", cli_env(stack), "--topic", settings.topic, "--master", "spark://127.0.0.1:1"
    )
    assert one_error_line(result).startswith(
        f"consumer: error: subject {subject} has no version with the report's fields "
        f"(its latest, version 1, {problem}"
    )


@pytest.mark.integration
def test_follow_on_a_checkpoint_of_another_topic_is_one_line_before_the_query_starts(
    stack: dict[str, str], settings: ConnectionSettings, tmp_path: Path
) -> None:
    spark_offset_log(tmp_path / "ck", "prices-yesterday")
    result = run_cli(
        "consumer",
        cli_env(stack),
        "follow",
        "--topic",
        settings.topic,
        "--checkpoint",
        str(tmp_path / "ck"),
        "--master",
        "local[1]",
    )
    assert "belongs to topic prices-yesterday, not " + settings.topic in one_error_line(result)


@pytest.mark.integration
def test_no_java_runtime_is_one_line(
    stack: dict[str, str], settings: ConnectionSettings, tmp_path: Path
) -> None:
    from producer.events import GeneratorPlan
    from producer.run import ProducerOptions, produce

    plan = GeneratorPlan(count=10, seed=1, start=datetime(2026, 12, 1, tzinfo=timezone.utc))
    produce(settings, ProducerOptions(plan=plan, schema_file=V2_SCHEMA_FILE))
    env = cli_env(stack, JAVA_HOME=str(tmp_path / "no-java"))
    for command in ("report", "records"):
        result = run_cli("consumer", env, command, "--topic", settings.topic)
        assert one_error_line(result) == (
            f"consumer: error: no Java runtime for Spark in {tmp_path / 'no-java'} "
            "(no bin/java there)"
        )


OUTSIDE_THE_SUBSET = {
    "domainRules": [
        {
            "name": "odd",
            "kind": "CONDITION",
            "mode": "WRITEREAD",
            "type": "CEL",
            "expr": "message.price.foo()",
            "onFailure": "DLQ",
        }
    ]
}


@pytest.mark.parametrize("tool", ["report", "records", "follow", "producer"])
def test_a_rule_outside_the_subset_is_one_line_naming_the_rule_before_any_service(
    tool: str, tmp_path: Path
) -> None:
    rules = tmp_path / "odd.rules.json"
    rules.write_text(json.dumps(OUTSIDE_THE_SUBSET))
    # Nothing listens on port 1: reaching the broker first would fail differently.
    env = cli_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "SCHEMA_REGISTRY_URL": "http://127.0.0.1:1",
            "SPARK_CONNECTOR_JARS_DIR": "",
        }
    )
    module, command = ("producer", []) if tool == "producer" else ("consumer", [tool])
    result = run_cli(module, env, *command, "--rules", str(rules))
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.endswith(
        f"rules file {rules}: rule 'odd': method .foo() with 0 arguments is outside the "
        "supported CEL subset (in `message.price.foo()`)"
    )


def test_a_metrics_port_in_use_is_one_line_before_any_service(tmp_path: Path) -> None:
    """No broker, registry or Spark answers here: the port is checked before any of them."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        nowhere = {
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
            "SCHEMA_REGISTRY_URL": "http://127.0.0.1:9",
            "SPARK_CONNECTOR_JARS_DIR": str(tmp_path),
        }
        result = run_cli(
            "consumer",
            cli_env(nowhere),
            *("follow", "--checkpoint", str(tmp_path / "checkpoint")),
            *("--metrics-port", str(port)),
        )
    assert one_error_line(result) == (
        f"consumer: error: --metrics-port: cannot serve on 127.0.0.1:{port}: Address already in use"
    )
