"""Reversible redaction: merging, placeholders, restoring, and streams split anywhere."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from gatehouse.guard.redaction import Redactor, StreamRestorer, mask, merge
from gatehouse.guard.scanners.base import Finding


def test_overlapping_and_adjacent_findings_merge_into_one_span():
    found = [
        Finding("AWS_ACCESS_KEY", 10, 30, 0.9),
        Finding("HIGH_ENTROPY", 20, 45, 0.6),  # overlaps the first
        Finding("EMAIL_ADDRESS", 45, 60, 0.99),  # touches the second
        Finding("PERSON", 70, 75, 0.7),
    ]
    assert merge(found) == [
        Finding("EMAIL_ADDRESS", 10, 60, 0.99),
        Finding("PERSON", 70, 75, 0.7),
    ]


def test_the_same_value_gets_the_same_placeholder_and_restore_is_exact():
    text = "Mail ann@example.com or bob@example.org; again ann@example.com."
    spans = [(5, 20), (24, 39), (47, 62)]
    redactor = Redactor([text])
    out = redactor.redact(text, [Finding("EMAIL_ADDRESS", s, e, 1.0) for s, e in spans])
    assert out == "Mail <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>; again <EMAIL_ADDRESS_1>."
    assert redactor.restore(out) == text
    assert redactor.restore("Write to <EMAIL_ADDRESS_2>, not <EMAIL_ADDRESS_9>.") == (
        "Write to bob@example.org, not <EMAIL_ADDRESS_9>."
    )


def test_a_placeholder_the_caller_wrote_is_never_issued():
    text = "Template: <PERSON_1> meets Ada."
    redactor = Redactor([text])
    out = redactor.redact(text, [Finding("PERSON", 27, 30, 0.9)])
    assert out == "Template: <PERSON_1> meets <PERSON_2>."
    assert redactor.restore(out) == text


def test_mask_is_typed_and_not_numbered():
    assert mask("card 4111 1111 1111 1111 ok", [Finding("CREDIT_CARD", 5, 24, 1.0)]) == (
        "card <CREDIT_CARD> ok"
    )


def _pieces(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


def test_a_stream_holds_back_only_a_possible_placeholder():
    redactor = Redactor()
    redactor.placeholder("PERSON", "Ada Lovelace")
    restorer = StreamRestorer(redactor)
    assert restorer.feed("Hello <PER") == "Hello "
    assert restorer.holding
    assert restorer.feed("SON_1>, 3 < 4") == "Ada Lovelace, 3 < 4"
    assert restorer.feed(" and x<y") == " and x<y"  # lowercase: never a placeholder
    assert restorer.feed(" end <") == " end "
    assert restorer.flush() == "<"


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.text(alphabet="abc@.-_<>0123456789 ", min_size=1, max_size=12), min_size=1, max_size=6
    ),
    spans=st.lists(st.tuples(st.integers(0, 80), st.integers(1, 20)), max_size=8),
    filler=st.text(alphabet="xyz <>_ABC019", max_size=80),
    cuts=st.lists(st.integers(0, 10_000), max_size=12),
)
def test_no_character_of_any_finding_survives_and_restore_is_exact(
    values: list[str], spans: list[tuple[int, int]], filler: str, cuts: list[int]
):
    text = filler + "".join(values) + filler
    found = [
        Finding("SECRET" if i % 2 else "PERSON", s, min(len(text), s + n), 1.0)
        for i, (s, n) in enumerate(spans)
        if s < len(text)
    ]
    redactor = Redactor([text])
    out = redactor.redact(text, found)
    # Every character inside any finding is gone: what remains are the gaps between
    # merged spans, verbatim, and placeholders.
    kept = []
    pos = 0
    for f in merge(found):
        kept.append(text[pos : f.start])
        pos = f.end
    kept.append(text[pos:])
    rebuilt = out
    for placeholder in redactor.originals:
        rebuilt = rebuilt.replace(placeholder, "")
    assert rebuilt == "".join(kept)
    assert redactor.restore(out) == text
    # The same through a stream cut at arbitrary points.
    restorer = StreamRestorer(redactor)
    streamed = "".join(restorer.feed(p) for p in _pieces(out, cuts)) + restorer.flush()
    assert streamed == text
