"""Where a run's seconds go: named phases, timed in order and rendered on request.

The CLI makes one recorder and passes it down (``report_on``, ``analyse``); nothing is
printed unless ``--timings`` asks for it. The first phase starts when the process did
(from /proc), so the interpreter's start and the imports are counted too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


def process_age_s(proc: Path = Path("/proc")) -> float:
    """Seconds since this process started (0.0 where /proc does not tell)."""
    try:
        fields = (proc / "self" / "stat").read_text().rpartition(")")[2].split()
        uptime_s = float((proc / "uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    # Field 22 of stat (20th after the command) is the start, in clock ticks since boot.
    started_s = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return max(0.0, uptime_s - started_s)


@dataclass
class Timings:
    """Phases in the order they ended, each with its seconds."""

    origin: float = field(default_factory=lambda: time.perf_counter() - process_age_s())
    phases: list[tuple[str, float]] = field(default_factory=list)
    _last: float | None = field(default=None, init=False)

    def mark(self, name: str) -> None:
        """End the phase `name` now: it ran since the previous mark (or process start)."""
        now = time.perf_counter()
        self.phases.append((name, now - (self.origin if self._last is None else self._last)))
        self._last = now

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as phase `name` (the gap before it becomes an "other" phase)."""
        started = time.perf_counter()
        if self._last is not None and started - self._last > 0.0005:
            self.phases.append((f"between phases, before {name}", started - self._last))
        self._last = started
        try:
            yield
        finally:
            self.mark(name)

    def render(self) -> str:
        """One line per phase, then the total since process start."""
        width = max((len(name) for name, _ in self.phases), default=0)
        lines = [f"timings: {name:<{width}} {seconds:7.3f} s" for name, seconds in self.phases]
        total = (self._last or self.origin) - self.origin
        lines.append(f"timings: {'total since process start':<{width}} {total:7.3f} s")
        return "\n".join(lines)
