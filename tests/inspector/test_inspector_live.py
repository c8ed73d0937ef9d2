"""The live page in a real browser: an update published to the statistics topic (by the
publisher follow mode uses) shows within 2 seconds, without a reload, and the page's rows
are the update's statistics."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from inspected_topic import create_topic
from playwright.sync_api import Page, expect

from connection.clients import librdkafka_config
from connection.settings import ConnectionSettings
from consumer.statistics_topic import StatisticsTopic, statistics_topic

PUSHED_WITHIN_MS = 2000


def update(batch_id: int, symbol: str = "AAPL") -> dict[str, Any]:
    """An update document as follow mode's jsonl line holds it."""
    return {
        "batch_id": batch_id,
        "records": 10,
        "messages": 10 * (batch_id + 1),
        "decoded": 9 * (batch_id + 1),
        "undecodable": {"too_short": batch_id + 1},
        "writer_schema_ids": [1, 2],
        "statistics": [
            {
                "symbol": symbol,
                "currency": "USD",
                "count": 5 + batch_id,
                "min": 99.5,
                "max": 104.25,
                "mean": 101.125,
                "stddev": 1.75,
            },
            {
                "symbol": "MSFT",
                "currency": None,
                "count": 4 * (batch_id + 1),
                "min": 400.0,
                "max": 410.0,
                "mean": 405.0,
                "stddev": None,
            },
        ],
        "new_outliers": [
            {
                "ts": "2026-01-02 10:00:00.123",
                "symbol": symbol,
                "currency": "USD",
                "price": 180.0,
                "z": 4.5,
            }
        ],
        "lag": batch_id,
    }


def statistics_rows(page: Page) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = page.eval_on_selector_all(
        "#statistics tr",
        "rows => rows.map(r => ({symbol: r.dataset.symbol, currency: r.dataset.currency,"
        " count: r.dataset.count}))",
    )
    return rows


def expected_rows(document: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "symbol": s["symbol"],
            "currency": s["currency"] or "",
            "count": str(s["count"]),
        }
        for s in document["statistics"]
    ]


@pytest.fixture
def source_topic(stack_settings: ConnectionSettings) -> str:
    name = f"live-{uuid.uuid4().hex[:10]}"
    create_topic(stack_settings, name, 1)
    return name


def publisher(
    settings: ConnectionSettings, registry: SchemaRegistryClient, topic: str
) -> StatisticsTopic:
    return StatisticsTopic(librdkafka_config(settings), registry, statistics_topic(topic), topic)


def wait_for_batch(page: Page, batch_id: int) -> None:
    """Until the page shows batch_id; fails after PUSHED_WITHIN_MS (the page's own
    Content-Security-Policy holds: the check runs in Playwright's injected script)."""
    expect(page.locator("#live")).to_have_attribute(
        "data-batch-id", str(batch_id), timeout=PUSHED_WITHIN_MS
    )


def test_published_updates_show_within_two_seconds_without_a_reload(
    page: Page,
    inspector_url: str,
    stack_settings: ConnectionSettings,
    registry: SchemaRegistryClient,
    source_topic: str,
) -> None:
    page.goto(f"{inspector_url}/topics/{source_topic}/live")
    assert page.locator("#live").get_attribute("data-batch-id") == ""
    assert "no update yet" in page.locator("#batch").inner_text()
    page.evaluate("window.notReloaded = true")
    topic = publisher(stack_settings, registry, source_topic)
    for batch_id in range(3):
        document = update(batch_id)
        topic.publish(document)  # returns once the broker acknowledged it
        wait_for_batch(page, batch_id)
        assert statistics_rows(page) == expected_rows(document)
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#batch").inner_text() == "batch 2"
    assert page.locator('[data-total="messages"]').inner_text() == "30"
    assert page.locator('[data-total="undecodable"]').inner_text() == "too_short 3"
    assert page.locator("#outliers tr").count() == 3
    first_row = page.locator("#statistics tr").first.inner_text().split("\t")
    assert first_row == ["AAPL", "USD", "7", "99.50", "104.25", "101.13", "1.75"]


def test_the_page_starts_at_the_latest_update_and_shows_its_numbers(
    page: Page,
    inspector_url: str,
    stack_settings: ConnectionSettings,
    registry: SchemaRegistryClient,
    source_topic: str,
) -> None:
    topic = publisher(stack_settings, registry, source_topic)
    topic.publish(update(0))
    topic.publish(update(1, symbol="<b>bold</b>"))
    page.goto(f"{inspector_url}/topics/{source_topic}/live")
    assert page.locator("#live").get_attribute("data-batch-id") == "1"
    assert statistics_rows(page) == expected_rows(update(1, symbol="<b>bold</b>"))
    assert page.locator("#statistics b").count() == 0  # markup in a symbol stays text
    page.evaluate("window.notReloaded = true")
    topic.publish(update(2, symbol="<b>bold</b>"))
    wait_for_batch(page, 2)
    assert statistics_rows(page) == expected_rows(update(2, symbol="<b>bold</b>"))
    assert page.locator("#statistics b, #outliers b").count() == 0
    assert page.evaluate("window.notReloaded") is True


def test_the_live_page_as_json_is_the_latest_update(
    inspector_url: str,
    stack_settings: ConnectionSettings,
    registry: SchemaRegistryClient,
    source_topic: str,
) -> None:
    import json
    from urllib.request import urlopen

    topic = publisher(stack_settings, registry, source_topic)
    topic.publish(update(0))
    with urlopen(f"{inspector_url}/topics/{source_topic}/live.json", timeout=30) as answer:
        document = json.load(answer)
    assert document["update"] == {**update(0), "rule_failures": {}}
    assert document["statistics_topic"] == f"{source_topic}-statistics"
