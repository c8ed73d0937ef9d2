"""Where things are in a checkout (and in the images, which keep the same layout)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The contract: the value schema of topic prices, registered under prices-value.
CONTRACT_FILE = REPO_ROOT / "schemas" / "prices-value.avsc"
#: The contract's rules (a Confluent ruleSet), beside the schema.
RULES_FILE = REPO_ROOT / "schemas" / "prices-value.rules.json"
LOCAL_STACK = REPO_ROOT / "scripts" / "local-stack.sh"
STACK_CACHE = REPO_ROOT / ".stack" / "cache"
