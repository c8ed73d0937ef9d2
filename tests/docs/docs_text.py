"""The README and docs/*.md as the tests that keep them honest read them: prose, code
blocks, inline code, links, and the commands they show with the parsers that run them."""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from connection.paths import REPO_ROOT

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^#{1,6} ")
INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
#: A command as the docs write it: `python -m consumer ...`, `scripts/schema-gate ...`.
COMMAND = re.compile(
    r"(?:python -m (consumer|producer|schemagate)|scripts/(schema-gate))(?![\w.-])"
)
#: Where a command's own words end: a shell operator, a comment, a Markdown table cell.
COMMAND_END = re.compile(r"\s(?:&&|\|\||;|\||\\\||#)(?:\s|$)|^#|\s#")
FLAGS_MARKER = re.compile(r"^\s*<!--\s*flags:\s*(.+?)\s*-->\s*$")


@dataclass(frozen=True)
class Doc:
    path: Path
    text: str

    @property
    def name(self) -> str:
        return str(self.path.relative_to(REPO_ROOT))

    def lines(self) -> list[str]:
        return self.text.splitlines()


@dataclass(frozen=True)
class CodeBlock:
    doc: Doc
    line: int  # of the opening fence, 1-based
    info: str  # what follows the fence: json, sh, ...
    body: str


@dataclass(frozen=True)
class Command:
    """One command written in a doc: which tool, and the words after it."""

    doc: Doc
    line: int
    tool: str  # consumer, producer or schemagate
    words: str

    def where(self) -> str:
        return f"{self.doc.name}:{self.line}: {self.words!r}"


@cache
def docs() -> tuple[Doc, ...]:
    paths = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    return tuple(Doc(path, path.read_text()) for path in paths)


def code_blocks(doc: Doc) -> list[CodeBlock]:
    blocks: list[CodeBlock] = []
    opened: tuple[int, str] | None = None
    body: list[str] = []
    for number, line in enumerate(doc.lines(), 1):
        if FENCE.match(line):
            if opened is None:
                opened, body = (number, line.strip().strip("`~").strip()), []
            else:
                blocks.append(CodeBlock(doc, opened[0], opened[1], "\n".join(body)))
                opened = None
        elif opened is not None:
            body.append(line)
    assert opened is None, f"{doc.name}:{opened[0]}: a code block is never closed"
    return blocks


def prose(doc: Doc) -> str:
    """The doc's text with every fenced code block blanked (line numbers kept)."""
    kept, inside = [], False
    for line in doc.lines():
        fence = bool(FENCE.match(line))
        kept.append("" if inside or fence else line)
        if fence:
            inside = not inside
    return "\n".join(kept)


def inline_code(doc: Doc) -> Iterator[tuple[int, str]]:
    """(line, content) of every `inline code` span of the prose; a span may wrap lines."""
    text = prose(doc)
    for match in INLINE_CODE.finditer(text):
        content = match.group(2)
        if "\n\n" in content:
            continue  # not a span: a stray backtick paired across paragraphs
        yield text.count("\n", 0, match.start()) + 1, " ".join(content.split())


def commands(doc: Doc) -> Iterator[Command]:
    """Every command in a code block line or an inline code span of doc."""
    texts = list(inline_code(doc))
    for block in code_blocks(doc):
        texts += [(block.line + 1 + i, line) for i, line in enumerate(block.body.splitlines())]
    for line, text in texts:
        for match in COMMAND.finditer(text):
            rest = text[match.end() :]
            end = COMMAND_END.search(rest)
            words = rest[: end.start()] if end else rest
            tool = match.group(1) or "schemagate"
            yield Command(doc, line, tool, words.strip())


def flag_sections(doc: Doc) -> Iterator[tuple[int, list[str], str]]:
    """(line, commands, text) of each section that a `<!-- flags: ... -->` comment opens:
    from the comment to the next heading."""
    lines = prose(doc).splitlines()
    for number, line in enumerate(lines):
        marker = FLAGS_MARKER.search(line)
        if not marker:
            continue
        end = next(
            (i for i in range(number + 1, len(lines)) if HEADING.match(lines[i])), len(lines)
        )
        named = [c.strip() for c in marker.group(1).split(",")]
        yield number + 1, named, "\n".join(lines[number + 1 : end])


# -- the parsers behind the commands


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


@cache
def tool_parser(tool: str) -> argparse.ArgumentParser:
    if tool == "consumer":
        from consumer.__main__ import build_parser as consumer_parser

        return consumer_parser()
    if tool == "producer":
        from producer.__main__ import build_parser as producer_parser

        return producer_parser()
    from schemagate.cli import build_parser as schemagate_parser

    return schemagate_parser()


def words_of(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote in prose, e.g. --start '...
        return text.split()


def parser_of(tool: str, words: list[str]) -> tuple[str, argparse.ArgumentParser, list[str]]:
    """The name and parser that run `tool words`, as the tool itself picks them, and the
    words that parser reads."""
    parser = tool_parser(tool)
    words = [w[1:-1] if w.startswith("[") and w.endswith("]") else w for w in words]
    if tool == "consumer":
        from consumer.__main__ import command_line

        words = command_line(words)  # none is report; a leading --follow is follow
    commands_of = subcommands(parser)
    if words and words[0] in commands_of:
        return f"{tool} {words[0]}", commands_of[words[0]], words[1:]
    return tool, parser, words


def parser_named(command: str) -> tuple[str, argparse.ArgumentParser]:
    """The parser of a command as a flags marker names it, e.g. python -m consumer records."""
    match = COMMAND.match(command)
    assert match, f"not a command: {command!r}"
    name, parser, _ = parser_of(match.group(1) or "schemagate", words_of(command[match.end() :]))
    return name, parser


def flags(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Every long option of parser but --help, with its action."""
    return {
        option: action
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }


# -- the README's sample report

SAMPLE_START = re.compile(r"^<!-- sample-report\b.*-->$")
SAMPLE_END = "<!-- /sample-report -->"
ELIDED = "..."
RULE = re.compile(r"^-+(  -+)*$")


def readme_sample() -> list[str]:
    """The lines of the code block between the README's sample-report markers."""
    lines = docs()[0].lines()
    start = next(i for i, line in enumerate(lines) if SAMPLE_START.match(line))
    end = lines.index(SAMPLE_END, start)
    block = lines[start + 1 : end]
    assert block[0].startswith("```") and block[-1] == "```", "the sample is one code block"
    return block[1:-1]


def table_rows(lines: list[str]) -> dict[int, list[int]]:
    """Each table's column header line (its index) and its body rows (their indices): a
    header, a rule of dashes, rows up to a blank line."""
    found = {}
    for index, line in enumerate(lines):
        if index and RULE.match(line):
            rows = []
            for row in range(index + 1, len(lines)):
                if not lines[row].strip():
                    break
                rows.append(row)
            found[index - 1] = rows
    return found


def skeleton(lines: list[str], topic: str) -> list[str]:
    """The lines of a text report that do not depend on the prices: headings and column
    headers, with every number as N and the topic as `prices`."""
    bodies = {row for rows in table_rows(lines).values() for row in rows}
    kept = []
    for index, line in enumerate(lines):
        if index in bodies or not line.strip() or line == ELIDED or RULE.match(line):
            continue
        named = line.replace(topic, "prices")
        kept.append(" ".join(re.sub(r"\d+(\.\d+)?", "N", named).split()))
    return kept
