"""The README's sample report against a real one: `python -m consumer --topic T` on
seeded events has the sample's header lines and column headers (numbers aside)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from cli_runs import cli_env, run_cli
from docs_text import readme_sample, skeleton, table_rows

from connection.paths import CONTRACT_FILE
from connection.settings import ConnectionSettings
from producer.events import GeneratorPlan
from producer.run import ProducerOptions, produce

pytestmark = pytest.mark.integration

#: What `make run` sends (5,000 events in USD, no injected anomalies), seeded.
PLAN_SEED, PLAN_START = 20261203, datetime(2026, 12, 3, 12, 35, 33, tzinfo=timezone.utc)
SPARK_TIMEOUT_S = 240


def test_the_readme_sample_report_has_a_real_reports_headers(
    stack: dict[str, str], settings: ConnectionSettings
) -> None:
    plan = GeneratorPlan(count=5000, seed=PLAN_SEED, start=PLAN_START)
    produce(settings, ProducerOptions(plan=plan, schema_file=CONTRACT_FILE))
    result = run_cli("consumer", cli_env(stack), "--topic", settings.topic, timeout=SPARK_TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    real = result.stdout.splitlines()
    sample = readme_sample()
    assert skeleton(sample, "prices") == skeleton(real, settings.topic)
    column_headers = [real[line].split() for line in table_rows(real)]
    assert column_headers == [sample[line].split() for line in table_rows(sample)]
    assert len(column_headers) == 2, "statistics and outliers, each a table"
