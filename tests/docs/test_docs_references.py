"""What the docs point at exists: repository paths and tests in backticks, modules by
their dotted names, relative Markdown links and their #anchors."""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import os
import re
from functools import cache
from pathlib import Path

import pytest
from docs_text import Doc, code_blocks, docs, inline_code, prose

from connection.paths import REPO_ROOT

#: Paths the docs name that are not files of this repository, each for a reason.
NOT_REPO_PATHS = {
    "examples/avro_producer.py": "confluent-kafka's example, the naive baseline",
    "ccompat/v7": "the registry's API path",
    "run/tls": "under $STACK_HOME, made by scripts/local-stack.sh up",
}
#: Folders made at run time (the local stack, follow mode's checkpoints, the venv).
RUNTIME_PREFIXES = (
    ".stack/",
    ".stack-",
    ".venv",
    "checkpoints/",
    "offsets/",
    "commits/",
    "sources/",
)
#: A path as the docs write one: words, dots and dashes between slashes, maybe a test.
PATH = re.compile(r"^[\w.-]+(/[\w.-]*)+(::[\w*\[\]-]+)?$|^[\w.-]+\.(py|md|sh|avsc|env|mk)$")
DOTTED = re.compile(
    r"^(producer|consumer|connection|contract|schemagate|benchmarks|tests)(\.\w+)+(\(.*\))?$"
)
PYTHON_M = re.compile(r"python -m ([\w.]+)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
SKIPPED_DIRS = {".git", ".venv", ".stack", "__pycache__", "node_modules", "build"}


@cache
def repo_file_names() -> frozenset[str]:
    names = set()
    for _, dirs, files in os.walk(REPO_ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith((".", "prices"))]
        names.update(files)
    return frozenset(names)


def spans(predicate: re.Pattern[str]) -> list[tuple[Doc, int, str]]:
    return [
        (doc, line, text)
        for doc in docs()
        for line, text in inline_code(doc)
        if predicate.match(text)
    ]


def place(doc: Doc, line: int, text: str) -> str:
    return f"{doc.name}:{line}: {text}"


def cited_paths() -> list[tuple[Doc, int, str]]:
    return [
        (doc, line, text)
        for doc, line, text in spans(PATH)
        if text not in NOT_REPO_PATHS and not text.startswith(RUNTIME_PREFIXES)
    ]


@pytest.mark.parametrize("doc, line, text", [pytest.param(*s, id=place(*s)) for s in cited_paths()])
def test_every_path_in_backticks_exists(doc: Doc, line: int, text: str) -> None:
    path, _, test = text.partition("::")
    if "/" not in path:
        assert path in repo_file_names(), f"{place(doc, line, text)}: no such file in the repo"
        return
    target = REPO_ROOT / path
    assert target.exists(), f"{place(doc, line, text)}: no such path"
    if test:
        names = re.findall(r"^(?:async )?def (test_\w+)", target.read_text(), re.MULTILINE)
        assert fnmatch.filter(names, test), f"{place(doc, line, text)}: no such test in {path}"


def resolve(dotted: str) -> object:
    """The module, class or function a dotted name means; ImportError or AttributeError."""
    parts = dotted.split(".")
    for length in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:length]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[length:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("doc, line, text", [pytest.param(*s, id=place(*s)) for s in spans(DOTTED)])
def test_every_dotted_name_in_backticks_imports(doc: Doc, line: int, text: str) -> None:
    resolve(text.split("(")[0])


def python_m_modules() -> list[tuple[Doc, int, str]]:
    found = []
    for doc in docs():
        texts = list(inline_code(doc))
        for block in code_blocks(doc):
            texts += [(block.line, block.body)]
        for line, text in texts:
            found += [(doc, line, module) for module in PYTHON_M.findall(text)]
    return found


@pytest.mark.parametrize(
    "doc, line, module", [pytest.param(*m, id=place(*m)) for m in python_m_modules()]
)
def test_every_python_m_module_exists(doc: Doc, line: int, module: str) -> None:
    assert importlib.util.find_spec(module) is not None, place(doc, line, module)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    doc = Doc(path, path.read_text())
    for line in prose(doc).splitlines():
        heading = re.match(r"^#{1,6} (.+)$", line)
        if heading:
            base = slug(heading.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def links() -> list[tuple[Doc, int, str]]:
    found = []
    for doc in docs():
        text = prose(doc)
        for match in LINK.finditer(text):
            target = match.group(1)
            if not re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                found.append((doc, text.count("\n", 0, match.start()) + 1, target))
    return found


def test_the_docs_link_to_each_other() -> None:
    assert len(links()) > 20


@pytest.mark.parametrize("doc, line, target", [pytest.param(*k, id=place(*k)) for k in links()])
def test_every_relative_link_resolves(doc: Doc, line: int, target: str) -> None:
    path, _, anchor = target.partition("#")
    file = (doc.path.parent / path).resolve() if path else doc.path
    assert file.exists(), f"{place(doc, line, target)}: no such file"
    assert file.is_relative_to(REPO_ROOT), f"{place(doc, line, target)}: outside the repo"
    if anchor:
        assert file.suffix == ".md", place(doc, line, target)
        assert anchor in anchors(file), (
            f"{place(doc, line, target)}: no heading #{anchor} in {file.name} "
            f"(it has {sorted(anchors(file))})"
        )
