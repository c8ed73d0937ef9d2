"""`python -m consumer report`: statistics, outliers and bad records of every record of
the topic, as a table or one JSON document, and a plot if asked for."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from connection.cli import positive_int
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.commands.arguments import (
    add_dlq_topic_argument,
    add_format_argument,
    add_reading_arguments,
    add_timings_argument,
    add_z_threshold_argument,
    checked_reader_file,
)
from consumer.commands.spark_start import start_spark
from consumer.errors import ConsumerError
from consumer.timings import Timings
from contract.dead_letters import dead_letter_topic
from contract.schemas import Contract

SUMMARY = "statistics and outliers of every record (default)"
HISTOGRAM_BINS = 40


def png_file(text: str) -> Path:
    """argparse type: a file to write, in an existing directory (checked before Spark runs)."""
    path = Path(text)
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"no directory {str(path.parent)!r} to write {text!r} in")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_reading_arguments(parser)
    add_timings_argument(parser)
    add_z_threshold_argument(parser)
    add_format_argument(parser, ("text", "json"), "a table, or one JSON document")
    parser.add_argument(
        "--plot",
        type=png_file,
        metavar="FILE.png",
        help="also draw each (symbol, currency) group's price distribution with outliers",
    )
    parser.add_argument(
        "--dlq",
        action="store_true",
        help="write every record that breaks the contract (a DLQ rule, or the decoding) to the "
        "dead-letter topic, once: a rerun adds none",
    )
    add_dlq_topic_argument(parser, "with --dlq, the dead-letter topic")
    parser.add_argument(
        "--min-partitions",
        type=positive_int,
        help="Spark tasks to split the topic into (default: partitions or "
        "cores, whichever is more)",
    )


def contract_notices(contract: Contract) -> list[str]:
    """What the reader should know before the run: rules skipped, and a reader file that
    no registered version is (records of another major cannot migrate to it)."""
    lines = list(contract.read_rules.skipped)
    if contract.unmatched_file:
        lines.append(
            f"reader schema {contract.reader.source} is no registered version of the subject: "
            "records of another major will not migrate to it (give a registered version's "
            "schema, or --contract-major N)"
        )
    return lines


def run(args: argparse.Namespace, settings: ConnectionSettings, timings: Timings) -> str:
    from consumer.bad_records import dead_letter_sink
    from consumer.batch import ConsumerOptions, check_sources, empty_report, report_on

    if args.dlq_topic and not args.dlq:
        raise ConsumerError("--dlq-topic names where --dlq writes: give --dlq too")
    options = ConsumerOptions(
        z_threshold=args.z_threshold,
        reader_schema_file=args.reader_schema,
        contract_major=args.contract_major,
        rules_file=args.rules,
        min_partitions=args.min_partitions,
        histogram_bins=HISTOGRAM_BINS if args.plot else 0,
        dead_letter_topic=(args.dlq_topic or dead_letter_topic(settings.topic))
        if args.dlq
        else None,
    )
    clients = Clients.of(settings)
    with timings.phase("checks before Spark (broker, topic offsets, registry)"):
        checked_reader_file(args)
        topic = check_sources(clients, settings, options)
    if topic.contract is None:
        report = empty_report(settings, options)
    else:
        for line in contract_notices(topic.contract):
            print(f"consumer: {line}", file=sys.stderr)
        sink = dead_letter_sink(clients, settings, options.dead_letter_topic, topic.partitions)
        with timings.phase("Spark session start"):
            spark = start_spark(args.master, short_run=topic.small)
        report = report_on(spark, settings, options, topic, topic.contract, timings, sink)
    with timings.phase("render (plot if asked, text or JSON)"):
        if args.plot:
            from consumer.views.plot import plot_report  # matplotlib only when asked for

            try:
                plot_report(report, args.plot)
            except OSError as error:
                raise ConsumerError(f"cannot write {args.plot}: {error.strerror}") from None
        if args.format == "json":
            from consumer.views.json import render_json

            return render_json(report)
        from consumer.views.text import render_text

        return render_text(report)
