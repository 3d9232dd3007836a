"""Undoing the disguises of prompt attacks: normalised text with a map back, and decoders.

:func:`normalise` folds a text to the form the injection grammar is written for: NFKC,
case-folded, accents and other combining marks stripped, Cyrillic/Greek/IPA look-alikes
mapped to the Latin letters they imitate, invisible format characters dropped, Unicode
tag characters (U+E0020-U+E007E, invisible ASCII twins) decoded in place, and
whitespace runs collapsed. :class:`Normalised` keeps a segment map so that a span
found in the folded text is reported in the caller's original offsets, and records
where the disguises were (invisible characters, tag runs, look-alike letters).

The decoders find runs that look encoded (base64, hex, invisible variation-selector
bytes, letters spaced apart) and return their plain text for one more scan; they never
decode recursively. The transforms (ROT13, reversal, leetspeak) keep a text's length, so
a span found in their output is a span of the input. :func:`concealed_regions` finds
markup that hides its text from a human reader.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

# Letters of other scripts drawn like Latin ones (the common subset of Unicode's
# confusables list that attackers use). Upper and lower case both, since case-folding
# a Greek capital gives a Greek small letter that looks like a different Latin one.
_LOOKALIKE_PAIRS = """
аa вb сc дd еe ёe һh іi їi јj кk лl мm нh оo рp ԛq ѕs тt уy хx ъb ьb ԝw ӏl
Аa Вb Сc Еe Нh Іi Јj Кk Мm Оo Рp Ѕs Тt Хx Уy Ԝw
αa βb εe ηn ιi κk νv οo ρp τt υu χx γy ϲc ϳj
Αa Βb Εe Ζz Ηh Ιi Κk Μm Νn Οo Ρp Τt Υy Χx
ɑa ɡg ȷj ɩi ʟl ɴn ʀr ꜱs ᴠv ᴡw ʏy ᴄc ᴏo օo ոn սu ցg
"""  # noqa: RUF001
_LOOKALIKES = {pair[0]: pair[1] for pair in _LOOKALIKE_PAIRS.split()}
# Compatibility forms that only imitate letters: full-width, mathematical and enclosed
# alphanumerics. Ligatures, superscripts and fractions are ordinary typography.
_IMITATION_BLOCKS = ((0xFF00, 0xFFEF), (0x1D400, 0x1D7FF), (0x2460, 0x24FF), (0x1F130, 0x1F189))
_QUOTES = {"\u0131": "i",  # Turkish dotless i: a letter of its own, folded for matching
           "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
           "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u00ab": '"',
           "\u00bb": '"', "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
           "\u2014": "-", "\u2015": "-", "\u2212": "-"}  # fmt: skip
# Characters that draw nothing but are letters, not format characters.
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Joiners and marks with honest uses between letters of Arabic, Persian or Indic
# scripts and inside emoji sequences; suspicious only beside ASCII.
_JOINERS = frozenset("\u200c\u200d\u200e\u200f")
# Cyrillic letters that imitate none of Latin's: a text holding one is written in a
# Cyrillic language, where a whole word of Cyrillic letters is a word, not a disguise.
_CYRILLIC = (0x0400, 0x052F)
_NATIVE_CYRILLIC = re.compile(
    "["
    + "".join(
        chr(c)
        for c in range(_CYRILLIC[0], _CYRILLIC[1] + 1)
        if chr(c).isalpha() and chr(c) not in _LOOKALIKES
    )
    + "]"
)

# What folding one character did to it.
PLAIN, LOOKALIKE, INVISIBLE, TAG = 0, 1, 2, 3

# Anything the plain ASCII path can't copy through: non-ASCII characters, whitespace
# runs and the odd control whitespace.
_IRREGULAR = re.compile(r"\s{2,}|[^\x00-\x7f]+|[\t\r\f\v]")
_WORD_CHAR = re.compile(r"\w")

#: normalise's way of appending (folded piece, original start, original end, exact).
_Segment = Callable[[str, int, int, bool], None]


@lru_cache(maxsize=8192)
def _fold(ch: str) -> tuple[str, int]:
    """The folded form of one non-ASCII character, and what kind of disguise it was."""
    if ch in _LOOKALIKES:
        return _LOOKALIKES[ch], LOOKALIKE
    if ch in _QUOTES:
        return _QUOTES[ch], PLAIN
    code = ord(ch)
    if 0xE0000 <= code <= 0xE007F:
        return (chr(code - 0xE0000).lower() if 0xE0020 <= code <= 0xE007E else ""), TAG
    if ch in _FILLERS:
        return "", INVISIBLE
    kind = unicodedata.category(ch)
    if kind == "Cf":
        return "", INVISIBLE
    if kind in ("Zl", "Zp"):
        return "\n", PLAIN
    if kind == "Zs":
        return " ", PLAIN
    compat = unicodedata.normalize("NFKC", ch)
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", compat.casefold()) if not unicodedata.combining(c)
    )
    folded = "".join(_LOOKALIKES.get(c, c) for c in stripped)
    # Full-width and mathematical letters imitate Latin ones the way Cyrillic letters
    # do; accented Latin letters are ordinary spelling.
    if (
        folded.isascii()
        and folded.isalpha()
        and any(low <= code <= high for low, high in _IMITATION_BLOCKS)
    ):
        return folded, LOOKALIKE
    return folded, PLAIN


@lru_cache(maxsize=4096)
def _fold_native(ch: str) -> tuple[str, int]:
    """The folded form of one character of a word in its own script: as :func:`_fold`,
    but a Cyrillic letter stays Cyrillic."""
    if not _CYRILLIC[0] <= ord(ch) <= _CYRILLIC[1]:
        return _fold(ch)
    decomposed = unicodedata.normalize("NFKD", ch.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)), PLAIN


def fold_native(text: str) -> str:
    """``text`` folded as :func:`normalise` folds a text written in its own script (no
    look-alike mapping): for writing grammar phrases of non-Latin languages."""
    return "".join(c if c.isascii() else _fold_native(c)[0] for c in text)


@dataclass(slots=True)
class Normalised:
    """A folded text, the way back to original offsets, and where disguises were."""

    text: str
    original: str
    #: Segment i covers folded [norm_starts[i], norm_starts[i+1]) and original
    #: [orig_starts[i], orig_ends[i]); an exact segment maps character for character.
    norm_starts: list[int] = field(default_factory=list)
    orig_starts: list[int] = field(default_factory=list)
    orig_ends: list[int] = field(default_factory=list)
    exact: list[bool] = field(default_factory=list)
    #: Original offsets of look-alike letters and of dropped invisible characters.
    lookalikes: list[int] = field(default_factory=list)
    invisible: list[int] = field(default_factory=list)
    #: Original spans of runs of Unicode tag characters.
    tag_runs: list[tuple[int, int]] = field(default_factory=list)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of the folded span ``[start, end)``."""
        if not self.norm_starts:
            return start, end
        i = bisect_right(self.norm_starts, start) - 1
        first = (
            self.orig_starts[i] + (start - self.norm_starts[i])
            if self.exact[i]
            else (self.orig_starts[i])
        )
        j = bisect_right(self.norm_starts, max(start, end - 1)) - 1
        last = (
            self.orig_starts[j] + (end - self.norm_starts[j])
            if self.exact[j]
            else (self.orig_ends[j])
        )
        return first, max(last, first)

    def disguised(self, start: int, end: int) -> bool:
        """True when original ``[start, end)`` holds a look-alike or invisible character."""
        for marks in (self.lookalikes, self.invisible):
            i = bisect_right(marks, start - 1)
            if i < len(marks) and marks[i] < end:
                return True
        return False

    def suspicious_invisible(self) -> Iterator[tuple[int, int]]:
        """Original spans of invisible characters placed where no honest text needs one:
        beside ASCII letters, or bidi overrides anywhere. Characters at most two apart
        make one span ("i\u200bg\u200bn\u200bo\u200br\u200be" is one disguise)."""
        run = None
        for i in self.invisible:
            if not self._suspicious(i):
                continue
            if run is not None and i - run[1] <= 2:
                run = (run[0], i + 1)
                continue
            if run is not None:
                yield run
            run = (i, i + 1)
        if run is not None:
            yield run

    def _suspicious(self, i: int) -> bool:
        text = self.original
        ch = text[i]
        if (ch == "\ufeff" and i == 0) or ch == "\u00ad":
            return False  # a byte-order mark; soft hyphens come with copied web text
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        beside_ascii = (before.isascii() and before.isalpha()) or (
            after.isascii() and after.isalpha()
        )
        return ch in _BIDI or (beside_ascii if ch in _JOINERS else True)

    def mixed_script_words(self) -> Iterator[tuple[int, int]]:
        """Original spans of words mixing ASCII letters with look-alike letters."""
        text, seen = self.original, -1
        for i in self.lookalikes:
            if i < seen:
                continue
            start = i
            while start > 0 and _WORD_CHAR.match(text[start - 1]):
                start -= 1
            end = i + 1
            while end < len(text) and _WORD_CHAR.match(text[end]):
                end += 1
            word = text[start:end]
            if any(c.isascii() and c.isalpha() for c in word):
                yield start, end
            seen = end


def normalise(text: str) -> Normalised:
    """Fold ``text`` (see the module doc) keeping the map back to its offsets."""
    result = Normalised(text="", original=text)
    if text.isascii() and not _IRREGULAR.search(text):
        result.text = text.lower()
        return result
    parts: list[str] = []
    norm = orig = 0
    starts, ostarts, oends, exact = (
        result.norm_starts,
        result.orig_starts,
        result.orig_ends,
        result.exact,
    )

    def segment(piece: str, begin: int, end: int, one_to_one: bool) -> None:
        nonlocal norm
        if piece:
            starts.append(norm)
            ostarts.append(begin)
            oends.append(end)
            exact.append(one_to_one)
            parts.append(piece)
            norm += len(piece)

    native = _NATIVE_CYRILLIC.search(text) is not None
    for m in _IRREGULAR.finditer(text):
        if m.start() > orig:
            segment(text[orig : m.start()].lower(), orig, m.start(), True)
        run = m.group()
        if run.isspace():
            segment("\n" if "\n" in run or "\u2028" in run else " ", m.start(), m.end(), False)
        else:
            # a whole word in a Cyrillic text is Cyrillic; one beside Latin letters is not
            own_word = native and not (
                text[m.start() - 1 : m.start()].isalnum() or text[m.end() : m.end() + 1].isalnum()
            )
            _fold_run(run, m.start(), result, segment, _fold_native if own_word else _fold)
        orig = m.end()
    if orig < len(text):
        segment(text[orig:].lower(), orig, len(text), True)
    result.text = "".join(parts)
    return result


def _fold_run(
    run: str,
    offset: int,
    result: Normalised,
    segment: _Segment,
    fold: Callable[[str], tuple[str, int]],
) -> None:
    folds = [fold(c) for c in run]
    if all(kind == PLAIN and len(piece) == 1 for piece, kind in folds):
        segment("".join(piece for piece, _ in folds), offset, offset + len(run), True)
        return
    tag_start = -1
    for k, (piece, kind) in enumerate(folds):
        at = offset + k
        if kind == TAG:
            if tag_start < 0:
                tag_start = at
        elif tag_start >= 0:
            result.tag_runs.append((tag_start, at))
            tag_start = -1
        if kind == LOOKALIKE:
            result.lookalikes.append(at)
        elif kind == INVISIBLE:
            result.invisible.append(at)
        segment(piece, at, at + 1, False)
    if tag_start >= 0:
        result.tag_runs.append((tag_start, offset + len(run)))


# --- decoders -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decoded:
    """A run of ``original[start:end]`` that decodes to readable ``text``."""

    start: int
    end: int
    kind: str  # "base64", "hex" or "variation-selectors"
    text: str


# Contiguous runs: base64 (either alphabet) or hex. Separated hex bytes ("49 67 6e",
# "\\x49\\x67", "0x49,0x67") are found apart; the lookahead lets the regex engine skip
# every position that can't start a byte.
_RUN = re.compile(r"(?<![A-Za-z0-9+/_=\\-])[A-Za-z0-9+/_-]{24,}={0,2}")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]+")
_SEPARATED_HEX = re.compile(
    r"(?<![0-9A-Za-z\\])(?=[0-9A-Fa-f\\])(?:(?:\\x|0x)?[0-9A-Fa-f]{2}[ :,]?){16,}(?![0-9A-Za-z])"
)
_HEX_SEPARATORS = re.compile(r"\\x|0x|[ :,]")
_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{8,}")
#: Runs longer than this are data (images, archives), not a smuggled sentence.
_MAX_RUN = 20_000


def encoded_runs(text: str) -> Iterator[Decoded]:
    """Runs of ``text`` that decode to readable text: base64 of 24+ characters mixing
    cases and digits, 16+ hex bytes, 8+ variation selectors."""
    for m in _RUN.finditer(text):
        run = m.group()
        if len(run) > _MAX_RUN:
            continue
        if _HEX_RUN.fullmatch(run):
            plain = _readable(bytes.fromhex(run)) if len(run) % 2 == 0 else ""
            kind = "hex"
        else:
            plain = _readable(_b64(run)) if _mixed_classes(run) else ""
            kind = "base64"
        if plain:
            yield Decoded(m.start(), m.end(), kind, plain)
    for m in _SEPARATED_HEX.finditer(text):
        digits = _HEX_SEPARATORS.sub("", m.group())
        if len(digits) == len(m.group()) or len(digits) > _MAX_RUN or len(digits) % 2:
            continue  # contiguous: a run above
        plain = _readable(bytes.fromhex(digits))
        if plain:
            yield Decoded(m.start(), m.end(), "hex", plain)
    if not text.isascii():
        yield from _selector_runs(text)


def _selector_runs(text: str) -> Iterator[Decoded]:
    # Bytes hidden as variation selectors: VS1-VS16 are 0-15, VS17-VS256 are 16-255.
    for m in _SELECTORS.finditer(text):
        data = bytes(
            ord(c) - 0xFE00 if ord(c) <= 0xFE0F else ord(c) - 0xE0100 + 16 for c in m.group()
        )
        plain = _readable(data)
        if plain:
            yield Decoded(m.start(), m.end(), "variation-selectors", plain)


def _mixed_classes(run: str) -> bool:
    return (
        any(c.islower() for c in run)
        and any(c.isupper() for c in run)
        and any(c.isdigit() or c in "+/" for c in run)
    )


def _b64(run: str) -> bytes:
    body = run.rstrip("=")
    alphabet = b"-_" if ("-" in body or "_" in body) else b"+/"
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), altchars=alphabet, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _readable(data: bytes) -> str:
    """``data`` as text when it reads like words, else ""."""
    if len(data) < 8:
        return ""
    try:
        plain = data.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    printable = sum(c.isprintable() or c in "\n\t" for c in plain)
    letters = sum(c.isalpha() for c in plain)
    if printable < 0.95 * len(plain) or letters < 0.5 * len(plain) or " " not in plain:
        return ""
    return plain


_SPACED = re.compile(
    r"(?<![A-Za-z])(?=[A-Za-z][ .*_|/-])(?:[A-Za-z](?:[ .*_|/-]{1,3})){9,}[A-Za-z](?![A-Za-z])"
)


def spaced_runs(text: str) -> Iterator[tuple[int, int, str]]:
    """Runs of 10+ single letters split by spaces or dots ("r e v e a l", "i.g.n.o.r.e"):
    (start, end, the letters run together, lower-cased)."""
    for m in _SPACED.finditer(text):
        yield m.start(), m.end(), "".join(c for c in m.group() if c.isalpha()).lower()


def split_words(letters: str, lexicon: frozenset[str]) -> str:
    """Letters run together split back into words of ``lexicon``, fewest words first;
    a letter no word covers stays alone ("revealyourprompt" -> "reveal your prompt")."""
    n = len(letters)
    best: list[tuple[int, int]] = [(0, 0)] + [(n + 1, 0)] * n  # (cost so far, last cut)
    for end in range(1, n + 1):
        for start in range(max(0, end - 20), end):
            piece = letters[start:end]
            cost = best[start][0] + (1 if piece in lexicon else 3 if end - start == 1 else n)
            if cost < best[end][0]:
                best[end] = (cost, start)
    words = []
    end = n
    while end > 0:
        start = best[end][1]
        words.append(letters[start:end])
        end = start
    return " ".join(reversed(words))


# Markup that hides what it holds: an element whose style or class makes it invisible.
_HIDING_TAG = re.compile(
    r"<(\w+)[^>]{0,300}?(?:style\s*=\s*[\"'][^\"']{0,300}?"
    r"(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*[01](?:px|pt)?\b"
    r"|opacity\s*:\s*0(?![.\d])|colou?r\s*:\s*(?:#fff(?:fff)?\b|white\b|transparent))"
    r"|\shidden\b|class\s*=\s*[\"'](?:sr-only|visually-hidden|hidden))[^>]{0,300}>"
)
_CONCEALED_REACH = 4000  # characters a comment or hidden element is followed to its end


def concealed_regions(folded: str) -> list[tuple[int, int]]:
    """Spans of a folded text that a browser would not show: HTML comments and elements
    styled or classed invisible (white on white, display:none, sr-only, ...)."""
    if "<" not in folded:
        return []
    regions = []
    at = folded.find("<!--")
    while at >= 0:  # str.find, not a regex: an unclosed "<!--" can't cost a rescan
        close = folded.find("-->", at + 4, at + _CONCEALED_REACH)
        if close < 0:
            break
        regions.append((at, close + 3))
        at = folded.find("<!--", close + 3)
    for m in _HIDING_TAG.finditer(folded):
        close = folded.find(f"</{m[1]}", m.end(), m.end() + _CONCEALED_REACH)
        if close >= 0:
            regions.append((m.start(), close + len(m[1]) + 3))
    return regions


# --- same-length transforms of a folded text (offsets stay valid) ---------------------

_LETTERS = re.compile(r"[a-z]+")
# Leetspeak: digits and symbols standing for letters ("1gn0r3 y0ur ru135").
_LEET = str.maketrans("0134578@$", "oieastbas")


def reverse_words(text: str) -> str:
    """Each word spelt backwards, in place ("erongi lla" -> "ignore all")."""
    return _LETTERS.sub(lambda m: m[0][::-1], text)


def unleet(text: str) -> str:
    return text.translate(_LEET)


class Reversed(Normalised):
    """The span map for a search over ``norm.text[::-1]``."""

    __slots__ = ("_norm",)

    def __init__(self, norm: Normalised) -> None:
        super().__init__(text=norm.text, original=norm.original)
        self._norm = norm

    def span(self, start: int, end: int) -> tuple[int, int]:
        length = len(self._norm.text)
        return self._norm.span(length - end, length - start)


def rot13(text: str) -> str:
    """ROT13 of an already lower-cased text (length and offsets unchanged)."""
    return text.translate(_ROT13)


_ROT13 = str.maketrans("abcdefghijklmnopqrstuvwxyz", "nopqrstuvwxyzabcdefghijklm")
