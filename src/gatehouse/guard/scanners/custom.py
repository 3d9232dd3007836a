"""The operator's own checks: named regular expressions, and banned topics.

A finding's type is its pattern's or topic's name, upper-cased, score 1.0. Both are
built from a policy's options, so the types they report are known only per instance:
``types`` is set on each one, and the class attribute ``types = {"CUSTOM"}`` stands in
for code that reads a scanner's class without building it.

Topics match whole words, case-insensitively, with any whitespace between a phrase's
words and ``stem*`` for any ending; all topics are one regex, so where two phrases
start at the same word only the longer one is reported.

Python's ``re`` backtracks, so a pattern such as ``(a+)+$`` can take exponential time
on a short string, and nothing can interrupt a running match. Operators own their
patterns; the scanner does what it can. It refuses patterns over ``MAX_PATTERN_CHARS``,
patterns that match the empty string, and repeats of something that can itself match a
run of text in more than one way (``(a+)+``, ``(\\w+\\s?)*``, ``(.*,)+``). It searches
at most ``WINDOW`` characters at a time, so a pattern that is merely polynomial
(``\\w+@``, ``\\w+\\w+x``) costs a bounded amount per window, and gives up with
:class:`RegexTooSlow` (the scan fails, so the gateway fails closed) once a text has
taken ``TIME_BUDGET_S``. Not caught: overlapping alternatives under a repeat
(``(a|ab)*``), and a cubic pattern (``\\w+\\w+x``) still spends about half a second on
a bad window before the budget is checked. A match is found whole when it is shorter
than ``OVERLAP``; a longer one may be found cut short.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Iterator
from typing import Any

from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, ScanContext

# The parser of `re`: private, so the nesting check is skipped if it ever moves.
try:
    _sre: Any = importlib.import_module("re._constants")
    _sre_parser: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover
    _sre = _sre_parser = None

MAX_PATTERN_CHARS = 1000
#: Characters searched at once; consecutive windows overlap by OVERLAP.
WINDOW = 1024
OVERLAP = 256
#: Time one text may take over all patterns (checked between windows).
TIME_BUDGET_S = 1.0
#: A repeat allowing more than this many rounds counts as unbounded.
_LARGE_REPEAT = 20
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


class RegexTooSlow(RuntimeError):
    """An operator's pattern took more than its time budget on a text."""


class RegexScanner:
    """Each match of an operator's named pattern is a finding of type NAME."""

    name = "regex"
    types: frozenset[str] = frozenset({"CUSTOM"})  # replaced per instance
    isolated = False

    def __init__(self, patterns: dict[str, str]) -> None:
        if not patterns:
            raise ValueError("the regex scanner needs at least one pattern")
        self.patterns: list[tuple[str, re.Pattern[str]]] = []
        for name, pattern in patterns.items():
            self.patterns.append((_type(name, "pattern"), compile_checked(name, pattern)))
        self.types = _unique([kind for kind, _ in self.patterns], "pattern")

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        deadline = time.perf_counter() + TIME_BUDGET_S
        return [
            Finding(kind, m.start(), m.end(), 1.0)
            for kind, pattern in self.patterns
            for m in bounded_matches(pattern, text, deadline)
        ]


def compile_checked(name: str, pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled, or a ValueError naming it: too long, invalid, able to
    match the empty string, or open to catastrophic backtracking."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"pattern {name!r} is longer than {MAX_PATTERN_CHARS} characters")
    try:
        compiled = re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ValueError(f"pattern {name!r} is not a valid regex: {exc}") from None
    if compiled.match("") is not None:
        raise ValueError(f"pattern {name!r} matches the empty string")
    risk = backtracking_risk(pattern)
    if risk:
        raise ValueError(f"pattern {name!r} can take exponential time: {risk}")
    return compiled


def bounded_matches(
    pattern: re.Pattern[str], text: str, deadline: float | None = None
) -> Iterator[re.Match[str]]:
    """Non-empty, non-overlapping matches, searching ``WINDOW`` characters at a time,
    until ``deadline`` (a ``time.perf_counter()`` value) passes.

    A match that runs into a window's end starts the next window there, so a match is
    found whole when shorter than ``OVERLAP`` (usually up to ``WINDOW``).
    """
    n, start, done = len(text), 0, 0
    while True:
        end = min(n, start + WINDOW)
        next_start = end - OVERLAP if end < n else n
        for m in pattern.finditer(text, start, end):
            if m.start() < done or m.start() == m.end():
                continue
            if end < n and m.start() >= next_start:
                break  # the next window sees it with the text after it
            if end < n and m.end() == end and m.start() > start:
                next_start = m.start()  # may go on past the window: look again from here
                break
            done = m.end()
            yield m
        if end >= n:
            return
        if deadline is not None and time.perf_counter() > deadline:
            raise RegexTooSlow(f"pattern {pattern.pattern[:60]!r} took too long; text not scanned")
        start = max(next_start, done, start + 1)


def backtracking_risk(pattern: str) -> str | None:
    """Why ``pattern`` may backtrack exponentially (a repeated part that can match the
    same text in more than one way), or None when no such nesting is found."""
    if _sre_parser is None:  # pragma: no cover
        return None
    try:
        parsed = _sre_parser.parse(pattern)
    except (re.error, OverflowError, RecursionError):
        return None  # compile reports it
    return _nested(list(parsed), bool(parsed.state.flags & re.IGNORECASE))


def _nested(items: list[Any], nocase: bool) -> str | None:
    for op, av in items:
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            _, high, body = av
            if op != _sre.POSSESSIVE_REPEAT and _large(high) and _ambiguous(list(body), nocase):
                return "a repeated group contains a repeat that can match the same text"
            found = _nested(list(body), nocase)
        elif op == _sre.SUBPATTERN:
            found = _nested(list(av[3]), nocase)
        elif op == _sre.ATOMIC_GROUP:
            found = _nested(list(av), nocase)
        elif op == _sre.BRANCH:
            found = next((r for alt in av[1] if (r := _nested(list(alt), nocase))), None)
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
            found = _nested(list(av[1]), nocase)
        elif op == _sre.GROUPREF_EXISTS:
            found = _nested(list(av[1]), nocase) or (
                _nested(list(av[2]), nocase) if av[2] else None
            )
        else:
            found = None
        if found:
            return found
    return None


def _large(high: int) -> bool:
    return bool(high == _sre.MAXREPEAT or high > _LARGE_REPEAT)


def _flat(items: list[Any]) -> list[list[Any]]:
    """The sequences ``items`` can be, with groups inlined and each branch spelled out
    (at most a few dozen: enough to judge a repeat's body)."""
    out: list[list[Any]] = [[]]
    for op, av in items:
        if op == _sre.SUBPATTERN:
            choices = _flat(list(av[3]))
        elif op == _sre.BRANCH:
            choices = [seq for alt in av[1] for seq in _flat(list(alt))]
        else:
            choices = [[(op, av)]]
        out = [seq + choice for seq in out for choice in choices][:64]
    return out


def _ambiguous(body: list[Any], nocase: bool) -> bool:
    """True when one round of the repeat can be split into two in more than one way:
    it holds an unbounded repeat R and everything else in it can match nothing, or (for
    R a repeated character class) only characters R also matches."""
    for seq in _flat(body):
        for i, (op, av) in enumerate(seq):
            if not _unbounded_inside(op, av):
                continue
            chars = _repeated_chars(op, av, nocase)
            rest = seq[:i] + seq[i + 1 :]
            if all(_nullable(o, a) or chars & _class_of(o, a, nocase) for o, a in rest):
                return True
    return False


def _unbounded_inside(op: Any, av: Any) -> bool:
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
        return _large(av[1]) or any(_unbounded_inside(o, a) for o, a in av[2])
    if op == _sre.SUBPATTERN:
        return any(_unbounded_inside(o, a) for o, a in av[3])
    if op == _sre.BRANCH:
        return any(_unbounded_inside(o, a) for alt in av[1] for o, a in alt)
    return False


def _nullable(op: Any, av: Any) -> bool:
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        return bool(av[0] == 0) or all(_nullable(o, a) for o, a in av[2])
    if op == _sre.SUBPATTERN:
        return all(_nullable(o, a) for o, a in av[3])
    if op == _sre.BRANCH:
        return any(all(_nullable(o, a) for o, a in alt) for alt in av[1])
    return op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT)


# Sample characters for comparing character classes: ASCII and a few others.
_SAMPLE = [chr(c) for c in range(128)] + ["é", "ß", "\u00a0", "中", "\u2028", "٣"]


def _repeated_chars(op: Any, av: Any, nocase: bool) -> frozenset[str]:
    """The sample characters R matches, when R is an unbounded repeat of one class."""
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and len(av[2]) == 1:
        return _class_of(av[2][0][0], av[2][0][1], nocase)
    return frozenset()


def _class_of(op: Any, av: Any, nocase: bool) -> frozenset[str]:
    """Sample characters matched by a one-character item or a repeat of one (empty for
    anything else)."""
    if op == _sre.SUBPATTERN and len(av[3]) == 1:
        return _class_of(av[3][0][0], av[3][0][1], nocase)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT) and len(av[2]) == 1:
        return _class_of(av[2][0][0], av[2][0][1], nocase)
    chars = _matched_as_written(op, av)
    if nocase:
        chars |= {c.swapcase() for c in chars if len(c.swapcase()) == 1}
    return chars


def _matched_as_written(op: Any, av: Any) -> frozenset[str]:
    if op == _sre.LITERAL:
        return frozenset({chr(av)})
    if op == _sre.NOT_LITERAL:
        return frozenset(_SAMPLE) - {chr(av)}
    if op == _sre.ANY:
        return frozenset(_SAMPLE) - {"\n"}
    if op == _sre.IN:
        return frozenset(c for c in _SAMPLE if _in_set(av, c))
    return frozenset()


def _in_set(items: list[Any], char: str) -> bool:
    negate, hit = False, False
    for op, av in items:
        if op == _sre.NEGATE:
            negate = True
        elif op == _sre.LITERAL:
            hit = hit or chr(av) == char
        elif op == _sre.RANGE:
            hit = hit or av[0] <= ord(char) <= av[1]
        elif op == _sre.CATEGORY:
            hit = hit or _CATEGORIES.get(av.name, _ANY)(char)
    return hit != negate


def _ANY(char: str) -> bool:
    return True


_CATEGORIES = {
    "CATEGORY_DIGIT": str.isdigit,
    "CATEGORY_NOT_DIGIT": lambda c: not c.isdigit(),
    "CATEGORY_SPACE": str.isspace,
    "CATEGORY_NOT_SPACE": lambda c: not c.isspace(),
    "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
    "CATEGORY_NOT_WORD": lambda c: not (c.isalnum() or c == "_"),
}


class TopicScanner:
    """Banned topics: each a name and its words and phrases (``*`` ends a word stem)."""

    name = "topics"
    types: frozenset[str] = frozenset({"CUSTOM"})  # replaced per instance
    isolated = False

    def __init__(self, topics: dict[str, list[str]]) -> None:
        if not topics:
            raise ValueError("the topics scanner needs at least one topic")
        trie: _Node = {}
        self.group_types: dict[str, str] = {}  # marker group -> finding type
        kinds = []
        for topic, phrases in topics.items():
            kind = _type(topic, "topic")
            kinds.append(kind)
            if not phrases:
                raise ValueError(f"topic {topic!r} has no words or phrases")
            for phrase in phrases:
                node = trie
                for atom in _atoms(topic, phrase):
                    node = node.setdefault(atom, {})
                if _END not in node:  # the same phrase twice: the first topic keeps it
                    group = f"p{len(self.group_types)}"
                    node[_END] = {group: {}}
                    self.group_types[group] = kind
        self.types = _unique(kinds, "topic")
        # One trie-shaped regex: each position tries the few phrases sharing its first
        # letters, not every phrase (a flat alternation of hundreds is ~100x slower).
        self.pattern = re.compile(r"(?<!\w)" + _trie_regex(trie), re.IGNORECASE)

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        return [
            Finding(self.group_types[m.lastgroup or ""], m.start(), m.end(), 1.0)
            for m in self.pattern.finditer(text)
        ]


#: A trie of regex atoms; _END's child names the marker group of the phrase ending there.
_Node = dict[str, "_Node"]
_END = ""
_STEM_END = r"\w*"
_GAP = r"\s+"
MAX_PHRASE_CHARS = 200


def _atoms(topic: str, phrase: str) -> list[str]:
    """A phrase as regex atoms: its characters, ``\\s+`` between words, ``\\w*`` after
    a ``stem*``."""
    words = phrase.split()
    if not words or len(phrase) > MAX_PHRASE_CHARS:
        raise ValueError(f"topic {topic!r}: phrases must hold 1 to {MAX_PHRASE_CHARS} characters")
    atoms: list[str] = []
    for word in words:
        stem = word.removesuffix("*")
        if not stem or "*" in stem:
            raise ValueError(f"topic {topic!r}: {phrase!r} - `*` may only end a word")
        if atoms:
            atoms.append(_GAP)
        atoms += [re.escape(c.lower() if len(c.lower()) == 1 else c) for c in stem]
        if word.endswith("*"):
            atoms.append(_STEM_END)
    return atoms


def _trie_regex(node: _Node) -> str:
    # Literal continuations first, then a gap, then a stem's ending, then the end of a
    # phrase: a longer phrase wins over one it starts with.
    order = {_GAP: 1, _STEM_END: 2, _END: 3}
    parts = []
    for atom in sorted(node, key=lambda a: order.get(a, 0)):
        if atom == _END:
            (group,) = node[atom]
            parts.append(rf"(?!\w)(?P<{group}>)")
        else:
            parts.append(atom + _trie_regex(node[atom]))
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _type(name: str, what: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"{what} name {name!r} must start with a letter and hold only letters, digits, "
            "'_' and '-' (64 at most): it becomes the finding's type"
        )
    return name.upper()


def _unique(kinds: list[str], what: str) -> frozenset[str]:
    seen: set[str] = set()
    for kind in kinds:
        if kind in seen:
            raise ValueError(f"two {what}s are named {kind!r} once upper-cased")
        seen.add(kind)
    return frozenset(seen)
