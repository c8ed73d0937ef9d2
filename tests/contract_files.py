"""The contract's versions as test fixtures: v1 (before currency), v2 (the shipped file) and
a major 2 that breaks it, with migration rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connection.paths import CONTRACT_FILE

V1_SCHEMA_FILE = Path(__file__).resolve().parent / "data" / "prices-value-v1.avsc"
V2_SCHEMA_FILE = CONTRACT_FILE

#: The contract's major 2, a breaking change with migration rules (docs/contract.md).
MAJOR_2_DIR = CONTRACT_FILE.parent.parent / "docs" / "examples" / "major-2"
V3_SCHEMA_FILE = MAJOR_2_DIR / "prices-value.avsc"
V3_RULES_FILE = MAJOR_2_DIR / "prices-value.rules.json"

V1_SCHEMA: dict[str, Any] = json.loads(V1_SCHEMA_FILE.read_text())
V2_SCHEMA: dict[str, Any] = json.loads(V2_SCHEMA_FILE.read_text())
V3_SCHEMA: dict[str, Any] = json.loads(V3_SCHEMA_FILE.read_text())
BREAKING_RULES: dict[str, Any] = json.loads(V3_RULES_FILE.read_text())
