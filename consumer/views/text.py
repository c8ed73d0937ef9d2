"""The report and typed records as text for people."""

from __future__ import annotations

import json
from collections.abc import Sequence

from connection.timestamps import format_timestamp
from consumer.records import TypedRecord
from consumer.report import GroupStatistics, RecordLocation, Report
from consumer.views.table import table

NO_CURRENCY = "-"  # the reader schema has no currency field


def statistics_table(statistics: Sequence[GroupStatistics]) -> str:
    """One row per (symbol, currency) group; also the live view's table."""
    return table(
        ["symbol", "currency", "count", "min", "max", "mean", "stddev"],
        [
            [
                s.symbol,
                s.currency or NO_CURRENCY,
                str(s.count),
                f"{s.min:.2f}",
                f"{s.max:.2f}",
                f"{s.mean:.4f}",
                "-" if s.stddev is None else f"{s.stddev:.4f}",
            ]
            for s in statistics
        ],
        right={2, 3, 4, 5, 6},
    )


def counted_records(label: str, counts: Sequence[tuple[str, int, Sequence[RecordLocation]]]) -> str:
    """A table of records counted by label (a reason, a rule), with their first ones."""
    return table(
        [label, "count", "examples (partition/offset)"],
        [
            [name, str(count), ", ".join(f"{e.partition}/{e.offset}" for e in examples)]
            for name, count, examples in counts
        ],
        right={1},
    )


def major_of(report: Report) -> str:
    """The reader's major, as the reader line names it (nothing when it names none)."""
    return "" if report.reader_major is None else f", major {report.reader_major}"


def render_text(report: Report) -> str:
    sections = [
        f"Topic {report.topic}: {report.messages} messages, {report.decoded} decoded\n"
        f"reader schema: {report.reader_schema}{major_of(report)}; writer schema ids: "
        f"{', '.join(map(str, report.writer_schema_ids)) or 'none'}",
        "Price per symbol and currency (stddev: sample standard deviation, n - 1)\n"
        + statistics_table(report.statistics),
        f"Outliers: {len(report.outliers)} (price more than {report.z_threshold:g} standard "
        "deviations from its symbol's mean in its currency), in time order\n"
        + table(
            ["timestamp", "symbol", "currency", "price"],
            [
                [format_timestamp(o.ts), o.symbol, o.currency or NO_CURRENCY, f"{o.price:.2f}"]
                for o in report.outliers
            ],
            right={3},
        ),
    ]
    if report.undecodable:
        sections.append(
            f"Not decoded: {report.messages - report.decoded} records "
            "(left out of the statistics)\n"
            + counted_records(
                "reason", [(u.reason, u.count, u.examples) for u in report.undecodable]
            )
        )
    if report.migrations:
        sections.append(
            "Read across majors (each writer version's migration rules, in the order they "
            "ran; * in jsonata-python)\n"
            + table(
                ["schema id", "version", "major", "way", "rules"],
                [
                    [
                        str(m.schema_id),
                        str(m.version),
                        m.major or "none",
                        m.mode,
                        ", ".join(r + ("*" if r in m.python_rules else "") for r in m.rules)
                        or "none: no_migration",
                    ]
                    for m in report.migrations
                ],
                right={0, 1},
            )
        )
    if report.migration_failures:
        sections.append(
            "Migrations failed (their records are left out of the statistics)\n"
            + counted_records(
                "migration rule", [(f.rule, f.count, f.examples) for f in report.migration_failures]
            )
        )
    if report.rule_failures:
        sections.append(
            f"Rules failed (rules: {report.rules}; a record failing a DLQ or ERROR rule is "
            "left out of the statistics)\n"
            + counted_records("rule", [(f.rule, f.count, f.examples) for f in report.rule_failures])
        )
    return "\n\n".join(sections)


def render_records_text(records: Sequence[TypedRecord]) -> str:
    """One table row per record: location, time, key, writer schema, typed value."""
    return table(
        ["partition", "offset", "timestamp", "key", "schema id", "version", "value"],
        [
            [
                str(r.partition),
                str(r.offset),
                format_timestamp(r.timestamp),
                "-" if r.key is None else r.key,
                "-" if r.schema_id is None else str(r.schema_id),
                "-" if r.subject_version is None else str(r.subject_version),
                json.dumps(r.value) if r.value is not None else f"not decoded: {r.reason}",
            ]
            for r in records
        ],
        right={0, 1, 4, 5},
    )
