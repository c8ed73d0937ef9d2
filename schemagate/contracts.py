"""The schema files under check: `schemas/<subject>.avsc`, the file name is the subject."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from avro.schema import Schema

from schemagate.check import parse
from schemagate.errors import GateError

SUFFIX = ".avsc"


@dataclass(frozen=True)
class Contract:
    subject: str
    path: Path
    text: str
    schema: Schema


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
    return Contract(path.stem, path, text, parse(text, str(path)))
