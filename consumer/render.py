"""Render a Report: aligned text tables for people, one JSON document for programs."""

from __future__ import annotations

import json
from collections.abc import Sequence

from connection.timestamps import format_timestamp
from consumer.report import Report

STDDEV_KIND = "sample"  # stddev_samp: divides by n - 1, like statistics.stdev


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """Columns padded to their widest cell; columns in right are right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(padded).rstrip()

    return "\n".join(
        [line(headers), line(["-" * width for width in widths])] + [line(r) for r in rows]
    )


def render_text(report: Report) -> str:
    sections = [
        f"Topic {report.topic}: {report.messages} messages, {report.decoded} decoded\n"
        f"reader schema: {report.reader_schema}; writer schema ids: "
        f"{', '.join(map(str, report.writer_schema_ids)) or 'none'}",
        "Price per symbol (stddev: sample standard deviation, n - 1)\n"
        + table(
            ["symbol", "count", "min", "max", "mean", "stddev"],
            [
                [
                    s.symbol,
                    str(s.count),
                    f"{s.min:.2f}",
                    f"{s.max:.2f}",
                    f"{s.mean:.4f}",
                    "-" if s.stddev is None else f"{s.stddev:.4f}",
                ]
                for s in report.statistics
            ],
            right={1, 2, 3, 4, 5},
        ),
        f"Outliers: {len(report.outliers)} (price more than {report.z_threshold:g} standard "
        "deviations from its symbol's mean), in time order\n"
        + table(
            ["timestamp", "symbol", "price"],
            [[format_timestamp(o.ts), o.symbol, f"{o.price:.2f}"] for o in report.outliers],
            right={2},
        ),
    ]
    if report.undecodable:
        sections.append(
            f"Not decoded: {report.messages - report.decoded} records "
            "(left out of the statistics)\n"
            + table(
                ["reason", "count", "examples (partition/offset)"],
                [
                    [
                        u.reason,
                        str(u.count),
                        ", ".join(f"{e.partition}/{e.offset}" for e in u.examples),
                    ]
                    for u in report.undecodable
                ],
                right={1},
            )
        )
    return "\n\n".join(sections)


def report_document(report: Report) -> dict[str, object]:
    """The JSON document (shape: consumer/report.schema.json)."""
    return {
        "topic": report.topic,
        "messages": report.messages,
        "decoded": report.decoded,
        "reader_schema": report.reader_schema,
        "writer_schema_ids": report.writer_schema_ids,
        "stddev": STDDEV_KIND,
        "z_threshold": report.z_threshold,
        "statistics": [
            {
                "symbol": s.symbol,
                "count": s.count,
                "min": s.min,
                "max": s.max,
                "mean": s.mean,
                "stddev": s.stddev,
            }
            for s in report.statistics
        ],
        "outliers": [
            {"ts": format_timestamp(o.ts), "symbol": o.symbol, "price": o.price, "z": o.z}
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
    }


def render_json(report: Report) -> str:
    return json.dumps(report_document(report), indent=2)
