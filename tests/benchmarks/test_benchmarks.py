"""The benchmark harness's own logic: tables, targets, options, /proc parsing."""

from __future__ import annotations

import ast
import json
from contextlib import suppress
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

import benchmarks.limits
from benchmarks.__main__ import bench_options, parse_args
from benchmarks.consumer_cli import timings_from
from benchmarks.consumer_spark import NotMigrated, python_rules
from benchmarks.limits import MIGRATION_ON_READ_TARGET, bare_read, migration_on_read_ratio
from benchmarks.machine import Machine, cpu_model, total_ram_gib
from benchmarks.majors import DOWNGRADE_RULE, as_major_2, fallback_document, major_2_document
from benchmarks.memory import descendants, parent_pids, rss_bytes
from benchmarks.producing import SMALL_RUN_EVENTS, benchmark_plan, repeats_for
from benchmarks.report import render_markdown, table
from benchmarks.results import (
    CLASS_DATA_REFERENCE,
    CONSUMER_LIMIT,
    KAFKA_READ_REFERENCE,
    LIMIT_ORDER,
    MIGRATION_ON_READ,
    NAIVE_AVRO_BASELINE,
    OURS,
    PLAIN_PYTHON,
    PRODUCER_LIMIT,
    RATE,
    REPORT_AGAINST_READ,
    RULES_ON_WRITE,
    SPARK_CONSUMER,
    START_UP_LIMIT,
    TIME,
    BenchResults,
    ConsumerCliRun,
    ConsumerRun,
    FollowBenchmark,
    FollowCatchUp,
    LimitRatio,
    MigrationFallback,
    PageTimes,
    PairedRun,
    ProducerRun,
    SparkVariant,
    lag_bounded,
)
from benchmarks.spark_probe import SparkProbeResult
from benchmarks.targets import evaluate
from connection.paths import REPO_ROOT
from connection.settings import ConnectionSettings, RegistrySettings
from consumer.batch import CheckedTopic
from consumer.report import Report, RuleFailures, WriterMigration
from consumer.source import OffsetRange
from contract import jsonata
from contract.jsonata_subset import SubsetError, parse_transform
from producer.events import generate_records

MIB = 2**20


def machine() -> Machine:
    return Machine(
        cpu="Test CPU",
        cores=2,
        ram_gib=8.0,
        versions={"python": "3.11.7", "pyspark": "4.2.0"},
        date=datetime(2026, 11, 27, tzinfo=timezone.utc),
    )


def results_meeting_every_target() -> BenchResults:
    results = BenchResults(machine=machine(), quick=False)
    results.producer = [
        ProducerRun(OURS, 1_000_000, 5.0, 34_000_000, 1.0),  # 200k ev/s
        ProducerRun(NAIVE_AVRO_BASELINE, 1_000_000, 20.0, 28_000_000, 1.0),  # 50k ev/s
    ]
    results.consumer = [
        ConsumerRun(SPARK_CONSUMER, 10_000_000, 8.0, 1.0),
        ConsumerRun(PLAIN_PYTHON, 10_000_000, 200.0, 1.0),
    ]
    results.consumer_cli = [
        ConsumerCliRun(5_000, 12.0, 13.0, 600 * MIB, 80 * MIB, 1.0),
        ConsumerCliRun(5_000, 14.0, 15.0, 600 * MIB, 80 * MIB, 1.0),
        ConsumerCliRun(5_000, 30.0, 31.0, 600 * MIB, 80 * MIB, 1.0),
        ConsumerCliRun(1_000_000, 20.0, 21.0, 1000 * MIB, 80 * MIB, 1.0),
        ConsumerCliRun(10_000_000, 40.0, 41.0, 1100 * MIB, 80 * MIB, 1.0),
    ]
    results.sustained = [follow_run(120_000, lag=(600_000, 640_000))]
    # batch --dlq 200k ev/s, clean batch 160k ev/s
    results.follow_catch_up = FollowCatchUp(1_000_000, 10_000, 8.0, 1, 5.0, 1.0, 6.25)
    results.inspector_pages = PageTimes("t", 1_000_000, 0, 166_000, 100, (40.0, 60.0, 300.0))
    return results


def follow_run(offered: int, lag: tuple[int, int], trigger: float = 5.0) -> FollowBenchmark:
    """A two-minute follow run offered offered ev/s, with its largest lags per half (12
    batches each)."""
    first, second = lag
    return FollowBenchmark(
        trigger_seconds=trigger,
        offered_events_per_s=offered,
        written_events_per_s=offered * 0.995,
        events=offered * 120,
        events_per_s=offered * 0.99,
        batches=24,
        latency_median_s=5.5,
        latency_max_s=7.0,
        dead_letters=offered * 120 // 100,
        lag_first_half=first,
        lag_second_half=second,
        bounded=lag_bounded([first] * 12, [second] * 12),
    )


def test_table_right_aligns_numeric_columns_only() -> None:
    assert table(["way", "events/s"], [["ours", "1,000"], ["json", "-5"]]).splitlines() == [
        "| way | events/s |",
        "| --- | ---: |",
        "| ours | 1,000 |",
        "| json | -5 |",
    ]


def test_every_target_met_is_reported_met() -> None:
    checks = evaluate(results_meeting_every_target())
    assert [check.met for check in checks] == [True, None, True, True, True, True, True, True]
    assert checks[0].measured == "200,000 ev/s, 4.00x baseline (b)"
    assert checks[3].measured == "median 14.0 s of 3 runs"
    assert checks[4].measured.endswith("(1.10x)")


def test_a_fast_producer_below_twice_the_baseline_is_not_met() -> None:
    results = results_meeting_every_target()
    results.producer[1] = ProducerRun(NAIVE_AVRO_BASELINE, 1_000_000, 9.0, 28_000_000, 1.0)
    producer = evaluate(results)[0]
    assert producer.met is False
    assert "1.80x" in producer.measured


def test_a_consumer_behind_the_plain_python_baseline_is_not_met() -> None:
    results = results_meeting_every_target()
    results.consumer[1] = ConsumerRun(PLAIN_PYTHON, 10_000_000, 5.0, 1.0)
    assert evaluate(results)[2].met is False


def test_memory_growing_with_the_count_is_not_met() -> None:
    results = results_meeting_every_target()
    results.consumer_cli[-1] = ConsumerCliRun(10_000_000, 40.0, 41.0, 2000 * MIB, 80 * MIB, 1.0)
    assert evaluate(results)[4].met is False


def test_memory_is_compared_above_the_small_topic_threshold_only() -> None:
    results = results_meeting_every_target()
    results.consumer_cli = [  # 100k caches in memory, 1M on disk: not a growth pair
        ConsumerCliRun(100_000, 14.0, 15.0, 500 * MIB, 80 * MIB, 1.0),
        ConsumerCliRun(1_000_000, 20.0, 21.0, 1000 * MIB, 80 * MIB, 1.0),
    ]
    assert evaluate(results)[4].met is None


def test_targets_of_a_quick_run_are_not_measured() -> None:
    assert {check.met for check in evaluate(BenchResults(machine(), quick=True))} == {None}


def test_markdown_has_every_section_and_the_chart() -> None:
    text = render_markdown(results_meeting_every_target(), "benchmarks.png")
    for heading in (
        "## Machine and versions",
        "## Targets",
        "## Producer: first send to last acknowledgement",
        "## Consumer: `python -m consumer` from process start",
        "## Consumer: read + decode + statistics + outliers, throughput",
        "## How this was measured",
    ):
        assert heading in text
    assert "![throughput against event count](benchmarks.png)" in text
    assert "| ours: producer.run.produce | 1,000,000 | 5.00 | 200,000 | 6.80 | 4.00x |" in text
    assert "## Follow mode" in text and "## Inspector" in text
    results = BenchResults(machine=machine(), quick=True)
    for section in ("## Follow mode", "## Inspector"):
        assert section not in render_markdown(results, "benchmarks.png")  # not measured


def test_follow_runs_are_reported_with_their_lag_and_the_catch_up() -> None:
    results = results_meeting_every_target()
    results.follow = [follow_run(2_000, (9_000, 9_500)), follow_run(2_000, (2_000, 6_000), 1.0)]
    text = render_markdown(results, "benchmarks.png")
    assert "## Follow mode: counted events/s, end-to-end latency and lag" in text
    rows = [line for line in text.splitlines() if line.startswith(("| 5 s |", "| 1 s |"))]
    assert rows[0] == (
        "| 5 s | 2,000 | 1,990 | 120 s | 240,000 | 1,980 | 24 | 5.5 | 7.0 | 9,000 -> 9,500 "
        "| yes | 2,400 |"
    )
    assert rows[1].endswith("| 2,000 -> 6,000 | **no** | 2,400 |")
    assert rows[2].startswith("| 5 s | 120,000 |")  # the sustained run, last
    assert "follow took 8.0 s" in text and "(200,000 ev/s), and plain consume()" in text
    assert "a clean topic of as many events 6.2 s (160,000 ev/s; load 1.0 after)" in text


def test_follow_keeps_up_while_its_lag_grows_by_a_quarter_at_most() -> None:
    assert lag_bounded([300, 400], [500, 450])
    assert not lag_bounded([300, 400], [501, 450])
    assert not lag_bounded([300, 400], [10])  # one batch in a half says nothing
    assert not lag_bounded([], [])


def test_follow_below_half_the_batch_rate_misses_its_target() -> None:
    results = results_meeting_every_target()  # batch consume(): 200k ev/s
    results.sustained = [follow_run(50_000, (1, 1)), follow_run(100_000, (300_000, 700_000))]
    check = evaluate(results)[-3]
    assert check.met is False
    assert "bounded at 50,000 ev/s offered" in check.measured and "0.25x" in check.measured
    assert "over 120 s" in check.target
    results.sustained = [follow_run(100_000, (300_000, 700_000))]
    assert evaluate(results)[-3].met is False
    results.sustained = [follow_run(100_000, (300_000, 300_000))]
    assert evaluate(results)[-3].met is True  # exactly half
    results.follow, results.sustained = results.sustained, []  # a light-load run only
    assert evaluate(results)[-3].met is None


def test_follow_is_held_to_a_share_of_the_clean_batch_rate() -> None:
    results = results_meeting_every_target()  # clean consume(): 160k ev/s
    check = evaluate(results)[-2]
    assert check.met is True
    assert check.measured == (
        "bounded at 120,000 ev/s offered (119,400 written), 0.75x clean consume()'s "
        "160,000 ev/s; latency median 5.5 s"
    )
    results.sustained = [follow_run(100_000, (1, 1)), follow_run(120_000, (300_000, 700_000))]
    check = evaluate(results)[-2]
    assert check.met is False and "0.62x" in check.measured  # 120k ev/s fell behind
    results.sustained = [follow_run(120_000, (300_000, 700_000))]
    assert evaluate(results)[-2].measured.startswith("bounded at no offered rate")
    results.follow_catch_up = None
    assert evaluate(results)[-2].met is None


def test_the_page_target_is_measured_on_a_million_records_only() -> None:
    results = results_meeting_every_target()
    assert evaluate(results)[-1].met is True  # median 60 ms
    pages = results.inspector_pages
    assert pages is not None
    results.inspector_pages = replace(pages, milliseconds=(290.0, 310.0, 320.0))
    assert evaluate(results)[-1].met is False
    results.inspector_pages = replace(pages, records=100_000)
    assert evaluate(results)[-1].met is None


def test_a_ratio_without_a_target_says_so() -> None:
    results = results_meeting_every_target()
    results.limits = [
        LimitRatio(RULES_ON_WRITE, "with rules", "without", 1, RATE, None, [PairedRun(1, 1.1, 1)])
    ]
    text = render_markdown(results, "b.png")
    row = next(line for line in text.splitlines() if "with rules" in line)
    assert "| none set |" in row and "0.91x / 0.91x / 0.91x" in row


def test_small_producer_runs_are_repeated_large_ones_not() -> None:
    assert repeats_for(SMALL_RUN_EVENTS) == 3
    assert repeats_for(SMALL_RUN_EVENTS + 1) == 1


def test_quick_options_take_explicit_sizes_over_their_defaults() -> None:
    options = bench_options(parse_args(["--quick", "--consumer-events", "5000,20000"]))
    assert options.quick
    assert options.producer_events == (5_000, 100_000)
    assert options.consumer_events == (5_000, 20_000)


def test_sizes_must_be_positive_counts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--producer-events", "5000,0"])
    assert "--producer-events" in capsys.readouterr().err


def test_cpu_and_ram_are_read_from_proc_text() -> None:
    assert cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"
    assert cpu_model("") == "unknown"
    assert total_ram_gib("MemTotal:       16777216 kB\n") == 16.0


def fake_process(proc: Path, pid: int, parent: int, command: str, rss_kib: int) -> None:
    directory = proc / str(pid)
    directory.mkdir()
    (directory / "stat").write_text(f"{pid} ({command}) S {parent} 1 1 0 -1\n")
    (directory / "status").write_text(f"Name:\t{command}\nVmRSS:\t  {rss_kib} kB\n")


def test_process_tree_is_found_through_parent_pids(tmp_path: Path) -> None:
    fake_process(tmp_path, 10, 1, "python", 100)
    fake_process(tmp_path, 11, 10, "spark submit", 10)  # a space in the command
    fake_process(tmp_path, 12, 11, "java", 1000)
    fake_process(tmp_path, 20, 1, "other", 5)
    parents = parent_pids(tmp_path)
    assert parents == {10: 1, 11: 10, 12: 11, 20: 1}
    assert sorted(descendants(10, parents)) == [10, 11, 12]
    assert rss_bytes(12, tmp_path) == 1000 * 1024
    assert rss_bytes(99, tmp_path) == 0


def test_spark_probe_result_survives_the_trip_through_json() -> None:
    result = SparkProbeResult(
        consumer=[ConsumerRun(SPARK_CONSUMER, 1_000, 1.5, 0.5)],
        variants=[SparkVariant(2, 4, 1_000, 1.25)],
        default_min_partitions=3,
        default_shuffle_partitions=4,
        read_limit=[PairedRun(1.0, 1.25, 0.5)],
        rules_cost=[PairedRun(1.0, 1.05, 0.5)],
    )
    assert SparkProbeResult.from_json(json.dumps(asdict(result))) == result


def test_ratios_are_taken_per_pair_as_time_or_rate() -> None:
    start = LimitRatio(
        START_UP_LIMIT, "ours", "bare", 5_000, TIME, 1.15, [PairedRun(6.0, 9.0, 1.0)]
    )
    produce = LimitRatio(
        PRODUCER_LIMIT, "ours", "raw", 300_000, RATE, 0.6, [PairedRun(0.3, 1.0, 1.0)]
    )
    assert start.ratios() == [1.5] and not start.met()
    assert produce.ratios() == [0.3] and not produce.met()
    assert LimitRatio(PRODUCER_LIMIT, "a", "b", 1, RATE, 0.25, [PairedRun(0.3, 1.0, 1.0)]).met()


def test_spark_probe_result_brings_the_migration_pairs_and_the_fallback_back() -> None:
    result = SparkProbeResult(
        migration_cost=[PairedRun(4.0, 4.4, 1.5), PairedRun(4.2, 4.5, 1.6)],
        migration_fallback=MigrationFallback(1_000, 8.0, 1.5, ("cents-to-price",)),
    )
    assert SparkProbeResult.from_json(json.dumps(asdict(result))) == result


def test_the_migration_row_has_its_target_and_the_python_fallback_beside_it() -> None:
    results = results_meeting_every_target()
    runs = [PairedRun(4.0, 4.4, 1.5), PairedRun(4.0, 5.2, 1.8), PairedRun(4.0, 4.5, 1.6)]
    results.limits = [migration_on_read_ratio(1_000_000, runs)]
    results.migration_fallback = MigrationFallback(1_000_000, 80.0, 1.9, ("cents-to-price",))
    text = render_markdown(results, "benchmarks.png")
    row = next(line for line in text.splitlines() if "written in major 2" in line)
    assert row.startswith("| consume() at 1,000,000 records written in major 2, read as major 1")
    assert "| 4.50 s | consume() on the same events written in major 1 | 4.00 s |" in row
    assert f"1.10x / 1.12x / 1.30x | <= {MIGRATION_ON_READ_TARGET:.2f}x: met | 1.5-1.8 | 3 |" in row
    fallback = text[text.index(row) :].split("\n\n")[1]
    assert fallback.startswith("The Python fallback, no target: the same 1,000,000 major-2")
    assert "`cents-to-price` ran in jsonata-python in an Arrow UDF" in fallback
    assert "took 80.0 s, 12,500 records/s, 17.8x the compiled rule's median time" in fallback
    assert "(one run, load 1.9)" in fallback
    results.limits = [migration_on_read_ratio(1_000_000, [PairedRun(4.0, 4.8, 1.0)])]
    assert "1.20x / 1.20x / 1.20x | <= 1.15x: **not met**" in render_markdown(results, "b.png")
    results.limits, results.migration_fallback = [], None
    text = render_markdown(results, "b.png")
    assert "written in major 2" not in text and "The Python fallback" not in text


def test_the_fallback_is_reported_without_the_compiled_row() -> None:
    results = results_meeting_every_target()
    results.migration_fallback = MigrationFallback(100_000, 10.0, 1.0, ("cents-to-price",))
    text = render_markdown(results, "b.png")
    line = next(line for line in text.splitlines() if line.startswith("The Python fallback"))
    assert "took 10.0 s, 10,000 records/s (one run, load 1.0)." in line
    assert results.limit(MIGRATION_ON_READ) is None


def test_the_fallback_rule_is_outside_the_compiled_subset_and_reads_the_same_records() -> None:
    compiled, fallback = (
        next(r for r in document.rule_set.migration_rules if r.name == DOWNGRADE_RULE)
        for document in (major_2_document(), fallback_document())
    )
    parse_transform(compiled.expr)  # compiles
    with pytest.raises(SubsetError, match=r"\$formatNumber"):
        parse_transform(fallback.expr)
    assert (fallback.mode, fallback.on_failure) == (compiled.mode, compiled.on_failure)
    for record in generate_records(benchmark_plan(200)):
        written = as_major_2(record)
        back = {"ts": record["ts"], "currency": record["currency"]}
        back |= {"symbol": record["symbol"], "price": record["price"]}
        assert jsonata.evaluate(compiled.expr, written) == back
        assert jsonata.evaluate(fallback.expr, written) == back


def migrated_report(python: list[str], failures: list[RuleFailures] | None = None) -> Report:
    migration = WriterMigration(3, 3, "2", "DOWNGRADE", ["cents-to-price"], python)
    return Report(
        "t",
        10,
        10,
        "v2",
        [3],
        3.0,
        [],
        [],
        migrations=[migration],
        migration_failures=failures or [],
    )


def test_a_migrated_read_is_checked_to_have_run_its_rules_where_asked() -> None:
    assert python_rules(migrated_report([]), in_python=False) == ()
    assert python_rules(migrated_report(["cents-to-price"]), in_python=True) == ("cents-to-price",)
    with pytest.raises(NotMigrated, match="expected every rule compiled"):
        python_rules(migrated_report(["cents-to-price"]), in_python=False)
    with pytest.raises(NotMigrated, match="expected every rule in jsonata-python"):
        python_rules(migrated_report([]), in_python=True)
    with pytest.raises(NotMigrated, match=r"migrations failed: cents-to-price \(2\)"):
        python_rules(migrated_report([], [RuleFailures("cents-to-price", 2, [])]), False)
    unmigrated = replace(migrated_report([]), migrations=[])
    with pytest.raises(NotMigrated, match="not every writer"):
        python_rules(unmigrated, in_python=False)


def test_the_ratio_table_comes_first_with_min_median_max() -> None:
    results = results_meeting_every_target()
    runs = [PairedRun(6.0, 6.6, 1.0), PairedRun(6.0, 9.0, 3.0), PairedRun(5.0, 5.5, 2.0)]
    results.limits = [
        LimitRatio(START_UP_LIMIT, "5k report", "bare start", 5_000, TIME, 1.15, runs)
    ]
    text = render_markdown(results, "benchmarks.png")
    assert text.index("## Ratio to the machine's limits") < text.index("## Machine and versions")
    row = next(line for line in text.splitlines() if line.startswith("| 5k report |"))
    assert "1.10x / 1.10x / 1.50x" in row
    assert "<= 1.15x: met" in row
    assert "1.0-3.0" in row


def test_consumer_timings_are_read_from_its_stderr() -> None:
    stderr = (
        "WARNING: x\ntimings: Spark session start     4.250 s\ntimings: job: summary  1.000 s\n"
    )
    assert timings_from(stderr) == (("Spark session start", 4.25), ("job: summary", 1.0))


def ratio(name: str, ours: float, limit: float, events: int = 5_000) -> LimitRatio:
    times = (START_UP_LIMIT, REPORT_AGAINST_READ, CLASS_DATA_REFERENCE, KAFKA_READ_REFERENCE)
    kind = TIME if name in times else RATE
    return LimitRatio(name, name, "its limit", events, kind, 1.15, [PairedRun(limit, ours, 1.0)])


def test_the_bare_kafka_read_says_whether_it_alone_breaks_the_start_up_target() -> None:
    results = results_meeting_every_target()
    results.consumer_cli[0] = replace(
        results.consumer_cli[0], phases=(("Spark session start", 4.0), ("job: summary", 2.0))
    )
    # Measured in another order than the table's, and the producer row missing.
    results.limits = [ratio(KAFKA_READ_REFERENCE, 8.4, 6.0), ratio(START_UP_LIMIT, 11.0, 6.0)]
    text = render_markdown(results, "benchmarks.png")
    line = next(line for line in text.splitlines() if "only reads the same topic" in line)
    assert "takes 8.4 s, 1.40x the bare start: already over the 1.15x target" in line


def test_ratio_rows_are_found_by_name_and_shown_in_table_order() -> None:
    results = results_meeting_every_target()
    results.limits = [ratio(name, 2.0, 1.0) for name in reversed(LIMIT_ORDER)]
    results.limits.append(LimitRatio(CONSUMER_LIMIT, "unmeasured", "x", 1, RATE, 1.0, []))
    assert [row.name for row in results.measured_limits()] == list(LIMIT_ORDER)
    measured = results.limits[LIMIT_ORDER[::-1].index(CONSUMER_LIMIT)]
    assert results.limit(CONSUMER_LIMIT) is measured  # not the unmeasured one after it
    text = render_markdown(results, "benchmarks.png")
    table_rows = [line.split(" | ")[0][2:] for line in text.splitlines() if "| its limit |" in line]
    assert table_rows == list(LIMIT_ORDER)
    with pytest.raises(ValueError, match="not in LIMIT_ORDER"):
        LimitRatio("consumer limit", "figure", "limit", 1, RATE, 1.0, [])


def test_the_consumer_line_sets_consume_against_the_read_and_lists_its_cli_jobs() -> None:
    results = results_meeting_every_target()
    results.limits = [ratio(CONSUMER_LIMIT, 40.0, 16.0, events=10_000_000)]
    results.consumer_cli[0] = replace(
        results.consumer_cli[0],
        phases=(("Spark session start", 4.0), ("job: summary", 2.0), ("total", 7.0)),
    )
    results.consumer_cli[-1] = replace(
        results.consumer_cli[-1],
        phases=(
            ("Spark session start", 4.5),
            ("plan: decode", 1.5),
            ("job: summary", 25.0),
            ("job: outliers", 9.0),
            ("total", 41.0),
        ),
    )
    text = render_markdown(results, "benchmarks.png")
    line = next(line for line in text.splitlines() if line.startswith("- Consumer at"))
    assert "consume() takes 40.0 s in a warm session against 16.0 s for Spark's" in line
    assert "the same way: 24.0 s go to what consume() does beyond the read" in line
    assert "runs 2 Spark jobs: summary 25.0 s; outliers 9.0 s" in line
    assert "| phase | 5,000 events, s | 10,000,000 events, s |" in text
    assert "| plan: decode |  | 1.50 |" in text  # the report run had no such phase
    assert "| job: outliers |  | 9.00 |" in text
    assert "| total | 7.00 | 41.00 |" in text


def test_the_phases_of_runs_merge_in_the_order_the_runs_went_through_them() -> None:
    def run(*names: str) -> ConsumerCliRun:
        return ConsumerCliRun(1, 1.0, 1.0, 0, 0, 1.0, tuple((n, 1.0) for n in names))

    from benchmarks.report import merged_phases

    assert merged_phases([run("a", "c", "total"), run("a", "b", "c", "d", "total")]) == [
        "a",
        "b",
        "c",
        "d",
        "total",
    ]


def test_the_bare_kafka_read_goes_through_the_consumers_read_and_its_partition_choice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = CheckedTopic(3, {p: OffsetRange(0, 1_000) for p in range(3)}, None)
    monkeypatch.setattr(benchmarks.limits, "check_sources", lambda *_: checked)
    settings = ConnectionSettings("localhost:9092", RegistrySettings("http://localhost:8081"), "t")
    script = bare_read(settings)
    compile(script, "<bare read>", "exec")
    assert "read_topic(spark, source, min_partitions)" in script
    assert "read_min_partitions(spark, topic, ConsumerOptions())" in script
    assert "{0: OffsetRange(0, 1000), 1: OffsetRange(0, 1000), 2: OffsetRange(0, 1000)}" in script
    assert 'spark.read.format("kafka")' not in script


#: What the benchmarks may import from the consumer and producer: the drivers' public
#: entries (and the types they take or return), the consumer's read for the limit, the
#: install's class-data archive, and the producer's public API for writing test data.
ALLOWED_IMPORTS = {
    "consumer.batch": {
        "consume",  # ours
        "ConsumerOptions",  # consume()'s argument
        "check_sources",  # what read_min_partitions needs, as consume() gets it
        "read_min_partitions",  # the limit's minPartitions, as consume() chooses it
        "CheckedTopic",  # in the bare read's script: check_sources' result, rebuilt
    },
    "consumer.report": {"Report"},  # consume()'s result
    "consumer.source": {"read_topic", "OffsetRange"},  # the limit's read
    "consumer.follow": {"Follower"},  # the follow driver
    "consumer.batch_counter": {"BatchCounter"},  # what Follower runs the query with
    "consumer.follow_options": {"FollowOptions"},  # BatchCounter's argument
    "consumer.state": {"Update", "FollowState"},  # what BatchCounter hands to on_update
    "consumer.class_data": {"make_archive"},  # the install step (make class-data)
    "producer.run": {"ProducerOptions", "produce"},
    "producer.events": {
        "BATCH_EVENTS",
        "GeneratorPlan",
        "PriceEvent",
        "PriceRecord",
        "generate_batches",
        "generate_records",
    },
    "producer.contract": {"KEY_SCHEMA", "load_schema"},
    "producer.send": {"DEFAULT_COMPRESSION", "POLL_INTERVAL_S", "DeliveryReport"}
    | {"producer_config", "send_events"},
    "producer.serialization": {"FramedAvroSerializer"},
}


def imported_names(source: str) -> set[tuple[str, str]]:
    """(module, name) of every import of the consumer or producer in source, also in the
    scripts it hands to `python -c` (its string constants' import lines)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in ("consumer", "producer"):
                found |= {(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {
                (alias.name, "*")
                for alias in node.names
                if alias.name.split(".")[0] in ("consumer", "producer")
            }
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for line in node.value.splitlines():
                if line.startswith(("from consumer", "from producer", "import ")):
                    with suppress(SyntaxError):  # prose that merely starts like an import
                        found |= imported_names(line)
    return found


def test_benchmarks_import_only_the_public_api_of_the_consumer_and_producer() -> None:
    imports: set[tuple[str, str]] = set()
    for path in (REPO_ROOT / "benchmarks").glob("*.py"):
        imports |= imported_names(path.read_text())
    unexpected = {
        (module, name) for module, name in imports if name not in ALLOWED_IMPORTS.get(module, ())
    }
    assert not unexpected
    assert ("consumer.source", "read_topic") in imports
    assert ("consumer.batch", "CheckedTopic") in imports  # found in the bare read's script


def test_the_settings_grid_says_when_consume_sets_the_shuffle_partitions_itself() -> None:
    results = results_meeting_every_target()
    results.default_min_partitions, results.default_shuffle_partitions = 3, 4
    results.variants = [SparkVariant(3, 4, 100_000, 2.0)]
    text = render_markdown(results, "benchmarks.png")
    assert "for this 100,000-event topic: minPartitions 3, one shuffle partition" in text
    results.variants = [SparkVariant(3, 4, 1_000_000, 5.0)]
    text = render_markdown(results, "benchmarks.png")
    assert "minPartitions 3, spark.sql.shuffle.partitions 4 (the session's)." in text
