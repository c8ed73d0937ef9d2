"""docs/benchmarks.md: the results as Markdown tables (computed once, rendered here)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from benchmarks.results import (
    CONSUMER_LIMIT,
    KAFKA_READ_REFERENCE,
    LAG_GROWTH_BOUND,
    LAG_MIN_BATCHES,
    MIGRATION_ON_READ,
    NAIVE_AVRO_BASELINE,
    PLAIN_PYTHON,
    PRODUCER_LIMIT,
    START_UP_LIMIT,
    TIME,
    VIOLATIONS,
    BenchResults,
    ConsumerCliRun,
    FollowBenchmark,
    LimitRatio,
    Profile,
    ProfileLine,
)
from benchmarks.targets import TargetCheck, evaluate
from connection.defaults import DEFAULTS

MIB = 2**20


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; numeric-looking columns are right-aligned."""

    def numeric(column: int) -> bool:
        cells = [row[column] for row in rows if row[column]]
        return bool(cells) and all(cell.lstrip("-")[:1].isdigit() for cell in cells)

    align = ["---:" if numeric(i) else "---" for i in range(len(headers))]
    lines = [headers, align, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def status(check: TargetCheck) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[check.met]


def machine_section(results: BenchResults) -> str:
    machine = results.machine
    headers = ["CPU", "cores", "RAM", *machine.versions]
    row = [
        machine.cpu,
        str(machine.cores),
        f"{machine.ram_gib:.1f} GiB",
        *machine.versions.values(),
    ]
    return "## Machine and versions\n\n" + table(headers, [row])


def figure_text(ratio: LimitRatio, seconds: list[float]) -> str:
    """The median of a side's runs: seconds (a time), or events/s (a rate)."""
    median = statistics.median(seconds)
    return f"{median:.2f} s" if ratio.kind == TIME else f"{ratio.events / median:,.0f} ev/s"


def ratio_row(ratio: LimitRatio) -> list[str]:
    ratios = ratio.ratios()
    bound = "<=" if ratio.kind == TIME else ">="
    return [
        ratio.figure,
        figure_text(ratio, [run.ours_seconds for run in ratio.runs]),
        ratio.limit,
        figure_text(ratio, [run.limit_seconds for run in ratio.runs]),
        f"{ratios[0]:.2f}x / {statistics.median(ratios):.2f}x / {ratios[-1]:.2f}x",
        "none set"
        if ratio.target is None
        else f"{bound} {ratio.target:.2f}x: {'met' if ratio.met() else '**not met**'}",
        f"{min(r.load for r in ratio.runs):.1f}-{max(r.load for r in ratio.runs):.1f}",
        str(len(ratio.runs)),
    ]


def limits_section(results: BenchResults) -> str:
    rows = [ratio_row(ratio) for ratio in results.measured_limits()]
    headers = [
        "figure",
        "ours (median)",
        "its limit, same run",
        "limit (median)",
        "ratio min / median / max",
        "target",
        "load",
        "pairs",
    ]
    text = (
        "## Ratio to the machine's limits, measured in the same run\n\n"
        "Each pair runs the limit, then ours, on the same events; the ratio is taken per "
        "pair (time: ours / limit; rate: ours' events/s / the limit's). The machine is "
        f"shared: the load column is the 1-minute load average over the pairs "
        f"({results.machine.cores} cores).\n\n" + table(headers, rows)
    )
    fallback = fallback_text(results)
    return f"{text}\n\n{fallback}" if fallback else text


def fallback_text(results: BenchResults) -> str:
    """The Python fallback's rate, beside the migration row (nothing when not measured)."""
    fallback = results.migration_fallback
    if fallback is None:
        return ""
    compiled = results.limit(MIGRATION_ON_READ)
    against = (
        f", {fallback.seconds / median_seconds(compiled)[0]:.1f}x the compiled rule's median "
        "time in the row above"
        if compiled is not None and compiled.events == fallback.events
        else ""
    )
    return (
        f"The Python fallback, no target: the same {fallback.events:,} major-2 records with "
        "`cents-to-price` written outside the compiled subset (`$formatNumber`), so "
        f"{', '.join(f'`{rule}`' for rule in fallback.python_rules)} ran in jsonata-python "
        f"in an Arrow UDF: consume() took {fallback.seconds:.1f} s, "
        f"{fallback.records_per_s:,.0f} records/s{against} (one run, load "
        f"{fallback.load:.1f})."
    )


def median_cli_run(results: BenchResults, events: int) -> tuple[ConsumerCliRun, int] | None:
    """The CLI run at events with --timings and the median exit time, and how many runs
    it is the median of."""
    runs = [r for r in results.consumer_cli if r.events == events and r.phases]
    if not runs:
        return None
    return sorted(runs, key=lambda r: r.exit_seconds)[len(runs) // 2], len(runs)


def median_report_run(results: BenchResults) -> ConsumerCliRun | None:
    """The report's CLI run (the first size measured) with the median exit time."""
    if not results.consumer_cli:
        return None
    report_events = results.consumer_cli[0].events  # the report's runs come first
    median = median_cli_run(results, report_events)
    return median[0] if median else None


def consumer_limit_run(results: BenchResults) -> ConsumerCliRun | None:
    """The CLI run at the consumer limit's count (the largest), for its --timings."""
    limit = results.limit(CONSUMER_LIMIT)
    median = median_cli_run(results, limit.events) if limit else None
    return median[0] if median else None


def merged_phases(runs: Sequence[ConsumerCliRun]) -> list[str]:
    """The phase names of every run, each once, in the order the runs went through them
    (a phase only one run has comes after the phase it followed there)."""
    names: list[str] = []
    for run in runs:
        previous = -1
        for name, _ in run.phases:
            if name in names:
                previous = names.index(name)
            else:
                previous += 1
                names.insert(previous, name)
    return names


def phases_section(results: BenchResults) -> str:
    """Where `python -m consumer`'s seconds go: the --timings of the report's median run,
    and of the run at the consumer limit's count beside it."""
    report = median_report_run(results)
    if report is None:
        return ""
    runs = [report]
    large = consumer_limit_run(results)
    if large is not None and large.events != report.events:
        runs.append(large)
    headers = ["phase"]
    for run in runs:
        median = median_cli_run(results, run.events)
        of = f" (median of {median[1]})" if median and median[1] > 1 else ""
        headers.append(f"{run.events:,} events{of}, s")
    rows = []
    for name in merged_phases(runs):
        seconds = [dict(run.phases).get(name) for run in runs]
        rows.append([name, *("" if s is None else f"{s:.2f}" for s in seconds)])
    rows.append(
        [
            "exit (after the report: Python, then Spark's JVM)",
            *(f"{run.exit_seconds - run.report_seconds:.2f}" for run in runs),
        ]
    )
    return (
        "## Where `python -m consumer`'s seconds go (`--timings`)\n\n"
        "Each phase as the consumer's `--timings` prints it; a job's seconds include "
        "Spark's first-use costs in a fresh process (code generation, class loading).\n\n"
        + table(headers, rows)
    )


def median_seconds(ratio: LimitRatio) -> tuple[float, float]:
    """The medians of (ours, the limit) in seconds."""
    return (
        statistics.median(run.ours_seconds for run in ratio.runs),
        statistics.median(run.limit_seconds for run in ratio.runs),
    )


def stops_section(results: BenchResults) -> str:
    """What stands between each figure and its limit, from this run's own measurements."""
    lines = []
    start = results.limit(START_UP_LIMIT)
    report_run = median_report_run(results)
    if start and report_run:
        ours, bare = median_seconds(start)
        beyond_spark = sum(
            seconds
            for name, seconds in report_run.phases
            if not name.startswith(("Spark session", "total"))
        )
        lines.append(
            f"- Start-up: ours takes {ours - bare:.1f} s more than the bare start "
            f"({ours:.1f} s against {bare:.1f} s). In the report's `--timings` above, "
            f"{beyond_spark:.1f} s go to everything but the Spark session: the interpreter "
            "and imports, the checks before Spark, the Kafka source's offset look-up, the "
            "decode plan and the two jobs (summary, outliers); each job pays Spark's first-use "
            "costs (code generation, class loading) that `spark.range(1).count()` does not."
        )
    read = results.limit(KAFKA_READ_REFERENCE)
    if start and read:
        read_seconds, bare = median_seconds(read)
        verdict = "already over" if not read.met() else "within"
        lines.append(
            f"- A bare process that only reads the same topic with Spark's Kafka source, as "
            f"consume() reads it (no decode, no statistics), takes {read_seconds:.1f} s, "
            f"{statistics.median(read.ratios()):.2f}x the bare start: {verdict} the "
            f"{start.target or 0:.2f}x target before any of our work."
        )
    produce = results.limit(PRODUCER_LIMIT)
    if produce:
        ours, raw = median_seconds(produce)
        per_event = 1e6 * ours / produce.events
        raw_per_event = 1e6 * raw / produce.events
        generation = (
            f" `generate_batches` alone takes {1e6 / results.generator_events_per_s:.2f} µs "
            "per event (seeded numpy streams, replayed exactly)."
            if results.generator_events_per_s
            else ""
        )
        lines.append(
            f"- Producer: ours spends {per_event:.2f} µs per event, the raw loop "
            f"{raw_per_event:.2f} µs; the difference is generation, serialization and the "
            f"per-message dict handed to `produce_batch`.{generation}"
        )
    consumer = results.limit(CONSUMER_LIMIT)
    if consumer:
        lines.append(consumer_stops(consumer, consumer_limit_run(results)))
    if not lines:
        return ""
    return "## What stops each ratio (this run's measurements)\n\n" + "\n".join(lines)


def consumer_stops(limit: LimitRatio, run: ConsumerCliRun | None) -> str:
    """consume() against Spark's read alone, and (if run at that count) the jobs the CLI's
    --timings show consume() running."""
    ours, read = median_seconds(limit)
    line = (
        f"- Consumer at {limit.events:,}: consume() takes {ours:.1f} s in a warm session "
        f"against {read:.1f} s for Spark's Kafka source alone reading the topic the same way: "
        f"{ours - read:.1f} s go to what consume() does beyond the read."
    )
    jobs = [
        (name, seconds) for name, seconds in (run.phases if run else ()) if name.startswith("job: ")
    ]
    if run is None or not jobs:
        return line
    listed = "; ".join(f"{name[len('job: ') :]} {seconds:.1f} s" for name, seconds in jobs)
    return line + (
        f" `python -m consumer --timings` at {run.events:,} (a fresh process) runs "
        f"{len(jobs)} Spark job{'s' if len(jobs) > 1 else ''}: {listed} (table above)."
    )


def targets_section(results: BenchResults) -> str:
    rows = [[check.target, status(check), check.measured] for check in evaluate(results)]
    return "## Targets\n\n" + table(["target", "status", "measured"], rows)


def producer_section(results: BenchResults) -> str:
    rows = []
    for run in sorted(results.producer, key=lambda r: r.events):
        baseline = results.producer_run(NAIVE_AVRO_BASELINE, run.events)
        factor = f"{run.events_per_s / baseline.events_per_s:.2f}x" if baseline else ""
        rows.append(
            [
                run.way,
                f"{run.events:,}",
                f"{run.seconds:.2f}",
                f"{run.events_per_s:,.0f}",
                f"{run.mb_per_s:.2f}",
                factor,
                f"{run.load:.1f}",
                str(run.runs),
            ]
        )
    headers = ["way", "events", "seconds", "events/s", "MB/s", "vs (b)", "load", "median of"]
    return "## Producer: first send to last acknowledgement\n\n" + table(headers, rows)


def consumer_cli_section(results: BenchResults) -> str:
    rows = [
        [
            f"{run.events:,}",
            f"{run.report_seconds:.1f}",
            f"{run.exit_seconds:.1f}",
            f"{run.peak_rss_bytes / MIB:,.0f}",
            f"{run.peak_python_rss_bytes / MIB:,.0f}",
            f"{run.load:.1f}",
        ]
        for run in results.consumer_cli
    ]
    headers = [
        "events",
        "report printed (s)",
        "process exit (s)",
        "peak RSS Python + JVM (MiB)",
        "peak RSS Python (MiB)",
        "load",
    ]
    return (
        "## Consumer: `python -m consumer` from process start (Spark start included)\n\n"
        + table(headers, rows)
    )


def consumer_section(results: BenchResults) -> str:
    rows = []
    for run in sorted(results.consumer, key=lambda r: (r.events, r.way)):
        baseline = results.consumer_run(PLAIN_PYTHON, run.events)
        factor = f"{run.records_per_s / baseline.records_per_s:.2f}x" if baseline else ""
        rows.append(
            [
                run.way,
                f"{run.events:,}",
                f"{run.seconds:.2f}",
                f"{run.records_per_s:,.0f}",
                factor,
                f"{run.load:.1f}",
            ]
        )
    headers = ["way", "events", "seconds", "records/s", "vs plain Python", "load"]
    return "## Consumer: read + decode + statistics + outliers, throughput\n\n" + table(
        headers, rows
    )


def spark_section(results: BenchResults) -> str:
    """consume() with other minPartitions and shuffle partitions (nothing when not run)."""
    if not results.variants:
        return ""
    rows = [
        [
            str(v.min_partitions),
            str(v.shuffle_partitions),
            f"{v.events:,}",
            f"{v.seconds:.2f}",
            f"{v.records_per_s:,.0f}",
        ]
        for v in results.variants
    ]
    headers = ["minPartitions", "shuffle partitions", "events", "seconds", "records/s"]
    events = results.variants[0].events
    if events <= DEFAULTS.small_topic_records:
        shuffle = (
            f"one shuffle partition (a topic of at most {DEFAULTS.small_topic_records:,} "
            "records is aggregated in one whatever spark.sql.shuffle.partitions says, so the "
            "shuffle column changes nothing here)"
        )
    else:
        shuffle = (
            f"spark.sql.shuffle.partitions {results.default_shuffle_partitions} (the session's)"
        )
    return (
        "## Consumer: Spark settings\n\n"
        f"consume()'s own choices for this {events:,}-event topic: minPartitions "
        f"{results.default_min_partitions}, {shuffle}.\n\n" + table(headers, rows)
    )


def producer_profile_heading(results: BenchResults) -> str:
    lines = ["## Where the producer's time goes (pyinstrument)"]
    if results.generator_events_per_s:
        lines.append(
            f"- `generate_batches` alone, nothing sent: {results.generator_events_per_s:,.0f} "
            f"events/s ({1e6 / results.generator_events_per_s:.1f} µs per event)."
        )
    if results.client_events_per_s:
        lines.append(
            "- Ours' send loop and the Kafka client alone (one pre-serialized event sent "
            f"again and again): {results.client_events_per_s:,.0f} events/s "
            f"({1e6 / results.client_events_per_s:.1f} µs per event)."
        )
    if len(lines) > 1:
        lines.insert(1, "")
        lines.append(
            "\nA producer's µs per event are about generation + serialization + client: "
            "150,000 events/s leaves 6.7 µs for all three."
        )
    return "\n".join(lines)


def profile_section(profile: Profile) -> str:
    def rows(lines: Sequence[ProfileLine]) -> list[list[str]]:
        return [[line.function, f"{line.seconds:.2f}", f"{line.share:.0%}"] for line in lines]

    return (
        f"### {profile.way}, {profile.events:,} events ({profile.seconds:.2f} s profiled)\n\n"
        + table(["kind of work", "seconds", "share"], rows(profile.categories))
        + "\n\n"
        + table(["function (self time)", "seconds", "share"], rows(profile.lines))
    )


METHOD = """## How this was measured

- Producer: every way sends the same seeded events (`producer.events.generate_batches`,
  generated inside the timed loop, as `producer.run` does; the baselines take them as
  records) to its own fresh topic with
  3 partitions, created and given leaders before the clock starts, with the project
  producer's client settings (`producer.send.producer_config`: idempotent, `acks=all`,
  lz4, `linger.ms` 20). Time runs from the first send to the last acknowledgement
  (`ProduceSummary.seconds` for ours). An idempotent librdkafka producer may take about
  0.5 s after its creation to get its producer id, and sends wait for it: ours creates
  its producer before registering the contract, the baselines get a producer that has
  already delivered one message to a warm-up topic. MB/s counts keys plus values as
  sent (Avro key and value for ours; a UTF-8 key for the baselines). Baseline (a) sends
  JSON made with `json.dumps`; baseline (b) is confluent-kafka's
  `examples/avro_producer.py` loop (`AvroSerializer` per value, string key, a delivery
  report per message). Ours writes the same bytes as `AvroSerializer` with fastavro and
  the registry's schema ids (`producer/serialization.py`, tested byte for byte against
  `AvroSerializer`), hands batches of 2,000 to `produce_batch` and is told only about
  failed deliveries. Every way compresses batches with lz4 (the producer's default)
  except "ours with --compression none", which shows what compression costs here
  (uncompressed, the topic takes about 2.3x the bytes).
- Consumer, report latency and memory: `python -m consumer --format json` as a
  subprocess; "report printed" is the first byte on its (unbuffered) stdout, "process
  exit" comes after Spark shuts down. Peak RSS is sampled from /proc every 0.1 s and
  summed over the process tree (Python driver + the JVM child of spark-submit).
- Consumer throughput: `consumer.batch.consume` (the batch driver's public entry, as
  `python -m consumer` runs it) called in one Python process (`benchmarks.spark_probe`, a
  child of the benchmark) after warm-up runs at the smallest sizes (the SparkSession
  already up), so it excludes Spark's start; the count of decoded records is checked.
  The Spark settings grid runs there too. Its limit, Spark's Kafka source alone, is read
  there with the consumer's own read (`consumer.source.read_topic`) and the minPartitions
  consume() chooses for the topic (`consumer.batch.read_min_partitions`), to the noop
  sink, the broker checks done before its clock starts. The
  plain-Python baseline reads the same topic fully with a confluent-kafka `Consumer`
  (batches of 10,000), decodes with
  `AvroDeserializer`, keeps prices in arrays and computes `statistics.fmean`/`stdev`
  and the outliers (|z| > 3).
- The contract's rules: on read, consume() with the shipped rules file against consume()
  with an empty ruleSet on the same topic, pairs in the probe's warm session; on write,
  ours judging every event (`producer.write_rules`) against ours with `--no-rules`, each
  on its own fresh topic. The events keep every rule, so the pairs price the judging,
  not dead letters.
- Reading across majors: the migration row's topic holds the same events as the
  major-1 topic of its count, written in the contract's major 2
  (`docs/examples/major-2`: `ticker`, `price_cents`), encoded with fastavro against the
  id the registry gave major 2, registered with its migration rules after the
  contract's version of major none; consume() reads it by default as that version,
  every record through the DOWNGRADE rule `cents-to-price` compiled to Spark columns.
  Pairs in the probe's warm session after one untimed major-2 read, each read checked
  to have migrated every record with none failing. The fallback reads a third topic of
  the same records whose major 2 carries `cents-to-price` rewritten with
  `$formatNumber` (outside the compiled subset), checked to have run it in
  jsonata-python.
- The consumer topics larger than the producer runs are filled once per run by ours (also
  a producer measurement); the others reuse the producer's topics ("ours").
- The load column is the 1-minute load average after each measurement: above the core
  count means other work shared the cores and the numbers are pessimistic.
"""


def follow_row(run: FollowBenchmark) -> list[str]:
    return [
        f"{run.trigger_seconds:g} s",
        f"{run.offered_events_per_s:,}",
        f"{run.written_events_per_s:,.0f}",
        f"{run.offered_seconds:.0f} s",
        f"{run.events:,}",
        f"{run.events_per_s:,.0f}",
        str(run.batches),
        f"{run.latency_median_s:.1f}",
        f"{run.latency_max_s:.1f}",
        f"{run.lag_first_half:,} -> {run.lag_second_half:,}",
        "yes" if run.bounded else "**no**",
        f"{run.dead_letters:,}",
    ]


def follow_section(results: BenchResults) -> str:
    """Follow mode's runs under a steady producer and its catch-up on a backlog (nothing
    when not measured)."""
    runs = [*results.follow, *results.sustained]
    if not runs:
        return ""
    text = (
        "## Follow mode: counted events/s, end-to-end latency and lag\n\n"
        "Follow mode (`consumer.follow.Follower`, in-process) judges the contract's rules "
        "and writes its dead letters, as `consumer follow` does by default, while "
        "`python -m producer --events-per-second` (its own process, `--no-rules`, "
        f"{VIOLATIONS:.0%} of the events breaking a rule) offers a fixed rate; written ev/s "
        "is what it wrote (events over the span of their Kafka timestamps), counted ev/s "
        "the events over the time from the first record to the batch that counted the last. "
        "Latency is from a record's produce time to the statistics update that includes it. "
        "Lag is the records behind the topic's end after each batch, the largest in the "
        "first and in the second half of the writing; it stays bounded when each half has "
        f"{LAG_MIN_BATCHES} batches or more and the second half's largest is at most "
        f"{LAG_GROWTH_BOUND:g}x the first's. The first rows are a light load at two "
        "triggers; the last, the default trigger offered a share of batch consume()'s rate "
        "(below).\n\n"
        + table(
            [
                "trigger",
                "offered ev/s",
                "written ev/s",
                "for",
                "events",
                "counted ev/s",
                "batches",
                "latency median s",
                "latency max s",
                "largest lag, 1st -> 2nd half",
                "bounded",
                "dead letters",
            ],
            [follow_row(run) for run in runs],
        )
    )
    catch_up = results.follow_catch_up
    if catch_up is None:
        return text
    return text + (
        f"\n\nCatching up on a backlog of {catch_up.events:,} records "
        f"({catch_up.dead_letters:,} of them dead letters): follow took "
        f"{catch_up.seconds:.1f} s from the query's start to the batch that counted the last "
        f"one ({catch_up.events_per_s:,.0f} ev/s, {catch_up.batches} batch"
        f"{'es' if catch_up.batches != 1 else ''}); batch consume() with the rules and "
        f"`--dlq`, on the same topic in the same warm session, took "
        f"{catch_up.batch_seconds:.1f} s ({catch_up.batch_events_per_s:,.0f} ev/s), and plain "
        f"consume() on a clean topic of as many events {catch_up.clean_batch_seconds:.1f} s "
        f"({catch_up.clean_batch_events_per_s:,.0f} ev/s; load {catch_up.load:.1f} after)."
    )


def inspector_section(results: BenchResults) -> str:
    """The inspector's page times (nothing when not measured)."""
    pages = results.inspector_pages
    if pages is None:
        return ""
    return (
        "## Inspector: a page of records from the middle of a topic\n\n"
        f"`python -m inspector` (uvicorn in the benchmark's process) asked over one kept-alive "
        f"connection, as a browser keeps it, for {len(pages.milliseconds)} consecutive pages "
        f"of {pages.limit} records of partition {pages.partition} of a {pages.records:,}-record "
        f"topic, from offset {pages.first_offset:,} (a first, cold page not counted); each "
        "timed from the request to the last byte of its HTML, and checked to hold "
        f"{pages.limit} rows.\n\n"
        + table(
            ["records in the topic", "page", "median ms", "max ms", "pages"],
            [
                [
                    f"{pages.records:,}",
                    f"{pages.limit}",
                    f"{pages.median_ms:.0f}",
                    f"{pages.max_ms:.0f}",
                    str(len(pages.milliseconds)),
                ]
            ],
        )
    )


def render_markdown(results: BenchResults, chart_name: str) -> str:
    machine = results.machine
    mode = " (--quick smoke run)" if results.quick else ""
    header = (
        "# Benchmarks\n\n"
        f"Written by `make bench` (`python -m benchmarks`){mode} on "
        f"{machine.date:%Y-%m-%d %H:%M} UTC; do not edit by hand.\n\n"
        f"![throughput against event count]({chart_name})"
    )
    sections = [
        header,
        limits_section(results),
        phases_section(results),
        stops_section(results),
        machine_section(results),
        targets_section(results),
        producer_section(results),
        consumer_cli_section(results),
        consumer_section(results),
        spark_section(results),
        follow_section(results),
        inspector_section(results),
        producer_profile_heading(results),
        *(profile_section(profile) for profile in results.profiles),
        METHOD.strip(),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"
