"""The wheel carries the contract's shipped files: installed without the checkout and run
from another directory, the consumer finds the schema, the rules and the statistics
topic's schema inside the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from connection.paths import REPO_ROOT

#: What the copy leaves out: the environments, caches and stack state, none of it built.
NOT_BUILT = (".*", "build", "*.egg-info", "__pycache__")

SHOW_PATHS = """
import json
from connection.paths import CONTRACT_FILE, RULES_FILE, STATISTICS_SCHEMA_FILE
from contract.rules import load_rule_set
print(json.dumps({
    "files": [str(p) for p in (CONTRACT_FILE, RULES_FILE, STATISTICS_SCHEMA_FILE)],
    "schema": json.loads(CONTRACT_FILE.read_text())["name"],
    "rules": [rule.name for rule in load_rule_set(RULES_FILE).domain_rules],
}))
"""


def test_the_wheel_carries_the_shipped_contract_files(tmp_path: Path) -> None:
    # built from a copy of the tree: setuptools builds in place, and would leave its
    # build/ folder in the checkout
    source = tmp_path / "source"
    shutil.copytree(REPO_ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_BUILT))
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"),
            *(str(source), "-w", str(tmp_path / "wheel")),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = (tmp_path / "wheel").glob("*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shown = subprocess.run(
        [sys.executable, "-c", SHOW_PATHS],
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(site)},
        check=True,
        capture_output=True,
        text=True,
    )
    found = json.loads(shown.stdout)
    shipped = site / "contract" / "shipped"
    assert found["files"] == [
        str(shipped / name)
        for name in ("prices-value.avsc", "prices-value.rules.json", "prices-statistics-value.avsc")
    ]
    assert (
        found["schema"] == json.loads((REPO_ROOT / "schemas/prices-value.avsc").read_text())["name"]
    )
    assert found["rules"]
