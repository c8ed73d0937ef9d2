"""The local stack is real: a broker, a registry enforcing BACKWARD, Spark's connectors."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pyspark
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro

from connection.paths import REPO_ROOT

POINT_SCHEMA = json.dumps(
    {"type": "record", "name": "Point", "fields": [{"name": "x", "type": "long"}]}
)


def pom_property(pom: Path, name: str) -> str:
    match = re.search(rf"<{re.escape(name)}>(.*?)</{re.escape(name)}>", pom.read_text())
    assert match, f"{name} missing in {pom}"
    return match.group(1)


def test_spark_connector_pom_matches_the_pinned_pyspark() -> None:
    spark_version = pom_property(REPO_ROOT / "stack" / "spark" / "pom.xml", "spark.version")
    assert spark_version == pyspark.__version__
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert f'"pyspark=={spark_version}"' in pyproject


def test_hdfs_pom_is_the_hadoop_version_pyspark_speaks() -> None:
    """The stack's HDFS daemons are the version of the Hadoop client in pyspark's jars."""
    hadoop_version = pom_property(REPO_ROOT / "stack" / "hdfs" / "pom.xml", "hadoop.version")
    jars = Path(pyspark.__file__).parent / "jars"
    assert (jars / f"hadoop-client-api-{hadoop_version}.jar").is_file()


@pytest.mark.integration
def test_broker_round_trips_a_message(stack: dict[str, str], topic: str) -> None:
    bootstrap = stack["KAFKA_BOOTSTRAP_SERVERS"]
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, key=b"k", value=b"hello")
    assert producer.flush(10) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    try:
        message = consumer.poll(20)
    finally:
        consumer.close()
    assert message is not None and message.error() is None
    assert (message.key(), message.value()) == (b"k", b"hello")


@pytest.mark.integration
def test_registry_returns_a_registered_schema_by_id(registry: SchemaRegistryClient) -> None:
    subject = f"test-{uuid.uuid4().hex[:12]}-value"
    schema_id = registry.register_schema(subject, Schema(POINT_SCHEMA, "AVRO"))
    fetched = registry.get_schema(schema_id)
    assert json.loads(fetched.schema_str) == json.loads(POINT_SCHEMA)
    assert registry.get_latest_version(subject).schema_id == schema_id


@pytest.mark.integration
def test_registry_refuses_an_incompatible_version_at_backward(registry_url: str) -> None:
    subject = f"test-{uuid.uuid4().hex[:12]}-value"
    assert _get_json(f"{registry_url}/config")["compatibilityLevel"] == "BACKWARD"
    assert _post_schema(registry_url, subject, POINT_SCHEMA) == 200
    # A new required field without a default cannot read the old events: not BACKWARD.
    breaking = json.dumps(
        {
            "type": "record",
            "name": "Point",
            "fields": [{"name": "x", "type": "long"}, {"name": "y", "type": "long"}],
        }
    )
    assert _post_schema(registry_url, subject, breaking) == 409


@pytest.mark.integration
def test_spark_reads_the_topic_and_decodes_avro(
    spark: SparkSession, stack: dict[str, str], topic: str
) -> None:
    producer = Producer({"bootstrap.servers": stack["KAFKA_BOOTSTRAP_SERVERS"]})
    producer.produce(topic, value=bytes([42 * 2]))  # Avro long 42, zig-zag encoded
    assert producer.flush(10) == 0

    rows = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", stack["KAFKA_BOOTSTRAP_SERVERS"])
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
        .select(from_avro(F.col("value"), POINT_SCHEMA).alias("point"))
        .collect()
    )
    assert [row.point.x for row in rows] == [42]


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        result: dict[str, object] = json.load(response)
        return result


def _post_schema(registry_url: str, subject: str, schema: str) -> int:
    request = urllib.request.Request(
        f"{registry_url}/subjects/{subject}/versions",
        data=json.dumps({"schema": schema}).encode(),
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
