"""The timing recorder behind `python -m consumer --timings`."""

from __future__ import annotations

import os
from pathlib import Path

from consumer.timings import Timings, process_age_s


def test_process_age_is_uptime_minus_the_start_in_clock_ticks(tmp_path: Path) -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    (tmp_path / "self").mkdir()
    fields = ["S", *["0"] * 18, str(100 * ticks)]  # field 22: started 100 s after boot
    (tmp_path / "self" / "stat").write_text(f"42 (python -m x) {' '.join(fields)} 7 8\n")
    (tmp_path / "uptime").write_text("112.50 200.00\n")
    assert process_age_s(tmp_path) == 12.5


def test_process_age_without_proc_is_zero(tmp_path: Path) -> None:
    assert process_age_s(tmp_path) == 0.0


def test_phases_are_recorded_in_order_with_the_gaps_between_them() -> None:
    timings = Timings(origin=0.0)
    timings.mark("start")
    with timings.phase("checks"):
        pass
    with timings.phase("spark"):
        sum(range(200_000))  # long enough to leave a gap before the next phase
    names = [name for name, _ in timings.phases]
    assert names[:3] == ["start", "checks", "spark"]
    assert all(seconds >= 0 for _, seconds in timings.phases)
    lines = timings.render().splitlines()
    assert lines[0].startswith("timings: start")
    assert lines[-1].startswith("timings: total since process start")
