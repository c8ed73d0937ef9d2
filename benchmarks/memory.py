"""Peak resident memory of a process and its descendants, sampled from /proc.

A Spark driver is a Python process with a JVM child (through spark-submit), so
getrusage of the Python process alone would miss most of it; the tree is summed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
SAMPLE_INTERVAL_S = 0.1


def parent_pids(proc: Path = PROC) -> dict[int, int]:
    """pid -> parent pid of every process still there."""
    parents: dict[int, int] = {}
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # exited between glob and read
            continue
        # Fields after the command (which may contain spaces) in parentheses: state, ppid.
        parents[int(stat.parent.name)] = int(text.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(root: int, parents: dict[int, int]) -> list[int]:
    """root and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def rss_bytes(pid: int, proc: Path = PROC) -> int:
    """VmRSS of pid (0 once it has exited)."""
    try:
        for line in (proc / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class PeakRss:
    tree: int = 0
    root: int = 0


class RssSampler:
    """Samples a process tree's RSS in a thread until stopped; keeps the peaks."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak = PeakRss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            root = rss_bytes(self.root)
            tree = sum(rss_bytes(pid) for pid in descendants(self.root, parent_pids()))
            self.peak.root = max(self.peak.root, root)
            self.peak.tree = max(self.peak.tree, tree)
