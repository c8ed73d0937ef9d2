"""The contract's rules, record by record: which rule decides each record's fate.

This is the one place the inspector asks the contract's rules: the same rules the
consumer judges by (contract.schemas.contract_rules: the registry version's ruleSet, else
the shipped file), bound to the reader schema, evaluated a page at a time on its columns
with the numpy evaluator (contract.judge_numpy), so every side gives the same verdict.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from contract.columns import fields_read, null_free, record_columns
from contract.judge_numpy import judge_batch
from contract.rules import avro_field_types

if TYPE_CHECKING:
    from inspector.decoding import TopicContract


def deciding_rules(
    contract: TopicContract, values: Sequence[dict[str, Any] | None]
) -> list[str | None]:
    """For each decoded value (None: not decoded), the name of the rule that decides its
    fate (the first DLQ or ERROR rule it fails, in file order), or None when it keeps
    them (or has no value to judge, or holds a null where a rule reads: the evaluator
    holds no nulls, and the contract's fields are never null)."""
    plan = contract.read_rules
    if contract.reader is None or plan is None:
        return [None for _ in values]
    names = fields_read(plan.rules)
    fields = avro_field_types(json.loads(contract.reader.schema))
    judged = [i for i, value in enumerate(values) if value is not None]
    records = [values[i] or {} for i in judged]
    whole = null_free(records, names).tolist()
    judged = [i for i, ok in zip(judged, whole, strict=True) if ok]
    records = [values[i] or {} for i in judged]
    verdicts = judge_batch(plan.rules, record_columns(records, fields, names), len(records))
    decided: list[str | None] = [None for _ in values]
    for index, rule in zip(judged, verdicts.decided_by(), strict=True):
        decided[index] = rule
    return decided
