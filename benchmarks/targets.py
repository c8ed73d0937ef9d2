"""The benchmark targets, checked against a run's results."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.results import (
    NAIVE_AVRO_BASELINE,
    OURS,
    OURS_UNCOMPRESSED,
    PLAIN_PYTHON,
    SPARK_CONSUMER,
    BenchResults,
    FollowCatchUp,
)
from connection.defaults import DEFAULTS

PRODUCER_EVENTS = 1_000_000
PRODUCER_MIN_RATE = 150_000.0
PRODUCER_MIN_FACTOR = 2.0
CONSUMER_EVENTS = 10_000_000
CONSUMER_MIN_RATE = 1_000_000.0
REPORT_EVENTS = DEFAULTS.event_count
REPORT_MAX_SECONDS = 20.0
MEMORY_MAX_GROWTH = 1.25  # peak RSS at the largest count / at the next smaller count
FOLLOW_MIN_SHARE = 0.5  # follow keeps up with at least this share of batch consume()'s rate
#: follow (rules, dead letters, 1% breakers) keeps up with at least this share of plain
#: consume()'s rate on a clean topic
FOLLOW_CLEAN_MIN_SHARE = 0.7
PAGE_MAX_MS = 300.0  # the inspector's page of 100 from the middle of a 1M-record topic
PAGE_TOPIC_RECORDS = 1_000_000


@dataclass(frozen=True)
class TargetCheck:
    target: str
    met: bool | None  # None: not measured in this run
    measured: str


def producer_target(results: BenchResults, way: str = OURS) -> TargetCheck:
    target = (
        f"{way} at {PRODUCER_EVENTS:,} events: >= {PRODUCER_MIN_RATE:,.0f} ev/s "
        f"and >= {PRODUCER_MIN_FACTOR:g}x baseline (b)"
    )
    run = results.producer_run(way, PRODUCER_EVENTS)
    baseline = results.producer_run(NAIVE_AVRO_BASELINE, PRODUCER_EVENTS)
    if run is None or baseline is None:
        return TargetCheck(target, None, "not measured")
    factor = run.events_per_s / baseline.events_per_s
    met = run.events_per_s >= PRODUCER_MIN_RATE and factor >= PRODUCER_MIN_FACTOR
    return TargetCheck(target, met, f"{run.events_per_s:,.0f} ev/s, {factor:.2f}x baseline (b)")


def consumer_target(results: BenchResults) -> TargetCheck:
    target = (
        f"Consumer at {CONSUMER_EVENTS:,} events: >= {CONSUMER_MIN_RATE:,.0f} rec/s through "
        "decode + statistics + outliers, ahead of the plain-Python baseline"
    )
    run = results.consumer_run(SPARK_CONSUMER, CONSUMER_EVENTS)
    baseline = results.consumer_run(PLAIN_PYTHON, CONSUMER_EVENTS)
    if run is None or baseline is None:
        return TargetCheck(target, None, "not measured")
    factor = run.records_per_s / baseline.records_per_s
    met = run.records_per_s >= CONSUMER_MIN_RATE and factor > 1
    return TargetCheck(
        target, met, f"{run.records_per_s:,.0f} rec/s, {factor:.2f}x the plain-Python baseline"
    )


def report_latency_target(results: BenchResults) -> TargetCheck:
    target = (
        f"Report for {REPORT_EVENTS:,} events within {REPORT_MAX_SECONDS:g} s, Spark start included"
    )
    runs = [run.report_seconds for run in results.consumer_cli if run.events == REPORT_EVENTS]
    if not runs:
        return TargetCheck(target, None, "not measured")
    median = statistics.median(runs)
    return TargetCheck(
        target, median <= REPORT_MAX_SECONDS, f"median {median:.1f} s of {len(runs)} runs"
    )


def memory_target(results: BenchResults) -> TargetCheck:
    """Compares the two largest counts above the small-topic threshold: below it the
    consumer caches decoded rows in memory, above it on disk, so a pair straddling the
    threshold measures the switch, not growth with the count."""
    threshold = DEFAULTS.small_topic_records
    target = (
        "Driver memory (Python + JVM, peak RSS) does not grow with the event count "
        f"(above {threshold:,} events, the largest count <= {MEMORY_MAX_GROWTH:g}x "
        "the next smaller one)"
    )
    peaks: dict[int, int] = {}
    for run in results.consumer_cli:
        if run.events > threshold:
            peaks[run.events] = max(peaks.get(run.events, 0), run.peak_rss_bytes)
    if len(peaks) < 2:
        return TargetCheck(target, None, "not measured")
    smaller, largest = sorted(peaks)[-2:]
    growth = peaks[largest] / peaks[smaller]
    return TargetCheck(
        target,
        growth <= MEMORY_MAX_GROWTH,
        f"{peaks[smaller] / 2**20:,.0f} MiB at {smaller:,} -> "
        f"{peaks[largest] / 2**20:,.0f} MiB at {largest:,} events ({growth:.2f}x)",
    )


def bounded_share(
    results: BenchResults,
    target: str,
    batch: str,
    rate_of: Callable[[FollowCatchUp], float],
    min_share: float,
    latency: bool = False,
) -> TargetCheck:
    """Whether the highest offered rate follow kept its lag bounded at is at least
    min_share of a batch rate of the same run (batch names it, rate_of reads it), with
    that run's latency median when asked for."""
    catch_up = results.follow_catch_up
    if catch_up is None or not results.sustained:
        return TargetCheck(target, None, "not measured")
    rate = rate_of(catch_up)
    kept_up = [run for run in results.sustained if run.bounded]
    if not kept_up:
        return TargetCheck(target, False, f"bounded at no offered rate; {batch} {rate:,.0f} ev/s")
    best = max(kept_up, key=lambda run: run.offered_events_per_s)
    share = best.offered_events_per_s / rate
    median = f"; latency median {best.latency_median_s:.1f} s" if latency else ""
    return TargetCheck(
        target,
        share >= min_share,
        f"bounded at {best.offered_events_per_s:,} ev/s offered "
        f"({best.written_events_per_s:,.0f} written), {share:.2f}x {batch} consume()'s "
        f"{rate:,.0f} ev/s{median}",
    )


def follow_target(results: BenchResults) -> TargetCheck:
    """The highest offered rate follow (rules, dead letters) kept its lag bounded at,
    against batch consume()'s rate on the backlog of the same run."""
    seconds = max((run.offered_seconds for run in results.sustained), default=0)
    target = (
        f"Follow mode with rules and dead letters keeps its lag bounded "
        f"{f'over {seconds:.0f} s ' if seconds else ''}at >= {FOLLOW_MIN_SHARE:g}x batch "
        "consume()'s rate (rules, --dlq, same run)"
    )
    return bounded_share(results, target, "batch", lambda c: c.batch_events_per_s, FOLLOW_MIN_SHARE)


def follow_clean_target(results: BenchResults) -> TargetCheck:
    """The same against plain consume()'s rate on a clean topic of the same run, with the
    latency median of that run (follow's default trigger)."""
    target = (
        f"Follow mode with rules and dead letters (1% breakers) keeps its lag bounded at "
        f">= {FOLLOW_CLEAN_MIN_SHARE:g}x plain consume()'s rate on a clean topic (same run), "
        f"at its {DEFAULTS.follow_trigger_s:g} s trigger"
    )
    return bounded_share(
        results,
        target,
        "clean",
        lambda c: c.clean_batch_events_per_s,
        FOLLOW_CLEAN_MIN_SHARE,
        latency=True,
    )


def inspector_target(results: BenchResults) -> TargetCheck:
    target = (
        f"Inspector: a page of 100 records from the middle of a {PAGE_TOPIC_RECORDS:,}-record "
        f"topic in < {PAGE_MAX_MS:g} ms (median)"
    )
    pages = results.inspector_pages
    if pages is None or pages.records < PAGE_TOPIC_RECORDS:
        return TargetCheck(target, None, "not measured")
    return TargetCheck(
        target,
        pages.median_ms < PAGE_MAX_MS,
        f"median {pages.median_ms:.0f} ms, max {pages.max_ms:.0f} ms over "
        f"{len(pages.milliseconds)} pages",
    )


def evaluate(results: BenchResults) -> list[TargetCheck]:
    return [
        producer_target(results),
        producer_target(results, OURS_UNCOMPRESSED),
        consumer_target(results),
        report_latency_target(results),
        memory_target(results),
        follow_target(results),
        follow_clean_target(results),
        inspector_target(results),
    ]
