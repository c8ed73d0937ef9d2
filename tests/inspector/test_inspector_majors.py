"""A topic across a breaking change in the inspector, in Chromium: v2 records (registered
as major 1) and major-2 records (docs/examples/major-2) under one subject. Read into the
latest version (major 2), the v2 rows are migrated up and marked, their value as written a
click away; with ?major=1 the major-2 rows are migrated down."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from contract_files import V2_SCHEMA_FILE, V3_RULES_FILE, V3_SCHEMA_FILE
from inspected_topic import Written, create_topic, framed, write
from playwright.sync_api import Page

from connection.paths import RULES_FILE
from connection.settings import ConnectionSettings
from contract.registering import register_version
from contract.rules import MAJOR_PROPERTY, RulesDocument, load_rules_document

pytestmark = pytest.mark.integration

T0 = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def majors_topic(stack_settings: ConnectionSettings, registry: SchemaRegistryClient) -> str:
    topic = f"test-majors-{uuid.uuid4().hex[:12]}"
    subject = f"{topic}-value"
    settings = stack_settings.registry
    major_1 = RulesDocument(load_rules_document(RULES_FILE).rule_set, {MAJOR_PROPERTY: "1"})
    v2 = register_version(registry, settings, subject, V2_SCHEMA_FILE.read_text(), major_1)
    v3 = register_version(
        registry,
        settings,
        subject,
        V3_SCHEMA_FILE.read_text(),
        load_rules_document(V3_RULES_FILE),
        new_major_checked=True,
    )
    old = {"ts": T0, "symbol": "AAPL", "price": 238.01, "currency": "EUR"}
    new = {"ts": T0 + timedelta(seconds=1), "ticker": "MSFT", "price_cents": 41234}
    create_topic(stack_settings, topic, 1)
    write(
        stack_settings,
        topic,
        [
            Written(0, None, framed(v2.schema_id, V2_SCHEMA_FILE.read_text(), old)),
            Written(
                0,
                None,
                framed(v3.schema_id, V3_SCHEMA_FILE.read_text(), {**new, "currency": "USD"}),
            ),
        ],
    )
    return topic


def rows(url: str) -> list[dict[str, Any]]:
    with urlopen(url, timeout=30) as answer:
        document: dict[str, Any] = json.load(answer)
    return sorted(document["records"], key=lambda row: row["offset"])


def test_the_latest_major_reads_the_history_migrated_up_and_marks_it(
    page: Page, inspector_url: str, majors_topic: str
) -> None:
    page.goto(f"{inspector_url}/topics/{majors_topic}")
    old = page.locator('tr.record[data-offset="0"]')
    assert old.get_attribute("data-migrated-by") == "price-to-cents"
    assert old.get_attribute("data-written-version") == "1"
    value = json.loads(old.get_attribute("data-value") or "")
    assert value == {"ts": value["ts"], "ticker": "AAPL", "price_cents": 23801, "currency": "EUR"}
    as_written = old.locator("details.written .as-written")
    assert not as_written.is_visible()
    old.locator("details.written summary").click()
    assert "price 238.01" in as_written.inner_text()
    new = page.locator('tr.record[data-offset="1"]')
    assert new.get_attribute("data-migrated-by") is None
    assert "major 2" in page.locator("body").inner_text()


def test_major_1_reads_the_new_major_migrated_down(inspector_url: str, majors_topic: str) -> None:
    found = rows(f"{inspector_url}/topics/{majors_topic}?major=1&format=json")
    assert found[1]["migrated_by"] == ["cents-to-price"]
    assert found[1]["value"]["price"] == 412.34 and found[1]["value"]["symbol"] == "MSFT"
    assert found[1]["written"]["price_cents"] == 41234
    assert found[0]["migrated_by"] == []


def test_a_major_the_subject_lacks_is_one_line(inspector_url: str, majors_topic: str) -> None:
    with pytest.raises(HTTPError) as answer:
        urlopen(f"{inspector_url}/topics/{majors_topic}?major=7", timeout=30)
    assert answer.value.code == 400
    assert "has no version of major 7" in answer.value.read().decode()


def test_the_subject_page_shows_majors_migration_rules_and_the_gates_verdict(
    page: Page, inspector_url: str, majors_topic: str
) -> None:
    page.goto(f"{inspector_url}/subjects/{majors_topic}-value")
    v2 = page.locator('section.version[data-version="2"]')
    assert v2.get_attribute("data-major") == "2"
    assert v2.get_attribute("data-new-major") == "true"
    assert v2.get_attribute("data-compatible") == "true"
    groups = v2.locator("table.rules tr[data-group]").evaluate_all(
        "rows => rows.map(r => [r.dataset.group, r.cells[0].innerText])"
    )
    assert ["migration", "price-to-cents"] in groups and ["migration", "cents-to-price"] in groups
    assert "new major" in v2.locator("p.verdict").inner_text()
    assert page.locator('section.version[data-version="1"]').get_attribute("data-major") == "1"
