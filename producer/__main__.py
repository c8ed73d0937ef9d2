"""python -m producer: send mock price events to Kafka as Avro, then exit."""

from __future__ import annotations

import connection.dependency_check  # noqa: F401  # isort: skip  (first: one line outside the venv)

import argparse
import random
import sys
from datetime import datetime, timezone
from pathlib import Path

from connection.cli import OneLineErrorParser, non_negative_int, positive_int
from connection.defaults import DEFAULTS
from connection.exits import EXIT_OK, run_tool
from connection.paths import CONTRACT_FILE, RULES_FILE
from connection.settings import SettingsError, add_connection_arguments, settings_from_args
from connection.timestamps import format_timestamp, parse_timestamp
from producer.events import DEFAULT_CURRENCY, GeneratorPlan
from producer.run import ProducerOptions, ProduceSummary, produce
from producer.send import COMPRESSION_TYPES, DEFAULT_COMPRESSION


def timestamp(text: str) -> datetime:
    try:
        return parse_timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a timestamp like 2026-11-27 09:30:00.000: {text!r}"
        ) from None


def currency_code(text: str) -> str:
    """argparse type: an ISO 4217 code (three letters, upper-cased)."""
    if len(text) != 3 or not text.isascii() or not text.isalpha():
        raise argparse.ArgumentTypeError(f"not a currency code like USD or EUR: {text!r}")
    return text.upper()


def build_parser() -> OneLineErrorParser:
    """Every flag of python -m producer (also read by the tests that keep the docs honest)."""
    parser = OneLineErrorParser(prog="python -m producer", description=__doc__)
    add_connection_arguments(parser)
    parser.add_argument(
        "--count",
        type=positive_int,
        default=DEFAULTS.event_count,
        help="events to send (default %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=None,
        help="random seed; the same seed and --start replay the same events "
        "(default: a fresh seed, printed)",
    )
    parser.add_argument(
        "--start", type=timestamp, default=None, help="time of the first event, UTC (default: now)"
    )
    parser.add_argument(
        "--anomalies",
        type=non_negative_int,
        default=0,
        help="inject this many far-off prices (8-12 sigma) as ground truth "
        "for outlier detection (default 0)",
    )
    parser.add_argument(
        "--currency",
        type=currency_code,
        action="append",
        metavar="CODE",
        help="currency of the prices; repeat to spread the events over several "
        f"(default {DEFAULT_CURRENCY} only)",
    )
    parser.add_argument(
        "--schema",
        type=Path,
        default=CONTRACT_FILE,
        help="Avro schema file of the values (default schemas/prices-value.avsc)",
    )
    rules = parser.add_mutually_exclusive_group()
    rules.add_argument(
        "--rules",
        type=Path,
        default=RULES_FILE,
        metavar="FILE.rules.json",
        help="the contract's rules every event is judged by before it is sent, registered "
        "with the schema (default schemas/prices-value.rules.json)",
    )
    rules.add_argument(
        "--no-rules",
        action="store_true",
        help="send every event unjudged, as a writer that runs no rules would (the rules "
        "file is registered with the schema all the same)",
    )
    parser.add_argument(
        "--inject-violations",
        type=rate,
        default=0.0,
        metavar="RATE",
        help="make this fraction of the events break a rule, the rules in turn: a negative "
        "price, a lower-case currency, a lower-case ticker (default 0)",
    )
    parser.add_argument(
        "--events-per-second",
        type=positive_int,
        metavar="N",
        help="send N events a second, a live topic to follow (default: as fast as the "
        "broker takes them)",
    )
    parser.add_argument(
        "--partitions",
        type=positive_int,
        default=DEFAULTS.partitions,
        help="partitions when the topic is created here (default %(default)s)",
    )
    parser.add_argument(
        "--delivery-timeout",
        type=positive_int,
        default=int(DEFAULTS.delivery_timeout_s),
        metavar="SECONDS",
        help="give up on an unacknowledged event after this long (default %(default)s)",
    )
    parser.add_argument(
        "--compression",
        choices=COMPRESSION_TYPES,
        default=DEFAULT_COMPRESSION,
        help="batch compression (default %(default)s; none stores about 2.3x the bytes)",
    )
    return parser


def rate(text: str) -> float:
    """argparse type: a fraction from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.anomalies > args.count:
        parser.error(f"--anomalies ({args.anomalies}) cannot exceed --count ({args.count})")
    try:
        args.settings = settings_from_args(args)
    except SettingsError as error:
        parser.error(str(error))
    return args


def summary_line(summary: ProduceSummary) -> str:
    report = summary.report
    return (
        f"sent {report.sent} events, {report.acknowledged} acknowledged, to topic "
        f"{summary.topic} (subject {summary.subject}, schema id {summary.schema_id}, "
        f"version {summary.schema_version}) in {summary.seconds:.2f} s; dead-lettered: "
        + (", ".join(f"{rule} {n}" for rule, n in summary.dead_lettered.items()) or "none")
        + "; "
        f"replay: --seed {summary.seed} --start '{format_timestamp(summary.start)}'"
        + (
            ""
            if summary.currencies == (DEFAULT_CURRENCY,)
            else "".join(f" --currency {code}" for code in summary.currencies)
        )
        + (f" --inject-violations {summary.violations:g}" if summary.violations else "")
    )


def send(argv: list[str] | None) -> int:
    """Parse argv, send the events, print the summary line."""
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    start = args.start or datetime.now(timezone.utc).replace(microsecond=0)
    currencies = tuple(dict.fromkeys(args.currency or [DEFAULT_CURRENCY]))
    plan = GeneratorPlan(
        count=args.count,
        seed=seed,
        start=start,
        anomalies=args.anomalies,
        currencies=currencies,
        violations=args.inject_violations,
    )
    options = ProducerOptions(
        plan=plan,
        schema_file=args.schema,
        partitions=args.partitions,
        delivery_timeout_s=float(args.delivery_timeout),
        compression=args.compression,
        rules_file=args.rules,
        judge=not args.no_rules,
        events_per_s=args.events_per_second,
    )
    summary = produce(args.settings, options)
    for note in summary.registry_notes:
        print(f"producer: {note}", file=sys.stderr)
    print(summary_line(summary))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    return run_tool("producer", lambda: send(argv))


if __name__ == "__main__":
    sys.exit(main())
