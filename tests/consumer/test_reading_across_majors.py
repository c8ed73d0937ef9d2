"""Reading a topic across a breaking change, in Spark on in-memory frames: records of
major 1 (v1, v2) and of major 2 (v3: ticker, price in cents) read into either major
through the migration rules of docs/examples/major-2, and the records whose migration
fails or has no path counted as such, never dropped."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from contract_files import BREAKING_RULES, V3_SCHEMA
from framed_records import T0, V1, V1_ID, V2, V2_ID, framed, offline_contract
from pyspark.sql import SparkSession

from consumer.analysis import AnalysisOptions, analyse, cached_records
from consumer.bad_records import bad_records, dead_letters
from consumer.decoding import decoded_records
from consumer.source import KAFKA_RECORDS
from contract.migrations import ContractVersion
from contract.reasons import MIGRATION_FAILED, NO_MIGRATION
from contract.rules import RulesDocument, rules_document_from_json
from contract.schemas import Contract, ReaderSchema

pytestmark = pytest.mark.spark

V3_ID = 13
V3 = json.dumps(V3_SCHEMA)
MAJOR_2 = rules_document_from_json(BREAKING_RULES)


def history(major_2: RulesDocument = MAJOR_2) -> dict[int, ContractVersion]:
    return {
        1: ContractVersion(1, V1_ID, V1),
        2: ContractVersion(2, V2_ID, V2),
        3: ContractVersion(3, V3_ID, V3, major_2),
    }


def contract_reading(version: int, major_2: RulesDocument = MAJOR_2) -> Contract:
    versions = history(major_2)
    reader = ReaderSchema(versions[version].schema, f"v{version}", version=versions[version])
    contract = offline_contract({V1_ID: V1, V2_ID: V2, V3_ID: V3}, reader)
    contract.writers.contract_versions.update(versions)
    contract.writers.versions.update({V1_ID: 1, V2_ID: 2, V3_ID: 3})
    return contract


def record(offset: int, symbol: str, price: float) -> dict[str, Any]:
    return {"ts": T0 + timedelta(seconds=offset), "symbol": symbol, "price": price}


def topic(spark: SparkSession) -> Any:
    values = [
        framed(V1_ID, V1, record(0, "AAPL", 100.25)),
        framed(V2_ID, V2, {**record(1, "AAPL", 101.5), "currency": "EUR"}),
        framed(V3_ID, V3, {"ts": T0, "ticker": "AAPL", "price_cents": 10275, "currency": "EUR"}),
        framed(V3_ID, V3, {"ts": T0, "ticker": "MSFT", "price_cents": 40000, "currency": "USD"}),
        framed(V2_ID, V2, {**record(4, "MSFT", float("nan")), "currency": "USD"}),
    ]
    rows = [(None, v, "t", 0, offset, None, 0, None) for offset, v in enumerate(values)]
    return spark.createDataFrame(rows, KAFKA_RECORDS)


def report_as(spark: SparkSession, contract: Contract) -> Any:
    return analyse(topic(spark), "t", contract, AnalysisOptions(z_threshold=3.0))


def test_major_2_records_read_as_major_1_migrated_down(spark: SparkSession) -> None:
    report = report_as(spark, contract_reading(2))
    groups = {(s.symbol, s.currency): (s.count, s.min) for s in report.statistics}
    assert groups == {
        ("AAPL", "USD"): (1, 100.25),  # v1: the currency's default
        ("AAPL", "EUR"): (2, 101.5),  # 10275 cents written in major 2 read as 102.75
        ("MSFT", "USD"): (2, 400.0),  # and a v2 NaN, which no rule judges here
    }
    assert [s.max for s in report.statistics if s.symbol == "AAPL"] == [102.75, 100.25]
    assert report.decoded == 5 and report.messages == 5
    [migration] = report.migrations
    assert (migration.schema_id, migration.mode, migration.rules) == (
        V3_ID,
        "DOWNGRADE",
        ["cents-to-price"],
    )
    assert (report.reader_version, report.reader_major) == (2, None)


def test_the_whole_history_read_as_major_2_migrated_up_and_a_failure_named(
    spark: SparkSession,
) -> None:
    contract = contract_reading(3)
    decoded = decoded_records(
        topic(spark),
        contract.writers.known,
        contract.reader.schema,
        paths=contract.read_paths(),
    )
    rows = decoded.orderBy("offset").collect()
    assert [(r.ticker, r.price_cents, r.currency) for r in rows[:4]] == [
        ("AAPL", 10025, "USD"),
        ("AAPL", 10150, "EUR"),
        ("AAPL", 10275, "EUR"),
        ("MSFT", 40000, "USD"),
    ]
    assert [r.reason for r in rows] == [None, None, None, None, MIGRATION_FAILED]
    assert (rows[4].migration_rule, rows[4].migration_mode) == ("price-to-cents", "UPGRADE")


def test_across_majors_without_a_rule_the_records_are_counted_as_no_migration(
    spark: SparkSession,
) -> None:
    bare = RulesDocument(metadata=MAJOR_2.metadata)
    report = report_as(spark, contract_reading(2, bare))
    assert {u.reason: u.count for u in report.undecodable} == {NO_MIGRATION: 2}
    assert report.decoded == 3


def test_a_failed_migration_goes_to_the_dead_letters_naming_its_rule_and_mode(
    spark: SparkSession,
) -> None:
    contract = contract_reading(3)
    records = topic(spark)
    decoded = cached_records(
        records, contract, contract.read_paths(), in_memory=True, keep_raw=True
    )
    migrations = contract.migration_rules()
    bad = bad_records(decoded, contract.read_rules, migrations)
    [letter] = list(dead_letters(bad, contract.read_rules, migrations, "t-value"))
    assert (letter.offset, letter.reason) == (4, MIGRATION_FAILED)
    assert letter.rule is not None
    assert (letter.rule.name, letter.rule.mode) == ("price-to-cents", "UPGRADE")
    headers = dict(letter.added_headers("t"))
    assert headers["__rule.mode"] == b"UPGRADE" and headers["__rule.name"] == b"price-to-cents"


def test_a_migration_rule_whose_action_is_none_is_only_counted(spark: SparkSession) -> None:
    counted = json.loads(json.dumps(BREAKING_RULES))
    for rule in counted["ruleSet"]["migrationRules"]:
        rule["onFailure"] = "NONE"
    contract = contract_reading(3, rules_document_from_json(counted))
    records = topic(spark)
    decoded = cached_records(
        records, contract, contract.read_paths(), in_memory=True, keep_raw=True
    )
    migrations = contract.migration_rules()
    assert bad_records(decoded, contract.read_rules, migrations).count() == 0
