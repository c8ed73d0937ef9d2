"""The consumer's command line: three real commands, each with only its own flags."""

from __future__ import annotations

import argparse
import re

import pytest

from consumer.__main__ import build_parser, command_line

COMMANDS = ("report", "records", "follow")


def parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(command_line(argv))


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        parse(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def own_flags(command: str) -> set[str]:
    parser = build_parser()
    (subparsers,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        flag
        for action in subparsers.choices[command]._actions
        for flag in action.option_strings
        if flag.startswith("--")
    }


def test_help_lists_the_three_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse(["--help"])
    out = capsys.readouterr().out
    assert all(command in out for command in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_shows_only_its_flags(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse([command, "--help"])
    out = capsys.readouterr().out
    for other in set(COMMANDS) - {command}:
        for flag in own_flags(other) - own_flags(command):
            shown = re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", out)
            assert not shown, f"{command} --help shows {other}'s {flag}"


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        (["report", "--trigger-seconds", "1"], "unrecognized arguments: --trigger-seconds 1"),
        (["--checkpoint", "ck"], "unrecognized arguments: --checkpoint ck"),
        (["follow", "--plot", "a.png"], "unrecognized arguments: --plot a.png"),
        (["follow", "--format", "json"], "invalid choice: 'json'"),
        (["records", "--z-threshold", "2"], "unrecognized arguments: --z-threshold 2"),
        (["--format", "jsonl"], "invalid choice: 'jsonl'"),
        (["report", "--limit", "3"], "unrecognized arguments: --limit 3"),
    ],
)
def test_a_flag_of_another_command_is_a_one_line_usage_error(
    argv: list[str], mentions: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mentions in usage_error(argv, capsys)


def test_no_command_is_the_report_and_a_leading_follow_flag_is_follow() -> None:
    assert parse([]).command == "report"
    assert parse(["--topic", "t", "--format", "json"]).format == "json"
    followed = parse(["--follow", "--topic", "t", "--format", "jsonl", "--until-idle", "5"])
    assert (followed.command, followed.format, followed.until_idle) == ("follow", "jsonl", 5.0)
    assert parse(["records", "--limit", "3"]).limit == 3
