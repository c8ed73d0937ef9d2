"""The docs' samples are what the code writes: the README's report is the text view's
own rendering, the JSON samples fit their published schemas; and the venv's python is
explained once, in the README."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import jsonschema
import pytest
from docs_text import ELIDED, code_blocks, docs, readme_sample, table_rows

from consumer.report import GroupStatistics, Outlier, Report
from consumer.views.json import REPORT_SCHEMA_FILE
from consumer.views.text import render_text

FOLLOW_SCHEMA_FILE = REPORT_SCHEMA_FILE.with_name("follow.schema.json")
HEADER = re.compile(r"^Topic (?P<topic>\S+): (?P<messages>\d+) messages, (?P<decoded>\d+) decoded$")
SCHEMAS = re.compile(r"^reader schema: (?P<reader>.+); writer schema ids: (?P<ids>[\d, ]+)$")
OUTLIERS = re.compile(r"^Outliers: (?P<count>\d+) \(price more than (?P<z>[\d.]+) standard")


def report_from_sample(lines: list[str]) -> tuple[Report, int]:
    """The Report the sample shows, and how many of its outliers it lists."""
    header, schemas = HEADER.match(lines[0]), SCHEMAS.match(lines[1])
    assert header and schemas, "the sample starts with the report's two header lines"
    outliers_line = next(line for line in lines if line.startswith("Outliers: "))
    outliers_heading = OUTLIERS.match(outliers_line)
    assert outliers_heading, outliers_line
    (statistics_at, statistics_rows), (_, outlier_rows) = table_rows(lines).items()
    assert lines[statistics_at].split() == [
        "symbol", "currency", "count", "min", "max", "mean", "stddev"
    ]  # fmt: skip
    statistics = []
    for row in statistics_rows:
        symbol, currency, count, low, high, mean, stddev = lines[row].split()
        statistics.append(
            GroupStatistics(symbol, currency, int(count), float(low), float(high), float(mean),
                            None if stddev == "-" else float(stddev))
        )  # fmt: skip
    listed = []
    for row in outlier_rows:
        if lines[row] == ELIDED:
            continue
        day, time_of_day, symbol, currency, price = lines[row].split()
        ts = datetime.fromisoformat(f"{day}T{time_of_day}").replace(tzinfo=timezone.utc)
        listed.append(Outlier(ts, symbol, currency, float(price), z=0.0))
    shown = int(outliers_heading["count"])
    assert 0 < len(listed) <= shown
    report = Report(
        topic=header["topic"],
        messages=int(header["messages"]),
        decoded=int(header["decoded"]),
        reader_schema=schemas["reader"],
        writer_schema_ids=[int(i) for i in schemas["ids"].split(", ")],
        z_threshold=float(outliers_heading["z"]),
        statistics=statistics,
        outliers=listed + [listed[-1]] * (shown - len(listed)),
    )
    return report, len(listed)


def test_the_readme_sample_report_is_what_the_text_view_renders() -> None:
    sample = readme_sample()
    report, listed = report_from_sample(sample)
    rendered = render_text(report).splitlines()
    if listed < len(report.outliers):  # the sample elides the outliers it does not list
        last_listed = len(rendered) - (len(report.outliers) - listed)
        rendered = [*rendered[:last_listed], ELIDED]
    assert sample == rendered


def json_samples() -> list[tuple[str, object]]:
    found = []
    for doc in docs():
        for block in code_blocks(doc):
            if block.info != "json":
                continue
            where = f"{doc.name}:{block.line}"
            try:
                found.append((where, json.loads(block.body)))
            except json.JSONDecodeError:  # JSON lines
                found += [(where, json.loads(line)) for line in block.body.splitlines()]
    return found


@pytest.mark.parametrize("where, sample", json_samples(), ids=[w for w, _ in json_samples()])
def test_every_json_sample_fits_its_schema(where: str, sample: object) -> None:
    assert isinstance(sample, dict), where
    if "report_version" in sample:
        schema_file = REPORT_SCHEMA_FILE
    elif "batch_id" in sample:
        schema_file = FOLLOW_SCHEMA_FILE
    else:  # python -m consumer records --format jsonl: no published schema
        assert set(sample) == {
            "partition", "offset", "timestamp", "key", "schema_id", "subject_version", "value",
            "reason",
        }, where  # fmt: skip
        return
    jsonschema.validate(sample, json.loads(schema_file.read_text()))


def test_the_docs_show_a_report_and_a_follow_sample() -> None:
    kinds = {next(iter(sample)) for _, sample in json_samples() if isinstance(sample, dict)}
    assert {"report_version", "batch_id"} <= kinds


def test_the_venv_python_is_explained_once_in_the_readme() -> None:
    """The README says to activate .venv; everywhere else commands are plain python."""
    activations = [
        doc.name for doc in docs() for _ in re.finditer(r"\.venv/bin/activate", doc.text)
    ]
    assert activations == ["README.md"]
    for doc in docs():
        assert ".venv/bin/python" not in doc.text, doc.name
