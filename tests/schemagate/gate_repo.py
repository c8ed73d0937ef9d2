"""A throwaway git repository with a schemas/ directory, for the gate's offline checks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


class Repo:
    """A git repository at root with schemas/prices-value.avsc (and its rules file)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.schema = root / "schemas" / "prices-value.avsc"
        self.rules = root / "schemas" / "prices-value.rules.json"
        self.schema.parent.mkdir()
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def write(self, schema: object) -> None:
        self.schema.write_text(json.dumps(schema, indent=2))

    def write_rules(self, *rules: object) -> None:
        self.rules.write_text(json.dumps({"domainRules": list(rules)}, indent=2))

    def commit(self, schema: object | None = None) -> str:
        """Commit schemas/ (after writing `schema`, when given); the short commit id."""
        if schema is not None:
            self.write(schema)
        self.git("add", "schemas")
        self.git("commit", "-q", "-m", "contract")
        return self.git("rev-parse", "--short=12", "HEAD")
