"""Where a producer run's time goes: pyinstrument, summed per function."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pyinstrument import Profiler
from pyinstrument.frame import Frame

from benchmarks.results import Profile, ProfileLine

SAMPLE_INTERVAL_S = 0.0005
TOP = 12
OTHER = "set-up (registry, topic, client) and other"


def is_serialization(frame: Frame) -> bool:
    path = frame.file_path_short or ""
    return (
        any(part in path for part in ("schema_registry", "fastavro", "serialization.py"))
        or frame.function == "to_record"
    )


def is_kafka_client(frame: Frame) -> bool:
    return frame.function.startswith("Producer.") or frame.function in (
        "on_delivery",
        "wait_for_room",
    )


def is_generation(frame: Frame) -> bool:
    return frame.function in ("generate_batches", "generate_records", "generate_events") or (
        frame.file_path_short or ""
    ).endswith("random.py")


#: Where a sample's time goes: the first rule matching the frame or its nearest caller.
CATEGORIES: tuple[tuple[str, Callable[[Frame], bool]], ...] = (
    ("serialization (serializers and encoders)", is_serialization),
    ("Kafka client (produce, poll, flush, delivery callbacks)", is_kafka_client),
    ("event generation (generate_batches, numpy)", is_generation),
    ("progress bar (tqdm)", lambda frame: "tqdm" in (frame.file_path_short or "")),
    ("send loop itself (send_events)", lambda frame: frame.function == "send_events"),
)


def frames(root: Frame) -> Iterator[Frame]:
    pending = [root]
    while pending:
        frame = pending.pop()
        yield frame
        pending.extend(frame.children)


def frame_name(frame: Frame) -> str:
    return f"{frame.function} ({frame.file_path_short}:{frame.line_no})"


def self_times(root: Frame) -> dict[str, float]:
    """Seconds spent in each function itself (C calls it makes included), summed."""
    times: dict[str, float] = {}
    for frame in frames(root):
        if not frame.is_synthetic:
            name = frame_name(frame)
            times[name] = times.get(name, 0.0) + frame.total_self_time
    return times


def category_times(root: Frame) -> dict[str, float]:
    """Self time summed per category, a frame inheriting its caller's category."""
    times: dict[str, float] = {}
    pending: list[tuple[Frame, str]] = [(root, OTHER)]
    while pending:
        frame, inherited = pending.pop()
        category = next((name for name, rule in CATEGORIES if rule(frame)), inherited)
        if not frame.is_synthetic:
            times[category] = times.get(category, 0.0) + frame.total_self_time
        pending.extend((child, category) for child in frame.children)
    return times


def top_lines(times: dict[str, float], total: float, top: int = TOP) -> list[ProfileLine]:
    ranked = sorted(times.items(), key=lambda item: item[1], reverse=True)[:top]
    return [ProfileLine(name, seconds, seconds / total) for name, seconds in ranked]


def profile(way: str, events: int, run: Callable[[], object]) -> Profile:
    """Profile run() (a whole producer run) and keep the functions with most self time."""
    profiler = Profiler(interval=SAMPLE_INTERVAL_S)
    profiler.start()
    run()
    session = profiler.stop()
    root = session.root_frame()
    total = session.duration
    if root is None:
        return Profile(way, events, total, [], [])
    return Profile(
        way,
        events,
        total,
        categories=top_lines(category_times(root), total, len(CATEGORIES) + 1),
        lines=top_lines(self_times(root), total),
    )
