"""The bad records as the dead-letter topic takes them, read from the decoding pass (its
raw columns kept), never from Kafka again; and the report's examples taken from them."""

from __future__ import annotations

from datetime import timedelta

from framed_records import T0, V2, V2_ID, framed, offline_contract
from pyspark.sql import Row, SparkSession

from connection.paths import RULES_FILE
from consumer.analysis import AnalysisOptions, analyse, examples_among
from consumer.bad_records import bad_records, dead_letter_count, letters_of
from consumer.decoding import RAW, decoded_records, passing
from consumer.report import RecordLocation
from consumer.source import KAFKA_RECORDS
from consumer.statistics import summarise
from consumer.timings import Timings
from contract.migrations import rules_on_paths
from contract.rules import load_rule_set
from contract.schemas import ReaderSchema


def records() -> list[tuple[object, ...]]:
    """Two partitions, written out of order: a good and a breaker in each, poison in 1."""
    good = framed(V2_ID, V2, {"ts": T0, "symbol": "AAPL", "price": 100.0, "currency": "USD"})
    breaker = framed(V2_ID, V2, {"ts": T0, "symbol": "AAPL", "price": -1.0, "currency": "USD"})
    at = T0 + timedelta(seconds=5)
    return [
        (b"k1", breaker, "t", 1, 7, at, 0, [("h", b"v1")]),
        (b"k0", good, "t", 0, 3, at, 0, None),
        (None, b"\x01junk", "t", 1, 2, at, 0, [("h", None)]),
        (b"k0", breaker, "t", 0, 4, at, 0, []),
        (b"k1", good, "t", 1, 8, at, 0, None),
    ]


def test_the_letters_carry_the_raw_record_in_offset_order_from_one_partition(
    spark: SparkSession,
) -> None:
    contract = offline_contract({V2_ID: V2}, ReaderSchema(V2, "v2"), load_rule_set(RULES_FILE))
    rules, migrations = contract.read_rules, rules_on_paths([])
    batch = spark.createDataFrame(records(), KAFKA_RECORDS)
    decoded = decoded_records(
        batch, contract.writers.known, contract.reader.schema, rules.rules, {}, True
    )
    assert decoded.where(passing() & decoded[RAW].isNotNull()).count() == 0  # kept for few
    assert dead_letter_count(summarise(decoded), rules, migrations) == 3

    bad = bad_records(decoded, rules, migrations)
    assert bad.rdd.getNumPartitions() == 1  # the driver reads them in one job
    letters = list(letters_of(bad.collect(), rules, migrations, "t-value"))
    assert [(x.partition, x.offset, x.key) for x in letters] == [
        (0, 4, b"k0"),
        (1, 2, None),
        (1, 7, b"k1"),
    ]
    originals = {(r[3], r[4]): r for r in records()}
    for letter in letters:
        original = originals[(letter.partition, letter.offset)]
        assert letter.value == original[1]
        assert letter.timestamp_ms == int((T0 + timedelta(seconds=5)).timestamp() * 1000)
        assert list(letter.headers) == list(original[7] or [])
    assert [x.rule.name if x.rule else x.reason for x in letters] == [
        "price-positive",
        "wrong_magic_byte",
        "price-positive",
    ]
    streamed = bad_records(decoded, rules, migrations, few=False)
    assert [(r["partition"], r["offset"]) for r in streamed.toLocalIterator()] == [
        (0, 4),
        (1, 2),
        (1, 7),
    ]


def test_examples_come_from_the_collected_records_only_for_labels_all_of_whose_are_there() -> None:
    rows = [
        Row(partition=0, offset=o, reason=None, rule=r)
        for o, r in [(1, "a"), (2, "b"), (3, "a"), (4, "a"), (5, "a")]
    ]
    options = AnalysisOptions(z_threshold=3.0, examples_per_reason=3)
    found = examples_among(rows, "rule", {"a": 4, "b": 2, "c": 1}, options)
    assert found == {"a": [RecordLocation(0, 1), RecordLocation(0, 3), RecordLocation(0, 4)]}


def test_a_report_with_dead_letters_has_the_same_examples_and_hands_over_the_letters(
    spark: SparkSession,
) -> None:
    contract = offline_contract({V2_ID: V2}, ReaderSchema(V2, "v2"), load_rule_set(RULES_FILE))
    batch = spark.createDataFrame(records(), KAFKA_RECORDS)
    handed: list[Row] = []
    plain = analyse(batch, "t", contract, AnalysisOptions(z_threshold=3.0))
    timings = Timings()
    with_letters = analyse(
        batch,
        "t",
        contract,
        AnalysisOptions(z_threshold=3.0, on_bad_records=handed.extend),
        timings,
    )
    assert with_letters.undecodable == plain.undecodable
    assert with_letters.rule_failures == plain.rule_failures
    assert [(r["partition"], r["offset"]) for r in handed] == [(0, 4), (1, 2), (1, 7)]
    jobs = [name for name, _ in timings.phases if name.startswith("job: first records")]
    assert jobs == []  # every example came from the letters collected
