"""python -m producer's argument parsing and summary line, without a stack."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connection.defaults import DEFAULTS
from connection.paths import CONTRACT_FILE
from producer.__main__ import parse_args, summary_line
from producer.run import ProduceSummary
from producer.send import DeliveryReport

ENV_NAMES = ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "KAFKA_TOPIC")


@pytest.fixture(autouse=True)
def no_connection_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one stderr line of a refused command line (exit code 2)."""
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("python -m producer: error: ")
    return lines[0]


def test_defaults() -> None:
    args = parse_args([])
    assert args.count == DEFAULTS.event_count == 5000
    assert args.topic == DEFAULTS.topic == "prices"
    assert args.bootstrap_servers == DEFAULTS.bootstrap_servers == "127.0.0.1:9092"
    assert args.schema_registry_url == DEFAULTS.schema_registry_url
    assert (args.seed, args.start, args.anomalies, args.currency) == (None, None, 0, None)
    assert (args.partitions, args.delivery_timeout) == (DEFAULTS.partitions, 30)
    assert args.schema == CONTRACT_FILE


def test_currency_is_repeatable_and_upper_cased() -> None:
    assert parse_args(["--currency", "usd", "--currency", "EUR"]).currency == ["USD", "EUR"]


def test_environment_is_the_fallback_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:29092")
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", "http://registry:8081/")
    monkeypatch.setenv("KAFKA_TOPIC", "ticks")
    args = parse_args([])
    assert (args.bootstrap_servers, args.schema_registry_url, args.topic) == (
        "kafka:29092",
        "http://registry:8081",
        "ticks",
    )
    args = parse_args(
        ["--bootstrap-servers", "b:1", "--schema-registry-url", "https://r", "--topic", "t"]
    )
    assert (args.bootstrap_servers, args.schema_registry_url, args.topic) == (
        "b:1",
        "https://r",
        "t",
    )


def test_numbers_and_start_are_parsed() -> None:
    args = parse_args(
        ["--count", "10", "--seed", "0", "--anomalies", "10", "--start", "2026-11-27 09:30:00.250"]
    )
    assert (args.count, args.seed, args.anomalies) == (10, 0, 10)
    assert args.start == datetime(2026, 11, 27, 9, 30, 0, 250000, timezone.utc)
    assert parse_args(["--start", "2026-11-27T10:30:00+01:00"]).start == datetime(
        2026, 11, 27, 9, 30, tzinfo=timezone.utc
    )


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        (["--count", "0"], "--count: must be at least 1, got 0"),
        (["--count", "-1"], "--count: must be at least 1, got -1"),
        (["--count", "abc"], "--count: not a whole number: 'abc'"),
        (["--count", "1.5"], "--count: not a whole number"),
        (["--anomalies", "-1"], "--anomalies: must be at least 0, got -1"),
        (["--count", "5", "--anomalies", "6"], "--anomalies (6) cannot exceed --count (5)"),
        (["--seed", "x"], "--seed: not a whole number"),
        (["--partitions", "0"], "--partitions: must be at least 1"),
        (["--delivery-timeout", "0"], "--delivery-timeout: must be at least 1"),
        (["--compression", "brotli"], "argument --compression: invalid choice: 'brotli'"),
        (["--start", "yesterday"], "--start: not a timestamp like"),
        (["--topic", "bad topic"], "--topic: not a legal Kafka topic name"),
        (["--bootstrap-servers", "localhost"], "--bootstrap-servers: not a host:port list"),
        (["--schema-registry-url", "localhost:8081"], "--schema-registry-url: not an http(s) URL"),
        (["--cuont", "5"], "unrecognized arguments: --cuont 5"),
        (["--currency", "EURO"], "--currency: not a currency code like USD or EUR: 'EURO'"),
        (["--currency", "E1R"], "--currency: not a currency code"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    argv: list[str], mentions: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mentions in usage_error(argv, capsys)


def test_bad_environment_value_is_a_usage_error_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "no-port")
    assert "--bootstrap-servers: not a host:port list" in usage_error([], capsys)


def test_summary_line_has_counts_topic_schema_time_and_replay() -> None:
    summary = ProduceSummary(
        topic="prices",
        subject="prices-value",
        schema_id=4,
        schema_version=2,
        report=DeliveryReport(sent=5000),
        seconds=0.234,
        seed=42,
        start=datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc),
        currencies=("USD", "EUR"),
    )
    assert summary_line(summary) == (
        "sent 5000 events, 5000 acknowledged, to topic prices (subject prices-value, "
        "schema id 4, version 2) in 0.23 s; dead-lettered: none; replay: --seed 42 "
        "--start '2026-11-27 09:30:00.000' --currency USD --currency EUR"
    )
    refusing = replace(summary, violations=0.02, dead_lettered={"price-positive": 3})
    assert "; dead-lettered: price-positive 3; " in summary_line(refusing)
    assert summary_line(refusing).endswith(" --inject-violations 0.02")


class FakeKafkaError:
    def str(self) -> str:
        return "Broker: Message size too large"


@given(st.lists(st.sampled_from(["ok", "failed", "pending"]), max_size=30))
def test_a_run_is_complete_only_when_every_sent_event_was_acknowledged(
    outcomes: list[str],
) -> None:
    report = DeliveryReport(sent=len(outcomes))
    for outcome in outcomes:
        if outcome == "failed":  # only failures are reported per message
            report.on_delivery(FakeKafkaError(), None)  # type: ignore[arg-type]
    report.unresolved = outcomes.count("pending")
    assert report.complete == all(outcome == "ok" for outcome in outcomes)
    assert report.acknowledged == outcomes.count("ok")
    assert report.failed == outcomes.count("failed")
    assert (report.first_error is None) == ("failed" not in outcomes)


def test_a_message_the_client_refused_makes_the_run_incomplete() -> None:
    report = DeliveryReport(sent=3)
    report.refused(FakeKafkaError())  # type: ignore[arg-type]
    assert not report.complete
    assert report.first_error == "Broker: Message size too large"
