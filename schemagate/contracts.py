"""The contracts under check: `schemas/<subject>.avsc` (the file name is the subject) and
its rules beside it, `schemas/<subject>.rules.json`, when there is such a file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from avro.schema import Schema

from contract.rules import (
    RulesDocument,
    RulesError,
    RuleSet,
    load_rules_document,
    metadata_from_json,
    rules_document_from_json,
)
from schemagate.check import parse
from schemagate.errors import GateError

SUFFIX = ".avsc"
RULES_SUFFIX = ".rules.json"


def rules_path(schema_path: Path) -> Path:
    """The rules file beside a schema file: `x.avsc` -> `x.rules.json`."""
    return schema_path.with_name(schema_path.name.removesuffix(SUFFIX) + RULES_SUFFIX)


def parse_rules(text: str, origin: str) -> RulesDocument:
    """A rules file's text (its metadata and rule set), naming `origin` in the error if it
    is not one."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise GateError(f"{origin}: not JSON ({error})") from None
    try:
        return rules_document_from_json(data, source=origin)
    except RulesError as error:
        raise GateError(str(error)) from None


def major_only(text: str) -> RulesDocument:
    """A rules file's metadata alone (its major), none where it has no valid metadata."""
    try:
        data = json.loads(text)
        metadata = data.get("metadata") if isinstance(data, dict) else None
        return RulesDocument(metadata=metadata_from_json(metadata))
    except (ValueError, RulesError):
        return RulesDocument()


@dataclass(frozen=True)
class Contract:
    subject: str
    path: Path
    text: str
    schema: Schema
    document: RulesDocument | None = None
    """The rules file's metadata (the major) and rule set; None without a rules file."""

    @property
    def rules(self) -> RuleSet | None:
        """The rules file's rule set; None when the contract has no rules file."""
        return None if self.document is None else self.document.rule_set

    @property
    def major(self) -> str | None:
        return None if self.document is None else self.document.major

    @property
    def rules_path(self) -> Path:
        return rules_path(self.path)


def load_contracts(schemas_dir: Path, files: Sequence[Path] = ()) -> list[Contract]:
    """The given files, or every `*.avsc` in `schemas_dir`, parsed."""
    paths = list(files) or sorted(schemas_dir.glob(f"*{SUFFIX}"))
    if not paths:
        raise GateError(f"no {SUFFIX} files in {schemas_dir}")
    return [_load(path) for path in paths]


def _load(path: Path) -> Contract:
    if path.suffix != SUFFIX:
        raise GateError(f"{path}: not a {SUFFIX} file (its name is the registry subject)")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise GateError(f"{path}: cannot read: {error.strerror}") from error
    return Contract(path.stem, path, text, parse(text, str(path)), _load_rules(rules_path(path)))


def _load_rules(path: Path) -> RulesDocument | None:
    if not path.exists():
        return None
    try:
        return load_rules_document(path)
    except RulesError as error:
        raise GateError(str(error)) from None
