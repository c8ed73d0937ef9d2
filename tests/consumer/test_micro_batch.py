"""Follow mode's per-batch steps on an in-memory Kafka batch: no Kafka, no registry."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from framed_records import (
    T0,
    UNKNOWN_ID,
    V1,
    V1_ID,
    V2,
    V2_ID,
    WRITTEN,
    framed,
    kafka_batch,
    offline_contract,
)
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from connection.paths import RULES_FILE
from consumer.framing import UNKNOWN_SCHEMA_ID
from consumer.micro_batch import (
    batch_overview,
    count_batch,
    decoded_batch,
    framed_batch,
)
from consumer.source import KAFKA_RECORDS
from consumer.summary import RunningStatistics, statistics_of
from contract.rules import load_rule_set
from contract.schemas import Contract, ReaderSchema

pytestmark = pytest.mark.spark

READER = ReaderSchema(V2, "v2")
WRITERS = {V1_ID: V1, V2_ID: V2}


def written_prices() -> dict[tuple[str, str], list[float]]:
    prices: dict[tuple[str, str], list[float]] = defaultdict(list)
    for _, symbol, price, currency in WRITTEN:
        prices[(symbol, currency or "USD")].append(price)
    return prices


@contextmanager
def decoded_through(
    batch: DataFrame, contract: Contract, keep_raw: bool = False
) -> Iterator[DataFrame]:
    """batch decoded through contract as follow decodes it, its cache dropped after."""
    decoded = decoded_batch(batch, contract, keep_raw)
    try:
        yield decoded
    finally:
        decoded.unpersist()


def test_the_overview_lists_every_schema_id_the_next_offset_and_the_times(
    spark: SparkSession,
) -> None:
    overview = batch_overview(framed_batch(kafka_batch(spark)))
    assert overview.records == len(WRITTEN) + 1
    assert overview.schema_ids == {V1_ID, V2_ID, UNKNOWN_ID}
    assert overview.next_offsets == {0: len(WRITTEN) + 1}


def test_the_decoded_batch_has_the_overview_of_its_frames_unknown_ids_too(
    spark: SparkSession,
) -> None:
    """A writer id the contract does not know still shows in the decoded batch's overview:
    it is how the driver learns it must fetch that schema and decode the batch again."""
    # Kafka timestamps one second apart from 2023-11-14 22:13:20 UTC, by offset.
    batch = kafka_batch(spark).withColumn(
        "timestamp", F.timestamp_seconds(F.col("offset") + F.lit(1_700_000_000))
    )
    with decoded_through(batch, offline_contract({V1_ID: V1}, READER), keep_raw=True) as decoded:
        overview = batch_overview(decoded)
    assert overview == batch_overview(framed_batch(batch))
    assert overview.schema_ids == {V1_ID, V2_ID, UNKNOWN_ID}
    assert (overview.oldest_ms, overview.newest_ms) == (
        1_700_000_000_000,
        (1_700_000_000 + len(WRITTEN)) * 1000,
    )


def test_a_batch_counts_each_group_exactly_and_its_unknown_ids_as_such(
    spark: SparkSession,
) -> None:
    contract = offline_contract(WRITERS, READER)
    with decoded_through(kafka_batch(spark), contract) as decoded:
        counted = count_batch(decoded, contract, {}, 3.0, 2)
    summary = counted.summary
    assert summary.decoded == len(WRITTEN)
    assert summary.undecodable == {UNKNOWN_SCHEMA_ID: 1}
    assert summary.writer_schema_ids == {V1_ID, V2_ID}
    for group, prices in written_prices().items():
        got, want = summary.groups[group], statistics_of(prices)
        assert (got.n, got.min, got.max) == (want.n, want.min, want.max)
        assert got.mean == pytest.approx(want.mean, rel=1e-12)
        assert got.m2 == pytest.approx(want.m2, rel=1e-9)


def test_outliers_are_judged_against_the_totals_with_the_batch_merged_in(
    spark: SparkSession,
) -> None:
    # Before this batch, AAPL in EUR was steady at 103 (stddev 0.1): 92..94 is far out.
    steady = RunningStatistics(n=1000, mean=103.0, m2=999 * 0.01, min=102.9, max=103.1)
    contract = offline_contract(WRITERS, READER)
    with decoded_through(kafka_batch(spark), contract) as decoded:
        counted = count_batch(decoded, contract, {("AAPL", "EUR"): steady}, 3.0, 30)
    eur = [p for _, s, p, c in WRITTEN if (s, c) == ("AAPL", "EUR")]
    assert [(o.symbol, o.currency, o.price) for o in counted.new_outliers] == [
        ("AAPL", "EUR", price) for price in eur
    ]
    assert [o.ts for o in counted.new_outliers] == sorted(o.ts for o in counted.new_outliers)
    assert counted.new_outliers[0].ts > T0
    merged = steady.merged(statistics_of(eur))
    assert merged.stddev is not None
    assert [o.z for o in counted.new_outliers] == pytest.approx(
        [(price - merged.mean) / merged.stddev for price in eur]
    )


def test_groups_below_min_count_are_not_judged(spark: SparkSession) -> None:
    contract = offline_contract(WRITERS, READER)
    with decoded_through(kafka_batch(spark), contract) as decoded:
        counted = count_batch(decoded, contract, {}, 0.1, 1000)
    assert counted.new_outliers == []


def breakers_batch(spark: SparkSession) -> DataFrame:
    """v2 records: two that keep the rules, one per rule broken, one breaking two."""
    values = [
        ("AAPL", 100.0, "USD"),
        ("AAPL", 102.0, "USD"),
        ("AAPL", -1.0, "USD"),  # price-positive
        ("AAPL", 101.0, "usd"),  # currency-iso-4217
        ("aapl", 101.0, "USD"),  # symbol-ticker
        ("aapl", -5.0, "EUR"),  # both: the first in file order decides
    ]
    rows = [
        (
            None,
            framed(V2_ID, V2, {"ts": T0, "symbol": s, "price": p, "currency": c}),
            "t",
            0,
            o,
            None,
            0,
            None,
        )
        for o, (s, p, c) in enumerate(values)
    ]
    return spark.createDataFrame(rows, KAFKA_RECORDS)


def test_rule_breakers_are_counted_by_their_deciding_rule_and_handed_over_not_averaged(
    spark: SparkSession,
) -> None:
    contract = offline_contract({V2_ID: V2}, READER, load_rule_set(RULES_FILE))
    handed: list[tuple[int, str | None]] = []

    def collect(bad: DataFrame) -> None:
        handed.extend((row["offset"], row["rule"]) for row in bad.collect())

    with decoded_through(breakers_batch(spark), contract, keep_raw=True) as decoded:
        counted = count_batch(decoded, contract, {}, 3.0, 2, collect)
    summary = counted.summary
    assert summary.decoded == 6
    assert summary.rule_failures == {
        "price-positive": 2,
        "currency-iso-4217": 1,
        "symbol-ticker": 1,
    }
    assert {key: s.n for key, s in summary.groups.items()} == {("AAPL", "USD"): 2}
    assert summary.groups[("AAPL", "USD")].mean == 101.0
    assert handed == [
        (2, "price-positive"),
        (3, "currency-iso-4217"),
        (4, "symbol-ticker"),
        (5, "price-positive"),
    ]
