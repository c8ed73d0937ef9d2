"""Every flag the docs show is one the command has, and every flag a command has is in
its docs: the README and docs/*.md against the argument parsers themselves."""

from __future__ import annotations

import argparse
import re

import pytest
from docs_text import (
    Command,
    commands,
    docs,
    flag_sections,
    flags,
    parser_named,
    parser_of,
    words_of,
)

#: Every parser the docs must describe in a flags section, as the markers name them.
DOCUMENTED_COMMANDS = {
    "producer",
    "consumer report",
    "consumer records",
    "consumer follow",
    "schemagate check",
    "schemagate register",
    "schemagate export",
    "schemagate import",
}
#: Flags a parser has on purpose without any doc naming them (none today: a flag that
#: users may pass belongs in its command's flags section).
UNDOCUMENTED_FLAGS: dict[str, set[str]] = {}
EDGES = "[](){},'\""
FLAG_WORD = re.compile(r"^--[a-z][a-z0-9-]*$")


def all_commands() -> list[Command]:
    return [command for doc in docs() for command in commands(doc)]


def written_flags(words: list[str]) -> list[tuple[str, str | None]]:
    """(flag, the word after it) for each flag in words; `--flag=value` counts too."""
    cleaned = [word.strip(EDGES) for word in words]
    found = []
    for index, word in enumerate(cleaned):
        flag, _, value = word.partition("=")
        if FLAG_WORD.match(flag):
            after = cleaned[index + 1] if index + 1 < len(cleaned) else None
            found.append((flag, value or after))
    return found


def choice_problem(action: argparse.Action, value: str | None) -> str | None:
    """Why value is not a choice of action, when it plainly is meant as one."""
    if not action.choices or value is None or not value or value.startswith(("-", "<")):
        return None
    if value.isupper() or "..." in value or "…" in value:
        return None  # a placeholder: FORMAT, LEVEL
    wrong = [v for v in value.split("|") if v not in {str(c) for c in action.choices}]
    return f"{', '.join(wrong)} is not one of {sorted(map(str, action.choices))}" if wrong else None


def test_the_docs_show_commands_of_every_tool() -> None:
    tools = {command.tool for command in all_commands()}
    assert tools == {"consumer", "producer", "schemagate"}


@pytest.mark.parametrize("command", all_commands(), ids=Command.where)
def test_every_flag_next_to_a_command_is_one_of_its_parser(command: Command) -> None:
    name, parser, words = parser_of(command.tool, words_of(command.words))
    known = flags(parser)
    for flag, value in written_flags(words):
        if flag == "--help":
            continue
        assert flag in known, f"{command.where()}: {name} has no {flag} (it has {sorted(known)})"
        problem = choice_problem(known[flag], value)
        assert problem is None, f"{command.where()}: {name} {flag}: {problem}"


def test_every_parser_has_one_flags_section() -> None:
    named = [
        parser_named(command)[0]
        for doc in docs()
        for _, listed, _ in flag_sections(doc)
        for command in listed
    ]
    assert sorted(named) == sorted(DOCUMENTED_COMMANDS)


@pytest.mark.parametrize(
    "doc, line, listed, text",
    [
        pytest.param(doc, line, listed, text, id=f"{doc.name}:{line}")
        for doc in docs()
        for line, listed, text in flag_sections(doc)
    ],
)
def test_a_flags_section_names_every_flag_of_its_commands_and_no_other(
    doc: object, line: int, listed: list[str], text: str
) -> None:
    parsers = [parser_named(command) for command in listed]
    known = {flag for _, parser in parsers for flag in flags(parser)}
    written = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))
    assert written - known == set(), f"flags of no command in {listed}"
    for name, parser in parsers:
        missing = set(flags(parser)) - written - UNDOCUMENTED_FLAGS.get(name, set())
        assert missing == set(), f"{name}: flags its section does not name"


def test_the_undocumented_flags_exist() -> None:
    """An exception for a flag that is gone is a stale exception."""
    for name, undocumented in UNDOCUMENTED_FLAGS.items():
        tool, _, command = name.partition(" ")
        _, parser, _ = parser_of(tool, [command] if command else [])
        assert undocumented <= set(flags(parser)), name
