"""Rendering a Report as text, JSON and a plot: no Spark, no Kafka."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import jsonschema
import pytest

from consumer.report import (
    GroupStatistics,
    Histogram,
    Outlier,
    RecordLocation,
    Report,
    Undecodable,
)
from consumer.views.json import REPORT_SCHEMA_FILE, render_json
from consumer.views.plot import draw_report
from consumer.views.table import table
from consumer.views.text import render_text

REPORT_SCHEMA = json.loads(REPORT_SCHEMA_FILE.read_text())
NEW_YORK = timezone(timedelta(hours=-5))

REPORT = Report(
    topic="prices",
    messages=12,
    decoded=9,
    reader_schema="prices-value version 2 (id 7)",
    writer_schema_ids=[3, 7],
    z_threshold=3.0,
    statistics=[
        GroupStatistics("AAPL", "EUR", 8, 199.5, 1234.25, 300.123456, 12.5),
        GroupStatistics("AAPL", "USD", 3, 230.0, 240.0, 235.0, 5.0),
        GroupStatistics("TSLA", "USD", 1, 245.0, 245.0, 245.0, None),
    ],
    outliers=[
        Outlier(
            datetime(2026, 11, 27, 9, 30, 0, 7000, tzinfo=timezone.utc), "AAPL", "EUR", 1234.25, 3.5
        ),
        # the same instant as 14:30:01.5 UTC, given in another zone
        Outlier(
            datetime(2026, 11, 27, 9, 30, 1, 500000, tzinfo=NEW_YORK), "AAPL", "EUR", 199.5, -3.1
        ),
    ],
    histograms=[
        Histogram("AAPL", "EUR", 199.5, 1234.25, [6, 0, 2]),
        Histogram("AAPL", "USD", 230.0, 240.0, [1, 1, 1]),
        Histogram("TSLA", "USD", 245.0, 245.0, [1, 0, 0]),
    ],
    undecodable=[
        Undecodable("null_value", 1, [RecordLocation(0, 9)]),
        Undecodable("wrong_magic_byte", 2, [RecordLocation(1, 0), RecordLocation(2, 15)]),
    ],
)


def test_table_pads_columns_to_the_widest_cell_and_right_aligns_numbers() -> None:
    text = table(["symbol", "count"], [["AAPL", "8"], ["GOOGL", "1234567"]], right={1})
    assert text.splitlines() == [
        "symbol    count",
        "------  -------",
        "AAPL          8",
        "GOOGL   1234567",
    ]


def test_text_report_prints_outlier_times_in_utc_with_milliseconds() -> None:
    text = render_text(REPORT)
    assert "2026-11-27 09:30:00.007  AAPL    EUR       1234.25" in text
    assert "2026-11-27 14:30:01.500  AAPL    EUR        199.50" in text


def test_text_report_tables_are_aligned_and_say_which_stddev() -> None:
    text = render_text(REPORT)
    assert "(stddev: sample standard deviation, n - 1)" in text
    lines = text.splitlines()
    header = lines.index("symbol  currency  count     min      max      mean   stddev")
    assert lines[header + 1 : header + 5] == [
        "------  --------  -----  ------  -------  --------  -------",
        "AAPL    EUR           8  199.50  1234.25  300.1235  12.5000",
        "AAPL    USD           3  230.00   240.00  235.0000   5.0000",
        "TSLA    USD           1  245.00   245.00  245.0000        -",
    ]


def test_text_report_without_a_currency_field_shows_a_dash() -> None:
    stats = [GroupStatistics("AAPL", None, 2, 1.0, 3.0, 2.0, 1.4142)]
    text = render_text(Report(**{**REPORT.__dict__, "statistics": stats, "outliers": []}))
    assert "AAPL    -             2" in text


def test_text_report_lists_undecodable_records_with_examples() -> None:
    text = render_text(REPORT)
    assert "Not decoded: 3 records (left out of the statistics)" in text
    assert "wrong_magic_byte      2  1/0, 2/15" in text


def test_text_report_without_undecodable_records_has_no_such_section() -> None:
    clean = Report(**{**REPORT.__dict__, "messages": 9, "undecodable": []})
    assert "Not decoded" not in render_text(clean)


def test_json_report_validates_against_the_documented_schema() -> None:
    document = json.loads(render_json(REPORT))
    jsonschema.validate(document, REPORT_SCHEMA)
    assert document["stddev"] == "sample"
    assert document["report_version"] == 4
    assert [(s["symbol"], s["currency"]) for s in document["statistics"]] == [
        ("AAPL", "EUR"),
        ("AAPL", "USD"),
        ("TSLA", "USD"),
    ]
    assert document["statistics"][2]["stddev"] is None
    assert {o["currency"] for o in document["outliers"]} == {"EUR"}
    assert [o["ts"] for o in document["outliers"]] == [
        "2026-11-27 09:30:00.007",
        "2026-11-27 14:30:01.500",
    ]


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("undecodable"),
        lambda d: d["outliers"][0].update(ts="2026-11-27T09:30:00Z"),
        lambda d: d["undecodable"][0].update(reason="gremlins"),
        lambda d: d.update(extra=1),
        lambda d: d["statistics"][0].pop("currency"),
        lambda d: d["outliers"][0].pop("currency"),
        lambda d: d.update(report_version=1),
    ],
)
def test_documented_schema_rejects_documents_of_another_shape(
    breakage: Callable[[dict[str, Any]], object],
) -> None:
    document = json.loads(render_json(REPORT))
    breakage(document)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, REPORT_SCHEMA)


def test_plot_has_one_panel_per_group_each_labelled_with_its_own_currency() -> None:
    figure = draw_report(REPORT)
    axes = figure.get_axes()
    assert [axis.get_title(loc="left") for axis in axes] == [
        "AAPL in EUR: 8 events",
        "AAPL in USD: 3 events",
        "TSLA in USD: 1 events",
    ]
    assert [axis.get_xlabel() for axis in axes] == ["price (EUR)", "price (USD)", "price (USD)"]
