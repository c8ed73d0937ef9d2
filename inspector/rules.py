"""The contract's rules, record by record: which rule decides each record's fate.

This is the one place the inspector asks the contract's rules. Until the contract has
its rule evaluation, no record breaks a rule and every row's data-rule is empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inspector.decoding import TopicContract


def deciding_rules(
    contract: TopicContract, values: Sequence[dict[str, Any] | None]
) -> list[str | None]:
    """For each decoded value (None: not decoded), the name of the first rule of the
    contract it breaks, or None when it keeps them all (or has no value to judge).

    Values are as fastavro reads them through the reader schema (``ts`` a datetime, a
    field the writer lacked at its default); contract.subject and contract.reader say
    which contract version they were read with. A whole page is judged at once, so an
    evaluator over columns fits here.
    """
    return [None for _ in values]
