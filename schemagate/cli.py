"""Command line: parse arguments, run one subcommand, render its report, pick the exit code.

Exit codes: 0 compatible, 1 incompatible, 2 usage, input or connection error, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from connection.cli import OneLineErrorParser
from connection.exits import run_tool
from connection.settings import (
    SettingsError,
    add_bootstrap_argument,
    add_registry_argument,
    registry_settings_from_args,
    settings_from_args,
    topic_name,
)
from schemagate.contracts import load_contracts
from schemagate.errors import GateError
from schemagate.gate import DEFAULT_OFFLINE_LEVEL, check_offline, check_online, register
from schemagate.levels import Level
from schemagate.model import Report
from schemagate.odcs import dump_yaml
from schemagate.odcs_export import KafkaServer, export_contract
from schemagate.odcs_import import import_contract, load_document, write_contract
from schemagate.registry import Registry
from schemagate.render import RENDERERS
from schemagate.sample import DEFAULT_PER_PARTITION, Sampling

EXIT_COMPATIBLE, EXIT_INCOMPATIBLE = 0, 1
#: Contract formats of export and import.
CONTRACT_FORMATS = ("odcs",)
DEFAULT_SCHEMA_FILE = Path("schemas/prices-value.avsc")
LEVEL_NAMES = ", ".join(level.value for level in Level)


def compatibility_level(text: str) -> Level:
    """argparse type: one of the seven levels, named as the registry names them."""
    try:
        return Level(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a compatibility level: {text!r} (one of {LEVEL_NAMES})"
        ) from None


def positive_count(text: str) -> int:
    """argparse type: a whole number of records, at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive number of records: {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    common = OneLineErrorParser(add_help=False)
    common.add_argument(
        "files",
        nargs="*",
        type=Path,
        help="schema files to check (default: every .avsc in --schemas-dir); "
        "a file's name without .avsc is its registry subject",
    )
    common.add_argument(
        "--schemas-dir", type=Path, default=Path("schemas"), help="default %(default)s"
    )
    common.add_argument(
        "--format", choices=sorted(RENDERERS), default="text", help="output (default %(default)s)"
    )
    add_registry_argument(common)
    common.add_argument(
        "--sample-topic",
        type=topic_name,
        metavar="TOPIC",
        help="before anything is registered, judge the last records of TOPIC with the new "
        "schema and rules, and report what each rule would do to them (not with --offline)",
    )
    common.add_argument(
        "--sample",
        type=positive_count,
        default=DEFAULT_PER_PARTITION,
        metavar="N",
        help="with --sample-topic: the last N records of each partition (default %(default)s)",
    )
    add_bootstrap_argument(common)
    common.add_argument(
        "--strict",
        action="store_true",
        help="a new major's migration warnings (problems only on generated or extreme "
        "values) are errors",
    )

    parser = OneLineErrorParser(
        prog="schema-gate", description="Stop breaking Avro schema changes before they ship."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check", parents=[common], help="check schemas against the registry or a git ref"
    )
    check.add_argument(
        "--level",
        type=compatibility_level,
        metavar="LEVEL",
        help="compatibility level (default: the subject's level in the registry; offline "
        f"{DEFAULT_OFFLINE_LEVEL.value}); one of {LEVEL_NAMES}",
    )
    check.add_argument(
        "--offline", action="store_true", help="no registry: compare with the files in git"
    )
    check.add_argument(
        "--against", metavar="REF", help="with --offline: the git ref to compare with (HEAD)"
    )
    commands.add_parser(
        "register", parents=[common], help="register the schemas that pass the check"
    )
    _add_export(commands)
    _add_import(commands)
    return parser


def _add_export(commands: argparse._SubParsersAction[OneLineErrorParser]) -> None:
    export = commands.add_parser(
        "export",
        help="print the contract (a schema and its rules file) as an ODCS v3 YAML document",
    )
    export.add_argument("--format", choices=CONTRACT_FORMATS, required=True)
    export.add_argument(
        "file",
        nargs="?",
        type=Path,
        default=DEFAULT_SCHEMA_FILE,
        metavar="FILE.avsc",
        help="the schema file; its rules file is beside it (default %(default)s)",
    )
    export.add_argument(
        "--topic",
        type=topic_name,
        help="the topic the records are in: a kafka server (--bootstrap-servers) with "
        "format avro, and the topic as the schema's physicalName (default: no server)",
    )
    add_bootstrap_argument(export)


def _add_import(commands: argparse._SubParsersAction[OneLineErrorParser]) -> None:
    imports = commands.add_parser(
        "import",
        help="write an ODCS v3 document's contract as <subject>.avsc and <subject>.rules.json",
    )
    imports.add_argument("--format", choices=CONTRACT_FORMATS, required=True)
    imports.add_argument("file", type=Path, metavar="FILE", help="the ODCS YAML document")
    imports.add_argument(
        "--schemas-dir", type=Path, default=Path("schemas"), help="default %(default)s"
    )
    imports.add_argument(
        "--subject",
        help="the registry subject, the files' name (default: <topic>-value of the "
        "document's kafka server and the schema's physicalName)",
    )
    imports.add_argument("--force", action="store_true", help="overwrite existing files")
    imports.add_argument(
        "--skip-unsupported",
        action="store_true",
        help="leave out what has no counterpart in a contract (a quality check without a "
        "CEL rule, a type with no Avro mapping), each listed on stderr, instead of refusing",
    )


def _run(args: argparse.Namespace) -> Report:
    contracts = load_contracts(args.schemas_dir, args.files)
    if args.command == "check" and args.offline:
        return check_offline(contracts, args.against or "HEAD", args.level, args.strict)
    try:
        registry = Registry(registry_settings_from_args(args))
    except SettingsError as error:
        raise GateError(str(error)) from None
    sampling = _sampling(args)
    if args.command == "register":
        # before the check: a level left lowered would check nothing
        for line in registry.restore_left_levels(contract.subject for contract in contracts):
            print(f"schema-gate: {line}", file=sys.stderr)
        return register(contracts, registry, sampling, args.strict)
    return check_online(contracts, registry, args.level, sampling, args.strict)


def _sampling(args: argparse.Namespace) -> Sampling | None:
    if args.sample_topic is None:
        return None
    try:
        settings = settings_from_args(args, topic=args.sample_topic)
    except SettingsError as error:
        raise GateError(str(error)) from None
    return Sampling(settings, args.sample)


def _export(args: argparse.Namespace) -> int:
    server = KafkaServer(args.topic, args.bootstrap_servers) if args.topic else None
    exported = export_contract(args.file, server)
    for line in exported.untranslated:
        print(f"schema-gate: {line}", file=sys.stderr)
    print(dump_yaml(exported.document), end="")
    return 0


def _import(args: argparse.Namespace) -> int:
    document = load_document(args.file)
    contract = import_contract(document, str(args.file), args.subject, args.skip_unsupported)
    for line in contract.skipped:
        print(f"schema-gate: skipped {line}", file=sys.stderr)
    for path in write_contract(contract, args.schemas_dir, args.force):
        print(f"wrote {path}")
    return 0


def run_command(argv: Sequence[str] | None) -> int:
    """Parse argv, run its subcommand, print the report; 0 compatible, 1 not (export
    and import: 0 done)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "export":
        return _export(args)
    if args.command == "import":
        return _import(args)
    if args.command == "check" and args.against and not args.offline:
        parser.error("--against needs --offline")
    if args.command == "check" and args.offline and args.sample_topic:
        parser.error("--sample-topic needs the registry (not --offline)")
    report = _run(args)
    print(RENDERERS[args.format](report))
    return EXIT_COMPATIBLE if report.compatible else EXIT_INCOMPATIBLE


def main(argv: Sequence[str] | None = None) -> int:
    return run_tool("schema-gate", lambda: run_command(argv))
