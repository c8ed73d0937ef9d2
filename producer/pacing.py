"""Sending at a steady rate: a live topic to follow, rather than one burst."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator

from producer.serialization import Messages

SENDS_PER_S = 20  # a paced run hands the client this many slices a second


def paced(
    batches: Iterable[Messages],
    events_per_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Messages]:
    """batches cut into slices of about events_per_s / SENDS_PER_S messages, each handed on
    no sooner than its first message is due: message n is due n / events_per_s seconds
    after the first. Slices handed late (the client's queue was full) are followed by the
    next ones without a wait until the schedule is met again, so the run keeps the rate
    on average."""
    if events_per_s <= 0:
        raise ValueError(f"need a positive rate, got {events_per_s}")
    size = max(1, math.ceil(events_per_s / SENDS_PER_S))
    started = clock()
    handed = 0
    for keys, values in batches:
        for low in range(0, len(keys), size):
            ahead = started + handed / events_per_s - clock()
            if ahead > 0:
                sleep(ahead)
            slice_keys, slice_values = keys[low : low + size], values[low : low + size]
            handed += len(slice_keys)
            yield slice_keys, slice_values
