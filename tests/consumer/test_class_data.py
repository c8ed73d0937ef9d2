"""The driver JVM's start: the class-data archive (a training run of the consumer's data
path makes it, a later Spark start maps it, the data path's classes included) and a
short run's JIT."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from connection.class_data import archive_for
from connection.paths import REPO_ROOT
from connection.settings import SparkSettings, spark_settings_from_env
from connection.spark import SHORT_RUN_JIT, driver_java_options
from consumer.class_data import make_archive

# A session that must map the archive (-Xshare:on: the JVM refuses to start otherwise),
# runs the data path and logs where each class came from.
MAPPED_SESSION = """
import dataclasses, sys
from pathlib import Path
from connection.settings import spark_settings_from_env
from connection.spark import build_spark_session
from consumer.class_data import exercise
settings = dataclasses.replace(
    spark_settings_from_env("local[2]"), class_data_archive=Path(sys.argv[1])
)
java = f"-Xshare:on -Xlog:class+load=info:file={sys.argv[2]}"
spark = build_spark_session(settings, app_name="class-data-test", extra_java_options=java)
exercise(spark)
spark.stop()
"""
SHARED = "source: shared objects file"


def install_archive_or_a_new_one(directory: Path) -> Path:
    """The archive `make class-data` made for this install (make test makes it first), or,
    without one, an archive made here by the same training run."""
    made = spark_settings_from_env("local[2]").class_data_archive
    if made is not None and made.is_file():
        return made
    archive = directory / "spark-class-data" / "training.jsa"
    assert make_archive(archive)
    return archive


@pytest.mark.slow
def test_the_archive_holds_the_data_paths_classes_and_a_start_maps_it(tmp_path: Path) -> None:
    archive = install_archive_or_a_new_one(tmp_path)
    class_log = tmp_path / "classes.log"
    result = subprocess.run(
        [sys.executable, "-c", MAPPED_SESSION, str(archive), str(class_log)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = {
        line.split()[1]: SHARED in line
        for line in class_log.read_text().splitlines()
        if " source: " in line
    }
    # The session's own classes, and those the data path loads on its first use.
    for name in (
        "org.apache.spark.sql.SparkSession",
        "org.apache.spark.sql.kafka010.KafkaRelation",
        "org.apache.spark.sql.avro.AvroDataToCatalyst",  # from_avro
        "org.apache.spark.sql.execution.aggregate.HashAggregateExec",
        "org.apache.spark.sql.execution.columnar.InMemoryRelation",  # the cache
    ):
        assert loaded.get(name), f"{name} not loaded from the archive"


def test_no_archive_when_switched_off(tmp_path: Path) -> None:
    env = {"SPARK_CLASS_DATA_SHARING": "off", "JAVA_HOME": str(tmp_path)}
    assert archive_for(tmp_path / "jars", env) is None


def test_no_archive_for_an_unknown_java_runtime(tmp_path: Path) -> None:
    assert archive_for(tmp_path / "jars", {"JAVA_HOME": str(tmp_path)}) is None


def test_a_short_runs_driver_compiles_with_c1_only_and_maps_the_archive(tmp_path: Path) -> None:
    archive = tmp_path / "made.jsa"
    archive.write_bytes(b"")
    settings = SparkSettings("local[2]", tmp_path, "127.0.0.1", class_data_archive=archive)
    short = driver_java_options(replace(settings, short_run=True)).split()
    long = driver_java_options(settings).split()
    assert SHORT_RUN_JIT in short and SHORT_RUN_JIT not in long
    assert (
        f"-XX:SharedArchiveFile={archive}" in short and f"-XX:SharedArchiveFile={archive}" in long
    )
