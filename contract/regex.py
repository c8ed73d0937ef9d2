"""The regular expressions a rule's ``matches()`` may use, and their Java form.

CEL's ``matches`` is RE2 syntax, searched (not anchored) in the string; the Python executor
calls ``re2.search``. Spark's ``rlike`` is Java's ``Pattern.find``: the same idea, but the
two engines read some of the same text differently. Rather than translate everything, a
pattern is parsed here into a small subset on which both engines agree once the pattern is
written out again in a canonical Java form:

- literals (any code point; punctuation escaped with ``\\``; ``\\n \\t \\r \\f \\v \\a``,
  ``\\xHH`` and ``\\x{H...}``), ``.``, ``^``, ``$``, ``\\A``, ``\\z``;
- classes ``[...]`` and ``[^...]`` with ranges, and ``\\d \\w \\s`` (``\\D \\W \\S``
  outside classes);
- groups ``(...)`` and ``(?:...)``, alternation ``|``, quantifiers ``* + ? {n} {n,} {n,m}``
  (at most 1000, as RE2 allows), each optionally lazy (``?``).

Where the engines differ, the Java form says what RE2 means:

- ``$`` (no multi-line flag): RE2 matches at the very end only; Java also before a final
  line terminator (``"USD\\n"`` matches ``^[A-Z]{3}$``). Written as ``\\z``.
- ``.``: RE2 excludes ``\\n`` only; Java also ``\\r``, ``\\u0085``, ``\\u2028``,
  ``\\u2029``. Written as ``[^\\n]``.
- ``\\s``: RE2 is ``[\\t\\n\\f\\r ]``; Java adds ``\\x0B``. ``\\d``, ``\\w``: ASCII in both,
  written out as ranges anyway. ``\\v``: RE2 is ``\\x0B``, Java a class. All written out as
  code points.
- Inside a class, Java reads ``[`` as a nested class and ``&&`` as an intersection; every
  literal is written escaped (``\\[``, ``\\&``) or as ``\\x{...}``.

Refused, in one line naming the construct: flags ``(?i)``..., named groups, ``\\b \\B``,
``\\p``, POSIX classes, ``\\Q...\\E``, back-references and octal escapes, possessive
quantifiers, a ``{`` that is not a quantifier, repetition of nothing or of an anchor, and
anything RE2 itself rejects.

The parsed pattern also generates strings it matches (``Pattern.example``, seeded): the
schema gate's sample records keep a version's ``matches`` rules with them. Each string is
checked with RE2's search before it is returned.

Java's engine backtracks: a pattern with nested quantifiers (``(a*)*b``) can take
exponential time in Spark on a long string where RE2 is linear. Keep rule patterns simple.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TypeAlias

MAX_REPEAT = 1000  # RE2's limit on a counted repetition

#: Escapes that stand for one code point.
_CHAR_ESCAPES = {"n": 0x0A, "t": 0x09, "r": 0x0D, "f": 0x0C, "v": 0x0B, "a": 0x07}
#: The ASCII classes, as (negated, ranges) in RE2's meaning.
_SHORTHANDS: dict[str, tuple[tuple[int, int], ...]] = {
    "d": ((0x30, 0x39),),
    "w": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
    "s": ((0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)),
}
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


class RegexError(ValueError):
    """A pattern outside the subset (or invalid): one line naming the construct."""


# -- the parsed pattern: a small tree that writes the Java form and generates matches ----

#: Where a class that excludes characters (``[^...]``, ``.``, ``\\D``...) picks from:
#: printable ASCII first, then Latin-1's letters.
_PICK_FROM = ((0x20, 0x7E), (0xC0, 0xFF))
#: How far beyond its minimum an open (``*``, ``+``, ``{n,}``) or wide repetition goes
#: when generating.
_EXTRA_REPEATS = 8
_ATTEMPTS = 200


@dataclass(frozen=True)
class _Chars:
    """One code point from the ranges (or, negated, from outside them and not ``\\n``)."""

    ranges: tuple[tuple[int, int], ...]
    negated: bool
    java: str

    def emit(self, rng: random.Random, out: list[str]) -> None:
        if not self.negated:
            low, high = rng.choice(self.ranges)
            code = rng.randint(low, high)
            if not 0xD800 <= code <= 0xDFFF:  # else nothing: the attempt fails, another runs
                out.append(chr(code))
            return
        for low, high in _PICK_FROM:
            allowed = [code for code in range(low, high + 1) if not self._excluded(code)]
            if allowed:
                out.append(chr(rng.choice(allowed)))
                return

    def _excluded(self, code: int) -> bool:
        return code == 0x0A or any(low <= code <= high for low, high in self.ranges)


@dataclass(frozen=True)
class _Anchor:
    """``^``, ``$``, ``\\A``, ``\\z``: no character (where it ends up decides if it holds)."""

    java: str

    def emit(self, rng: random.Random, out: list[str]) -> None:
        return None


@dataclass(frozen=True)
class _Sequence:
    items: tuple[_Node, ...]

    @property
    def java(self) -> str:
        return "".join(item.java for item in self.items)

    def emit(self, rng: random.Random, out: list[str]) -> None:
        for item in self.items:
            item.emit(rng, out)


@dataclass(frozen=True)
class _Alternation:
    options: tuple[_Node, ...]

    @property
    def java(self) -> str:
        return "|".join(option.java for option in self.options)

    def emit(self, rng: random.Random, out: list[str]) -> None:
        rng.choice(self.options).emit(rng, out)


@dataclass(frozen=True)
class _Group:
    inner: _Node

    @property
    def java(self) -> str:
        return f"(?:{self.inner.java})"

    def emit(self, rng: random.Random, out: list[str]) -> None:
        self.inner.emit(rng, out)


@dataclass(frozen=True)
class _Repeat:
    atom: _Node
    low: int
    high: int | None
    """None: no upper bound."""
    quantifier: str
    """As written out for Java (``*``, ``{2,5}?``...)."""

    @property
    def java(self) -> str:
        return self.atom.java + self.quantifier

    def emit(self, rng: random.Random, out: list[str]) -> None:
        most = self.low + _EXTRA_REPEATS
        for _ in range(rng.randint(self.low, most if self.high is None else min(self.high, most))):
            self.atom.emit(rng, out)


_Node: TypeAlias = "_Chars | _Anchor | _Sequence | _Alternation | _Group | _Repeat"


@dataclass(frozen=True)
class Pattern:
    """A pattern of the subset: the RE2 text as written, and the same pattern for Java."""

    re2: str
    java: str
    tree: _Node = field(compare=False, repr=False)

    def example(self, rng: random.Random) -> str:
        """A string the pattern matches (as ``matches`` does: RE2's search), drawn with
        ``rng``: seeded, the same strings every run. RegexError when no attempt matches
        (a pattern no string matches, such as ``a^b``)."""
        import re2

        compiled = re2.compile(self.re2)
        for _ in range(_ATTEMPTS):
            out: list[str] = []
            self.tree.emit(rng, out)
            text = "".join(out)
            if compiled.search(text):
                return text
        raise RegexError(f"regex {self.re2!r}: no matching string found")


def _literal(code: int) -> str:
    """One code point as a Java pattern literal, inside or outside a class."""
    char = chr(code)
    if char.isascii() and char.isalnum():
        return char
    if char in _PUNCTUATION:
        return "\\" + char
    return f"\\x{{{code:X}}}"


def _ranges(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(
        _literal(low) if low == high else f"{_literal(low)}-{_literal(high)}"
        for low, high in ranges
    )


def _class(ranges: tuple[tuple[int, int], ...], negated: bool) -> _Chars:
    return _Chars(ranges, negated, ("[^" if negated else "[") + _ranges(ranges) + "]")


def _one(code: int) -> _Chars:
    return _Chars(((code, code),), False, _literal(code))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> RegexError:
        return RegexError(f"regex {self.text!r}: {what} (at offset {self.pos})")

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        if not char:
            raise self.fail("unexpected end")
        self.pos += 1
        return char

    # regex := alternative ('|' alternative)*
    def alternation(self, depth: int) -> _Node:
        parts = [self.sequence(depth)]
        while self.peek() == "|":
            self.pos += 1
            parts.append(self.sequence(depth))
        return parts[0] if len(parts) == 1 else _Alternation(tuple(parts))

    def sequence(self, depth: int) -> _Node:
        out: list[_Node] = []
        while self.peek() and self.peek() not in "|)":
            out.append(self.repeat(depth))
        if self.peek() == ")" and depth == 0:
            raise self.fail("unmatched ')'")
        return out[0] if len(out) == 1 else _Sequence(tuple(out))

    def repeat(self, depth: int) -> _Node:
        atom, repeatable = self.atom(depth)
        quantifier = self.quantifier()
        if quantifier is None:
            return atom
        if not repeatable:
            raise self.fail("repetition of an anchor")
        if self.peek() == "+":
            raise self.fail("possessive quantifier")
        if self.peek() == "?":
            self.pos += 1
            quantifier += "?"
        if (self.peek() and self.peek() in "*+?") or (self.peek() == "{" and self.counted_ahead()):
            raise self.fail("repetition of a repetition")
        return _Repeat(atom, *_bounds(quantifier), quantifier)

    def counted_ahead(self) -> bool:
        saved = self.pos
        try:
            return self.counted() is not None
        except RegexError:
            return True
        finally:
            self.pos = saved

    def counted(self) -> str | None:
        """{n}, {n,} or {n,m} at the position (consumed), or None (nothing consumed)."""
        end = self.text.find("}", self.pos)
        if self.peek() != "{" or end < 0:
            return None
        body = self.text[self.pos + 1 : end]
        low, comma, high = body.partition(",")
        if not (low.isdigit() and low.isascii()) or (
            high and not (high.isdigit() and high.isascii())
        ):
            return None
        if int(low) > MAX_REPEAT or (high and int(high) > MAX_REPEAT):
            raise self.fail(f"repetition count above {MAX_REPEAT}")
        if high and int(high) < int(low):
            raise self.fail("repetition {n,m} with m < n")
        self.pos = end + 1
        return "{" + str(int(low)) + comma + (str(int(high)) if high else "") + "}"

    def quantifier(self) -> str | None:
        char = self.peek()
        if char and char in "*+?":
            self.pos += 1
            return char
        if char == "{":
            counted = self.counted()
            if counted is None:
                raise self.fail("'{' that is not a repetition (write \\{)")
            return counted
        return None

    def atom(self, depth: int) -> tuple[_Node, bool]:
        """The next atom, and whether it may be repeated."""
        char = self.take()
        if char in "*+?":
            raise self.fail("repetition of nothing")
        if char == "{":
            self.pos -= 1
            raise self.fail("'{' that is not a repetition (write \\{)")
        if char == "(":
            if self.peek() == "?":
                if self.peek(1) != ":":
                    raise self.fail("group flags or a named group")
                self.pos += 2
            inner = self.alternation(depth + 1)
            if self.peek() != ")":
                raise self.fail("missing ')'")
            self.pos += 1
            return _Group(inner), True
        if char == "[":
            return self.char_class(), True
        if char == ".":
            return _Chars(((0x0A, 0x0A),), True, "[^\\n]"), True
        if char == "^":
            return _Anchor("^"), False
        if char == "$":
            return _Anchor("\\z"), False
        if char == "\\":
            return self.escape()
        return _one(ord(char)), True

    def escape(self) -> tuple[_Node, bool]:
        char = self.take()
        if char == "A":
            return _Anchor("\\A"), False
        if char == "z":
            return _Anchor("\\z"), False
        if char.lower() in _SHORTHANDS:
            return _class(_SHORTHANDS[char.lower()], negated=char.isupper()), True
        return _one(self.escaped_code(char)), True

    def escaped_code(self, char: str) -> int:
        """The code point of a one-character escape (after the backslash)."""
        if char in _CHAR_ESCAPES:
            return _CHAR_ESCAPES[char]
        if char == "x":
            if self.peek() == "{":
                end = self.text.find("}", self.pos)
                digits = self.text[self.pos + 1 : end] if end > 0 else ""
                self.pos = end + 1 if end > 0 else self.pos
            else:
                digits = self.text[self.pos : self.pos + 2]
                self.pos += 2
                if len(digits) != 2:
                    raise self.fail("\\x needs two hex digits")
            try:
                code = int(digits, 16)
            except ValueError:
                raise self.fail(f"bad hex escape \\x{digits}") from None
            if not digits.isascii() or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise self.fail(f"bad hex escape \\x{digits}")
            return code
        if char in _PUNCTUATION:
            return ord(char)
        raise self.fail(f"escape \\{char}")

    def char_class(self) -> _Chars:
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        first = True
        while first or self.peek() != "]":
            if not self.peek():
                raise self.fail("missing ']'")
            ranges.extend(self.class_item(first))
            first = False
        self.pos += 1
        return _class(tuple(ranges), negated)

    def class_item(self, first: bool) -> tuple[tuple[int, int], ...]:
        """The code point ranges of the next item of a class."""
        if self.peek() == "[" and self.peek(1) == ":":
            raise self.fail("POSIX class [:...:]")
        if self.peek() == "\\" and self.peek(1).lower() in _SHORTHANDS:
            letter = self.peek(1)
            if letter.isupper():
                raise self.fail(f"\\{letter} inside a class")
            self.pos += 2
            return _SHORTHANDS[letter]
        if self.peek() == "-" and not first and self.peek(1) != "]":
            raise self.fail("'-' inside a class that is not a range (put it first or last)")
        low = self.class_char()
        if self.peek() == "-" and self.peek(1) not in ("]", ""):
            self.pos += 1
            if self.peek() == "\\" and self.peek(1).lower() in _SHORTHANDS:
                raise self.fail("a class shorthand as the end of a range")
            high = self.class_char()
            if high < low:
                raise self.fail("class range out of order")
            return ((low, high),)
        return ((low, low),)

    def class_char(self) -> int:
        char = self.take()
        if char == "\\":
            return self.escaped_code(self.take())
        return ord(char)


def parse_pattern(text: str) -> Pattern:
    """The pattern if it is in the subset, else RegexError in one line."""
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise RegexError(f"regex {text!r}: a lone surrogate")
    parser = _Parser(text)
    tree = parser.alternation(0)
    if parser.pos != len(text):
        raise parser.fail("unmatched ')'")
    import re2  # the executor's engine: what it refuses never runs

    try:
        re2.compile(text)
    except re2.error as error:
        raise RegexError(f"regex {text!r}: RE2 refuses it ({error})") from None
    return Pattern(re2=text, java=tree.java, tree=tree)


def _bounds(quantifier: str) -> tuple[int, int | None]:
    """How many times a quantifier repeats: at least, at most (None: no limit)."""
    counts = quantifier.rstrip("?") or "?"
    if counts in ("*", "+", "?"):
        return {"*": (0, None), "+": (1, None), "?": (0, 1)}[counts]
    low, comma, high = counts.strip("{}").partition(",")
    if not comma:
        return int(low), int(low)
    return int(low), int(high) if high else None
