"""Dates and times found by shape: ISO, numeric, written months, weekdays, clock times
and plain years (only after a date-ish word)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from gatehouse.guard.scanners.base import Finding
from gatehouse.guard.scanners.numbers import Claimed, Windows, matches_in, overlaps

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|20\d\d)"
# Month names are found by a cheap literal scan, then read in a small window around
# each one ("5 March 2020", "March 5, 2020", "Mar 2020", "March").
_MONTH_HINT = re.compile(r"Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec")
_MONTH_PHRASE = re.compile(
    rf"\b(?:{_DAY} (?:of )?{_MONTH},? {_YEAR}|{_MONTH} {_DAY}(?:,? {_YEAR})?|{_DAY} {_MONTH}"
    rf"|{_MONTH},? {_YEAR}|{_MONTH})(?!\w)"
)
_WEEKDAY_END = re.compile(r"day\b")
_WEEKDAY_STEMS = ("mon", "tues", "wednes", "thurs", "fri", "satur", "sun")
# A month name alone ("in March") is probably a date, but "June" and "August" are
# also names; "May" alone is never taken (mostly a verb), nor are bare abbreviations.
_MONTH_NAMES = frozenset(
    {
        "January",
        "February",
        "March",
        "April",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    }
)
_MERIDIEM = frozenset("aApP")
_ISO_DATE = re.compile(
    r"(\d(?<![\d-]\d)\d{3})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?(?![\d-])"
)
_NUMERIC_DATE = re.compile(
    r"(\d(?<![\w/.-]\d)(?:\d{3}|\d)?)([/.-])(\d{1,2})\2(\d{2,4})(?![\d/-]|\.\d)"
)
_TIME = re.compile(
    r"(\d(?<![\w:.]\d)\d?)(?::([0-5]\d)(?::[0-5]\d)?(?:\s?([AaPp])(?:\.[Mm]\.|[Mm]\b))?"
    r"|\s?([AaPp])(?:\.[Mm]\.|[Mm]\b))(?![\d:])"
)
# Not before another number: "1987 74 Diakou Street" is a house number.
_BARE_YEAR = re.compile(r"(?:19|20)(?<![\w.,/:$€£#-]..)\d\d(?!\w|[.,/:-]\w|%|\s\d)")
_YEAR_CONTEXT = re.compile(
    r"\b(?:in|since|during|of|from|until|till|by|before|after|year|born|founded|circa|"
    r"early|late|mid|spring|summer|autumn|fall|winter|between|and|to|a|the)\W{0,3}$",
    re.I,
)

# -- phone numbers --------------------------------------------------------------------


def date_words(text: str) -> Iterator[Finding]:
    last_end = -1
    for hint in _MONTH_HINT.finditer(text):
        if hint.start() < last_end:
            continue
        start, end = max(0, hint.start() - 12), min(len(text), hint.end() + 24)
        for m in _MONTH_PHRASE.finditer(text, start, end):
            if m.start() <= hint.start() < m.end():
                last_end = m.end()
                value = m.group()
                if value in _MONTH_NAMES:
                    yield Finding("DATE_TIME", m.start(), m.end(), 0.6)
                elif any(c.isdigit() for c in value):
                    yield Finding("DATE_TIME", m.start(), m.end(), 0.9)
                break
    lowered = text.lower()
    for m in _WEEKDAY_END.finditer(lowered):
        for stem in _WEEKDAY_STEMS:
            start = m.start() - len(stem)
            if lowered.startswith(stem, start) and (start == 0 or not text[start - 1].isalnum()):
                yield Finding("DATE_TIME", start, m.end(), 0.85)
                break


def dates(text: str, windows: Windows) -> Iterator[Finding]:
    iso: list[Finding] = []
    for m in matches_in(_ISO_DATE, text, windows, 8, frozenset("-")):
        time_ok = m[4] is None or (int(m[4]) < 24 and int(m[5]) < 60)
        if 1 <= int(m[2]) <= 12 and 1 <= int(m[3]) <= 31 and time_ok:
            iso.append(Finding("DATE_TIME", m.start(), m.end(), 0.95))
    yield from iso
    for m in matches_in(_NUMERIC_DATE, text, windows, 3, frozenset("/.-")):
        a, b, last = int(m[1]), int(m[3]), m[4]
        if len(m[1]) == 4:  # y/m/d
            ok = m[2] != "-" and 1 <= b <= 12 and 1 <= int(last) <= 31 and len(last) <= 2
        else:  # d/m/y or m/d/y
            ok = 1 <= min(a, b) <= 12 and max(a, b) <= 31 and len(last) in (2, 4)
        if ok:
            yield Finding("DATE_TIME", m.start(), m.end(), 0.9 if m[2] == "/" else 0.7)
    for m in matches_in(_TIME, text, windows, 1, frozenset(":"), _MERIDIEM):
        hour, meridiem = int(m[1]), m[3] or m[4]
        valid = 1 <= hour <= 12 if meridiem else hour < 24
        if valid and not overlaps(m.start(), m.end(), iso):
            yield Finding("DATE_TIME", m.start(), m.end(), 0.85 if meridiem else 0.6)


def years(text: str, windows: Windows, numeric: list[Finding]) -> Iterator[Finding]:
    """Plain years (1900-2099) standing alone: confident only after a date-ish word."""
    claimed = Claimed(numeric)
    for m in matches_in(_BARE_YEAR, text, windows, 4):
        if claimed.overlaps(m.start(), m.end()):
            continue
        lead = _YEAR_CONTEXT.search(text, max(0, m.start() - 12), m.start())
        yield Finding("DATE_TIME", m.start(), m.end(), 0.6 if lead else 0.4)
