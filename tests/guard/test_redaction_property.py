"""No labelled value survives redaction, and restoring gives the original text back.

Texts are built from labelled values — PII and secrets of the shapes the pattern
scanners know — joined by ordinary words, by punctuation, or by nothing at all, so
values overlap in what the scanners see and sit right next to each other. The real
scanners find them, the findings are merged, the text is redacted; then no value may
appear whole in the result, and restoring must give back the input exactly.
"""

from __future__ import annotations

import itertools
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatehouse.guard.redaction import Redactor, StreamRestorer
from gatehouse.guard.scanners.registry import build
from tests.guard.values import iban, luhn_complete

ALNUM = string.ascii_letters + string.digits
THRESHOLD = 0.5


def _token(draw: st.DrawFn, prefix: str, n: int) -> str:
    body = draw(st.text(alphabet=ALNUM, min_size=n, max_size=n))
    # Real tokens mix classes; a run of one class only is not what they look like.
    return prefix + "a1B" + body[3:]


@st.composite
def values(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["email", "card", "iban", "github", "aws", "slack", "ssn", "ip"]))
    if kind == "email":
        user = draw(st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=10))
        host = draw(st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=10))
        return f"{user}.{draw(st.sampled_from(['x', 'qa', 'dev']))}@{host}.example.com"
    if kind == "card":
        body = "4" + draw(st.text(alphabet=string.digits, min_size=14, max_size=14))
        number = luhn_complete(body)
        return " ".join(number[i : i + 4] for i in range(0, 16, 4))
    if kind == "iban":
        return iban("DE", draw(st.text(alphabet=string.digits, min_size=18, max_size=18)))
    if kind == "github":
        return _token(draw, "ghp_", 36)
    if kind == "aws":
        return "AKIA" + draw(
            st.text(alphabet=string.ascii_uppercase + "234567", min_size=16, max_size=16)
        )
    if kind == "slack":
        digits = draw(st.text(alphabet=string.digits, min_size=12, max_size=12))
        return f"xoxb-{digits}-{digits[::-1]}-" + _token(draw, "", 24)
    if kind == "ssn":
        area = draw(st.integers(100, 665))
        return f"{area:03d}-{draw(st.integers(10, 99)):02d}-{draw(st.integers(1000, 9999)):04d}"
    octets = draw(st.lists(st.integers(1, 254), min_size=4, max_size=4))
    return ".".join(map(str, octets))


SEPARATORS = st.sampled_from([" ", ", ", "\n", " and ", "; ", " (", ") ", "/", ":", "=", '"'])
WORDS = st.sampled_from(["please", "send", "to", "the", "key", "is", "card", "here", "ok"])


@st.composite
def labelled_texts(draw: st.DrawFn) -> tuple[str, list[str]]:
    parts: list[str] = []
    labelled: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            parts.append(draw(WORDS))
            parts.append(draw(SEPARATORS))
        value = draw(values())
        labelled.append(value)
        parts.append(value)
        parts.append(draw(SEPARATORS))
    return "".join(parts), labelled


SCANNERS = [build("pii"), build("secrets")]


def redact(text: str) -> tuple[str, Redactor]:
    found = [f for s in SCANNERS for f in s.scan(text) if f.score >= THRESHOLD]
    redactor = Redactor([text])
    return redactor.redact(text, found), redactor


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labelled_texts(), st.lists(st.integers(0, 10_000), max_size=10))
def test_no_labelled_value_survives_and_restore_is_exact(
    case: tuple[str, list[str]], cuts: list[int]
):
    text, labelled = case
    out, redactor = redact(text)
    for value in labelled:
        assert value not in out, f"{value!r} survived in {out!r}"
    assert redactor.restore(out) == text
    points = sorted({c % (len(out) + 1) for c in cuts} | {0, len(out)})
    restorer = StreamRestorer(redactor)
    streamed = "".join(restorer.feed(out[a:b]) for a, b in itertools.pairwise(points))
    assert streamed + restorer.flush() == text


@settings(max_examples=200, deadline=None)
@given(st.lists(values(), min_size=2, max_size=4))
def test_values_glued_together_leave_no_whole_value(glued: list[str]):
    """No separator at all: the scanners may see one long token, but none survives.

    A secret with its own prefix (ghp_, AKIA, xoxb-) is glued to whatever comes before
    it. Other values get a space where a letter or digit would meet a letter or digit:
    "…0000" + "4000 …" is one longer number, "example.com" + "DE36…" one longer word, to
    a scanner as to a reader.
    """
    text = "key " + glued[0]
    for value in glued[1:]:
        prefixed = value.startswith(("ghp_", "AKIA", "xoxb-"))
        ambiguous = text[-1].isalnum() and value[0].isalnum() and not prefixed
        text += (" " if ambiguous else "") + value
    text += " end"
    out, redactor = redact(text)
    survivors = [v for v in glued if v in out]
    # A value that is a plain run of digits and dots glued to another may stop looking like
    # anything (e.g. an IP address glued to a card number); every other value goes.
    assert all(_dotted_number(v) for v in survivors), f"{survivors} survived in {out!r}"
    assert redactor.restore(out) == text


def _dotted_number(value: str) -> bool:
    return all(c.isdigit() or c in ".- " for c in value)
