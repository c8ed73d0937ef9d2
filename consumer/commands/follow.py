"""`python -m consumer follow`: a live topic followed until stopped, each micro-batch
counted exactly once into the running statistics (docs/follow.md), shown, published to
the statistics topic, its dead letters written, its offsets committed to a group."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from connection.cli import port_number, positive_float, positive_int
from connection.clients import librdkafka_config
from connection.defaults import DEFAULTS, LOOPBACK
from connection.hadoop_fs import filesystem_uri
from connection.services import Clients
from connection.settings import ConnectionSettings
from consumer.commands.arguments import (
    add_dlq_topic_argument,
    add_format_argument,
    add_reading_arguments,
    add_z_threshold_argument,
    checked_reader_file,
)
from consumer.commands.spark_start import start_spark
from consumer.errors import ConsumerError, one_line_failures
from consumer.state import Update
from consumer.timings import Timings
from contract.dead_letters import dead_letter_topic

if TYPE_CHECKING:
    from consumer.follow import Follower
    from consumer.follow_metrics import MetricsServer
    from consumer.statistics_topic import UpdatePublisher

SUMMARY = "follow a live topic until stopped"


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace, settings: ConnectionSettings, _timings: Timings) -> str:
    """Follow until stopped; what is left to print (the final table, in text format)."""
    from consumer.batch_counter import BatchCounter
    from consumer.consumer_group import follow_group
    from consumer.follow import Follower
    from consumer.follow_options import FollowOptions
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
        counter = BatchCounter(
            clients,
            settings,
            options,
            reader,
            deliver,
            notice=lambda line: print(f"consumer: {line}", file=sys.stderr),
        )
    follower = Follower(counter)
    server = metrics_server(args, follower)
    counter.prepare()
    spark = start_spark(args.master)
    with one_line_failures("Spark failed"):
        counter.open_checkpoint(spark)
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
            args.metrics_host, args.metrics_port, follower.counter.metrics, follower.health
        )
    except OSError as error:
        raise ConsumerError(
            f"--metrics-port: cannot serve on {args.metrics_host}:{args.metrics_port}: "
            f"{error.strerror or error}"
        ) from None
