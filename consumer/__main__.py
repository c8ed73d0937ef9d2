"""python -m consumer: price statistics and outliers of a topic, its typed records, or a
live topic followed as it grows.

  python -m consumer [report] [options]   the report: statistics, outliers, bad records
  python -m consumer records [options]    typed records, as a registry-aware UI shows them
  python -m consumer follow [options]     a live topic, counted exactly once (docs/follow.md)
"""

from __future__ import annotations

import connection.dependency_check  # noqa: F401  # isort: skip  (first: one line outside the venv)

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from connection.cli import OneLineErrorParser
from connection.exits import EXIT_OK, run_tool
from connection.settings import ConnectionSettings, SettingsError, settings_from_args
from consumer.commands import follow, records, report
from consumer.interrupts import quiet_interrupts
from consumer.timings import Timings


@dataclass(frozen=True)
class Command:
    summary: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    #: What is left to print on stdout, once the command ran.
    run: Callable[[argparse.Namespace, ConnectionSettings, Timings], str]


COMMANDS = {
    "report": Command(report.SUMMARY, report.add_arguments, report.run),
    "records": Command(records.SUMMARY, records.add_arguments, records.run),
    "follow": Command(follow.SUMMARY, follow.add_arguments, follow.run),
}
#: `python -m consumer --follow ...`, as compose files and scripts wrote it before the
#: commands existed: still runs `follow`.
FOLLOW_FLAG = "--follow"


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="python -m consumer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar=f"{{{','.join(COMMANDS)}}}")
    for name, command in COMMANDS.items():
        command.add_arguments(
            commands.add_parser(
                name,
                help=command.summary,
                description=command.summary,
                prog=f"python -m consumer {name}",
            )
        )
    return parser


def command_line(argv: list[str]) -> list[str]:
    """argv with its command made explicit: none is `report`; a leading --follow, `follow`."""
    if argv[:1] == [FOLLOW_FLAG]:
        return ["follow", *argv[1:]]
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        return ["report", *argv]
    return argv


def main(argv: list[str] | None = None) -> int:
    timings = Timings()
    quiet_interrupts()
    parser = build_parser()
    args = parser.parse_args(command_line(sys.argv[1:] if argv is None else argv))
    try:
        settings = settings_from_args(args)
    except SettingsError as error:
        parser.error(str(error))
    run = COMMANDS[args.command].run
    timings.mark("process start to arguments parsed (interpreter, imports)")

    def body() -> int:
        text = run(args, settings, timings)
        if text:
            print(text, flush=True)
        if getattr(args, "timings", False):
            print(timings.render(), file=sys.stderr, flush=True)
        return EXIT_OK

    return run_tool("consumer", body)


if __name__ == "__main__":
    sys.exit(main())
