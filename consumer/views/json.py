"""The report and typed records as JSON for programs (shape: report.schema.json here)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from connection.timestamps import format_timestamp
from consumer.records import TypedRecord
from consumer.report import GroupStatistics, Report

REPORT_SCHEMA_FILE = Path(__file__).resolve().parent / "report.schema.json"
#: The report document's shape version; raised whenever report.schema.json changes.
REPORT_VERSION = 4
STDDEV_KIND = "sample"  # stddev_samp: divides by n - 1, like statistics.stdev


def statistics_item(s: GroupStatistics) -> dict[str, object]:
    """One group's statistics, as the report and the follow mode's updates write it."""
    return {
        "symbol": s.symbol,
        "currency": s.currency,
        "count": s.count,
        "min": s.min,
        "max": s.max,
        "mean": s.mean,
        "stddev": s.stddev,
    }


def report_document(report: Report) -> dict[str, object]:
    return {
        "report_version": REPORT_VERSION,
        "topic": report.topic,
        "messages": report.messages,
        "decoded": report.decoded,
        "reader_schema": report.reader_schema,
        "writer_schema_ids": report.writer_schema_ids,
        "stddev": STDDEV_KIND,
        "z_threshold": report.z_threshold,
        "statistics": [statistics_item(s) for s in report.statistics],
        "outliers": [
            {
                "ts": format_timestamp(o.ts),
                "symbol": o.symbol,
                "currency": o.currency,
                "price": o.price,
                "z": o.z,
            }
            for o in report.outliers
        ],
        "undecodable": [
            {
                "reason": u.reason,
                "count": u.count,
                "examples": [{"partition": e.partition, "offset": e.offset} for e in u.examples],
            }
            for u in report.undecodable
        ],
        "rules": report.rules,
        "rule_failures": [
            {
                "rule": f.rule,
                "count": f.count,
                "examples": [{"partition": e.partition, "offset": e.offset} for e in f.examples],
            }
            for f in report.rule_failures
        ],
        "reader_version": report.reader_version,
        "reader_major": report.reader_major,
        "migrations": [
            {
                "schema_id": m.schema_id,
                "version": m.version,
                "major": m.major,
                "mode": m.mode,
                "rules": m.rules,
                "python_rules": m.python_rules,
            }
            for m in report.migrations
        ],
        "migration_failures": [
            {
                "rule": f.rule,
                "count": f.count,
                "examples": [{"partition": e.partition, "offset": e.offset} for e in f.examples],
            }
            for f in report.migration_failures
        ],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_document(report), indent=2)


def render_records_jsonl(records: Sequence[TypedRecord]) -> str:
    """One JSON object per record and line."""
    return "\n".join(
        json.dumps(
            {
                "partition": r.partition,
                "offset": r.offset,
                "timestamp": format_timestamp(r.timestamp),
                "key": r.key,
                "schema_id": r.schema_id,
                "subject_version": r.subject_version,
                "value": r.value,
                "reason": r.reason,
            }
        )
        for r in records
    )
