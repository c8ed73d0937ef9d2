"""python -m consumer: read every price event in a topic, print statistics and outliers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from connection.cli import OneLineErrorParser, positive_float, positive_int
from connection.settings import add_connection_arguments, settings_from_args
from consumer.errors import ConsumerError
from consumer.render import render_json, render_text
from consumer.run import ConsumerOptions, consume

HISTOGRAM_BINS = 40


def argument_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(prog="python -m consumer", description=__doc__)
    add_connection_arguments(parser)
    parser.add_argument(
        "--master",
        default=os.environ.get("SPARK_MASTER", "local[*]"),
        help="Spark master URL (env SPARK_MASTER; default %(default)s)",
    )
    parser.add_argument(
        "--z-threshold",
        type=positive_float,
        default=3.0,
        help="an outlier is more than this many standard deviations from its "
        "symbol's mean (default %(default)s)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="report format (default %(default)s)",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="also draw each symbol's price distribution with outliers",
    )
    parser.add_argument(
        "--reader-schema",
        type=Path,
        metavar="FILE.avsc",
        help="decode into this schema (default: the latest version registered for <topic>-value)",
    )
    parser.add_argument(
        "--min-partitions",
        type=positive_int,
        help="Spark tasks to split the topic into (default: partitions or "
        "cores, whichever is more)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = argument_parser().parse_args(argv)
    options = ConsumerOptions(
        master=args.master,
        z_threshold=args.z_threshold,
        reader_schema_file=args.reader_schema,
        min_partitions=args.min_partitions,
        histogram_bins=HISTOGRAM_BINS if args.plot else 0,
    )
    try:
        report = consume(settings_from_args(args), options)
        if args.plot:
            from consumer.plot import plot_report  # matplotlib only when asked for

            plot_report(report, args.plot)
    except ConsumerError as error:
        one_line = " ".join(str(error).split())  # registry and Spark messages may span lines
        print(f"consumer: error: {one_line}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"consumer: error: cannot write {args.plot}: {error.strerror}", file=sys.stderr)
        return 1
    print(render_json(report) if args.format == "json" else render_text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
