"""The contract's versions as test fixtures: v1 (before currency) and v2, the shipped file."""

from __future__ import annotations

from pathlib import Path

from connection.paths import CONTRACT_FILE

V1_SCHEMA_FILE = Path(__file__).resolve().parent / "data" / "prices-value-v1.avsc"
V2_SCHEMA_FILE = CONTRACT_FILE
