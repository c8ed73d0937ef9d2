"""python -m consumer: read every price event in a topic, print statistics and outliers.

python -m consumer [options]            the report (text, JSON, plot)
python -m consumer records [options]    typed records, as a registry-aware UI shows them
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from pyspark.sql import SparkSession

from connection.cli import OneLineErrorParser, non_negative_int, positive_float, positive_int
from connection.defaults import DEFAULTS
from connection.settings import (
    ConnectionSettings,
    SettingsError,
    add_connection_arguments,
    add_spark_argument,
    settings_from_args,
    spark_settings_from_env,
)
from connection.spark import ConnectorJarsMissing, build_spark_session
from consumer.batch import ConsumerOptions, check_sources, empty_report, report_on
from consumer.errors import ConsumerError
from consumer.follow_cli import add_follow_arguments, follow_format_error, run_follow
from consumer.interrupts import interrupts_held_while_spark_starts, quiet_interrupts
from consumer.records import RecordsOptions, plan_records, read_records
from consumer.timings import Timings

HISTOGRAM_BINS = 40
BROKEN_PIPE_EXIT = 141  # what a shell reports for a process ended by SIGPIPE
RECORDS_COMMAND = "records"


def png_file(text: str) -> Path:
    """argparse type: a file to write, in an existing directory (checked before Spark runs)."""
    path = Path(text)
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"no directory {str(path.parent)!r} to write {text!r} in")
    return path


def common_arguments(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser)
    add_spark_argument(parser)
    parser.add_argument(
        "--timings",
        action="store_true",
        help="print on stderr where the seconds went: process start, checks, Spark start, "
        "each Spark job, output",
    )
    parser.add_argument(
        "--reader-schema",
        type=Path,
        metavar="FILE.avsc",
        help="decode into this schema (default: the latest version registered for <topic>-value)",
    )


def report_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(prog="python -m consumer", description=__doc__)
    common_arguments(parser)
    parser.add_argument(
        "--z-threshold",
        type=positive_float,
        default=DEFAULTS.z_threshold,
        help="an outlier is more than this many standard deviations from its "
        "(symbol, currency) group's mean (default %(default)s)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "jsonl"),
        default="text",
        help="report format (default %(default)s; jsonl: --follow's one object per batch)",
    )
    parser.add_argument(
        "--plot",
        type=png_file,
        metavar="FILE.png",
        help="also draw each (symbol, currency) group's price distribution with outliers",
    )
    parser.add_argument(
        "--min-partitions",
        type=positive_int,
        help="Spark tasks to split the topic into (default: partitions or "
        "cores, whichever is more)",
    )
    add_follow_arguments(parser)
    return parser


def records_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog=f"python -m consumer {RECORDS_COMMAND}",
        description="Print decoded records: partition, offset, timestamp, key, writer schema "
        "id and subject version, and the value as JSON of every reader field.",
    )
    common_arguments(parser)
    parser.add_argument(
        "--limit", type=positive_int, default=20, help="records to print (default %(default)s)"
    )
    parser.add_argument(
        "--from-offset",
        type=non_negative_int,
        metavar="OFFSET",
        help="start each partition at this offset (default: its earliest)",
    )
    parser.add_argument(
        "--partition", type=non_negative_int, help="only this partition (default: all)"
    )
    parser.add_argument(
        "--format",
        choices=("text", "jsonl"),
        default="text",
        help="a table, or one JSON object per line (default %(default)s)",
    )
    return parser


def start_spark(master: str, short_run: bool = False) -> SparkSession:
    """The one SparkSession of this process; ConsumerError when its jars are missing."""
    try:
        with interrupts_held_while_spark_starts():
            settings = replace(spark_settings_from_env(master), short_run=short_run)
            return build_spark_session(settings)
    except ConnectorJarsMissing as error:
        raise ConsumerError(str(error)) from None


def report_output(args: argparse.Namespace, settings: ConnectionSettings, timings: Timings) -> str:
    options = ConsumerOptions(
        z_threshold=args.z_threshold,
        reader_schema_file=args.reader_schema,
        min_partitions=args.min_partitions,
        histogram_bins=HISTOGRAM_BINS if args.plot else 0,
    )
    with timings.phase("checks before Spark (broker, topic offsets, registry)"):
        topic = check_sources(settings, options)  # before Spark starts: fails in seconds
    if topic.contract is None:
        report = empty_report(settings, options)
    else:
        with timings.phase("Spark session start"):
            spark = start_spark(args.master, short_run=topic.small)
        report = report_on(spark, settings, options, topic, topic.contract, timings)
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


def records_output(args: argparse.Namespace, settings: ConnectionSettings, timings: Timings) -> str:
    options = RecordsOptions(
        limit=args.limit,
        from_offset=args.from_offset,
        partition=args.partition,
        reader_schema_file=args.reader_schema,
    )
    with timings.phase("checks before Spark (broker, topic offsets, registry)"):
        plan = plan_records(settings, options)  # before Spark starts: fails in seconds
    records = []
    if plan.contract is not None:
        with timings.phase("Spark session start"):
            spark = start_spark(
                args.master, short_run=options.limit <= DEFAULTS.small_topic_records
            )
        with timings.phase("job: read records"):
            records = read_records(spark, settings, plan, options.limit)
    if args.format == "jsonl":
        from consumer.views.json import render_records_jsonl

        return render_records_jsonl(records)
    from consumer.views.text import render_records_text

    return render_records_text(records) if records else "no records"


def main(argv: list[str] | None = None) -> int:
    timings = Timings()
    quiet_interrupts()
    argv = sys.argv[1:] if argv is None else argv
    output: Callable[[argparse.Namespace, ConnectionSettings, Timings], str]
    if argv[:1] == [RECORDS_COMMAND]:
        parser, argv, output = records_parser(), argv[1:], records_output
    else:
        parser, output = report_parser(), report_output
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
    except SettingsError as error:
        parser.error(str(error))
    if output is report_output and (mismatch := follow_format_error(args)) is not None:
        parser.error(mismatch)
    if output is report_output and args.follow:
        return run_follow(args, settings, start_spark)
    timings.mark("process start to arguments parsed (interpreter, imports)")
    try:
        text = output(args, settings, timings)
    except ConsumerError as error:
        one_line = " ".join(str(error).split())  # registry and Spark messages may span lines
        print(f"consumer: error: {one_line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C, also while Spark runs (PySpark cancels its jobs)
        print("consumer: interrupted", file=sys.stderr)
        return 130
    try:
        print(text, flush=True)
        if args.timings:
            print(timings.render(), file=sys.stderr, flush=True)
    except BrokenPipeError:  # stdout closed early (e.g. `| head -1`): nobody reads the rest
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main())
