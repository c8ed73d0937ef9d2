"""The event generator, without a stack: reproducible, per-symbol, cents, known anomalies."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import combinations, pairwise

import pytest
from contract_files import V1_SCHEMA_FILE

from connection.timestamps import format_timestamp
from producer.__main__ import main as producer_main
from producer.events import (
    ANOMALY_MAX_SIGMA,
    ANOMALY_MIN_SIGMA,
    MOCK_USD_RATES,
    SYMBOL_MODELS,
    SYMBOLS,
    GeneratorPlan,
    PriceEvent,
    anomaly_positions,
    generate_batches,
    generate_events,
    generate_records,
)

START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
TIMESTAMP_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}")


def events(count: int = 5000, seed: int = 7, anomalies: int = 0) -> list[PriceEvent]:
    return list(generate_events(GeneratorPlan(count, seed, START, anomalies)))


def sigmas_off(event: PriceEvent) -> float:
    model = SYMBOL_MODELS[event.symbol]
    return abs(event.price - model.level) / model.sigma


def test_same_seed_and_start_give_the_same_events() -> None:
    assert events(seed=11) == events(seed=11)


def test_another_seed_gives_other_events() -> None:
    assert events(seed=11) != events(seed=12)


def test_count_is_exact() -> None:
    assert len(events(count=1234)) == 1234


def test_there_are_exactly_five_symbols_and_all_occur() -> None:
    assert len(SYMBOLS) == 5
    assert {event.symbol for event in events()} == set(SYMBOLS)


def test_per_symbol_levels_and_spreads_differ() -> None:
    by_symbol = {s: [e.price for e in events() if e.symbol == s] for s in SYMBOLS}
    means = {s: statistics.fmean(prices) for s, prices in by_symbol.items()}
    spreads = {s: statistics.stdev(prices) for s, prices in by_symbol.items()}
    for a, b in combinations(SYMBOLS, 2):
        assert abs(means[a] - means[b]) > 5, (a, b, means)
    assert max(spreads.values()) > 2 * min(spreads.values()), spreads


def test_prices_have_at_most_two_decimal_places() -> None:
    for event in events():
        assert Decimal(repr(event.price)).as_tuple().exponent >= -2, event  # type: ignore[operator]
        assert event.price > 0


def test_a_few_natural_outliers_exist_without_injected_anomalies() -> None:
    beyond_3_sigma = [e for e in events() if sigmas_off(e) > 3]
    assert 0 < len(beyond_3_sigma) < 50
    assert all(sigmas_off(e) < ANOMALY_MIN_SIGMA for e in events())


def test_timestamps_increase_from_start_in_whole_milliseconds() -> None:
    timestamps = [event.ts for event in events()]
    assert timestamps[0] > START
    assert all(a < b for a, b in pairwise(timestamps))
    assert all(ts.microsecond % 1000 == 0 and ts.tzinfo == timezone.utc for ts in timestamps)


def test_printed_event_uses_the_contract_timestamp_format() -> None:
    event = PriceEvent(ts=START + timedelta(milliseconds=7), symbol="AAPL", price=238.5)
    assert str(event) == "2026-11-27 09:30:00.007 AAPL 238.50 USD"
    assert all(TIMESTAMP_FORMAT.fullmatch(format_timestamp(e.ts)) for e in events(count=100))


def test_records_are_the_events_with_epoch_millisecond_timestamps() -> None:
    plan = GeneratorPlan(2000, 13, START, anomalies=20)
    records = list(generate_records(plan))
    assert records == [event.to_record() for event in generate_events(plan)]
    assert [PriceEvent.from_record(record) for record in records] == list(generate_events(plan))
    assert records[0]["ts"] > int(START.timestamp() * 1000)


@pytest.mark.parametrize("size", [1, 7, 1999, 5000])
def test_events_do_not_depend_on_the_batch_size(size: int) -> None:
    plan = GeneratorPlan(3000, 21, START, anomalies=15, currencies=("USD", "EUR", "GBP"))
    reference = list(generate_records(plan))
    batches = list(generate_batches(plan, size))
    assert [len(batch) for batch in batches[:-1]] == [size] * (len(batches) - 1)
    assert [record for batch in batches for record in batch.records()] == reference


def test_start_is_truncated_to_utc_milliseconds_so_printed_start_replays() -> None:
    precise = GeneratorPlan(10, 3, datetime(2026, 11, 27, 10, 30, 0, 123456, timezone.utc))
    printed = GeneratorPlan(10, 3, datetime(2026, 11, 27, 10, 30, 0, 123000, timezone.utc))
    naive = GeneratorPlan(10, 3, datetime(2026, 11, 27, 10, 30, 0, 123999))
    offset = GeneratorPlan(
        10, 3, datetime(2026, 11, 27, 11, 30, 0, 123000, timezone(timedelta(hours=1)))
    )
    assert precise.start == printed.start == naive.start == offset.start
    assert precise.start.tzinfo == timezone.utc
    reference = list(generate_events(printed))
    for plan in (precise, naive, offset):
        assert list(generate_events(plan)) == reference


@pytest.mark.parametrize("anomalies", [1, 9, 40])
def test_injected_anomalies_are_exactly_the_far_off_prices(anomalies: int) -> None:
    plan = GeneratorPlan(5000, 5, START, anomalies)
    generated = list(generate_events(plan))
    far_off = {i for i, e in enumerate(generated) if sigmas_off(e) >= ANOMALY_MIN_SIGMA - 0.01}
    assert far_off == anomaly_positions(plan)
    assert len(far_off) == anomalies
    assert all(sigmas_off(generated[i]) <= ANOMALY_MAX_SIGMA + 0.01 for i in far_off)


def test_anomalies_replace_prices_only_at_their_positions() -> None:
    plan = GeneratorPlan(3000, 5, START, anomalies=12)
    clean = events(count=3000, seed=5)
    dirty = list(generate_events(plan))
    positions = anomaly_positions(plan)
    assert [(e.ts, e.symbol) for e in clean] == [(e.ts, e.symbol) for e in dirty]
    differing = {i for i, (a, b) in enumerate(zip(clean, dirty, strict=True)) if a != b}
    assert differing == positions


def test_anomaly_positions_are_reproducible_and_within_the_run() -> None:
    plan = GeneratorPlan(100, 9, START, anomalies=10)
    assert anomaly_positions(plan) == anomaly_positions(GeneratorPlan(100, 9, START, 10))
    assert all(0 <= i < 100 for i in anomaly_positions(plan))


@pytest.mark.parametrize(("count", "anomalies"), [(5, 6), (5, -1), (-1, 0)])
def test_impossible_plans_are_refused(count: int, anomalies: int) -> None:
    with pytest.raises(ValueError, match="anomalies"):
        GeneratorPlan(count, 1, START, anomalies)


def test_currencies_spread_events_and_keep_the_seeded_series() -> None:
    plan = GeneratorPlan(count=2000, seed=7, start=START)
    usd_only = list(generate_events(plan))
    mixed = list(generate_events(replace(plan, currencies=("USD", "EUR"))))
    assert {e.currency for e in usd_only} == {"USD"}
    assert Counter(e.currency for e in mixed).keys() == {"USD", "EUR"}
    for alone, spread in zip(usd_only, mixed, strict=True):
        assert (spread.ts, spread.symbol) == (alone.ts, alone.symbol)
        if spread.currency == "USD":
            assert spread.price == alone.price
        else:  # the same draw at the mock rate
            assert spread.price == pytest.approx(alone.price * MOCK_USD_RATES["EUR"], abs=0.01)


def test_a_currency_the_schema_cannot_carry_is_refused_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = producer_main(
        ["--currency", "EUR", "--schema", str(V1_SCHEMA_FILE), "--bootstrap-servers", "127.0.0.1:1"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no currency field" in err
