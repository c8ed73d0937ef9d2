"""Where things are in a checkout (and in the images, which keep the same layout)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The shipped contract files: the checkout's schemas/, which the installed package
#: carries as contract/shipped (in the checkout a link to schemas/), so a run from any
#: working directory, or from a wheel installed without the checkout, finds them.
SHIPPED_SCHEMAS = (REPO_ROOT / "contract" / "shipped").resolve()
#: The contract: the value schema of topic prices, registered under prices-value.
CONTRACT_FILE = SHIPPED_SCHEMAS / "prices-value.avsc"
#: The contract's rules (a Confluent ruleSet), beside the schema.
RULES_FILE = SHIPPED_SCHEMAS / "prices-value.rules.json"
#: The value schema of follow's statistics topic.
STATISTICS_SCHEMA_FILE = SHIPPED_SCHEMAS / "prices-statistics-value.avsc"
LOCAL_STACK = REPO_ROOT / "scripts" / "local-stack.sh"
STACK_CACHE = REPO_ROOT / ".stack" / "cache"


def shown(path: Path) -> str:
    """path as a message shows it: relative to the checkout when inside it."""
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
