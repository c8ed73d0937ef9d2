"""A small topic's Spark settings hold for its jobs only: the session is as it was after
them, whether the analysis succeeded or failed."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from consumer.batch import SMALL_TOPIC_CONF, session_conf

pytestmark = pytest.mark.spark

ADAPTIVE = "spark.sql.adaptive.enabled"
SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"


def test_small_topic_settings_hold_inside_and_are_restored_after(spark: SparkSession) -> None:
    spark.conf.set(SHUFFLE_PARTITIONS, "7")
    spark.conf.set(ADAPTIVE, "true")
    with session_conf(spark, SMALL_TOPIC_CONF):
        assert spark.conf.get(SHUFFLE_PARTITIONS) == "1"
        assert spark.conf.get(ADAPTIVE) == "false"
    assert (spark.conf.get(SHUFFLE_PARTITIONS), spark.conf.get(ADAPTIVE)) == ("7", "true")


def test_a_failure_inside_restores_the_settings_too(spark: SparkSession) -> None:
    spark.conf.set(SHUFFLE_PARTITIONS, "5")
    with pytest.raises(ValueError), session_conf(spark, SMALL_TOPIC_CONF):
        raise ValueError("the analysis failed")
    assert spark.conf.get(SHUFFLE_PARTITIONS) == "5"


def test_a_setting_unset_before_is_unset_again(spark: SparkSession) -> None:
    key = "spark.sql.prices.test.unset"
    with session_conf(spark, {key: "x"}):
        assert spark.conf.get(key) == "x"
    assert spark.conf.get(key, None) is None
