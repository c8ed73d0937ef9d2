"""The follow mode's views: a table refreshed in place on a terminal, outlier lines as
they are found, or one JSON object per micro-batch (shape: follow.schema.json here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from connection.timestamps import format_timestamp
from consumer.report import Outlier
from consumer.state import FollowState, Update
from consumer.summary import reported_statistics
from consumer.views.json import statistics_item
from consumer.views.text import statistics_table

SCHEMA_FILE = Path(__file__).resolve().parent / "follow.schema.json"
CLEAR_TO_END = "\x1b[J"


def outlier_item(outlier: Outlier) -> dict[str, object]:
    return {
        "ts": format_timestamp(outlier.ts),
        "symbol": outlier.symbol,
        "currency": outlier.currency,
        "price": outlier.price,
        "z": outlier.z,
    }


def update_document(update: Update) -> dict[str, object]:
    """One JSON line (shape: follow.schema.json)."""
    state = update.state
    return {
        "batch_id": update.batch_id,
        "records": update.records,
        "messages": state.messages,
        "decoded": state.decoded,
        "undecodable": dict(sorted(state.undecodable.items())),
        "rule_failures": dict(sorted(state.rule_failures.items())),
        "writer_schema_ids": sorted(state.writer_schema_ids),
        "statistics": [statistics_item(s) for s in reported_statistics(state.groups)],
        "new_outliers": [outlier_item(o) for o in update.new_outliers],
        "lag": update.lag,
    }


def outlier_line(outlier: Outlier) -> str:
    return (
        f"outlier  {format_timestamp(outlier.ts)}  {outlier.symbol} {outlier.currency or '-'}"
        f"  {outlier.price:.2f}  z={outlier.z:+.2f}"
    )


def status_table(
    topic: str, state: FollowState, lag: int | None, events_per_s: float | None
) -> str:
    """The running statistics, totals, writer ids, lag and rate as aligned text."""
    bad = ", ".join(f"{r} {c}" for r, c in sorted(state.undecodable.items())) or "none"
    failed = ", ".join(f"{r} {c}" for r, c in sorted(state.rule_failures.items())) or "none"
    head = (
        f"Following {topic}: {state.messages} records, {state.decoded} decoded, "
        f"bad: {bad}; rules failed: {failed}\nwriter schema ids: "
        f"{', '.join(map(str, sorted(state.writer_schema_ids))) or 'none'}; behind the end: "
        f"{'?' if lag is None else lag}; "
        f"{'-' if events_per_s is None else f'{events_per_s:,.0f}'} events/s in the last batch"
    )
    return head + "\n" + statistics_table(reported_statistics(state.groups))


class LiveView:
    """Renders updates: jsonl, a refreshing table (terminal) or plain lines (pipe)."""

    def __init__(self, topic: str, output_format: str, out: TextIO = sys.stdout) -> None:
        self.topic = topic
        self.format = output_format
        self.out = out
        self.refresh = output_format == "text" and out.isatty()
        self.drawn_lines = 0
        self.last: Update | None = None

    def show(self, update: Update) -> None:
        self.last = update
        if self.format == "jsonl":
            self.out.write(json.dumps(update_document(update)) + "\n")
        elif self.refresh:
            # Back to the table's first line, clear it, outliers (they scroll), new table.
            up = f"\x1b[{self.drawn_lines}F" if self.drawn_lines else ""
            text = status_table(self.topic, update.state, update.lag, update.events_per_s)
            lines = [outlier_line(o) for o in update.new_outliers]
            self.out.write(up + CLEAR_TO_END + "".join(f"{line}\n" for line in lines) + text + "\n")
            self.drawn_lines = text.count("\n") + 1
        else:
            for outlier in update.new_outliers:
                self.out.write(outlier_line(outlier) + "\n")
        self.out.flush()

    def final(self, state: FollowState) -> str:
        """What is left to print when the run ends: the final table (text formats),
        unless the table on a terminal already shows it."""
        if self.format == "jsonl":
            return ""
        if self.refresh and self.last is not None and self.last.state == state:
            return ""
        lag = self.last.lag if self.last else None
        rate = self.last.events_per_s if self.last else None
        return status_table(self.topic, state, lag, rate)
