"""The expressions of migration rules, JSONata, parsed and run by jsonata-python (the
library Confluent's Python executor runs them with).

A parsed expression is kept per thread: jsonata-python's evaluator keeps state in the
expression object, and the inspector decodes pages on several threads.
"""

from __future__ import annotations

import threading
from typing import Any

import jsonata

_local = threading.local()


class TransformFailed(Exception):
    """A migration rule's expression failed on a record; str() is one line."""


def parsed(expr: str) -> jsonata.Jsonata:
    """The expression parsed (jsonata.JException when it does not parse)."""
    cache: dict[str, jsonata.Jsonata] = _local.__dict__.setdefault("parsed", {})
    found = cache.get(expr)
    if found is None:
        found = cache[expr] = jsonata.Jsonata(expr)
    return found


def jsonata_problem(expr: str) -> str | None:
    """Why expr is not a JSONata expression (one line), or None."""
    try:
        parsed(expr)
    except Exception as error:  # jsonata-python raises JException, and others on odd input
        return f"not a JSONata expression: {' '.join(str(error).split())}"
    return None


def evaluate(expr: str, record: dict[str, Any]) -> Any:
    """expr over record (plain JSON values); None when the result is undefined.
    TransformFailed when JSONata calls it an error (NaN or infinity in arithmetic, null
    plus a number, a comparison of different types...)."""
    try:
        return parsed(expr).evaluate(record)
    except Exception as error:
        raise TransformFailed(" ".join(str(error).split()) or type(error).__name__) from None
