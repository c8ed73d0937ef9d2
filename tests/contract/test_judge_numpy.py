"""The rules evaluated on numpy columns judge every event as Confluent's CEL executor does.

The shipped rules on a generated batch with injected breakers of each rule and of two and
three rules at once; and random conditions of the subset on events with the values where
numpy and CEL could part ways (the nullable fields hold no null here: a batch's columns
cannot).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rule_cases import (
    ERROR,
    FIELDS,
    conditions,
    events,
    executor_fails,
    executor_result,
    tricky_events,
)

from connection.paths import CONTRACT_FILE
from contract.columns import Categorical
from contract.judge_numpy import condition_values, judge_batch
from contract.rules import (
    Rule,
    avro_field_types,
    bind_rule,
    judge,
    load_rule_set,
    plan_rules,
    rules_file,
)
from producer.events import SYMBOLS, GeneratorPlan, generate_batches

RULES_FILE = rules_file(CONTRACT_FILE)

BAD_SYMBOLS = ("aapl", "AAPL\n", "TOOLONGSYMBOL", "", "1ABC", "BRK-B", "ÄPPL")
BAD_CURRENCIES = ("usd", "US", "USD\n", "EURO", "", "U5D", "ÉUR")
BAD_PRICES = (0.0, -0.0, -1.5, float("nan"), float("-inf"))


def breaker_columns(seed: int, count: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A generated batch's columns with breakers injected: each rule's alone, two rules'
    and all three's; and the same events as records, for the executor."""
    plan = GeneratorPlan(
        count=count,
        seed=seed,
        start=datetime(2026, 1, 1, tzinfo=timezone.utc),
        currencies=("USD", "EUR", "CHF"),
    )
    batch = next(generate_batches(plan, size=count))
    rng = np.random.default_rng(seed)
    symbols = batch.symbols.copy()
    currencies = batch.currencies.copy()
    prices = batch.prices.copy()
    symbol_values = SYMBOLS + BAD_SYMBOLS
    currency_values = batch.currency_codes + BAD_CURRENCIES
    # each event breaks none, one, two or all three rules (price, currency, symbol)
    breaks = rng.random((count, 3)) < 0.15
    breaks[:7] = [[1, 1, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    rows = np.flatnonzero(breaks[:, 0])
    prices[rows] = rng.choice(BAD_PRICES, len(rows))
    rows = np.flatnonzero(breaks[:, 1])
    currencies[rows] = len(batch.currency_codes) + rng.integers(0, len(BAD_CURRENCIES), len(rows))
    rows = np.flatnonzero(breaks[:, 2])
    symbols[rows] = len(SYMBOLS) + rng.integers(0, len(BAD_SYMBOLS), len(rows))
    columns: dict[str, Any] = {
        "ts": batch.ts,
        "symbol": Categorical(symbols, symbol_values),
        "price": prices,
        "currency": Categorical(currencies, currency_values),
    }
    records = [
        {
            "ts": int(batch.ts[row]),
            "symbol": symbol_values[symbols[row]],
            "price": float(prices[row]),
            "currency": currency_values[currencies[row]],
        }
        for row in range(count)
    ]
    return columns, records


def test_the_shipped_rules_judge_a_batch_as_the_executor_does() -> None:
    fields = avro_field_types(json.loads(CONTRACT_FILE.read_text()))
    plan = plan_rules(load_rule_set(RULES_FILE), "WRITE", fields)
    assert [rule.name for rule in plan.rules] == [
        "price-positive",
        "currency-iso-4217",
        "symbol-ticker",
    ]
    columns, records = breaker_columns(seed=7, count=1500)
    verdicts = judge_batch(plan.rules, columns, len(records))
    expected = [
        judge(plan.rules, [executor_fails(rule.rule.expr, record) for rule in plan.rules])
        for record in records
    ]
    assert verdicts.decided_by() == [verdict.decided_by for verdict in expected]
    decided = {name for name in verdicts.decided_by() if name}
    assert decided == {rule.name for rule in plan.rules}  # every rule decided some event
    assert verdicts.passed.sum() == sum(verdict.decided_by is None for verdict in expected)


def test_none_failures_are_counted_until_a_decisive_failure() -> None:
    fields = avro_field_types(json.loads(CONTRACT_FILE.read_text()))
    specs = (
        ("r0", "message.symbol.matches('^[A-Z][A-Z0-9.]{0,9}$')", "NONE"),
        ("r1", "message.price > 0.0", "ERROR"),
        ("r2", "message.currency.matches('^[A-Z]{3}$')", "NONE"),
    )
    rules = [
        bind_rule(Rule(name, "CONDITION", "WRITE", "CEL", expr, on_failure=action), "WRITE", fields)
        for name, expr, action in specs
    ]
    columns, records = breaker_columns(seed=11, count=600)
    verdicts = judge_batch(rules, columns, len(records))
    expected = [
        judge(rules, [executor_fails(rule.rule.expr, record) for rule in rules])
        for record in records
    ]
    assert verdicts.decided_by() == [verdict.decided_by for verdict in expected]
    for name in ("r0", "r2"):
        counted = verdicts.none_failed[name].tolist()
        assert counted == [name in verdict.none_failures for verdict in expected]
    counts = verdicts.none_counts()
    assert counts["r0"] > 0 and counts["r2"] > 0
    # r2's failures after r1 decided are not counted
    r2_failed = np.array([executor_fails(specs[2][1], record) for record in records])
    assert counts["r2"] < r2_failed.sum()


def columns_of(batch: list[dict[str, Any]], as_categorical: bool) -> dict[str, Any]:
    """The events as columns: numbers as arrays, text as Categorical or plain arrays."""
    columns: dict[str, Any] = {}
    for name, field in FIELDS.items():
        values = [event[name] for event in batch]
        if field.type is not None and field.type.value == "string":
            if as_categorical:
                table = tuple(dict.fromkeys(values))
                codes = np.array([table.index(value) for value in values], dtype=np.int64)
                columns[name] = Categorical(codes, table)
            else:
                columns[name] = np.array(values, dtype=object)
        else:
            dtype: npt.DTypeLike = {"int": np.int64, "double": np.float64, "bool": bool}[
                field.type.value if field.type else "bool"
            ]
            columns[name] = np.array(values, dtype=dtype)
    return columns


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    exprs=st.lists(conditions, min_size=1, max_size=8),
    drawn=st.lists(events(nulls=False), max_size=16),
    actions=st.lists(st.sampled_from(("DLQ", "ERROR", "NONE")), min_size=8, max_size=8),
    as_categorical=st.booleans(),
)
def test_numpy_verdicts_equal_the_executors(
    exprs: list[str], drawn: list[dict[str, Any]], actions: list[str], as_categorical: bool
) -> None:
    batch = tricky_events(nulls=False) + drawn
    columns = columns_of(batch, as_categorical)
    rules = [
        bind_rule(
            Rule(f"r{i}", "CONDITION", "WRITEREAD", "CEL", expr, on_failure=actions[i]),
            "WRITE",
            FIELDS,
        )
        for i, expr in enumerate(exprs)
    ]
    failed = []
    for rule in rules:
        true, error = condition_values(rule.condition, columns, len(batch))
        expected = [executor_result(rule.rule.expr, event) for event in batch]
        actual = [
            ERROR if e else bool(t) for t, e in zip(true.tolist(), error.tolist(), strict=True)
        ]
        # a false condition and an error both fail; the executor's errors must be errors
        assert [a is True for a in actual] == [e is True for e in expected], (rule.rule.expr, batch)
        assert [a == ERROR for a in actual] == [e == ERROR for e in expected], rule.rule.expr
        failed.append([e is not True for e in expected])
    verdicts = judge_batch(rules, columns, len(batch))
    for index in range(len(batch)):
        verdict = judge(rules, [column[index] for column in failed])
        assert verdicts.decided_by()[index] == verdict.decided_by
        assert {n for n, m in verdicts.none_failed.items() if m[index]} == set(
            verdict.none_failures
        )
