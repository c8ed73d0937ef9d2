"""What a follow run is told: where its checkpoint is, how often it triggers, how it
judges and where its bad records and counted offsets go."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from connection.defaults import DEFAULTS


@dataclass(frozen=True)
class FollowOptions:
    #: A Hadoop filesystem URI (connection.hadoop_fs.filesystem_uri makes one of a path).
    checkpoint: str
    trigger_seconds: float = DEFAULTS.follow_trigger_s
    z_threshold: float = DEFAULTS.z_threshold
    min_count: int = DEFAULTS.follow_min_count
    until_idle_s: float | None = None
    max_wait_s: float = DEFAULTS.follow_max_wait_s
    rules_file: Path | None = None  # default: contract.schemas.contract_rules' choice
    #: Where the records that break the contract are written (None: nowhere).
    dead_letter_topic: str | None = None
    #: Read into the newest version of this major (None: of any major).
    contract_major: str | None = None
    #: The consumer group the counted offsets are committed to (None: none).
    group_id: str | None = None
    #: The most records a micro-batch reads (None: all that arrived since the last).
    max_offsets_per_trigger: int | None = None
