"""The follow mode's running statistics and state file's contents: pure Python, no stack
needed (consumer/test_checkpoint.py stores them on a Hadoop filesystem)."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.report import Outlier
from consumer.state import (
    FollowState,
    StateFileError,
    decode_state,
    encode_state,
    state_document,
)
from consumer.summary import GroupKey, RunningStatistics, Summary, statistics_of

# Prices like the producer's: cents, from a cent to a few thousand.
PRICES = st.integers(min_value=1, max_value=500_000).map(lambda cents: cents / 100)
GROUPS = st.sampled_from([("AAPL", "USD"), ("AAPL", "EUR"), ("TSLA", "USD")])
EVENTS = st.lists(st.tuples(GROUPS, PRICES), min_size=0, max_size=60)


def batch_of(
    batch_id: int, events: Sequence[tuple[GroupKey, float]]
) -> tuple[int, Summary, dict[int, int]]:
    """A batch's id, its summary as the Spark aggregation computes it (its own n, mean,
    M2), and its next offsets: FollowState.merged's arguments."""
    by_group: dict[GroupKey, list[float]] = {}
    for group, price in events:
        by_group.setdefault(group, []).append(price)
    summary = Summary(
        decoded=len(events),
        undecodable={"too_short": 1},
        writer_schema_ids=frozenset({batch_id % 3}),
        groups={group: statistics_of(prices) for group, prices in by_group.items()},
    )
    return batch_id, summary, {0: 10 * (batch_id + 1)}


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENTS, min_size=1, max_size=12))
def test_merging_batches_equals_a_two_pass_computation_of_all_events(
    batches: list[list[tuple[tuple[str, str], float]]],
) -> None:
    state = FollowState()
    for batch_id, events in enumerate(batches):
        state = state.merged(*batch_of(batch_id, events))
    everything = [event for events in batches for event in events]
    assert state.decoded == len(everything)
    assert state.messages == len(everything) + len(batches)
    assert state.undecodable == {"too_short": len(batches)}
    by_group: dict[tuple[str, str], list[float]] = {}
    for group, price in everything:
        by_group.setdefault(group, []).append(price)
    assert set(state.groups) == set(by_group)
    for group, prices in by_group.items():
        got = state.groups[group]
        assert (got.n, got.min, got.max) == (len(prices), min(prices), max(prices))
        assert relative(got.mean, statistics.fmean(prices)) <= 1e-9
        if len(prices) > 1:
            assert got.stddev is not None
            expected = statistics.stdev(prices)
            assert abs(got.stddev - expected) <= 1e-9 * max(expected, 1.0)
        else:
            assert got.stddev is None


def test_stddev_is_the_sample_standard_deviation() -> None:
    prices = [10.0, 12.0, 11.5, 9.25]
    assert statistics_of(prices).stddev == pytest.approx(statistics.stdev(prices), rel=1e-12)
    assert statistics_of([5.0]).stddev is None


def test_merge_is_exact_for_a_long_series_of_small_batches() -> None:
    prices = [200 + math.sin(i) * 3 + (i % 7) / 100 for i in range(20_000)]
    merged = statistics_of(prices[:1])
    for start in range(1, len(prices), 37):
        merged = merged.merged(statistics_of(prices[start : start + 37]))
    assert merged.n == len(prices)
    assert relative(merged.mean, statistics.fmean(prices)) <= 1e-12
    assert merged.stddev is not None
    assert relative(merged.stddev, statistics.stdev(prices)) <= 1e-9


def test_a_batch_already_included_cannot_be_merged_again() -> None:
    state = FollowState().merged(*batch_of(0, [(("AAPL", "USD"), 1.0)]))
    assert state.includes(0) and not state.includes(1)
    with pytest.raises(ValueError, match="already included"):
        state.merged(*batch_of(0, [(("AAPL", "USD"), 1.0)]))


def test_offsets_only_move_forward() -> None:
    state = FollowState(next_offsets={0: 50, 1: 7})
    merged = state.merged(0, Summary(), {0: 40, 2: 3})
    assert merged.next_offsets == {0: 50, 1: 7, 2: 3}


def test_saved_state_loads_back_equal_with_the_last_batchs_outliers() -> None:
    state = FollowState()
    for batch_id in range(3):
        state = state.merged(
            *batch_of(batch_id, [(("AAPL", "EUR"), 0.1 * 3), (("TSLA", "USD"), 7)])
        )
    found = Outlier(datetime(2026, 11, 27, 9, 30, 1, 123000, timezone.utc), "TSLA", "USD", 7.0, 3.5)
    state = state.merged(*batch_of(3, [(("TSLA", "USD"), 7)]), (found,), 5)
    assert decode_state(encode_state(state), "the file") == state
    assert state.last_outliers == (found,)
    assert (state.batches, state.dead_letters) == (4, 5)


def test_a_state_file_of_the_first_format_still_loads() -> None:
    """Format 1 had no batch or dead-letter count: every batch id up to the last one was
    counted once (Spark numbers them from 0), and dead letters count from now on."""
    state = FollowState()
    for batch_id in range(3):
        state = state.merged(*batch_of(batch_id, [(("AAPL", "USD"), 1.5)]))
    document = state_document(state)
    del document["batches"], document["dead_letters"]
    document["format"] = 1
    loaded = decode_state(json.dumps(document).encode(), "an older file")
    assert loaded == state
    assert (loaded.batches, loaded.dead_letters) == (3, 0)


def test_a_file_that_is_not_a_state_is_one_clear_error() -> None:
    with pytest.raises(StateFileError, match="the file is not a follow state file: format 99"):
        decode_state(b'{"format": 99}', "the file")


def test_group_statistics_merge_with_one_event_groups() -> None:
    single = RunningStatistics(n=1, mean=3.0, m2=0.0, min=3.0, max=3.0)
    merged = single.merged(RunningStatistics(n=1, mean=5.0, m2=0.0, min=5.0, max=5.0))
    assert (merged.n, merged.mean, merged.m2, merged.min, merged.max) == (2, 4.0, 2.0, 3.0, 5.0)


def test_groups_without_a_currency_merge_into_the_default_currency() -> None:
    events: list[tuple[GroupKey, float]] = [
        (("AAPL", None), 1.0),
        (("AAPL", None), 3.0),
        (("AAPL", "USD"), 5.0),
        (("AAPL", "EUR"), 9.0),
    ]
    moved = FollowState().merged(*batch_of(0, events)).with_currency_default("USD")
    assert set(moved.groups) == {("AAPL", "USD"), ("AAPL", "EUR")}
    usd, expected = moved.groups[("AAPL", "USD")], statistics_of([1.0, 3.0, 5.0])
    assert (usd.n, usd.min, usd.max) == (3, 1.0, 5.0)
    assert relative(usd.mean, expected.mean) <= 1e-12 and relative(usd.m2, expected.m2) <= 1e-12
