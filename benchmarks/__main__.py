"""python -m benchmarks: measure producer and consumer against baselines on the local stack,
then write docs/benchmarks.md and docs/benchmarks.png."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from benchmarks.chart import draw_chart
from benchmarks.report import limits_section, render_markdown
from benchmarks.run import Bench, BenchOptions
from connection.cli import OneLineErrorParser, non_negative_int, positive_int
from connection.paths import REPO_ROOT
from connection.settings import add_connection_arguments, settings_from_args

QUICK = BenchOptions(
    producer_events=(5_000, 100_000),
    consumer_events=(100_000,),
    cli_repeats=1,
    variant_events=100_000,
    profile_events=100_000,
    start_repeats=3,
    ratio_repeats=2,
    ratio_producer_events=100_000,
    rules_events=100_000,
    migration_events=100_000,
    dead_letters_events=100_000,
    follow_backlog_events=100_000,
    checkpoint_batch=10_000,
    sustained_seconds=20,
    inspector_events=100_000,
    quick=True,
)


def counts(text: str) -> tuple[int, ...]:
    """argparse type: comma-separated event counts, e.g. 5000,100000."""
    return tuple(positive_int(part) for part in text.split(","))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineErrorParser(prog="python -m benchmarks", description=__doc__)
    add_connection_arguments(parser)  # --topic is not used: every run makes its own topics
    defaults = BenchOptions()
    parser.add_argument("--quick", action="store_true", help="a smoke run at 5k/100k events")
    parser.add_argument(
        "--producer-events", type=counts, help=f"default {defaults.producer_events}"
    )
    parser.add_argument(
        "--consumer-events", type=counts, help=f"default {defaults.consumer_events}"
    )
    parser.add_argument(
        "--report-events", type=positive_int, help=f"default {defaults.report_events}"
    )
    parser.add_argument("--cli-repeats", type=positive_int, help=f"default {defaults.cli_repeats}")
    parser.add_argument(
        "--variant-events",
        type=non_negative_int,
        help=f"events for the Spark settings grid, 0 to skip (default {defaults.variant_events})",
    )
    parser.add_argument(
        "--profile-events",
        type=non_negative_int,
        help=f"events for the producer profile, 0 to skip (default {defaults.profile_events})",
    )
    parser.add_argument(
        "--start-repeats",
        type=positive_int,
        help=f"start-up pairs (bare start, ours) of the ratio table (default "
        f"{defaults.start_repeats})",
    )
    parser.add_argument(
        "--ratio-repeats",
        type=positive_int,
        help=f"throughput pairs (limit, ours) of the ratio table (default "
        f"{defaults.ratio_repeats})",
    )
    parser.add_argument(
        "--ratio-producer-events",
        type=positive_int,
        help=f"events of the producer's ratio row (default {defaults.ratio_producer_events})",
    )
    parser.add_argument(
        "--hdfs-url",
        default=os.environ.get("HDFS_URL"),
        help="measure follow's checkpoint on this HDFS against a local path (default: "
        "$HDFS_URL, as `scripts/local-stack.sh env` prints it with STACK_HDFS=1)",
    )
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--chart", type=Path, default=REPO_ROOT / "docs" / "benchmarks.png")
    return parser.parse_args(argv)


def bench_options(args: argparse.Namespace) -> BenchOptions:
    """--quick's or the full defaults, each overridden by the flags given."""
    base = QUICK if args.quick else BenchOptions()
    overrides = {
        name: getattr(args, name)
        for name in (
            "producer_events",
            "consumer_events",
            "report_events",
            "cli_repeats",
            "variant_events",
            "profile_events",
            "start_repeats",
            "ratio_repeats",
            "ratio_producer_events",
            "hdfs_url",
        )
        if getattr(args, name) is not None
    }
    return replace(base, **overrides)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = Bench(settings_from_args(args), bench_options(args)).run()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render_markdown(results, args.chart.name))
    draw_chart(results, args.chart)
    print(limits_section(results), end="\n\n")  # the ratio table, also first in the file
    print(f"wrote {args.output} and {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
