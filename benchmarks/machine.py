"""The machine and the software versions a run was measured on, and its load."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from connection.paths import REPO_ROOT

KAFKA_POM = REPO_ROOT / "stack" / "kafka" / "pom.xml"
PACKAGES = ("confluent-kafka", "fastavro", "pyspark")


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    ram_gib: float
    versions: dict[str, str]
    date: datetime


def cpu_model(cpuinfo: str) -> str:
    """The first 'model name' of /proc/cpuinfo text (or 'unknown')."""
    match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return match.group(1).strip() if match else "unknown"


def total_ram_gib(meminfo: str) -> float:
    """MemTotal of /proc/meminfo text, in GiB."""
    match = re.search(r"^MemTotal:\s*(\d+) kB$", meminfo, re.MULTILINE)
    return int(match.group(1)) / 2**20 if match else 0.0


def kafka_version(pom: Path = KAFKA_POM) -> str:
    """The broker version the local stack runs (its pom's kafka.version)."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom.read_text())
    return match.group(1) if match else "unknown"


def java_version() -> str:
    """The first line of `java -version` (the JVM Spark starts)."""
    result = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    lines = result.stderr.strip().splitlines()
    return lines[0] if lines else "unknown"


def describe_machine() -> Machine:
    versions = {"python": platform.python_version()}
    versions.update({name: metadata.version(name) for name in PACKAGES})
    versions["kafka"] = kafka_version()
    versions["java"] = java_version()
    return Machine(
        cpu=cpu_model(Path("/proc/cpuinfo").read_text()),
        cores=os.cpu_count() or 0,
        ram_gib=total_ram_gib(Path("/proc/meminfo").read_text()),
        versions=versions,
        date=datetime.now(timezone.utc),
    )


def load_average() -> float:
    """The 1-minute load average: other work sharing the cores while we measure."""
    return os.getloadavg()[0]
