"""The inspector against a private stack that these tests start, kill by pid and stop
(tests/private_stack.py; the shared stack is never touched): a broker or registry gone
is one line on every page while the app keeps serving, and it recovers when they are
back; secrets (the SASL password, the registry's user info) never reach a page."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from typing import Any
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from inspected_topic import InspectedTopic, RunningInspector, build
from playwright.sync_api import Page, expect
from private_stack import PrivateStack

from connection.clients import librdkafka_config, registry_client
from connection.settings import ConnectionSettings, add_connection_arguments, settings_from_args
from consumer.statistics_topic import StatisticsTopic, statistics_topic
from inspector.decoding import CONTRACT_TTL_S

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

RECOVERY_S = 90.0
REGISTRY_SECRET = "registry-secret-7f3a"
WRONG_PASSWORD = "wrong-password-19c2"


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    with PrivateStack.running(tmp_path_factory.mktemp("stack")) as stack:
        yield stack


def settings_of(stack: PrivateStack, **env: str) -> ConnectionSettings:
    """The settings the inspector's command line makes of the stack's environment."""
    parser = argparse.ArgumentParser()
    add_connection_arguments(parser)
    environment = stack.client_env(**env)
    args = parser.parse_args(
        [
            "--bootstrap-servers",
            environment["KAFKA_BOOTSTRAP_SERVERS"],
            "--schema-registry-url",
            environment["SCHEMA_REGISTRY_URL"],
        ]
    )
    return settings_from_args(args, environment)


@pytest.fixture(scope="module")
def private_settings(private_stack: PrivateStack) -> ConnectionSettings:
    return settings_of(private_stack)


@pytest.fixture(scope="module")
def private_topic(
    private_stack: PrivateStack, private_settings: ConnectionSettings
) -> InspectedTopic:
    return build(private_settings, registry_client(private_settings.registry))


def fetch(url: str) -> tuple[int, str]:
    try:
        with urlopen(url, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


def problem_line(page: Page, url: str) -> str:
    """The page's one-line problem (HTTP 503)."""
    answer = page.goto(url)
    assert answer is not None and answer.status == 503, url
    problem = page.locator(".problem")
    assert problem.count() == 1
    text = problem.inner_text()
    assert "\n" not in text.strip()
    return text


def until_recovered(page: Page, url: str, check: Any) -> None:
    deadline = time.monotonic() + RECOVERY_S
    while True:
        answer = page.goto(url)
        if answer is not None and answer.status == 200:
            check()
            return
        assert time.monotonic() < deadline, f"{url} did not recover in {RECOVERY_S:.0f} s"
        time.sleep(1)


def test_a_stopped_broker_is_one_line_and_the_inspector_recovers(
    page: Page,
    private_stack: PrivateStack,
    private_settings: ConnectionSettings,
    private_topic: InspectedTopic,
) -> None:
    private_stack.up()
    with RunningInspector(private_settings) as url:
        topic_url = f"{url}/topics/{private_topic.topic}"
        page.goto(topic_url)
        assert page.locator("tr.record").count() == private_topic.count

        live = page.context.new_page()
        live.goto(f"{topic_url}/live")
        private_stack.kill("kafka")

        bootstrap = private_settings.bootstrap_servers
        for path in ("", "/live", "/?limit=5"):
            line = problem_line(page, topic_url + path)
            assert line.startswith(f"Kafka broker unreachable at {bootstrap}"), line
        assert problem_line(page, url + "/").startswith("Kafka broker unreachable")
        # the app keeps serving: the registry's pages still work
        answer = page.goto(f"{url}/subjects/{private_topic.subject}")
        assert answer is not None and answer.status == 200
        # the open live page says so too, pushed
        expect(live.locator("#status")).to_contain_text("Kafka broker unreachable", timeout=20_000)

        private_stack.up()
        until_recovered(
            page,
            topic_url,
            lambda: expect(page.locator("tr.record")).to_have_count(private_topic.count),
        )
        publisher = StatisticsTopic(
            librdkafka_config(private_settings),
            registry_client(private_settings.registry),
            statistics_topic(private_topic.topic),
            private_topic.topic,
        )
        publisher.publish(
            {
                "batch_id": 0,
                "records": 1,
                "messages": 1,
                "decoded": 1,
                "undecodable": {},
                "writer_schema_ids": [private_topic.v2_id],
                "statistics": [
                    {
                        "symbol": "AAPL",
                        "currency": "USD",
                        "count": 1,
                        "min": 1.0,
                        "max": 1.0,
                        "mean": 1.0,
                        "stddev": None,
                    }
                ],
                "new_outliers": [],
                "lag": 0,
            }
        )
        expect(live.locator("#live")).to_have_attribute("data-batch-id", "0", timeout=20_000)
        expect(live.locator("#status")).to_be_hidden()


def test_a_stopped_registry_is_one_line_and_the_inspector_recovers(
    page: Page,
    private_stack: PrivateStack,
    private_settings: ConnectionSettings,
    private_topic: InspectedTopic,
) -> None:
    private_stack.up()
    with RunningInspector(private_settings) as url:
        subject_url = f"{url}/subjects/{private_topic.subject}"
        topic_url = f"{url}/topics/{private_topic.topic}"
        page.goto(topic_url)
        private_stack.kill("registry")
        time.sleep(CONTRACT_TTL_S)  # the contract read before is used until then

        registry = private_settings.registry.url
        for target in (subject_url, topic_url, url + "/"):
            line = problem_line(page, target)
            assert line.startswith(f"schema registry unreachable at {registry}"), line

        private_stack.up()
        until_recovered(
            page,
            subject_url,
            lambda: expect(page.locator("section.version")).to_have_count(2),
        )
        until_recovered(
            page,
            topic_url,
            lambda: expect(page.locator("tr.record")).to_have_count(private_topic.count),
        )


def test_no_secret_reaches_a_page(
    private_stack: PrivateStack, private_topic: InspectedTopic
) -> None:
    private_stack.up()
    password = private_stack.settings["STACK_SASL_PASSWORD"]
    sasl = {
        "KAFKA_BOOTSTRAP_SERVERS": private_stack.settings["STACK_SASL_BOOTSTRAP_SERVERS"],
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "PLAIN",
        "KAFKA_SASL_USERNAME": private_stack.settings["STACK_SASL_USERNAME"],
        "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": f"inspector:{REGISTRY_SECRET}",
    }
    topic, subject = private_topic.topic, private_topic.subject
    paths = [
        "/",
        "/index.json",
        f"/topics/{topic}",
        f"/topics/{topic}.json",
        f"/topics/{topic}/live",
        f"/topics/{topic}/live.json",
        f"/subjects/{subject}",
        f"/subjects/{subject}.json",
    ]
    secrets = (password, REGISTRY_SECRET, WRONG_PASSWORD)

    # the right password: every page works and shows none of it
    with RunningInspector(settings_of(private_stack, **sasl, KAFKA_SASL_PASSWORD=password)) as url:
        for path in paths:
            status, body = fetch(url + path)
            assert status == 200, (path, body)
            assert not any(secret in body for secret in secrets), path

    # a refused password and an unreachable registry: one-line problems, no secret either
    wrong = settings_of(
        private_stack,
        **sasl,
        KAFKA_SASL_PASSWORD=WRONG_PASSWORD,
        SCHEMA_REGISTRY_URL="http://127.0.0.1:1/apis/ccompat/v7",
    )
    with RunningInspector(wrong) as url:
        for path in paths:
            status, body = fetch(url + path)
            assert status == 503, (path, body)
            assert not any(secret in body for secret in secrets), path
