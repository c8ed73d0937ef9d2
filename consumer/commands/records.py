"""`python -m consumer records`: the topic's typed records, as a registry-aware UI shows
them (where, key, writer schema, value), as a table or one JSON object per record."""

from __future__ import annotations

import argparse

from connection.cli import non_negative_int, positive_int
from connection.defaults import DEFAULTS
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.commands.arguments import (
    add_format_argument,
    add_reading_arguments,
    add_timings_argument,
    checked_reader_file,
)
from consumer.commands.spark_start import start_spark
from consumer.timings import Timings

SUMMARY = "typed records: where, key, writer schema, value"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_reading_arguments(parser)
    add_timings_argument(parser)
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULTS.records_limit,
        help="records to print (default %(default)s)",
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
    add_format_argument(parser, ("text", "jsonl"), "a table, or one JSON object per record")


def run(args: argparse.Namespace, settings: ConnectionSettings, timings: Timings) -> str:
    from consumer.records import RecordsOptions, plan_records, read_records

    options = RecordsOptions(
        limit=args.limit,
        from_offset=args.from_offset,
        partition=args.partition,
        reader_schema_file=args.reader_schema,
        contract_major=args.contract_major,
    )
    with timings.phase("checks before Spark (broker, topic offsets, registry)"):
        checked_reader_file(args)
        plan = plan_records(Clients.of(settings), settings, options)
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
