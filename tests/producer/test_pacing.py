"""The paced send: slices of the rate's size, each handed on when its first event is due."""

from __future__ import annotations

import pytest

from producer.pacing import paced
from producer.serialization import Messages


class FakeClock:
    """Time that moves only when slept through (or when a test moves it)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def batches(*sizes: int) -> list[Messages]:
    counter = iter(range(sum(sizes)))
    out = []
    for size in sizes:
        numbers = [next(counter) for _ in range(size)]
        out.append(([b"k%d" % n for n in numbers], [b"v%d" % n for n in numbers]))
    return out


def test_slices_go_out_on_the_rates_schedule_and_keep_every_message_in_order() -> None:
    clock = FakeClock()
    handed: list[tuple[float, int]] = []
    keys: list[bytes] = []
    for slice_keys, slice_values in paced(batches(25, 15), 200, clock, clock.sleep):
        handed.append((clock.now - 100.0, len(slice_keys)))
        keys += slice_keys
        assert len(slice_values) == len(slice_keys)
    assert keys == [b"k%d" % n for n in range(40)]
    # 200 events/s in 20 sends a second: slices of 10, each due 10 / 200 s after the last
    # (a batch's remainder is a short slice; the next batch's first slice is due after it)
    assert handed == [
        (0.0, 10),
        (pytest.approx(0.05), 10),
        (pytest.approx(0.10), 5),
        (pytest.approx(0.125), 10),
        (pytest.approx(0.175), 5),
    ]


def test_a_late_slice_is_followed_without_a_wait_until_the_schedule_is_met() -> None:
    clock = FakeClock()
    stream = paced(batches(40), 200, clock, clock.sleep)
    next(stream)
    clock.now += 0.5  # the client took half a second: three slices are overdue
    next(stream), next(stream), next(stream)
    assert clock.slept == []


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        next(paced(batches(1), 0))
