"""Where the numbers of a text are, for the recognisers that read numbers.

A dense text has a run of digits every few words; the card, IBAN, IP, date, phone and
year recognisers read only the windows around the runs that could be theirs, and check
new candidates against what is already found in O(log n).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from typing import NamedTuple

from gatehouse.guard.scanners.base import Finding

NUMBERISH = re.compile(r"[0-9]+(?:[ ().+/:x-]{1,3}[0-9]+)*")
#: Numeric recognisers read only this far around each run of digits (an IBAN's
#: country, IPv6's letter groups, the "a.m." after a time); ages read further.
MARGIN = 6


class Window(NamedTuple):
    """Text around runs of digits, with what the recognisers' gates look at."""

    start: int
    end: int
    digits: int  # the most digits in one run (digits and separators)
    inner: str  # the runs themselves
    edges: str  # the character before each run and the three after it


Windows = list[Window]


def numeric_windows(text: str) -> Windows:
    """Stretches of text around runs of digits, merged where they touch."""
    windows: Windows = []
    n = len(text)
    start = end = -1
    digits = 0
    runs: list[str] = []
    edges: list[str] = []
    for m in NUMBERISH.finditer(text):
        run_start, run_end = m.span()
        opens = run_start - MARGIN if run_start > MARGIN else 0
        if opens > end:  # not touching the window so far: that one is complete
            if runs:
                windows.append(Window(start, end, digits, " ".join(runs), "".join(edges)))
            start, digits, runs, edges = opens, 0, [], []
        run = m.group()
        end = min(n, run_end + MARGIN)
        digits = max(digits, sum(map(str.isdigit, run)))
        runs.append(run)
        edges.append(text[run_start - 1 : run_start] if run_start else "")
        edges.append(text[run_end : run_end + 3])
    if runs:
        windows.append(Window(start, end, digits, " ".join(runs), "".join(edges)))
    return windows


def matches_in(
    pattern: re.Pattern[str],
    text: str,
    windows: Windows,
    least: int,
    inner: frozenset[str] = frozenset(),
    edges: frozenset[str] = frozenset(),
) -> Iterator[re.Match[str]]:
    """Matches of ``pattern`` in the windows with a run of at least ``least`` digits
    and, if gates are given, an ``inner`` character inside a run (a date's "/") or an
    ``edges`` character next to one (the "pm" of "5pm")."""
    gated = bool(inner or edges)
    for w in windows:
        if w.digits < least:
            continue
        if gated and inner.isdisjoint(w.inner) and edges.isdisjoint(w.edges):
            continue
        yield from pattern.finditer(text, w.start, w.end)


def overlaps(start: int, end: int, findings: list[Finding]) -> bool:
    return any(f.start < end and start < f.end for f in findings)


class Claimed:
    """Spans already taken, for overlap checks in O(log n): a dense text has a hundred
    findings and more candidates, and a linear scan per candidate was most of its time."""

    __slots__ = ("_max_end", "_starts")

    def __init__(self, findings: list[Finding]) -> None:
        spans = sorted((f.start, f.end) for f in findings)
        self._starts = [s for s, _ in spans]
        self._max_end = list(itertools.accumulate((e for _, e in spans), max))

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self._starts, end)  # findings that start before `end`
        return i > 0 and self._max_end[i - 1] > start


def near(
    pattern: re.Pattern[str], text: str, start: int, end: int, before: int = 40, after: int = 0
) -> bool:
    return pattern.search(text, max(0, start - before), min(len(text), end + after)) is not None
