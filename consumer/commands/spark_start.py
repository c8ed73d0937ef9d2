"""The one SparkSession of a command's process, started after the checks that need no
Spark, its failures one line each."""

from __future__ import annotations

import os
from dataclasses import replace

from pyspark.sql import SparkSession

from connection.class_data import java_home
from connection.settings import spark_settings_from_env
from connection.spark import ConnectorJarsMissing, build_spark_session, launched_by_spark_submit
from connection.spark_master import check_spark_master
from consumer.errors import ConsumerError, one_line_failures
from consumer.interrupts import interrupts_held_while_spark_starts


def check_java() -> None:
    """A Java runtime for Spark's JVM is there; ConsumerError (one line) when it is not,
    instead of the launcher's own output and a Python traceback."""
    home = java_home(os.environ)
    if home is None:
        raise ConsumerError("no Java runtime for Spark: set JAVA_HOME, or put java on PATH")
    if not os.access(home / "bin" / "java", os.X_OK):
        raise ConsumerError(f"no Java runtime for Spark in {home} (no bin/java there)")


def start_spark(master: str, short_run: bool = False) -> SparkSession:
    """The one SparkSession of this process; ConsumerError (or the master's own one-line
    error) when it cannot start. Under spark-submit, the JVM runs already with its own
    master: nothing to check."""
    if not launched_by_spark_submit():
        check_spark_master(master)
        check_java()
    try:
        with interrupts_held_while_spark_starts(), one_line_failures("Spark did not start"):
            settings = replace(spark_settings_from_env(master), short_run=short_run)
            return build_spark_session(settings)
    except ConnectorJarsMissing as error:
        raise ConsumerError(str(error)) from None
