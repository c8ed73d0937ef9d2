"""Records through migration paths in Spark, and the reference they must equal: what the
test_migration_columns*.py files share.

Records are written with fastavro (the writer's schema) into in-memory frames; the
reference is run_path (jsonata-python, conformed to each hop's target).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import fastavro
from contract_files import BREAKING_RULES, V1_SCHEMA, V2_SCHEMA, V3_SCHEMA
from pyspark.sql import Column, Row, SparkSession
from pyspark.sql import functions as F

from consumer.migration_columns import migrated_from, written_record
from contract.migrations import (
    ContractVersion,
    MigrationFailed,
    MigrationPath,
    migration_path,
    run_path,
)
from contract.rules import RulesDocument, rules_document_from_json

V1 = ContractVersion(1, 1, json.dumps(V1_SCHEMA))
V2 = ContractVersion(2, 2, json.dumps(V2_SCHEMA))
V3 = ContractVersion(3, 3, json.dumps(V3_SCHEMA), rules_document_from_json(BREAKING_RULES))
HISTORY = [V1, V2, V3]
TS = 1_700_000_000_123


def path_between(
    versions: Sequence[ContractVersion], writer: ContractVersion, reader: ContractVersion
) -> MigrationPath:
    path = migration_path(versions, writer, reader)
    assert isinstance(path, MigrationPath), path
    return path


def encoded(version: ContractVersion, record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, version.plain, record)
    return buffer.getvalue()


def plain(event: Column, reader: ContractVersion) -> Column:
    """The event with timestamps as epoch milliseconds (what run_path returns)."""
    fields = []
    for f in reader.parsed["fields"]:
        column = event.getField(f["name"])
        logical = f["type"].get("logicalType") if isinstance(f["type"], dict) else None
        if logical == "timestamp-millis":
            column = F.unix_millis(column)
        fields.append(column.alias(f["name"]))
    return F.when(event.isNotNull(), F.struct(*fields))


Outcome = tuple[str | None, dict[str, Any] | None]


def expected(path: MigrationPath, record: dict[str, Any]) -> Outcome:
    """The reference: (failed rule, None) or (None, the reader's record)."""
    try:
        return None, run_path(path, record)
    except MigrationFailed as failed:
        return failed.rule.name, None


def migrate(
    session: SparkSession, paths: Sequence[MigrationPath], bodies: Sequence[bytes | None]
) -> list[list[Outcome]]:
    """Each body through each path (the bodies written in each path's writer version are
    the caller's business), one Spark job: per path, per body, (failed rule, record).

    migrated_event's two halves a projection apart, as consumer.decoding runs them: the
    body decoded once per path (written_record), not once per field a rule reads, and
    the event made plain from its column (not from a copy of its expression per field).
    One job, no sort: the rows are put in order here (orderBy ran the plan twice, once to
    sample the sort's ranges)."""
    frame = session.createDataFrame(
        [(index, body) for index, body in enumerate(bodies)], "row long, body binary"
    )
    written = frame.select(
        "row",
        *(written_record(F.col("body"), path).alias(f"written{n}") for n, path in enumerate(paths)),
    )
    migrated: list[Column] = []
    made_plain: list[Column] = []
    for number, path in enumerate(paths):
        migration = migrated_from(F.col(f"written{number}"), path)
        migrated += [
            migration.failed_rule.alias(f"rule{number}"),
            migration.failed_mode.alias(f"mode{number}"),
            migration.event.alias(f"event{number}"),
        ]
        made_plain += [
            F.col(f"rule{number}"),
            F.col(f"mode{number}"),
            plain(F.col(f"event{number}"), path.reader).alias(f"event{number}"),
        ]
    rows = sorted(
        written.select("row", *migrated).select("row", *made_plain).collect(),
        key=lambda row: row["row"],
    )
    return [[outcome(row, number, path) for row in rows] for number, path in enumerate(paths)]


def outcome(row: Row, number: int, path: MigrationPath) -> Outcome:
    rule, mode, event = row[f"rule{number}"], row[f"mode{number}"], row[f"event{number}"]
    if rule is not None:
        assert mode == path.transforms[0].migration
        assert event is None
        return rule, None
    assert mode is None
    return None, None if event is None else event.asDict(recursive=True)


def same(actual: Outcome, wanted: Outcome) -> bool:
    """Equal, NaN equal to NaN."""
    if actual[0] != wanted[0] or (actual[1] is None) != (wanted[1] is None):
        return False
    if actual[1] is None or wanted[1] is None:
        return True
    return json.dumps(actual[1], sort_keys=True) == json.dumps(wanted[1], sort_keys=True)


def migrated_as_the_reference(
    session: SparkSession,
    paths: Sequence[MigrationPath],
    writer: ContractVersion,
    records: Sequence[dict[str, Any]],
) -> list[list[Outcome]]:
    """The records, written in writer's version, through each path in one Spark job
    (migrate), each outcome asserted the same as the reference's (expected); the
    outcomes, per path, per record."""
    got = migrate(session, paths, [encoded(writer, record) for record in records])
    for path, outcomes in zip(paths, got, strict=True):
        rules = [rule.expr for hop in path.transforms for rule in hop.rules]
        for record, actual in zip(records, outcomes, strict=True):
            wanted = expected(path, record)
            assert same(actual, wanted), (rules, record, actual, wanted)
    return got


def major_2(*rules: tuple[str, str, str]) -> RulesDocument:
    """Version 3's document with these (name, mode, expr) migration rules."""
    return rules_document_from_json(
        {
            "metadata": {"properties": {"application.major.version": "2"}},
            "ruleSet": {
                "migrationRules": [
                    {"name": name, "kind": "TRANSFORM", "type": "JSONATA", "mode": mode, "expr": e}
                    for name, mode, e in rules
                ]
            },
        }
    )


# -- the source and target of the drawn and edge-case expressions ---------------------------

SOURCE = ContractVersion(
    1,
    1,
    json.dumps(
        {
            "type": "record",
            "name": "Source",
            "fields": [
                {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
                {"name": "symbol", "type": "string"},
                {"name": "price", "type": "double"},
                {"name": "qty", "type": "long"},
                {"name": "flag", "type": "boolean"},
                {"name": "note", "type": ["null", "string"], "default": None},
                {"name": "bid", "type": ["null", "double"], "default": None},
            ],
        }
    ),
)
#: The target: ts passed through, and one nullable field of each kind for the expressions.
TARGET_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Target",
        "fields": [
            {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "n", "type": ["null", "double"], "default": None},
            {"name": "s", "type": ["null", "string"], "default": None},
            {"name": "b", "type": ["null", "boolean"], "default": None},
            {"name": "l", "type": ["null", "long"], "default": None},
        ],
    }
)
TARGET_KEYS = ("n", "s", "b", "l")


def target_with(expr_by_key: dict[str, str]) -> ContractVersion:
    constructed = ", ".join(f"'{key}': {expr}" for key, expr in expr_by_key.items())
    expr = f"$merge([$sift($, function($v, $k) {{$k = 'ts'}}), {{{constructed}}}])"
    return ContractVersion(2, 2, TARGET_SCHEMA, major_2(("r", "UPGRADE", expr)))
