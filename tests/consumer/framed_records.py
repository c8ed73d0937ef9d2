"""Kafka batches as in-memory DataFrames of Confluent-framed bytes, framed as the producer
frames them: v1 records (no currency), v2 records in USD and EUR, and one record whose
schema id no registry knows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from io import BytesIO
from typing import Any

from contract_files import V1_SCHEMA_FILE, V2_SCHEMA_FILE
from fastavro import parse_schema, schemaless_writer
from pyspark.sql import DataFrame, SparkSession

from connection.clients import registry_client
from connection.settings import registry_settings_from_env
from consumer.source import KAFKA_RECORDS
from contract.rules import RuleSet
from contract.schemas import Contract, ContractRules, ReaderSchema, WriterSchemas
from producer.serialization import confluent_header

V1_ID, V2_ID, UNKNOWN_ID = 11, 12, 99
V1, V2 = V1_SCHEMA_FILE.read_text(), V2_SCHEMA_FILE.read_text()
T0 = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
# (writer schema id, symbol, price, currency as written: None for v1)
WRITTEN: list[tuple[int, str, float, str | None]] = [
    *((V1_ID, "AAPL", 100.0 + i, None) for i in range(6)),
    *((V2_ID, "AAPL", 104.0 + i, "USD") for i in range(4)),
    *((V2_ID, "AAPL", 92.0 + i / 2, "EUR") for i in range(5)),
    *((V2_ID, "MSFT", 400.0 + 3 * i, "EUR") for i in range(3)),
]


def framed(schema_id: int, schema: str, record: dict[str, Any]) -> bytes:
    buffer = BytesIO(confluent_header(schema_id))
    buffer.seek(0, 2)
    parsed = parse_schema(json.loads(schema))
    schemaless_writer(buffer, parsed, record)
    return buffer.getvalue()


def kafka_batch(spark: SparkSession) -> DataFrame:
    rows = []
    for offset, (schema_id, symbol, price, currency) in enumerate(WRITTEN):
        record: dict[str, Any] = {"ts": T0 + timedelta(seconds=offset), "symbol": symbol}
        record["price"] = price
        if currency is not None:
            record["currency"] = currency
        schema = V1 if schema_id == V1_ID else V2
        rows.append((None, framed(schema_id, schema, record), "t", 0, offset, None, 0, None))
    unknown = confluent_header(UNKNOWN_ID) + b"\x02"
    rows.append((None, unknown, "t", 0, len(WRITTEN), None, 0, None))
    return spark.createDataFrame(rows, KAFKA_RECORDS)


def offline_contract(
    writers: Mapping[int, str], reader: ReaderSchema, rules: RuleSet | None = None
) -> Contract:
    """A contract of known writer schemas that never asks a registry (none answers)."""
    registry = registry_settings_from_env("http://127.0.0.1:1", {})
    known = WriterSchemas(registry_client(registry), registry, known=dict(writers))
    return Contract(reader, known, ContractRules(rules or RuleSet(), "test"))
