"""System-prompt leakage in an answer: the request's canary, and runs of its prompt.

Types:

* ``CANARY`` - the canary token the gateway wrote into the system prompt, found in the
  answer exactly, in any case, with spaces or separators between its characters
  (``g h - c a n a r y``, ``3f9a-61c2-...``), in full-width letters, or as twelve or more
  characters of its hex part alone. Score 1.0.
* ``SYSTEM_PROMPT`` - a run of the answer that repeats the system prompt word for word,
  allowing small edits. Words are compared case-folded with punctuation dropped, in
  shingles of ``SHINGLE`` words; a run is a chain of matching shingles at consistent
  offsets in both texts, gaps of a few words (an edited word) bridged. Its score rises
  with the words it repeats (six or fewer stay under 0.5, so a stock phrase such as "you
  are a helpful assistant" never reaches the default threshold; eight reach it, eleven
  score 1.0) and with the share of the prompt the whole answer repeats.

A scan of any part of the answer that holds a leak finds it, so the gateway can scan a
stream in windows. Text the prompt quotes as a reply to give (``say "Sorry, I can only
discuss billing."``) is not indexed: the model saying it is doing its job, not leaking.
Paraphrase, translation and encodings (base64, one word per line with numbering) are
not recognised; the canary is there for those that keep it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, islice

from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, ScanContext

#: Words per shingle. Four survives an edited word every five words; a chain of them
#: still needs several to be long enough to count.
SHINGLE = 4
#: A chain bridges this many output words between the starts of two matching shingles:
#: one replaced word already makes a gap of SHINGLE + 1.
_MAX_GAP = 2 * SHINGLE + 2
#: Words inserted or dropped between two links of a chain.
_MAX_DRIFT = 3
#: Shorter runs are not reported at all (one shingle is any common phrase).
_MIN_RUN = SHINGLE + 2
#: A shingle found in more places than this in the prompt is boilerplate ("the the the",
#: a table's repeated header): it keeps the first few, and continues a verbatim run.
_MAX_PLACES = 4
#: Words of a system prompt that are indexed (a prompt carrying whole documents).
_MAX_SYSTEM_WORDS = 60_000
_ONES = b"\x01" * SHINGLE  # marks a shingle's words in a bytearray

_WORD = re.compile(r"[^\W_]+")
_PIECE = re.compile(r"[^\W_]+|[\W_]+")

# Scripted replies: a quotation the prompt tells the model to say.
_QUOTED = re.compile(r"\"([^\"\n]{1,600})\"|\u201c([^\u201d\n]{1,600})\u201d|«([^»\n]{1,600})»")
_SCRIPT_VERBS = re.compile(
    r"\b(?:say|says|saying|respond|responds|reply|replies|greet|greets"
    r"|(?:answer|begin|start|end|open|close|finish)\b[^.!?\n]{0,25}\bwith)\b[^.!?\n]{0,25}$",
    re.I,
)

# Canary folding: ASCII case, full-width forms, look-alike letters. One character for
# one, so offsets into the folded text are offsets into the original.
_FOLD = str.maketrans(
    {
        **{chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)},
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        **{chr(0xFF21 + i): chr(ord("a") + i) for i in range(26)},
        **{chr(0xFF41 + i): chr(ord("a") + i) for i in range(26)},
        # Cyrillic and Greek look-alikes of hex digits and of the prefix's letters.
        **dict(zip("аАеЕсСуһНԁɡВαΑεΕϲΝ", "aaeeccyhhdgbaaeecn", strict=True)),
    }
)
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_NOT_ALNUM_BYTES = bytes(c for c in range(128) if not chr(c).isalnum()) + bytes(range(128, 256))
_HEX_TAIL = re.compile(r"[0-9a-f]+$")
#: The least of a canary's hex part that identifies it.
MIN_HEX = 12


class PromptLeak:
    """The request's canary, or runs of its system prompt, repeated in the answer."""

    name = "prompt_leak"
    types = frozenset({"CANARY", "SYSTEM_PROMPT"})
    isolated = False

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        canary, system = context.canary, context.system
        if not text or (not canary and not system.strip()):
            return []
        found = canary_findings(text, canary) if canary else []
        if system:
            # The canary differs per call: taken out, the prompt is the same each time
            # and its index is built once.
            if canary:
                system = system.replace(canary, "")
            found += _runs(text, _index(system))
        return found


# -- canary ---------------------------------------------------------------------------


def canary_findings(text: str, canary: str) -> list[Finding]:
    """Where ``canary`` (or 12+ characters of its hex part) is in ``text``."""
    target = _NOT_ALNUM.sub("", canary.translate(_FOLD))
    if not target:
        return []
    hex_tail = _HEX_TAIL.search(target)
    hex_part = hex_tail.group() if hex_tail and len(hex_tail.group()) >= MIN_HEX else ""
    pieces = [hex_part[i : i + MIN_HEX] for i in range(len(hex_part) - MIN_HEX + 1)]
    if text.isascii():
        folded = text.lower()
        squeezed = folded.encode("ascii").translate(None, _NOT_ALNUM_BYTES).decode("ascii")
    else:
        folded = text.translate(_FOLD)
        squeezed = _NOT_ALNUM.sub("", folded)
    if target not in squeezed and not any(p in squeezed for p in pieces):
        return []
    # Rare: map the squeezed text back to the original's offsets.
    places = [m.start() for m in re.finditer(r"[0-9a-z]", folded)]
    spans: list[tuple[int, int]] = []
    for at in _all(squeezed, target):
        spans.append((at, at + len(target)))
    for piece in pieces:
        for at in _all(squeezed, piece):
            spans.append(_widen(squeezed, at, hex_part, hex_part.index(piece)))
    return [
        Finding("CANARY", places[start], places[end - 1] + 1, 1.0) for start, end in _merged(spans)
    ]


def _all(haystack: str, needle: str) -> list[int]:
    found, at = [], haystack.find(needle)
    while at >= 0:
        found.append(at)
        at = haystack.find(needle, at + 1)
    return found


def _widen(squeezed: str, at: int, hex_part: str, offset: int) -> tuple[int, int]:
    """The whole stretch of ``hex_part`` around a piece of it found at ``at``."""
    start, end, first, last = at, at + MIN_HEX, offset, offset + MIN_HEX
    while start > 0 and first > 0 and squeezed[start - 1] == hex_part[first - 1]:
        start, first = start - 1, first - 1
    while end < len(squeezed) and last < len(hex_part) and squeezed[end] == hex_part[last]:
        end, last = end + 1, last + 1
    return start, end


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


# -- system prompt --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Index:
    """A system prompt's shingles: key -> word positions in the prompt."""

    places: dict[str, tuple[int, ...]]
    common: frozenset[str]  # shingles with more than _MAX_PLACES places
    size: int  # words in the prompt
    indexed: int  # of them, words inside an indexed shingle: the share's denominator


def _words(text: str) -> list[str]:
    if text.isascii():
        return _WORD.findall(text.lower())
    return [w.casefold() for w in _WORD.findall(text)]


def _keys(words: list[str]) -> list[str]:
    columns = [islice(words, i, None) for i in range(SHINGLE)]
    return list(map(" ".join, zip(*columns, strict=False)))


@lru_cache(maxsize=32)
def _index(system: str) -> _Index:
    spans = [m.span() for m in islice(_WORD.finditer(system), _MAX_SYSTEM_WORDS)]
    words = _words(system)[: len(spans)]
    scripted = _scripted(system, spans)
    places: dict[str, list[int]] = {}
    common: set[str] = set()
    covered = bytearray(len(words))
    for i, key in enumerate(_keys(words)):
        if all(scripted[i : i + SHINGLE]):
            continue
        at = places.setdefault(key, [])
        if len(at) < _MAX_PLACES:
            at.append(i)
        else:
            common.add(key)
        covered[i : i + SHINGLE] = _ONES
    frozen = {k: tuple(v) for k, v in places.items()}
    return _Index(frozen, frozenset(common), len(words), sum(covered))


def _scripted(system: str, spans: list[tuple[int, int]]) -> list[bool]:
    """Per word of the prompt: inside a quoted reply the prompt tells the model to give."""
    marks = [False] * len(spans)
    if '"' not in system and "\u201c" not in system and "«" not in system:
        return marks
    starts = [s for s, _ in spans]
    for m in _QUOTED.finditer(system):
        before = system[max(0, m.start() - 60) : m.start()]
        if not _SCRIPT_VERBS.search(before.rstrip(" :,\t")):
            continue
        first = bisect.bisect_left(starts, m.start())
        last = bisect.bisect_left(starts, m.end())
        marks[first:last] = [True] * (last - first)
    return marks


@dataclass(slots=True)
class _Chain:
    """Matching shingles at consistent offsets: one candidate leaked run."""

    first: int  # output word index of the first shingle
    last: int  # output word index of the newest shingle
    places: list[int]  # prompt word index of each shingle
    covered: int  # output words inside the chain's shingles


def _runs(text: str, index: _Index) -> list[Finding]:
    if not index.places:
        return []
    get = index.places.get
    keys = _keys(_words(text))
    hits = [(i, at) for i, key in enumerate(keys) if (at := get(key))]
    if not hits:
        return []
    done: list[_Chain] = []
    open_: list[_Chain] = []
    tail: _Chain | None = None  # the chain extended last: a verbatim run continues it
    for i, at in hits:
        if tail is not None and i == tail.last + 1 and tail.places[-1] + 1 in at:
            tail.last, tail.covered = i, tail.covered + 1
            tail.places.append(tail.places[-1] + 1)
            continue
        if any(i - c.last > _MAX_GAP for c in open_):
            done += [c for c in open_ if i - c.last > _MAX_GAP]
            open_ = [c for c in open_ if i - c.last <= _MAX_GAP]
        tail = _extend(open_, i, at, keys[i] in index.common)
    runs = _best(c for c in done + open_ if c.covered >= _MIN_RUN)
    if not runs:
        return []
    repeated = bytearray(index.size)
    for chain in runs:
        for place in chain.places:
            place = min(place, index.size - SHINGLE)  # a common shingle's guess
            repeated[place : place + SHINGLE] = _ONES
    share = min(1.0, sum(repeated) / index.indexed)
    starts, ends = _word_bounds(text)
    return [
        Finding(
            "SYSTEM_PROMPT",
            starts[c.first],
            ends[c.last + SHINGLE - 1],
            leak_score(c.covered, share),
        )
        for c in runs
    ]


def _best(chains: Iterable[_Chain]) -> list[_Chain]:
    """The longest chains, without those inside a longer one (a repeated passage's
    other hypotheses)."""
    kept: list[_Chain] = []
    for chain in sorted(chains, key=lambda c: -c.covered):
        if not any(k.first <= chain.first and chain.last <= k.last for k in kept):
            kept.append(chain)
    return kept


def _word_bounds(text: str) -> tuple[list[int], list[int]]:
    """Start and end offsets of each word of ``text`` (as :data:`_WORD` splits it)."""
    pieces = _PIECE.findall(text)
    bounds = [0, *accumulate(map(len, pieces))]
    first = 0 if _WORD.match(text) else 1  # pieces alternate: word, gap, word ...
    return bounds[first::2], bounds[first + 1 :: 2]


def _extend(chains: list[_Chain], i: int, places: tuple[int, ...], common: bool) -> _Chain:
    """Add the shingle at output word ``i`` to each chain it continues, or start a chain
    per place it has in the prompt (a repeated passage: each is a hypothesis)."""
    extended = None
    for chain in chains:
        step = i - chain.last
        if step <= 0:
            continue
        newest = chain.places[-1]
        fits = [p for p in places if p > newest and abs(p - newest - step) <= _MAX_DRIFT]
        if fits:
            best = min(fits, key=lambda p: abs(p - newest - step))
        elif common and step == 1:
            best = newest + 1  # boilerplate whose places past the first few aren't kept
        else:
            continue
        chain.covered += min(SHINGLE, step)
        chain.last = i
        chain.places.append(best)
        extended = chain
    if extended is None:
        for place in places[:1] if common else places:
            extended = _Chain(i, i, [place], SHINGLE)
            chains.append(extended)
    assert extended is not None  # a hit has a place
    return extended


def leak_score(words: int, share: float) -> float:
    """Six repeated words score 0.3, eight 0.6, eleven or more 1.0; a larger share of
    the prompt repeated in the answer lifts a shorter run by up to half."""
    by_length = min(1.0, max(0.0, 0.15 * (words - 4)))
    return round(min(1.0, by_length * (1.0 + 0.5 * share)), 3)
