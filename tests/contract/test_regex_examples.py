"""Strings generated from a rule's regex (contract.regex.Pattern.example): every one is
matched by google-re2, the engine of the rules' Python executor, and a seed gives the
same strings every run."""

from __future__ import annotations

import random

import pytest
import re2

from contract.regex import RegexError, parse_pattern

PATTERNS = [
    "^[A-Z]{3}$",
    "^[A-Z][A-Z0-9.]{0,9}$",
    "\\A(?:USD|EUR|GBP)\\z",
    "(US|EU)+?x",
    "a.b",
    "^[^a-z\\d]\\d+$",
    "\\S\\W\\D\\s\\w",
    "^[-a-f0-9_]{2,}-\\x{1F600}?$",
    "^$",
    "x*y{3}z{1,1000}?",
    "[\\[\\]\\\\^$.|?*+(){}]",
    "é\\x41\\t",
    "^(a|b|)c$",
    "[^\\x{0}-\\x{7E}]",
    "^[a-z]+@[a-z]+\\.(com|org)$",
]


@pytest.mark.parametrize("text", PATTERNS)
def test_every_generated_string_matches_with_re2(text: str) -> None:
    pattern = parse_pattern(text)
    compiled = re2.compile(text)
    rng = random.Random(27)
    examples = [pattern.example(rng) for _ in range(200)]
    assert all(compiled.search(example) for example in examples)


def test_a_seed_gives_the_same_strings() -> None:
    pattern = parse_pattern("^[A-Z][A-Z0-9.]{0,9}$")
    first = [pattern.example(random.Random(5)) for _ in range(3)]
    assert first == [pattern.example(random.Random(5)) for _ in range(3)]
    assert len({pattern.example(random.Random(seed)) for seed in range(20)}) > 10


def test_a_pattern_no_string_matches_is_one_line() -> None:
    with pytest.raises(RegexError, match="no matching string found"):
        parse_pattern("a^b").example(random.Random(1))
