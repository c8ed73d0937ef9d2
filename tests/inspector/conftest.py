"""The inspector served for real (uvicorn on a free loopback port) over a topic written on
the real stack, and Debian's Chromium driven by Playwright (no browser of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from inspected_topic import InspectedTopic, RunningInspector, build
from playwright.sync_api import Browser, Page, sync_playwright

from connection.settings import ConnectionSettings, RegistrySettings

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def stack_settings(stack: dict[str, str]) -> ConnectionSettings:
    return ConnectionSettings(
        bootstrap_servers=stack["KAFKA_BOOTSTRAP_SERVERS"],
        registry=RegistrySettings(stack["SCHEMA_REGISTRY_URL"]),
        topic="prices",
    )


@pytest.fixture(scope="module")
def inspected(stack_settings: ConnectionSettings, registry: SchemaRegistryClient) -> InspectedTopic:
    return build(stack_settings, registry)


@pytest.fixture(scope="module")
def inspector_url(stack_settings: ConnectionSettings) -> Iterator[str]:
    with RunningInspector(stack_settings) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: make browser installs Debian's chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab; any JavaScript dialog it opens (an alert an injected script would
    raise) is recorded in page.dialogs and dismissed."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tab.dialogs = dialogs  # type: ignore[attr-defined]
    yield tab
    context.close()
