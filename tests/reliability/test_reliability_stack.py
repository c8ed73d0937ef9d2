"""Reliability against a private stack that these tests start, kill by pid, and stop.

The shared stack (default ports) is never touched: this module starts its own Kafka and
registry once (tests/private_stack.py: own STACK_HOME under pytest's tmp dir, free
loopback ports, the shared download cache), kills services by the pids local-stack.sh
wrote, restarts them with `local-stack.sh up` on the same data, and stops everything at
teardown. Its broker also has the SASL_PLAINTEXT (PLAIN) listener that the
secured-cluster cases use.

Tests are ordered so the stack is restarted as little as possible; each still brings
back whatever it needs (`PrivateStack.up` restarts only missing services).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from cli_runs import run_cli, start_cli, wait_for
from private_stack import PrivateStack
from topic_offsets import end_offsets, expected_events, message_count, topic_events

from producer.events import GeneratorPlan, generate_events

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
SPARK_RUN_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    with PrivateStack.running(tmp_path_factory.mktemp("stack")) as stack:
        yield stack


def sasl_env(stack: PrivateStack, password: str) -> dict[str, str]:
    """A run against the broker's SASL_PLAINTEXT (PLAIN) listener with password."""
    return stack.client_env(
        KAFKA_BOOTSTRAP_SERVERS=stack.settings["STACK_SASL_BOOTSTRAP_SERVERS"],
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SASL_MECHANISM="PLAIN",
        KAFKA_SASL_USERNAME=stack.settings["STACK_SASL_USERNAME"],
        KAFKA_SASL_PASSWORD=password,
    )


def one_line_failure(stdout: str, stderr: str, prefix: str) -> str:
    """The single stderr line of a failed run (nothing on stdout, no traceback)."""
    assert stdout == ""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if "incubator" not in line]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]


def plan_args(plan: GeneratorPlan) -> list[str]:
    return ["--count", str(plan.count), "--seed", str(plan.seed), "--start", f"{plan.start}"]


def new_topic() -> str:
    return f"test-reliability-{uuid.uuid4().hex[:12]}"


# --- secured cluster: the broker's SASL_PLAINTEXT (PLAIN) listener ------------------------


def test_producer_and_consumer_work_end_to_end_over_sasl_with_the_right_credentials(
    private_stack: PrivateStack,
) -> None:
    private_stack.up()
    password = private_stack.settings["STACK_SASL_PASSWORD"]
    env = sasl_env(private_stack, password)
    plan = GeneratorPlan(count=3000, seed=606, start=START)
    topic = new_topic()

    produced = run_cli("producer", env, "--topic", topic, *plan_args(plan))
    assert produced.returncode == 0, produced.stderr
    assert produced.stdout.startswith("sent 3000 events, 3000 acknowledged")
    consumed = run_cli(
        "consumer", env, "--topic", topic, "--format", "json", timeout=SPARK_RUN_TIMEOUT_S
    )
    assert consumed.returncode == 0, consumed.stderr
    report = json.loads(consumed.stdout)
    assert report["messages"] == report["decoded"] == plan.count
    symbols = Counter(event.symbol for event in generate_events(plan))
    assert {s["symbol"]: s["count"] for s in report["statistics"]} == symbols
    for run in (produced, consumed):
        assert password not in run.stdout + run.stderr


@pytest.mark.parametrize("cli", ["producer", "consumer"])
def test_wrong_sasl_password_fails_fast_with_an_authentication_error_and_no_secret(
    private_stack: PrivateStack, cli: str
) -> None:
    private_stack.up()
    wrong = f"not-the-password-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    result = run_cli(cli, sasl_env(private_stack, wrong), "--topic", new_topic(), timeout=60)
    seconds = time.monotonic() - started
    assert result.returncode == 1
    line = one_line_failure(result.stdout, result.stderr, f"{cli}: error: ")
    assert "refused the credentials" in line and "Authentication failed" in line
    assert seconds < 8, f"{cli} took {seconds:.1f} s to report the refused login"
    for secret in (wrong, private_stack.settings["STACK_SASL_PASSWORD"]):
        assert secret not in result.stdout + result.stderr


# --- broker outages -------------------------------------------------------------------


def test_broker_killed_and_restarted_mid_run_loses_and_duplicates_nothing(
    private_stack: PrivateStack,
) -> None:
    private_stack.up()
    plan = GeneratorPlan(count=1_000_000, seed=1_000_001, start=START)
    topic = new_topic()
    bootstrap = private_stack.bootstrap
    producer = start_cli(
        "producer",
        private_stack.client_env(),
        "--topic",
        topic,
        *plan_args(plan),
        "--delivery-timeout",
        "120",
    )
    try:
        wait_for(
            lambda: message_count(bootstrap, topic) >= 150_000,
            "150,000 acknowledged events",
            timeout=180,
        )
        assert producer.poll() is None, "the producer finished before the broker was killed"
        private_stack.kill("kafka")
        time.sleep(3)
        private_stack.up()  # same data dir: only the broker is restarted
        stdout, stderr = producer.communicate(timeout=300)
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.communicate()
    assert producer.returncode == 0, stderr
    assert stdout.startswith("sent 1000000 events, 1000000 acknowledged"), stdout
    assert message_count(bootstrap, topic) == plan.count
    assert topic_events(bootstrap, topic) == expected_events(plan)


def test_broker_down_for_good_makes_the_producer_give_up_within_two_delivery_timeouts(
    private_stack: PrivateStack,
) -> None:
    private_stack.up()
    delivery_timeout_s = 10
    topic = new_topic()
    bootstrap = private_stack.bootstrap
    producer = start_cli(
        "producer",
        private_stack.client_env(),
        "--topic",
        topic,
        "--count",
        "1000000",
        "--delivery-timeout",
        str(delivery_timeout_s),
    )
    try:
        wait_for(
            lambda: message_count(bootstrap, topic) >= 50_000,
            "50,000 acknowledged events",
            timeout=180,
        )
        assert producer.poll() is None, "the producer finished before the broker was killed"
        private_stack.kill("kafka")
        killed = time.monotonic()
        stdout, stderr = producer.communicate(timeout=6 * delivery_timeout_s)
        gave_up_after = time.monotonic() - killed
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.communicate()
    assert producer.returncode == 1
    line = one_line_failure(stdout, stderr, "producer: error: ")
    found = re.search(r"only (\d+) of 1000000 events were acknowledged", line)
    assert found, line
    assert "Message timed out" in line
    assert gave_up_after <= 2 * delivery_timeout_s + 5, f"gave up after {gave_up_after:.1f} s"
    # What the line calls acknowledged is in the topic once the broker is back.
    private_stack.up()
    acknowledged = int(found.group(1))
    assert 50_000 <= acknowledged <= message_count(bootstrap, topic) < 1_000_000


# --- registry outage (last: the registry stays down until teardown) ----------------------


def test_registry_down_at_start_fails_both_clients_in_one_line_and_writes_nothing(
    private_stack: PrivateStack,
) -> None:
    private_stack.up()
    env = private_stack.client_env()
    written = new_topic()
    seeded = run_cli("producer", env, "--topic", written, "--count", "100")
    assert seeded.returncode == 0, seeded.stderr
    private_stack.kill("registry")
    unreachable = f"schema registry unreachable at {private_stack.registry_url}"

    missing = new_topic()
    started = time.monotonic()
    result = run_cli("producer", env, "--topic", missing, timeout=60)
    assert result.returncode == 1
    assert unreachable in one_line_failure(result.stdout, result.stderr, "producer: error: ")
    assert end_offsets(private_stack.bootstrap, missing) is None  # no topic, no event
    result = run_cli("producer", env, "--topic", written, timeout=60)
    assert result.returncode == 1
    assert message_count(private_stack.bootstrap, written) == 100  # none added
    producer_seconds = time.monotonic() - started

    result = run_cli("consumer", env, "--topic", written, timeout=60)
    assert result.returncode == 1
    assert unreachable in one_line_failure(result.stdout, result.stderr, "consumer: error: ")
    assert producer_seconds < 30, f"two producer runs took {producer_seconds:.1f} s"
