"""docs/benchmarks.png: producer and consumer throughput against the event count."""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from benchmarks.results import PRODUCER_WAYS, BenchResults
from benchmarks.targets import CONSUMER_MIN_RATE, PRODUCER_MIN_RATE


def draw_series(axes: Axes, label: str, points: list[tuple[int, float]]) -> None:
    if points:
        points.sort()
        axes.plot([x for x, _ in points], [y for _, y in points], "o-", label=label)


def draw_chart(results: BenchResults, path: Path) -> None:
    figure = Figure(figsize=(12, 4.8))
    producer, consumer = figure.subplots(1, 2)
    for way in PRODUCER_WAYS:
        draw_series(
            producer, way, [(r.events, r.events_per_s) for r in results.producer if r.way == way]
        )
    producer.axhline(PRODUCER_MIN_RATE, color="grey", linestyle="--", label="target at 1M")
    producer.set_title("Producer (first send to last ack)")
    producer.set_ylabel("events / s")
    for way in sorted({r.way for r in results.consumer}):
        draw_series(
            consumer, way, [(r.events, r.records_per_s) for r in results.consumer if r.way == way]
        )
    consumer.axhline(CONSUMER_MIN_RATE, color="grey", linestyle="--", label="target at 10M")
    consumer.set_title("Consumer (read + decode + statistics + outliers)")
    consumer.set_ylabel("records / s")
    for axes in (producer, consumer):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("events")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
    machine = results.machine
    figure.suptitle(f"{machine.cpu}, {machine.cores} cores, {machine.date:%Y-%m-%d %H:%M} UTC")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
