"""Spark's Python workers run the driver's own Python (the venv with pyarrow and
jsonata-python), not whatever python3 comes first on the PATH."""

from __future__ import annotations

import sys

import pyarrow as pa
import pytest
from pyspark.sql import SparkSession
from pyspark.sql.pandas.functions import ArrowUDFType, arrow_udf
from pyspark.sql.types import StringType

pytestmark = pytest.mark.spark


def test_an_arrow_udf_runs_in_the_drivers_python(spark: SparkSession) -> None:
    def worker_python(ids: pa.Array) -> pa.Array:
        import sys as worker_sys

        return pa.array([worker_sys.executable] * len(ids), type=pa.string())

    udf = arrow_udf(worker_python, StringType(), ArrowUDFType.SCALAR)
    rows = spark.range(1).select(udf("id").alias("python")).collect()
    assert [row.python for row in rows] == [sys.executable]
