"""The flags more than one command takes, and the reader flags' files checked before
anything else is."""

from __future__ import annotations

import argparse
from pathlib import Path

from connection.cli import positive_float
from connection.defaults import DEFAULTS
from connection.settings import add_connection_arguments, add_spark_argument
from consumer.errors import ConsumerError, one_line_failures
from contract.rules import load_rule_set
from contract.schemas import ReaderSchema, reader_schema_from_file


def add_reading_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of every command: where the topic is, how to decode it, where Spark runs."""
    add_connection_arguments(parser)
    add_spark_argument(parser)
    parser.add_argument(
        "--reader-schema",
        type=Path,
        metavar="FILE.avsc",
        help="decode into this schema (default: a version registered for <topic>-value: the "
        "newest with the report's fields for report and follow, the latest for records); "
        "records of another major migrate to it only when it is a registered version",
    )
    parser.add_argument(
        "--contract-major",
        metavar="N",
        help="read into the newest registered version of major N (its metadata's "
        "application.major.version); records of other majors migrate to it",
    )
    parser.add_argument(
        "--rules",
        type=Path,
        metavar="FILE.rules.json",
        help="judge records by this ruleSet (default: the registry version's ruleSet if the "
        "registry keeps one, else schemas/prices-value.rules.json)",
    )


def add_timings_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timings",
        action="store_true",
        help="print on stderr where the seconds went: process start, checks, Spark start, "
        "each Spark job, output",
    )


def add_z_threshold_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--z-threshold",
        type=positive_float,
        default=DEFAULTS.z_threshold,
        help="an outlier is more than this many standard deviations from its "
        "(symbol, currency) group's mean (default %(default)s)",
    )


def add_format_argument(
    parser: argparse.ArgumentParser, formats: tuple[str, ...], meaning: str
) -> None:
    parser.add_argument(
        "--format", choices=formats, default=formats[0], help=f"{meaning} (default %(default)s)"
    )


def add_dlq_topic_argument(parser: argparse.ArgumentParser, meaning: str) -> None:
    parser.add_argument("--dlq-topic", metavar="TOPIC", help=f"{meaning} (default <topic>-dlq)")


def checked_reader_file(args: argparse.Namespace) -> ReaderSchema | None:
    """The --reader-schema file's schema (None without one), and the --rules file, checked
    before anything else is; ConsumerError naming the file when one cannot be used."""
    if args.reader_schema is not None and args.contract_major is not None:
        raise ConsumerError("--reader-schema and --contract-major both name the reader: give one")
    with one_line_failures():
        if args.rules is not None:
            load_rule_set(args.rules)
        return None if args.reader_schema is None else reader_schema_from_file(args.reader_schema)
