"""Per-group price statistics in Spark; a group is (symbol, currency).

One aggregation grouped by (reason, deciding rule, symbol, currency) gives, in a single
job, every reason's and every rule's record count, the schema ids seen, and (in the rows
of decoded records no rule decided against) each group's n, mean, M2, min and max: a
Summary, which batch mode reports and follow mode merges. Statistics come back into
Spark as literals for the outlier and histogram jobs.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from consumer.decoding import MIGRATION_RULE, NONE_FAILED, RULE
from consumer.framing import UNDECODABLE
from consumer.report import GroupStatistics
from consumer.summary import GroupKey, RunningStatistics, Summary
from contract.reasons import MIGRATION_FAILED, NO_MIGRATION

#: The reasons of records whose writer schema the registry knows (None: decoded).
WRITTEN_REASONS: tuple[str | None, ...] = (None, UNDECODABLE, MIGRATION_FAILED, NO_MIGRATION)

#: What statistics are computed per: a price in EUR is never averaged with one in USD.
GROUP_COLUMNS = ("symbol", "currency")

STATISTICS = StructType(
    [
        StructField("symbol", StringType(), nullable=False),
        StructField("currency", StringType(), nullable=True),
        StructField("count", LongType(), nullable=False),
        StructField("min", DoubleType(), nullable=False),
        StructField("max", DoubleType(), nullable=False),
        StructField("mean", DoubleType(), nullable=False),
        StructField("stddev", DoubleType(), nullable=True),
    ]
)


def record_summary(records: DataFrame) -> DataFrame:
    """reason, rule, symbol, currency, count, schema_ids, min, max, mean, m2 of price per
    (reason, deciding rule, symbol, currency) of decoded records (m2: the sum of squared
    deviations from the mean), and the count of each NONE rule's failures."""
    price = F.col("price")
    count = F.count(F.lit(1))
    none_failed = [c for c in records.columns if c.startswith(NONE_FAILED)]
    migration = [MIGRATION_RULE] if MIGRATION_RULE in records.columns else []
    return records.groupBy("reason", RULE, *migration, *GROUP_COLUMNS).agg(
        count.alias("count"),
        F.collect_set("schema_id").alias("schema_ids"),
        F.min(price).alias("min"),
        F.max(price).alias("max"),
        F.mean(price).alias("mean"),
        F.coalesce(F.var_pop(price) * count, F.lit(0.0)).alias("m2"),
        *(F.count_if(F.col(f"`{c}`")).alias(c) for c in none_failed),
    )


def summary_of_rows(rows: Iterable[Row]) -> Summary:
    """A Summary from record_summary's rows."""
    decoded = 0
    undecodable: dict[str, int] = {}
    rule_failures: dict[str, int] = {}
    migration_failures: dict[str, int] = {}
    ids: dict[str | None, set[int]] = {}
    groups: dict[GroupKey, RunningStatistics] = {}
    for row in rows:
        reason, rule, n = row["reason"], row[RULE], int(row["count"])
        ids.setdefault(reason, set()).update(int(i) for i in row["schema_ids"])
        for column, failed in row.asDict().items():
            if column.startswith(NONE_FAILED) and failed:
                name = column.removeprefix(NONE_FAILED)
                rule_failures[name] = rule_failures.get(name, 0) + int(failed)
        if reason is not None:
            undecodable[reason] = undecodable.get(reason, 0) + n
            migration = row.asDict().get(MIGRATION_RULE)
            if migration is not None:
                migration_failures[migration] = migration_failures.get(migration, 0) + n
            continue
        decoded += n
        if rule is not None:
            rule_failures[rule] = rule_failures.get(rule, 0) + n
        else:
            groups[(row["symbol"], row["currency"])] = RunningStatistics(
                n=n, mean=row["mean"], m2=row["m2"], min=row["min"], max=row["max"]
            )
    return Summary(
        decoded=decoded,
        undecodable=undecodable,
        writer_schema_ids=frozenset(
            set().union(*(ids.get(reason, set()) for reason in WRITTEN_REASONS))
        ),
        schema_ids_by_reason={reason: frozenset(s) for reason, s in ids.items()},
        groups=groups,
        rule_failures=rule_failures,
        migration_failures=migration_failures,
    )


def summarise(decoded: DataFrame) -> Summary:
    """One job: the Summary of decoded records (decoding.decoded_records' columns)."""
    return summary_of_rows(record_summary(decoded).collect())


def statistics_frame(spark: SparkSession, statistics: Iterable[GroupStatistics]) -> DataFrame:
    """Collected statistics as a DataFrame (the columns of STATISTICS).

    Built from literals in the JVM: spark.createDataFrame on Python rows would need a
    Python worker on every executor.
    """
    rows = [
        F.struct(*(F.lit(getattr(s, field.name)).alias(field.name) for field in STATISTICS))
        for s in statistics
    ]
    return spark.range(1).select(F.inline(F.array(*rows).cast(ArrayType(STATISTICS))))


def join_groups(events: DataFrame, statistics: DataFrame, *columns: str) -> DataFrame:
    """events with columns of their own group's statistics (small: broadcast).

    Null-safe on currency, so a reader without currency still finds its group.
    """
    stats = statistics.select(*(F.col(c).alias(f"group_{c}") for c in GROUP_COLUMNS), *columns)
    condition = F.lit(True)
    for column in GROUP_COLUMNS:
        condition = condition & events[column].eqNullSafe(stats[f"group_{column}"])
    return events.join(F.broadcast(stats), condition)


def price_histograms(events: DataFrame, statistics: DataFrame, bins: int) -> DataFrame:
    """symbol, currency, bin, count: each group's prices in `bins` equal-width bins from its
    min to its max (bin bins - 1 includes the max). Small enough to collect for a plot."""
    width = (F.col("max") - F.col("min")) / F.lit(bins)
    raw_bin = F.floor((F.col("price") - F.col("min")) / width)
    bin_index = F.when(width == 0, F.lit(0)).otherwise(F.least(raw_bin, F.lit(bins - 1)))
    return (
        join_groups(events, statistics, "min", "max")
        .groupBy(*GROUP_COLUMNS, bin_index.cast("int").alias("bin"))
        .count()
    )
