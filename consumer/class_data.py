"""Make the install's class-data archive (connection.class_data) from a session that runs
the consumer's own data path, so the archive holds the classes a report loads, not only
those of a bare session.

The training session needs no broker and no registry: it plans a Kafka source (resolving
the source loads its classes; nothing is read) and runs ``analyse`` on an in-memory batch
of Confluent-framed events with Kafka's column layout: frame split, from_avro, the
aggregation, the cache, the outlier join and the histograms. Its JVM writes the archive
when it exits (``-XX:ArchiveClassesAtExit``). ``python -m consumer.class_data`` makes it
(``make run``, ``make test`` and ``make bench`` do); every later Spark start maps it.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka.schema_registry import Schema
from pyspark.sql import DataFrame, SparkSession

from connection.class_data import ENV_SWITCH, archiving_options
from connection.clients import registry_client
from connection.defaults import DEFAULTS
from connection.paths import CONTRACT_FILE, REPO_ROOT, RULES_FILE
from connection.settings import (
    ConnectionSettings,
    registry_settings_from_env,
    spark_settings_from_env,
)
from connection.spark import build_spark_session
from consumer.analysis import AnalysisOptions, analyse
from consumer.source import KAFKA_RECORDS, read_topic
from contract.rules import load_rule_set
from contract.schemas import Contract, ContractRules, ReaderSchema, WriterSchemas
from producer.serialization import FramedAvroSerializer

TRAINING_EVENTS = 2_000
TRAINING_SCHEMA_ID = 1
#: Nothing listens here: the training session plans a source and never reads it.
NO_SERVICE = "127.0.0.1:1"


def training_records(spark: SparkSession) -> DataFrame:
    """TRAINING_EVENTS events framed with the contract as the producer frames them, and
    one record that is not framed."""
    frame = FramedAvroSerializer(TRAINING_SCHEMA_ID, Schema(CONTRACT_FILE.read_text(), "AVRO"))
    draw = random.Random(0)
    rows = []
    for offset in range(TRAINING_EVENTS):
        event = {"ts": 1_767_225_600_000 + offset, "symbol": draw.choice("ABC")}
        value = frame({**event, "price": draw.gauss(100, 5), "currency": "USD"})
        rows.append((None, value, "class-data", 0, offset, None, 0, None))
    rows.append((None, b"\x07", "class-data", 0, TRAINING_EVENTS, None, 0, None))
    return spark.createDataFrame(rows, KAFKA_RECORDS)


def exercise(spark: SparkSession) -> None:
    """The consumer's data path, without a broker or a registry: a Kafka source planned,
    and the analysis of training_records."""
    registry = registry_settings_from_env(f"http://{NO_SERVICE}", {})
    source = ConnectionSettings(bootstrap_servers=NO_SERVICE, registry=registry, topic="x")
    read_topic(spark, source, min_partitions=1).schema  # noqa: B018 (resolves the source)
    contract = CONTRACT_FILE.read_text()
    # Never asked: the batch's one schema id is known.
    writers = WriterSchemas(
        registry_client(registry), registry, known={TRAINING_SCHEMA_ID: contract}
    )
    options = AnalysisOptions(
        z_threshold=DEFAULTS.z_threshold, histogram_bins=10, cache_in_memory=True
    )
    reader = ReaderSchema(contract, "")
    rules = ContractRules(load_rule_set(RULES_FILE), "")
    analyse(training_records(spark), "class-data", Contract(reader, writers, rules), options)


def train(partial: Path) -> None:
    """exercise() in a JVM that writes the classes it loaded to partial when it exits."""
    spark = build_spark_session(
        spark_settings_from_env(DEFAULTS.spark_master),
        app_name="class-data",
        extra_java_options=archiving_options(partial),
    )
    try:
        exercise(spark)
    finally:
        spark.stop()


def make_archive(archive: Path) -> bool:
    """Make archive (if missing) from a training session's JVM; False when that failed."""
    if archive.is_file():
        return True
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(f".{os.getpid()}.partial")
    # stdout is inherited by the JVM too: reading it to its end waits for the JVM to exit,
    # which is when the archive is written.
    result = subprocess.run(
        [sys.executable, "-m", "consumer.class_data", "--train", str(partial)],
        cwd=REPO_ROOT,
        env={**os.environ, ENV_SWITCH: "off"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    if result.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        return False
    os.replace(partial, archive)  # atomic: a start sees the whole archive or none
    return True


def main(argv: list[str]) -> int:
    if argv[:1] == ["--train"] and len(argv) == 2:
        train(Path(argv[1]))
        return 0
    archive = spark_settings_from_env(DEFAULTS.spark_master).class_data_archive
    if archive is None:
        print(f"class-data: no archive (Java runtime unknown, or {ENV_SWITCH} is off)")
        return 0
    if archive.is_file():
        print(f"class-data: {archive.name} (made before)")
        return 0
    started = time.perf_counter()
    if not make_archive(archive):
        print("class-data: no archive (the training session failed); Spark starts without")
        return 0
    print(f"class-data: {archive.name} (made in {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
