"""The inspector's pages in a real browser (Debian's Chromium through Playwright) over a
topic on the real stack: the rows it shows equal an independent decode, paging and
filters find the right records, markup in a record stays text, and every page is also
JSON."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote
from urllib.request import urlopen

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from inspected_topic import T0, XSS, InspectedTopic, expected_rows
from playwright.sync_api import Page

from connection.settings import ConnectionSettings
from connection.timestamps import format_timestamp

ROW_ATTRIBUTES = (
    "partition",
    "offset",
    "schemaId",
    "version",
    "reason",
    "rule",
    "defaulted",
    "value",
)
ROWS_SCRIPT = "rows => rows.map(row => Object.fromEntries(%s.map(n => [n, row.dataset[n]])))"


def shown_rows(page: Page) -> list[dict[str, str]]:
    """Each record row's data-* attributes, as a script reading the page sees them."""
    script = ROWS_SCRIPT % json.dumps(list(ROW_ATTRIBUTES))
    rows: list[dict[str, str]] = page.eval_on_selector_all("tr.record", script)
    return rows


def by_position(rows: list[dict[str, str]]) -> dict[tuple[int, int], dict[str, str]]:
    return {(int(r["partition"]), int(r["offset"])): r for r in rows}


def get_json(url: str) -> Any:
    with urlopen(url, timeout=30) as answer:
        return json.load(answer)


@pytest.fixture(scope="module")
def expected(
    inspected: InspectedTopic, stack_settings: ConnectionSettings, registry: SchemaRegistryClient
) -> dict[tuple[int, int], dict[str, str]]:
    return expected_rows(stack_settings, registry, inspected.topic, inspected.subject)


def test_every_row_equals_an_independent_decode(
    page: Page, inspector_url: str, inspected: InspectedTopic, expected: dict[Any, Any]
) -> None:
    page.goto(f"{inspector_url}/topics/{inspected.topic}?limit=1000")
    rows = shown_rows(page)
    assert len(rows) == inspected.count
    assert by_position(rows) == expected
    # the poison records carry the consumer's reason names, one of each
    reasons = sorted(r["reason"] for r in rows if r["reason"])
    assert reasons == sorted(
        ["null_value", "too_short", "wrong_magic_byte", "unknown_schema_id", "undecodable"]
    )
    # v1 records read through v2 with the default currency, and say so
    v1_rows = [r for r in rows if r["version"] == "1"]
    assert v1_rows and all(r["defaulted"] == "currency" for r in v1_rows)
    assert all(json.loads(r["value"])["currency"] == "USD" for r in v1_rows)
    assert {
        json.loads(r["value"])["currency"] for r in rows if r["version"] == "2" and r["value"]
    } >= {
        "USD",
        "EUR",
        "usd",
    }


def test_rows_are_newest_first_across_partitions_and_show_versions_and_bytes(
    page: Page, inspector_url: str, inspected: InspectedTopic
) -> None:
    page.goto(f"{inspector_url}/topics/{inspected.topic}")
    times = page.locator("tr.record td.time").all_inner_texts()
    assert times == sorted(times, reverse=True)
    assert times[0] == format_timestamp(T0 + timedelta(seconds=inspected.count - 1))
    v2_row = page.locator(f'tr.record[data-schema-id="{inspected.v2_id}"][data-reason=""]').first
    assert f"{inspected.subject} v2, id {inspected.v2_id}" in v2_row.inner_text()
    unknown = page.locator('tr.record[data-reason="unknown_schema_id"]')
    assert "00 77 35 94 7b 02 04 61 62" in unknown.inner_text()
    assert unknown.get_attribute("data-version") == ""
    defaulted = page.locator("tr.record .field.defaulted").first
    assert "currency" in defaulted.inner_text() and "USD" in defaulted.inner_text()


def test_paging_older_visits_every_record_once(
    page: Page, inspector_url: str, inspected: InspectedTopic, expected: dict[Any, Any]
) -> None:
    page.goto(f"{inspector_url}/topics/{inspected.topic}?limit=3")
    seen: list[tuple[int, int]] = []
    times: list[str] = []
    for _ in range(20):
        seen += by_position(shown_rows(page))
        times += page.locator("tr.record td.time").all_inner_texts()
        older = page.locator("a[rel=next]")
        if older.count() == 0:
            break
        older.click()
        page.wait_for_load_state()
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    assert times == sorted(times, reverse=True)


def test_a_partition_from_an_offset_oldest_first(
    page: Page, inspector_url: str, inspected: InspectedTopic
) -> None:
    page.goto(f"{inspector_url}/topics/{inspected.topic}?partition=1&offset=2&limit=3")
    rows = shown_rows(page)
    assert [(r["partition"], r["offset"]) for r in rows] == [("1", "2"), ("1", "3"), ("1", "4")]
    page.locator("a[rel=next]").click()
    page.wait_for_load_state()
    assert [r["offset"] for r in shown_rows(page)] == ["5", "6", "7"]
    page.locator("a[rel=prev]").click()
    page.wait_for_load_state()
    assert [r["offset"] for r in shown_rows(page)] == ["2", "3", "4"]


FIFTH = T0 + timedelta(seconds=5)


@pytest.mark.parametrize("written", [format_timestamp(FIFTH), FIFTH.isoformat()])
def test_from_a_time_starts_at_the_first_record_at_or_after_it(
    page: Page, inspector_url: str, inspected: InspectedTopic, written: str
) -> None:
    page.goto(f"{inspector_url}/topics/{inspected.topic}?from={quote(written)}&limit=4")
    times = page.locator("tr.record td.time").all_inner_texts()
    assert times == [format_timestamp(T0 + timedelta(seconds=s)) for s in range(5, 9)]


def test_a_key_filter_says_how_far_it_looked(
    page: Page, inspector_url: str, inspected: InspectedTopic
) -> None:
    page.goto(f"{inspector_url}/topics/{inspected.topic}?key=AAPL")
    keys = page.locator("tr.record td.key").all_inner_texts()
    assert keys == ["AAPL"] * 4
    scanned = page.locator("#scanned").inner_text()
    assert f"looked at {inspected.count} records" in scanned
    assert "partition 0 offsets 0 to 7" in scanned and "partition 1 offsets 0 to 7" in scanned


def test_markup_in_a_record_is_text_and_injects_nothing(
    page: Page, inspector_url: str, inspected: InspectedTopic
) -> None:
    page.goto(f"{inspector_url}/topics/{inspected.topic}?limit=1000")
    page.wait_for_timeout(300)  # an injected onerror would have fired by now
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.locator("img").count() == 0
    row = page.locator("tr.record", has_text=XSS)
    assert row.count() == 1
    assert json.loads(row.get_attribute("data-value") or "")["symbol"] == XSS
    assert XSS in row.locator(".field").nth(1).inner_text()
    assert XSS in row.locator(".header").inner_text()  # a header value, as text too


def test_headers_and_dead_letter_origins_read_as_a_table(
    page: Page, inspector_url: str, inspected: InspectedTopic
) -> None:
    page.goto(f"{inspector_url}/topics/{inspected.topic}?limit=1000")
    assert "trace-id abc-1" in page.locator("tr.record", has_text="trace-id").inner_text()
    assert "0xfffe" in page.locator("tr.record", has_text="bin").inner_text()

    page.goto(f"{inspector_url}/topics/{inspected.dead_letters}?limit=1000")
    rows = page.locator("tr.record")
    assert rows.count() == 3
    origins = page.locator("table.dead-letter").first
    cells = dict(
        zip(
            origins.locator("th").all_inner_texts(),
            origins.locator("td").all_inner_texts(),
            strict=True,
        )
    )
    assert cells["__connect.errors.topic"] == inspected.topic
    assert {"__connect.errors.partition", "__connect.errors.offset"} <= set(cells)
    rule_rows = page.locator("tr.record", has_text="__rule.name")
    assert rule_rows.count() == 2 and "price-positive" in rule_rows.first.inner_text()
    # a dead-letter topic's records read with its source topic's contract
    assert page.locator('tr.record[data-reason="undecodable"]').count() == 1
    assert page.locator('tr.record[data-version="2"][data-reason=""]').count() == 2


def test_the_index_lists_topics_with_counts_subjects_and_dead_letters(
    page: Page, inspector_url: str, inspected: InspectedTopic
) -> None:
    page.goto(inspector_url + "/")
    row = page.locator(f'tr[data-topic="{inspected.topic}"]')
    text = row.inner_text()
    assert f"{inspected.subject} v2" in text
    assert f"{inspected.dead_letters}: 3" in text
    cells = row.locator("td").all_inner_texts()
    assert cells[1:3] == ["2", str(inspected.count)]
    names = page.locator("tr[data-topic]").evaluate_all("rows => rows.map(r => r.dataset.topic)")
    assert not any(name.startswith("__") or name == "_schemas" for name in names)


def test_a_subject_shows_versions_diffs_and_the_gates_verdicts(
    page: Page, inspector_url: str, inspected: InspectedTopic
) -> None:
    page.goto(f"{inspector_url}/subjects/{inspected.subject}")
    v2 = page.locator('section.version[data-version="2"]')
    assert v2.get_attribute("data-compatible") == "true"
    assert "schema gate at BACKWARD against version 1: compatible" in v2.inner_text()
    added = v2.locator("pre.diff .add").all_inner_texts()
    assert any('"name": "currency"' in line for line in added)
    assert page.locator('section.version[data-version="1"]').inner_text().count("nothing to") == 1


def test_the_gate_names_its_rules_for_a_breaking_step(
    page: Page,
    inspector_url: str,
    registry: SchemaRegistryClient,
    inspected: InspectedTopic,
) -> None:
    subject = f"{inspected.topic}-breaking-value"
    document = json.loads(
        '{"type":"record","name":"E","fields":[{"name":"price","type":"double"}]}'
    )
    registry.set_compatibility(subject, "NONE")
    registry.register_schema(subject, Schema(json.dumps(document), "AVRO"))
    document["fields"] = [{"name": "price", "type": "string"}, {"name": "n", "type": "int"}]
    registry.register_schema(subject, Schema(json.dumps(document), "AVRO"))
    page.goto(f"{inspector_url}/subjects/{subject}")
    rules = page.locator("table.violations tr[data-rule]").evaluate_all(
        "rows => rows.map(r => r.dataset.rule)"
    )
    assert rules == []  # at NONE the gate checks nothing
    assert "no check at this level" in page.locator("p.verdict").first.inner_text()
    registry.set_compatibility(subject, "BACKWARD")
    page.goto(f"{inspector_url}/subjects/{subject}")
    rules = page.locator("table.violations tr[data-rule]").evaluate_all(
        "rows => rows.map(r => r.dataset.rule)"
    )
    assert sorted(rules) == ["FIELD_ADDED_WITHOUT_DEFAULT", "TYPE_CHANGED"]
    assert "INCOMPATIBLE" in page.locator("p.verdict").first.inner_text()


@pytest.mark.parametrize(
    "path",
    ["/index.json", "/?format=json", "/topics/{topic}.json", "/topics/{topic}?format=json"],
)
def test_every_page_is_also_json(
    inspector_url: str, inspected: InspectedTopic, expected: dict[Any, Any], path: str
) -> None:
    document = get_json(inspector_url + path.format(topic=inspected.topic))
    if "topics" in document:
        assert inspected.topic in {t["name"] for t in document["topics"]}
    else:
        positions = {(r["partition"], r["offset"]) for r in document["records"]}
        assert positions == set(expected)


def test_subject_and_live_pages_are_json_too(inspector_url: str, inspected: InspectedTopic) -> None:
    subject = get_json(f"{inspector_url}/subjects/{inspected.subject}.json")
    assert [v["version"] for v in subject["versions"]] == [1, 2]
    assert subject["versions"][1]["verdict"]["compatible"] is True
    live = get_json(f"{inspector_url}/topics/{inspected.topic}/live.json")
    assert live == {
        "topic": inspected.topic,
        "statistics_topic": f"{inspected.topic}-statistics",
        "offset": None,
        "update": None,
    }


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/topics/{topic}?limit=5000", 400, "limit: 5000 is out of range (from 1 to 1000)"),
        ("/topics/{topic}?offset=3", 400, "offset: needs partition"),
        ("/topics/{topic}?from=yesterday", 400, "from: not a time: 'yesterday'"),
        ("/topics/{topic}?partition=9", 400, "has no partition 9"),
        ("/topics/no-such-topic-here", 404, "no topic no-such-topic-here"),
        ("/subjects/no-such-subject-here", 404, "no subject no-such-subject-here"),
    ],
)
def test_a_bad_request_is_one_line(
    page: Page, inspector_url: str, inspected: InspectedTopic, path: str, status: int, says: str
) -> None:
    answer = page.goto(inspector_url + path.format(topic=inspected.topic))
    assert answer is not None and answer.status == status
    problem = page.locator(".problem")
    assert problem.count() == 1 and says in problem.inner_text()
    assert "\n" not in problem.inner_text()


def test_a_partition_from_a_time_and_a_position_past_the_end(
    page: Page, inspector_url: str, inspected: InspectedTopic
) -> None:
    since = quote(format_timestamp(FIFTH))
    page.goto(f"{inspector_url}/topics/{inspected.topic}?partition=1&from={since}&limit=2")
    assert [(r["partition"], r["offset"]) for r in shown_rows(page)] == [("1", "2"), ("1", "3")]
    answer = page.goto(f"{inspector_url}/topics/{inspected.topic}?partition=0&offset=999")
    assert answer is not None and answer.status == 200
    assert shown_rows(page) == [] and page.locator("a[rel=next]").count() == 0
    page.locator("a[rel=prev]").click()
    page.wait_for_load_state()
    assert [r["offset"] for r in shown_rows(page)] == [str(o) for o in range(8)]
