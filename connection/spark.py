"""A SparkSession with the Kafka source and Avro functions, quiet and on loopback.

The connector jars come from a local folder through ``spark.jars`` (no Ivy resolve at
start); Spark ships them to executors itself, so a standalone cluster needs nothing
on its workers' disks. Under spark-submit the session is the one it configured (its
master, its ``--packages`` or ``--jars``): nothing is forced on it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import pyspark
from py4j.protocol import Py4JError, Py4JJavaError
from pyspark.sql import SparkSession

from connection.class_data import java_options
from connection.settings import SparkSettings

LOG4J2_CONFIG = Path(__file__).resolve().parent / "log4j2.properties"
QUIET_LOGGING = f"-Dlog4j2.configurationFile=file:{LOG4J2_CONFIG}"
CONNECTORS = ("spark-sql-kafka-0-10", "spark-avro")
#: The JIT of a short run's driver: C1 only. A 5,000-event report takes about 4.5 s less
#: (17 -> 12.5 s here, 2 cores) and a bare session 3 s less: C2 compiles little that pays
#: off in a run this short, and its compile threads compete with the run for the cores.
SHORT_RUN_JIT = "-XX:TieredStopAtLevel=1"


def java_failure(error: Py4JError) -> str:
    """The first line of a failure in the JVM: the Java exception's own (class and
    message), not py4j's "An error occurred while calling o42.start"."""
    java = isinstance(error, Py4JJavaError)
    text = str(error.java_exception.toString()) if java else str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


class ConnectorJarsMissing(RuntimeError):
    """The Spark Kafka/Avro connector jars are not where we look for them."""


def connector_jars(jars_dir: Path) -> list[Path]:
    """Every jar in jars_dir; both connectors must be among them."""
    jars = sorted(jars_dir.glob("*.jar"))
    names = " ".join(jar.name for jar in jars)
    for connector in CONNECTORS:
        if f"{connector}_2.13-{pyspark.__version__}.jar" not in names:
            raise ConnectorJarsMissing(
                f"{connector} {pyspark.__version__} jar not found in {jars_dir} "
                "(run `scripts/local-stack.sh fetch` or set SPARK_CONNECTOR_JARS_DIR)"
            )
    return jars


def driver_java_options(spark: SparkSettings, extra_java_options: str = "") -> str:
    """The driver JVM's options: quiet logging, the class-data archive once it is made,
    a short run's JIT, then extra_java_options."""
    return " ".join(
        option
        for option in (
            QUIET_LOGGING,
            java_options(spark.class_data_archive),
            SHORT_RUN_JIT if spark.short_run else "",
            extra_java_options,
        )
        if option
    )


def use_own_python_for_workers() -> None:
    """Python UDFs (migration rules outside the compiled subset) run in PYSPARK_PYTHON
    (PySpark reads only the variable): this process's own Python where it is unset (the
    venv with pyarrow and jsonata-python), not whatever python3 comes first on the PATH."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def launched_by_spark_submit(env: Mapping[str, str] | None = None) -> bool:
    """spark-submit started the driver's JVM and hands it to this Python process through
    its gateway (PySpark's own variable for that)."""
    return "PYSPARK_GATEWAY_PORT" in (os.environ if env is None else env)


def submitted_session(app_name: str) -> SparkSession:
    """The session spark-submit configured, with only what the pipeline's results depend
    on set (timestamps in UTC); its master, jars and resources are left as given."""
    return (
        SparkSession.builder.appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def build_spark_session(
    spark: SparkSettings,
    app_name: str = "prices-consumer",
    shuffle_partitions: int = 4,
    extra_java_options: str = "",
) -> SparkSession:
    """Start (or reuse) a SparkSession as the settings say; the driver's JVM maps the
    install's class-data archive when it has been made (connection.class_data). Under
    spark-submit, its session (submitted_session)."""
    if launched_by_spark_submit():
        return submitted_session(app_name)
    jars = connector_jars(spark.connector_jars_dir)
    use_own_python_for_workers()
    driver_java = driver_java_options(spark, extra_java_options)
    return (
        SparkSession.builder.master(spark.master)
        .appName(app_name)
        .config("spark.jars", ",".join(str(jar) for jar in jars))
        .config("spark.driver.host", spark.driver_host)
        .config("spark.driver.bindAddress", spark.driver_host)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        # The one cache (decoded columns, read back once) is cheaper to write uncompressed:
        # 18-22 s instead of 25-29 s at 10M events on 2 cores.
        .config("spark.sql.inMemoryColumnarStorage.compressed", "false")
        # PySpark's DataFrame debugging records each Column call's Python call site in the
        # JVM (about ten py4j round trips a call), for Spark's error messages only; the
        # decode, rules and migration columns are thousands of calls, in every micro-batch.
        .config("spark.python.sql.dataFrameDebugging.enabled", "false")
        .config("spark.driver.extraJavaOptions", driver_java)
        .config("spark.executor.extraJavaOptions", QUIET_LOGGING)
        .getOrCreate()
    )
