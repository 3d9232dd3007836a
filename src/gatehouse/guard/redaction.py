"""Reversible redaction: typed placeholders out, the original values back in.

One :class:`Redactor` serves one call. The same value always gets the same placeholder
(``<PERSON_1>``, ``<EMAIL_ADDRESS_2>``), so the model can still tell two people apart,
and :meth:`Redactor.restore` puts the originals back in its answer. Findings are merged
before anything is replaced: two overlapping or touching findings become one span, so
no part of either survives next to a placeholder.

:class:`StreamRestorer` does the same on a stream whose text arrives in pieces: it holds
back only a tail that could still be the start of a placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gatehouse.guard.scanners.base import Finding

_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*?)_(\d+)>")
#: The longest text a placeholder can be: anything longer can't be one still forming.
_MAX_PLACEHOLDER = 64


def merge(findings: Iterable[Finding]) -> list[Finding]:
    """Overlapping or adjacent findings joined, sorted by start.

    The joined span takes the type of its highest-scoring part (ties: the longer),
    and the highest score.
    """
    ordered = sorted(findings, key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    lead: Finding | None = None  # the part whose type the current span carries
    for f in ordered:
        if f.end <= f.start:
            continue
        if merged and f.start <= merged[-1].end:
            last = merged[-1]
            assert lead is not None
            if (f.score, f.end - f.start) > (lead.score, lead.end - lead.start):
                lead = f
            merged[-1] = Finding(lead.type, last.start, max(last.end, f.end), lead.score)
        else:
            merged.append(f)
            lead = f
    return merged


class Redactor:
    """Placeholders for one call, and the way back."""

    __slots__ = ("_by_value", "_counts", "_reserved", "originals")

    def __init__(self, texts: Iterable[str] = ()) -> None:
        #: placeholder -> original value
        self.originals: dict[str, str] = {}
        self._by_value: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}
        # Placeholders the caller's text already contains are never issued: restoring
        # would otherwise rewrite the caller's own literal "<PERSON_1>".
        self._reserved = {m.group(0) for t in texts for m in _PLACEHOLDER.finditer(t)}

    def placeholder(self, kind: str, value: str) -> str:
        known = self._by_value.get((kind, value))
        if known is not None:
            return known
        n = self._counts.get(kind, 0)
        while True:
            n += 1
            candidate = f"<{kind}_{n}>"
            if candidate not in self._reserved:
                break
        self._counts[kind] = n
        self._by_value[(kind, value)] = candidate
        self.originals[candidate] = value
        return candidate

    def redact(self, text: str, findings: Iterable[Finding]) -> str:
        """``text`` with every (merged) finding replaced by its placeholder."""
        out: list[str] = []
        pos = 0
        for f in merge(findings):
            out.append(text[pos : f.start])
            out.append(self.placeholder(_kind(f.type), text[f.start : f.end]))
            pos = f.end
        out.append(text[pos:])
        return "".join(out)

    def restore(self, text: str) -> str:
        """``text`` with every placeholder this call issued replaced by its original."""
        if not self.originals or "<" not in text:
            return text
        return _PLACEHOLDER.sub(self._original, text)

    def placeholder_spans(self, text: str) -> list[re.Match[str]]:
        """Where placeholders this call issued sit in ``text``."""
        return [m for m in _PLACEHOLDER.finditer(text) if m.group(0) in self.originals]

    def outside(self, text: str, found: list[Finding]) -> list[Finding]:
        """The findings that don't touch a placeholder this call issued: a placeholder
        the model repeats is the gateway's own text, not something the model said."""
        if not found or not self.originals or "<" not in text:
            return found
        ours = [m.span() for m in self.placeholder_spans(text)]
        if not ours:
            return found
        return [f for f in found if not any(f.start < e and s < f.end for s, e in ours)]

    def _original(self, match: re.Match[str]) -> str:
        return self.originals.get(match.group(0), match.group(0))


def mask(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with every finding replaced by ``<TYPE>``: for what is never restored."""
    out: list[str] = []
    pos = 0
    for f in merge(findings):
        out.append(text[pos : f.start])
        out.append(f"<{_kind(f.type)}>")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def mask_pieces(pieces: list[str], findings: Iterable[Finding]) -> list[str]:
    """``mask`` over the text ``"".join(pieces)``, handed back as pieces of the same
    count: a value split across pieces (a stream's chunks) is masked whole, its
    ``<TYPE>`` in the piece where it began."""
    spans = merge(findings)
    out: list[str] = []
    k = 0
    pos = 0
    for piece in pieces:
        start, end = pos, pos + len(piece)
        kept: list[str] = []
        i = start
        while i < end:
            while k < len(spans) and spans[k].end <= i:
                k += 1
            if k < len(spans) and spans[k].start <= i:
                if i == spans[k].start:
                    kept.append(f"<{_kind(spans[k].type)}>")
                i = min(spans[k].end, end)
            else:
                stop = min(spans[k].start, end) if k < len(spans) else end
                kept.append(piece[i - start : stop - start])
                i = stop
        out.append("".join(kept))
        pos = end
    return out


def _kind(entity_type: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", entity_type.upper()) or "REDACTED"


class StreamRestorer:
    """Restores placeholders in text that arrives in pieces.

    ``feed`` returns what can be sent now: everything except a tail that could still
    become a placeholder (from its last ``<``, while what follows is a prefix of one).
    ``flush`` returns the rest at the end. Text with no ``<`` passes straight through.
    """

    __slots__ = ("_pending", "_redactor")

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._pending = ""

    def feed(self, piece: str) -> str:
        text = self._pending + piece if self._pending else piece
        if "<" not in text:
            self._pending = ""
            return text
        cut = text.rfind("<")
        tail = text[cut:]
        if len(tail) < _MAX_PLACEHOLDER and _could_become_placeholder(tail):
            self._pending = tail
            return self._redactor.restore(text[:cut])
        self._pending = ""
        return self._redactor.restore(text)

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return self._redactor.restore(rest)

    @property
    def holding(self) -> bool:
        return bool(self._pending)


_PREFIX = re.compile(r"<(?:[A-Z][A-Z0-9_]*)?(?:_\d*)?\Z")


def _could_become_placeholder(tail: str) -> bool:
    """Whether ``tail`` (starting with ``<``) is a prefix of some ``<TYPE_N>``."""
    return _PREFIX.match(tail) is not None
