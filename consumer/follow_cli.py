"""python -m consumer --follow: the follow mode's flags and its run (docs/follow.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from connection.cli import positive_float, positive_int
from connection.settings import ConnectionSettings
from consumer.errors import ConsumerError

DEFAULT_TRIGGER_S = 5.0
DEFAULT_MIN_COUNT = 30
DEFAULT_MAX_WAIT_S = 60.0


def add_follow_arguments(parser: argparse.ArgumentParser) -> None:
    """--follow and the flags only it reads."""
    group = parser.add_argument_group("follow mode (a live topic, docs/follow.md)")
    group.add_argument(
        "--follow",
        action="store_true",
        help="keep reading the topic as it grows (Spark Structured Streaming) until Ctrl-C, "
        "SIGTERM or --until-idle; counts every record exactly once across restarts",
    )
    group.add_argument(
        "--trigger-seconds",
        type=positive_float,
        default=DEFAULT_TRIGGER_S,
        metavar="S",
        help="seconds between micro-batches (default %(default)g)",
    )
    group.add_argument(
        "--checkpoint",
        type=Path,
        metavar="DIR",
        help="Spark's checkpoint and the running statistics (default checkpoints/<topic>)",
    )
    group.add_argument(
        "--min-count",
        type=positive_int,
        default=DEFAULT_MIN_COUNT,
        help="judge a group's events for outliers once it has this many (default %(default)s)",
    )
    group.add_argument(
        "--until-idle",
        type=positive_float,
        metavar="SECONDS",
        help="stop once the topic is read to its end and no record arrived for this long",
    )
    group.add_argument(
        "--max-wait",
        type=positive_float,
        default=DEFAULT_MAX_WAIT_S,
        metavar="SECONDS",
        help="how long a batch retries an unreachable registry or broker before the run "
        "fails (default %(default)g)",
    )


def follow_format_error(args: argparse.Namespace) -> str | None:
    """Why the flags do not fit together, or None."""
    if args.follow and args.format == "json":
        return "--follow writes text or jsonl (one JSON object per micro-batch), not json"
    if not args.follow and args.format == "jsonl":
        return "--format jsonl needs --follow"
    if args.follow and args.plot:
        return "--plot is for batch mode, not --follow"
    return None


def run_follow(
    args: argparse.Namespace,
    settings: ConnectionSettings,
    start_spark: Callable[[str], SparkSession],
) -> int:
    """Follow settings.topic as args say, in the session start_spark(master) gives; the
    exit code."""
    from consumer.follow import Follower, FollowOptions
    from consumer.views.live import LiveView

    checkpoint = args.checkpoint or Path("checkpoints") / settings.topic
    options = FollowOptions(
        checkpoint=checkpoint.resolve(),
        trigger_seconds=args.trigger_seconds,
        z_threshold=args.z_threshold,
        min_count=args.min_count,
        reader_schema_file=args.reader_schema,
        until_idle_s=args.until_idle,
        max_wait_s=args.max_wait,
    )
    view = LiveView(settings.topic, args.format)
    print(f"consumer: following {settings.topic}, checkpoint {options.checkpoint}", file=sys.stderr)
    try:
        follower = Follower(start_spark(args.master), settings, options, view.show)
        follower.install_signal_handlers()
        state = follower.run()
    except ConsumerError as error:
        print(f"consumer: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    except (PySparkException, Py4JError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"consumer: error: Spark failed: {first}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the follower's own handler was in place
        print("consumer: interrupted", file=sys.stderr)
        return 130
    view.finish(state)
    return 0
