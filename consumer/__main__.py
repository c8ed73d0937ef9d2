"""python -m consumer: read every price event in a topic, print statistics and outliers."""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from connection.cli import OneLineErrorParser, positive_float, positive_int
from connection.settings import SettingsError, add_connection_arguments, settings_from_args
from consumer.errors import ConsumerError
from consumer.render import render_json, render_text
from consumer.run import ConsumerOptions, consume

HISTOGRAM_BINS = 40
BROKEN_PIPE_EXIT = 141  # what a shell reports for a process ended by SIGPIPE
SPARK_MASTER_URL = re.compile(
    r"local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?"
    r"|spark://[^\s/:,]+:\d+(,[^\s/:,]+:\d+)*"
    r"|yarn|k8s://\S+"
)


def spark_master(text: str) -> str:
    """argparse type: a Spark master URL, checked before a JVM is started for it."""
    if not SPARK_MASTER_URL.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"not a Spark master URL: {text!r} (local[*], local[N], spark://host:port, "
            "yarn or k8s://...)"
        )
    return text


def png_file(text: str) -> Path:
    """argparse type: a file to write, in an existing directory (checked before Spark runs)."""
    path = Path(text)
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"no directory {str(path.parent)!r} to write {text!r} in")
    return path


def argument_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(prog="python -m consumer", description=__doc__)
    add_connection_arguments(parser)
    parser.add_argument(
        "--master",
        type=spark_master,
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
        type=png_file,
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


class InterruptNoiseFilter(logging.Filter):
    """Drops py4j's log records about calls that Ctrl-C broke (see main).

    py4j logs a call interrupted by Ctrl-C, traceback included, before re-raising; and a
    py4j call made by a finalizer that the garbage collector runs inside the signal
    handler, while the interrupted call still holds the connection, fails as a reentrant
    read and is logged too (possibly before the handler's first line has run). Once
    Ctrl-C came, none of that is news.
    """

    def __init__(self) -> None:
        super().__init__()
        self.interrupted = False

    def on_sigint(self, _signum: int, _frame: FrameType | None) -> None:
        self.interrupted = True
        raise KeyboardInterrupt

    def filter(self, record: logging.LogRecord) -> bool:
        if "py4j" not in record.pathname and not record.exc_info:
            return True
        error = record.exc_info[1] if record.exc_info else None
        while error is not None:
            if isinstance(error, KeyboardInterrupt) or "reentrant call" in str(error):
                return False
            error = error.__context__
        return not (self.interrupted and "py4j" in record.pathname)


def main(argv: list[str] | None = None) -> int:
    # The interrupt is reported in one line instead; py4j logs through the root logger
    # (logging.exception) and through its own modules' loggers.
    noise = InterruptNoiseFilter()
    for name in ("", "py4j.clientserver", "py4j.java_gateway"):
        logging.getLogger(name).addFilter(noise)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, noise.on_sigint)
    parser = argument_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
    except SettingsError as error:
        parser.error(str(error))
    options = ConsumerOptions(
        master=args.master,
        z_threshold=args.z_threshold,
        reader_schema_file=args.reader_schema,
        min_partitions=args.min_partitions,
        histogram_bins=HISTOGRAM_BINS if args.plot else 0,
    )
    try:
        report = consume(settings, options)
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
    except KeyboardInterrupt:  # Ctrl-C, also while Spark runs (PySpark cancels its jobs)
        print("consumer: interrupted", file=sys.stderr)
        return 130
    try:
        print(render_json(report) if args.format == "json" else render_text(report), flush=True)
    except BrokenPipeError:  # stdout closed early (e.g. `| head -1`): nobody reads the rest
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main())
