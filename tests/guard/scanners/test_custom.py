"""The operator's scanners: named regexes (checked, searched in bounded windows) and
banned topics (whole words, stems, phrases)."""

from __future__ import annotations

import re
import time

import pytest

from gatehouse.guard.scanners import custom
from gatehouse.guard.scanners.custom import (
    RegexScanner,
    RegexTooSlow,
    TopicScanner,
    backtracking_risk,
    bounded_matches,
)


def found(scanner: RegexScanner | TopicScanner, text: str) -> list[tuple[str, str]]:
    hits = sorted(scanner.scan(text), key=lambda f: (f.start, f.type))
    assert all(f.score == 1.0 for f in hits)
    return [(f.type, text[f.start : f.end]) for f in hits]


# -- regex ------------------------------------------------------------------------------


def test_each_match_of_each_pattern_is_a_finding_of_its_name() -> None:
    scanner = RegexScanner({"project_code": r"\bPRJ-\d{4}\b", "ticket": r"(?i)ticket #\d+"})
    text = "PRJ-4821 and PRJ-0007 are in Ticket #12; PRJ-12345 is not a code."
    assert found(scanner, text) == [
        ("PROJECT_CODE", "PRJ-4821"),
        ("PROJECT_CODE", "PRJ-0007"),
        ("TICKET", "Ticket #12"),
    ]
    assert scanner.types == frozenset({"PROJECT_CODE", "TICKET"})
    assert RegexScanner.types == frozenset({"CUSTOM"})  # what the class alone can say
    assert found(scanner, "nothing here") == []


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ({"bad": "(unclosed"}, "pattern 'bad' is not a valid regex"),
        ({"anything": "x*"}, "pattern 'anything' matches the empty string"),
        ({"nested": r"(a+)+$"}, "pattern 'nested' can take exponential time"),
        ({"huge": "a" * 1001}, "pattern 'huge' is longer than 1000 characters"),
        ({"1st": "a"}, "must start with a letter"),
        ({"has space": "a"}, "must start with a letter"),
        ({"code": "a", "CODE": "b"}, "two patterns are named 'CODE'"),
        ({}, "at least one pattern"),
    ],
)
def test_bad_patterns_are_refused_with_their_name(patterns: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        RegexScanner(patterns)


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a+)+$",
        r"(\w+\s?)*$",
        r"(.*,)+x",
        r"(x+x+)+y",
        r"(?:(?:\w+)+)z",
        r"^(([a-z])+.)+[A-Z]([a-z])+$",
        r"((ab)*c?)+d",
        r"(?i)(a+A)+b",
        r"(?(1)(a+)+|b)",
    ],
)
def test_nested_repeats_that_can_split_text_many_ways_are_risky(pattern: str) -> None:
    assert backtracking_risk(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        r"\bPRJ-\d{4}\b",
        r"(\w+\.)+com",
        r"(\d+-)+\d",
        r"([^,]*,)+",
        r"(\d{1,3}\.){3}\d{1,3}",
        r"(?:[A-Z][a-z]+ ?)+",
        r"(?:\s*,\s*\w+)+",
        r"(a++)+",
        r"[\w.+-]+@[\w-]+\.[\w.]+",
    ],
)
def test_common_unambiguous_patterns_are_accepted(pattern: str) -> None:
    assert backtracking_risk(pattern) is None
    RegexScanner({"ok": pattern})


def test_matches_are_the_same_as_a_plain_search_across_window_edges() -> None:
    pattern = re.compile(r"\bPRJ-\d{4}\b|x[^y]{0,200}y")
    pieces = []
    for i in range(600):
        pieces.append(f"PRJ-{i:04d} " if i % 3 else "x" + "z" * (i % 190) + "y ")
        pieces.append("filler " * (i % 7))
    text = "".join(pieces)
    assert len(text) > 10 * custom.WINDOW
    plain = [m.span() for m in pattern.finditer(text)]
    assert [m.span() for m in bounded_matches(pattern, text)] == plain


def test_a_match_running_into_a_window_edge_is_found_whole() -> None:
    # Greedy digits that the first window would cut in two.
    pattern = re.compile(r"\d+")
    text = "a" * (custom.WINDOW - 50) + " " + "7" * 200 + " tail"
    assert [m.group() for m in bounded_matches(pattern, text)] == ["7" * 200]


def test_a_slow_pattern_gives_up_instead_of_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(custom, "TIME_BUDGET_S", 0.01)
    scanner = RegexScanner({"slow": r"\w+@"})  # quadratic on a long word with no "@"
    started = time.perf_counter()
    with pytest.raises(RegexTooSlow):
        scanner.scan("a" * 400_000)
    assert time.perf_counter() - started < 2.0


def test_ordinary_patterns_on_a_long_text_are_fast() -> None:
    scanner = RegexScanner(
        {
            "code": r"\bPRJ-\d{4}\b",
            "email": r"[\w.+-]+@[\w-]+\.[\w.]+",
            "ip": r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
        }
    )
    text = ("Contact ops@example.com about PRJ-1234 on 10.0.0.1. " + "lorem ipsum " * 40) * 200
    started = time.perf_counter()
    hits = scanner.scan(text)
    assert time.perf_counter() - started < 1.0
    assert len(hits) == 600


# -- topics -----------------------------------------------------------------------------

TOPICS = {
    "competitors": ["acme corp", "globex corp*", "initech"],
    "medical_advice": ["diagnos*", "dosage", "prescri*"],
}


def test_whole_words_any_case_and_stems() -> None:
    scanner = TopicScanner(TOPICS)
    text = "Ask Globex Corporation or INITECH about the dosage you were prescribed."
    assert found(scanner, text) == [
        ("COMPETITORS", "Globex Corporation"),
        ("COMPETITORS", "INITECH"),
        ("MEDICAL_ADVICE", "dosage"),
        ("MEDICAL_ADVICE", "prescribed"),
    ]
    assert scanner.types == frozenset({"COMPETITORS", "MEDICAL_ADVICE"})
    assert TopicScanner.types == frozenset({"CUSTOM"})


@pytest.mark.parametrize(
    "text",
    [
        "the dosages table",  # not a stem: the word must end there
        "initechnology is a made-up word",
        "ascribe and undiagnosed",  # a stem starts a word
        "acmecorp",
        "acme corporate",
    ],
)
def test_parts_of_words_are_not_topics(text: str) -> None:
    assert found(TopicScanner(TOPICS), text) == []


def test_phrases_match_across_any_whitespace() -> None:
    scanner = TopicScanner(TOPICS)
    assert found(scanner, "see ACME\n   Corp.") == [("COMPETITORS", "ACME\n   Corp")]
    assert found(scanner, "acme-corp") == []


def test_the_longer_phrase_wins_where_two_start_together() -> None:
    scanner = TopicScanner({"brand": ["acme"], "product": ["acme rocket skates"]})
    text = "Buy acme rocket skates from acme."
    assert found(scanner, text) == [("PRODUCT", "acme rocket skates"), ("BRAND", "acme")]


def test_a_word_and_its_stem_in_different_topics() -> None:
    scanner = TopicScanner({"diagnosis": ["diagnosis"], "medical": ["diagnos*"]})
    assert found(scanner, "a diagnosis, diagnosed") == [
        ("DIAGNOSIS", "diagnosis"),
        ("MEDICAL", "diagnosed"),
    ]


def test_phrases_with_symbols_and_other_scripts() -> None:
    scanner = TopicScanner({"langs": ["c++", "Ромашка"], "money": ["$100 bill*"]})
    text = "C++ at РОМАШКА, paid in $100 bills"
    assert found(scanner, text) == [
        ("LANGS", "C++"),
        ("LANGS", "РОМАШКА"),
        ("MONEY", "$100 bills"),
    ]


@pytest.mark.parametrize(
    ("topics", "message"),
    [
        ({"x": ["*ology"]}, "`*` may only end a word"),
        ({"x": ["fo*o"]}, "`*` may only end a word"),
        ({"x": ["  "]}, "phrases must hold"),
        ({"x": []}, "topic 'x' has no words or phrases"),
        ({}, "at least one topic"),
        ({"a b": ["x"]}, "must start with a letter"),
    ],
)
def test_bad_topics_are_refused(topics: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        TopicScanner(topics)


def test_hundreds_of_phrases_stay_fast() -> None:
    words = [f"{a}{b}{c}word" for a in "bcdfg" for b in "aeiou" for c in "klmnprst"]
    topics = {
        f"topic{i}": [*words[i * 20 : (i + 1) * 20], words[i] + " " + words[i + 1]]
        for i in range(10)
    }
    topics["stems"] = [w[:5] + "*" for w in words[:40]]
    scanner = TopicScanner(topics)
    text = " ".join(words[::3]) * 40  # ~30 KB
    started = time.perf_counter()
    hits = scanner.scan(text)
    assert time.perf_counter() - started < 0.5
    assert hits
