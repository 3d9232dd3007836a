"""BERT's uncased WordPiece tokenizer, in pure Python, id for id as the reference one.

Text is normalised the way BERT's tokenizer does it (control characters dropped, every
kind of whitespace made a space, CJK ideographs set apart, accents stripped, lower
case), split on whitespace and punctuation, and each word is cut greedily into the
longest pieces the vocabulary holds ("##" marks a piece that continues a word).

Normalisation is one ``str.translate`` through a table that fills itself one character
at a time, and words are cut once and remembered, so a 2 KB prompt costs well under a
millisecond once the common words have been seen.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

UNK, CLS, SEP, PAD = "[UNK]", "[CLS]", "[SEP]", "[PAD]"
CONTINUATION = "##"
MAX_WORD_CHARS = 100  # longer "words" (base64 blobs, hashes) become one [UNK]

# Unicode's White_Space characters that are not control characters. Python's
# ``str.isspace`` counts a few more (U+001C..U+001F), but those are control characters
# and BERT drops them instead.
_WHITESPACE = frozenset("\t\n\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)
# Dropped as control characters: control, format, surrogate, private use. Unassigned
# code points are kept (and become [UNK]), as in the reference.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})
# The reference tokenizer reads character categories from Unicode 8.0 tables. These
# marks, punctuation and format characters came later (up to Unicode 14.0, which
# Python 3.11 knows), so it treats them as plain letters, and so do we. Three others
# changed category since 8.0 and are listed with their old one.
_LATER_THAN_UNICODE_8 = """
061D 07FD 0890-0891 0898-089F 08CA-08E2 09FD-09FE 0A76 0AFA-0AFF 0B55 0C04 0C3C 0C77
0C84 0D00 0D3B-0D3C 0D81 0EBA 180F 1885-1886 1ABF-1ACE 1B7D-1B7E 1DF6-1DFB 2E43-2E4F
2E52-2E5D A82C A8C5 A8FF A9BD 10D24-10D27 10EAB-10EAD 10F46-10F50 10F55-10F59
10F82-10F89 11070 11073-11074 110C2 110CD 111CF 1123E 1133B 11438-1143F 11442-11444
11446 1144B-1144F 1145A-1145B 1145D-1145E 11660-1166C 116B9 1182F-11837 11839-1183B
1193B-1193C 1193E 11943-11946 119D4-119D7 119DA-119DB 119E0 119E2 11A01-11A0A
11A33-11A38 11A3B-11A47 11A51-11A56 11A59-11A5B 11A8A-11A96 11A98-11A9C 11A9E-11AA2
11C30-11C36 11C38-11C3D 11C3F 11C41-11C45 11C70-11C71 11C92-11CA7 11CAA-11CB0
11CB2-11CB3 11CB5-11CB6 11D31-11D36 11D3A 11D3C-11D3D 11D3F-11D45 11D47 11D90-11D91
11D95 11D97 11EF3-11EF4 11EF7-11EF8 11FFF 12FF1-12FF2 13430-13438 16E97-16E9A 16F4F
16FE2 16FE4 1CF00-1CF2D 1CF30-1CF46 1E000-1E006 1E008-1E018 1E01B-1E021 1E023-1E024
1E026-1E02A 1E130-1E136 1E2AE 1E2EC-1E2EF 1E944-1E94A 1E95E-1E95F
"""
_OLD_CATEGORY = {"\u166d": "Po", "\u1734": "Mn", "\U000111c9": "Po"}


def _code_points(ranges: str) -> frozenset[str]:
    chars: set[str] = set()
    for item in ranges.split():
        low, _, high = item.partition("-")
        chars.update(chr(c) for c in range(int(low, 16), int(high or low, 16) + 1))
    return frozenset(chars)


_PLAIN_LETTERS = _code_points(_LATER_THAN_UNICODE_8)


def _category(char: str) -> str:
    """The character's general category as the reference tokenizer knows it."""
    if char in _PLAIN_LETTERS:
        return "Lo"
    return _OLD_CATEGORY.get(char) or unicodedata.category(char)


# The CJK Unified Ideographs blocks (and their extensions and compatibility forms):
# BERT treats each such character as a word of its own. Hiragana, katakana and hangul
# are written with spaces or by word, so they are not in here. The fifth range starts
# at U+2B920, not U+2B820, because the reference (Rust) tokenizer has it so.
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def _is_punctuation(char: str) -> bool:
    # BERT counts every ASCII non-alphanumeric printable as punctuation ("$", "+", "^"
    # are symbols to Unicode), plus all of Unicode's P* categories.
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return _category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return any(low <= code <= high for low, high in _CJK_RANGES)


def _normalise_char(char: str) -> str:
    """What one input character becomes: "" (dropped), or text whose words and
    punctuation are already separated by spaces."""
    code = ord(char)
    if char in _WHITESPACE:
        return " "
    if code == 0 or code == 0xFFFD or _category(char) in _DROPPED_CATEGORIES:
        return ""
    decomposed = unicodedata.normalize("NFD", char)
    # Accents go first, then lower case: marks that lower-casing itself adds (the dot
    # of "İ" → "i̇") stay, as they do in the reference tokenizer. Lower-casing goes
    # char by char, so a capital sigma at the end of a word becomes the medial small
    # sigma (U+03C3), never the final form.
    stripped = "".join(c for c in decomposed if _category(c) != "Mn").lower()
    if _is_cjk(code):
        return f" {stripped} "
    return "".join(f" {c} " if _is_punctuation(c) else c for c in stripped)


class _NormalisationTable(dict[int, str]):
    """A ``str.translate`` table that works out each character the first time it is seen."""

    LIMIT = 50_000  # texts that walk all of Unicode must not grow it without end

    def __missing__(self, code: int) -> str:
        if len(self) >= self.LIMIT:
            self.clear()
        value = _normalise_char(chr(code))
        self[code] = value
        return value


class WordPiece:
    """Text to token ids, without the [CLS]/[SEP] a model adds around them."""

    def __init__(self, vocab: Iterable[str], *, cache_words: int = 65536) -> None:
        self.pieces = list(vocab)  # by id
        self.vocab: dict[str, int] = {}
        for index, token in enumerate(self.pieces):
            self.vocab.setdefault(token, index)
        for special in (UNK, CLS, SEP, PAD):
            if special not in self.vocab:
                raise ValueError(f"the vocabulary has no {special} token")
        self.unk_id = self.vocab[UNK]
        self.cls_id = self.vocab[CLS]
        self.sep_id = self.vocab[SEP]
        self.pad_id = self.vocab[PAD]
        self._longest = max(len(token) for token in self.vocab)
        self._table = _NormalisationTable()
        self._word_ids = lru_cache(maxsize=cache_words)(self._cut)

    @classmethod
    def from_file(cls, path: str | Path) -> WordPiece:
        """Read a BERT ``vocab.txt``: one token a line, the line number is its id."""
        with open(path, encoding="utf-8") as lines:
            return cls(line.rstrip("\n") for line in lines)

    def __len__(self) -> int:
        return len(self.pieces)

    def normalise(self, text: str) -> str:
        """The text as BERT sees it, with punctuation and ideographs set apart by spaces."""
        return text.translate(self._table)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in self.normalise(text).split():
            if len(word) > MAX_WORD_CHARS:
                ids.append(self.unk_id)  # not cached: a long blob would pin its memory
            else:
                ids.extend(self._word_ids(word))
        return ids

    def tokens(self, text: str) -> list[str]:
        """The pieces themselves, for reading and debugging."""
        return [self.pieces[i] for i in self.encode(text)]

    def _cut(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match-first: a word with any part the vocabulary cannot
        spell is a single [UNK], as in BERT."""
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = min(len(word), start + self._longest)
            prefix = CONTINUATION if start else ""
            while end > start:
                piece_id = self.vocab.get(prefix + word[start:end])
                if piece_id is not None:
                    ids.append(piece_id)
                    break
                end -= 1
            else:
                return (self.unk_id,)
            start = end
        return tuple(ids)
