"""python -m consumer: price statistics and outliers of a topic, its typed records, or a
live topic followed as it grows.

  python -m consumer [report] [options]   the report: statistics, outliers, bad records
  python -m consumer records [options]    typed records, as a registry-aware UI shows them
  python -m consumer follow [options]     a live topic, counted exactly once (docs/follow.md)
"""

from __future__ import annotations

import connection.dependency_check  # noqa: F401  # isort: skip  (first: one line outside the venv)

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import SparkSession

from connection.class_data import java_home
from connection.cli import (
    OneLineErrorParser,
    non_negative_int,
    port_number,
    positive_float,
    positive_int,
)
from connection.clients import librdkafka_config
from connection.defaults import DEFAULTS, LOOPBACK
from connection.exits import EXIT_OK, run_tool
from connection.hadoop_fs import filesystem_uri
from connection.services import Clients
from connection.settings import (
    ConnectionSettings,
    SettingsError,
    add_connection_arguments,
    add_spark_argument,
    settings_from_args,
    spark_settings_from_env,
)
from connection.spark import ConnectorJarsMissing, build_spark_session, launched_by_spark_submit
from connection.spark_master import check_spark_master
from consumer.errors import ConsumerError, one_line_failures
from consumer.interrupts import interrupts_held_while_spark_starts, quiet_interrupts
from consumer.state import Update
from consumer.timings import Timings

if TYPE_CHECKING:
    from consumer.follow import Follower
    from consumer.follow_metrics import MetricsServer
    from consumer.statistics_topic import UpdatePublisher
from contract.dead_letters import dead_letter_topic
from contract.rules import load_rule_set
from contract.schemas import Contract, ReaderSchema, reader_schema_from_file

HISTOGRAM_BINS = 40
COMMANDS = ("report", "records", "follow")
#: `python -m consumer --follow ...`, as compose files and scripts wrote it before the
#: commands existed: still runs `follow`.
FOLLOW_FLAG = "--follow"


def png_file(text: str) -> Path:
    """argparse type: a file to write, in an existing directory (checked before Spark runs)."""
    path = Path(text)
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"no directory {str(path.parent)!r} to write {text!r} in")
    return path


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


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
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


def add_records_arguments(parser: argparse.ArgumentParser) -> None:
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


def add_follow_arguments(parser: argparse.ArgumentParser) -> None:
    add_reading_arguments(parser)
    add_z_threshold_argument(parser)
    add_format_argument(
        parser,
        ("text", "jsonl"),
        "a table (refreshed in place on a terminal), or one JSON object per micro-batch",
    )
    parser.add_argument(
        "--trigger-seconds",
        type=positive_float,
        default=DEFAULTS.follow_trigger_s,
        metavar="S",
        help="seconds between micro-batches (default %(default)g)",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="URI",
        help="Spark's checkpoint and the running statistics: a Hadoop filesystem URI "
        "(hdfs://..., s3a://..., file:/...) or a local path (default checkpoints/<topic>)",
    )
    parser.add_argument(
        "--min-count",
        type=positive_int,
        default=DEFAULTS.follow_min_count,
        help="judge a group's events for outliers once it has this many (default %(default)s)",
    )
    parser.add_argument(
        "--until-idle",
        type=positive_float,
        metavar="SECONDS",
        help="stop once the topic is read to its end and no record arrived for this long",
    )
    add_dlq_topic_argument(
        parser, "the dead-letter topic, written exactly once per bad record; none: do not write"
    )
    parser.add_argument(
        "--statistics-topic",
        metavar="TOPIC",
        help="publish each counted batch's update to this compacted topic, for the inspector's "
        "live page (default <topic>-statistics; none: do not publish)",
    )
    parser.add_argument(
        "--max-offsets-per-trigger",
        type=positive_int,
        metavar="N",
        help="read at most N records per micro-batch, so a backlog is caught up in bounded "
        "batches (Spark's maxOffsetsPerTrigger; default: all that arrived)",
    )
    parser.add_argument(
        "--max-wait",
        type=positive_float,
        default=DEFAULTS.follow_max_wait_s,
        metavar="SECONDS",
        help="how long a batch retries an unreachable registry or broker before the run "
        "fails (default %(default)g)",
    )
    parser.add_argument(
        "--group-id",
        metavar="GROUP",
        help="commit the counted offsets to this consumer group, for Kafka's lag tools only "
        "(default <topic>-follow; none: do not commit)",
    )
    parser.add_argument(
        "--metrics-port",
        type=port_number,
        metavar="P",
        help="serve Prometheus metrics at /metrics and a health check at /healthz on this "
        "port (default: off)",
    )
    parser.add_argument(
        "--metrics-host",
        default=LOOPBACK,
        metavar="HOST",
        help="the address --metrics-port binds to (default %(default)s)",
    )


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="python -m consumer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="{report,records,follow}")
    adders: dict[str, tuple[Callable[[argparse.ArgumentParser], None], str]] = {
        "report": (add_report_arguments, "statistics and outliers of every record (default)"),
        "records": (add_records_arguments, "typed records: where, key, writer schema, value"),
        "follow": (add_follow_arguments, "follow a live topic until stopped"),
    }
    for name, (add_arguments, summary) in adders.items():
        command = commands.add_parser(
            name,
            help=summary,
            description=summary,
            prog=f"python -m consumer {name}",
        )
        add_arguments(command)
    return parser


def command_line(argv: list[str]) -> list[str]:
    """argv with its command made explicit: none is `report`; a leading --follow, `follow`."""
    if argv[:1] == [FOLLOW_FLAG]:
        return ["follow", *argv[1:]]
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        return ["report", *argv]
    return argv


def check_java() -> None:
    """A Java runtime for Spark's JVM is there; ConsumerError (one line) when it is not,
    instead of the launcher's own output and a Python traceback."""
    home = java_home(os.environ)
    if home is None:
        raise ConsumerError("no Java runtime for Spark: set JAVA_HOME, or put java on PATH")
    if not os.access(home / "bin" / "java", os.X_OK):
        raise ConsumerError(f"no Java runtime for Spark in {home} (no bin/java there)")


def start_spark(master: str, short_run: bool = False) -> SparkSession:
    """The one SparkSession of this process; ConsumerError (or the master's own one-line
    error) when it cannot start. Under spark-submit, the JVM runs already with its own
    master: nothing to check."""
    if not launched_by_spark_submit():
        check_spark_master(master)
        check_java()
    try:
        with interrupts_held_while_spark_starts(), one_line_failures("Spark did not start"):
            settings = replace(spark_settings_from_env(master), short_run=short_run)
            return build_spark_session(settings)
    except ConnectorJarsMissing as error:
        raise ConsumerError(str(error)) from None


def checked_reader_file(args: argparse.Namespace) -> ReaderSchema | None:
    """The --reader-schema file's schema (None without one), and the --rules file, checked
    before anything else is; ConsumerError naming the file when one cannot be used."""
    if args.reader_schema is not None and args.contract_major is not None:
        raise ConsumerError("--reader-schema and --contract-major both name the reader: give one")
    with one_line_failures():
        if args.rules is not None:
            load_rule_set(args.rules)
        return None if args.reader_schema is None else reader_schema_from_file(args.reader_schema)


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


def run_report(args: argparse.Namespace, settings: ConnectionSettings, timings: Timings) -> str:
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


def run_records(args: argparse.Namespace, settings: ConnectionSettings, timings: Timings) -> str:
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


def statistics_publisher(
    args: argparse.Namespace, settings: ConnectionSettings, clients: Clients
) -> UpdatePublisher | None:
    """The statistics topic's publisher --statistics-topic asks for (None: none)."""
    from consumer.statistics_topic import StatisticsTopic, UpdatePublisher, statistics_topic

    if args.statistics_topic == "none":
        return None
    topic = StatisticsTopic(
        librdkafka_config(settings),
        clients.registry,
        args.statistics_topic or statistics_topic(settings.topic),
        settings.topic,
    )
    return UpdatePublisher(topic, lambda line: print(f"consumer: {line}", file=sys.stderr))


def run_follow(args: argparse.Namespace, settings: ConnectionSettings, _timings: Timings) -> str:
    """Follow until stopped; what is left to print (the final table, in text format)."""
    from consumer.consumer_group import follow_group
    from consumer.follow import Follower, FollowOptions
    from consumer.views.live import LiveView, update_document

    checkpoint = args.checkpoint or str(Path("checkpoints") / settings.topic)
    options = FollowOptions(
        checkpoint=filesystem_uri(checkpoint),
        trigger_seconds=args.trigger_seconds,
        z_threshold=args.z_threshold,
        min_count=args.min_count,
        until_idle_s=args.until_idle,
        max_wait_s=args.max_wait,
        rules_file=args.rules,
        contract_major=args.contract_major,
        dead_letter_topic=None
        if args.dlq_topic == "none"
        else args.dlq_topic or dead_letter_topic(settings.topic),
        group_id=None if args.group_id == "none" else args.group_id or follow_group(settings.topic),
        max_offsets_per_trigger=args.max_offsets_per_trigger,
    )
    reader = checked_reader_file(args)
    clients = Clients.of(settings)
    view = LiveView(settings.topic, args.format)
    publish = statistics_publisher(args, settings, clients)

    def deliver(update: Update) -> None:
        """Shown first, then published: the order docs/follow.md gives."""
        view.show(update)
        if publish is not None:
            publish(update_document(update))

    with one_line_failures():  # the fixed reader's rules are bound here
        follower = Follower(
            clients,
            settings,
            options,
            reader,
            deliver,
            notice=lambda line: print(f"consumer: {line}", file=sys.stderr),
        )
    server = metrics_server(args, follower)
    follower.prepare()
    spark = start_spark(args.master)
    with one_line_failures("Spark failed"):
        follower.open_checkpoint(spark)
    print(f"consumer: following {settings.topic}, checkpoint {options.checkpoint}", file=sys.stderr)
    follower.stop.install()
    if server is not None:
        server.start()
        print(f"consumer: metrics at {server.url}/metrics, health at /healthz", file=sys.stderr)
    try:
        with one_line_failures("Spark failed"):
            state = follower.run(spark)
    finally:
        if server is not None:
            server.stop()
    return view.final(state)


def metrics_server(args: argparse.Namespace, follower: Follower) -> MetricsServer | None:
    """The --metrics-port server, bound before Spark starts (a port in use is one line
    then, not after a minute of start-up); None without the flag."""
    from consumer.follow_metrics import MetricsServer

    if args.metrics_port is None:
        return None
    try:
        return MetricsServer(
            args.metrics_host, args.metrics_port, follower.metrics, follower.health
        )
    except OSError as error:
        raise ConsumerError(
            f"--metrics-port: cannot serve on {args.metrics_host}:{args.metrics_port}: "
            f"{error.strerror or error}"
        ) from None


def main(argv: list[str] | None = None) -> int:
    timings = Timings()
    quiet_interrupts()
    parser = build_parser()
    args = parser.parse_args(command_line(sys.argv[1:] if argv is None else argv))
    try:
        settings = settings_from_args(args)
    except SettingsError as error:
        parser.error(str(error))
    run = {"report": run_report, "records": run_records, "follow": run_follow}[args.command]
    timings.mark("process start to arguments parsed (interpreter, imports)")

    def body() -> int:
        text = run(args, settings, timings)
        if text:
            print(text, flush=True)
        if getattr(args, "timings", False):
            print(timings.render(), file=sys.stderr, flush=True)
        return EXIT_OK

    return run_tool("consumer", body)


if __name__ == "__main__":
    sys.exit(main())
