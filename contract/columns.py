"""Records as columns, one array per field: what the rules' batch evaluator
(contract.judge_numpy) reads, and what the producer builds its events as.

Records come as fastavro decodes them (a dict per record); the evaluator takes one array
per field the rules read: int and long fields as int64, float and double as float64,
boolean as bool, string as an object array (the evaluator turns it into a Categorical).
Only fields of a type inside the CEL subset are read by a bound rule; the others
(timestamps, records, ...) can only be tested with ``has()``, which binding decides.

The evaluator has no nulls (the producer's columns never hold one), so a record with
null in a field the rules read is left out and counted apart by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from contract.cel import CelType, Field, FieldType, walk
from contract.rules import BoundRule

Array: TypeAlias = npt.NDArray[Any]


@dataclass(frozen=True)
class Categorical:
    """A text column of few distinct values: each row's value is ``values[codes[row]]``."""

    codes: npt.NDArray[np.int64]
    values: tuple[str, ...]


#: A column: numbers as an array (integers or floats), text as a Categorical.
Column = npt.NDArray[np.int64] | npt.NDArray[np.float64] | Categorical

_DTYPES: Mapping[CelType, Any] = {
    CelType.INT: np.int64,
    CelType.DOUBLE: np.float64,
    CelType.BOOL: np.bool_,
    CelType.STRING: object,
}


def fields_read(rules: Iterable[BoundRule]) -> frozenset[str]:
    """The record fields the bound rules read (a field only tested with has(), or one the
    record lacks, is read by none)."""
    return frozenset(
        node.name
        for rule in rules
        for root in (rule.condition.guard, rule.condition.body)
        if root is not None
        for node in walk(root)
        if isinstance(node, Field)
    )


def null_free(records: Sequence[Mapping[str, Any]], names: Iterable[str]) -> npt.NDArray[np.bool_]:
    """Per record, whether none of the named fields is null (or missing)."""
    wanted = tuple(names)
    return np.fromiter(
        (all(record.get(name) is not None for name in wanted) for record in records),
        dtype=np.bool_,
        count=len(records),
    )


def record_columns(
    records: Sequence[Mapping[str, Any]], fields: Mapping[str, FieldType], names: Iterable[str]
) -> dict[str, Array]:
    """One column per named field of the records (none null there: see null_free), typed
    by the field's CEL type (contract.rules.avro_field_types)."""
    columns = {}
    for name in names:
        cel_type = fields[name].type
        if cel_type is None or cel_type not in _DTYPES:
            raise ValueError(f"field {name}: no column for a field of type {fields[name].what}")
        columns[name] = np.array([record[name] for record in records], dtype=_DTYPES[cel_type])
    return columns
