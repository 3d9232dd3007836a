"""Offline recogniser for people, organisations, places, addresses, groups and titles.

No model: a tokeniser, gazetteers built from real-world data (``data/gazetteer.tsv.gz``,
see ``data/SOURCES.md``; ordinary words of English and other major languages from
``wordfreq``), and general rules: capitalised spans, context words, organisation
suffixes and legal forms, street-address grammar. Each token gets a one-letter class and
the address grammar is a regex over that class string. Word lists live in
``name_words.py``.
"""

from __future__ import annotations

import bisect
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, ScanContext
from gatehouse.guard.scanners.name_words import (
    ABBREV,
    CALENDAR_ABBREV,
    CALENDAR_FULL,
    CUE_ALL,
    FUNCTION_WORDS,
    HONORIFICS,
    INSTITUTION_COMPOUNDS,
    INSTITUTION_HEADS,
    INSTITUTION_LINKS,
    JOB_CUES,
    JOB_HEADS,
    JOB_OF_HEADS,
    LABEL_WORDS,
    LEGAL_FORMS,
    NRP_WORDS,
    ORG_CUES,
    ORG_CUES_AFTER,
    ORG_SUFFIXES,
    ORG_WORDS,
    PARTICLES,
    PERSON_CUES,
    PERSON_PHRASES,
    PLACE_ALIASES,
    PLACE_CUES,
    SENTENCE_END,
    SPEECH_VERBS,
    STREET_PREFIXES,
    STREET_SUFFIXES,
    STREET_WORDS,
    UNIT_WORDS,
    fold,
)

__all__ = ["NamePii", "fold"]

# Flags of data/gazetteer.tsv.gz (see scripts/build_name_data.py).
FIRST, LAST, COUNTRY, REGION, CITY, CONTINENT, GIVEN = 1, 2, 4, 8, 16, 32, 64
COMMON_FIRST, COMMON_LAST = 128, 256  # high in the census frequency ranks
COMMON_GIVEN = 512  # borne by many people in many of nomquamgender's registries
COMMON_NAME = COMMON_FIRST | COMMON_LAST | COMMON_GIVEN
PLACE = COUNTRY | REGION | CONTINENT
DATA = Path(__file__).with_name("data") / "gazetteer.tsv.gz"
COMMON_WORDS = 30_000  # English words by frequency that count as ordinary vocabulary
# Other languages whose frequent words a capital letter doesn't make names ("Bonjour",
# "Bitte", "Hola"): the top FOREIGN_WORDS of each are ordinary; the top FOREIGN_NAMEY
# also outweigh a rare census or registry name of the same spelling ("Mi", "Sie", "Mon"),
# but not a common one ("Hans", "Marie").
FOREIGN_LANGS = ("de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb", "pl")
FOREIGN_WORDS = 10_000
FOREIGN_NAMEY = 2_000
NAME_PREFIXES = frozenset({"mc", "mac", "o'", "d'", "di", "de", "da", "du", "la", "le", "van"})
BIG_CITY = 100_000  # a city this large is a place even without a preposition before it
NAME_CLASSES = "CUKS"  # classes that can start or continue a capitalised run

TOKEN_RE = re.compile(
    r"\d+(?:[-/]\d+)*[A-Za-z]{0,3}\b|\d+|[^\W\d_](?:[\w'\u2019]|-(?=\w))*|\n|[^\s\w]"
)
# Numbers that are dates, times, decimals or groups of a longer number (card, phone,
# account): none of them is a house number.
NOT_HOUSE_NUMBER = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b"
    r"|\b\d{1,2}:\d{2}(?::\d{2})?"
    r"|\b\d+\.\d+"
    r"|\b\d+(?: \d+){2,}\b"
)
BLOCK_NUMBER = re.compile(r"\d{1,3}-\d{1,3}-\d{1,3}")  # Japanese chome-ban-go: 1-2-3
LEGAL_RE = re.compile(r"(?<![\w.&/])(?:" + LEGAL_FORMS + r")(?![\w&/])")
AMBIGUOUS_FORMS = frozenset({"AS", "AB", "AG", "KG", "UG", "BV", "NV", "Oy", "SAS"})


@dataclass(slots=True)
class Tok:
    text: str
    start: int
    end: int
    key: str  # folded text
    cls: str  # one letter; see NamePii._classify


class NamePii:
    name = "pii_ner"
    types = frozenset({"PERSON", "ORGANIZATION", "LOCATION", "STREET_ADDRESS", "NRP", "TITLE"})
    isolated = True

    def __init__(self) -> None:
        self._gaz: dict[str, tuple[int, int]] = {}
        self._multi: dict[str, int] = {}  # first word of a multi-word place -> its length
        with gzip.open(DATA, "rt", encoding="utf-8") as fh:
            for line in fh:
                key, flags, pop = line.rstrip("\n").split("\t")
                self._gaz[key] = (int(flags), int(pop))
                if " " in key and int(flags) & (PLACE | CITY):
                    words = key.split(" ")
                    self._multi[words[0]] = max(self._multi.get(words[0], 0), len(words))
        for alias in PLACE_ALIASES:
            self._gaz[fold(alias)] = (COUNTRY, 0)
        self._common = _common_words()
        self._foreign = _foreign_words()
        self._seen: dict[str, tuple[str, str]] = {}

    # ---- lookups ----------------------------------------------------------------------
    def _flags(self, key: str) -> int:
        return self._gaz.get(key, (0, 0))[0]

    def _english(self, key: str) -> bool:
        """An everyday English word."""
        return key in self._common or key in FUNCTION_WORDS

    def _ordinary(self, key: str) -> bool:
        """An everyday word of English or another major language, a date word or a field
        label: a capital letter alone doesn't make it a name."""
        return (
            self._english(key) or key in self._foreign or key in CALENDAR_FULL or key in LABEL_WORDS
        )

    def _namey(self, key: str) -> bool:
        if key in FUNCTION_WORDS or key in LABEL_WORDS:
            return False
        flags = self._flags(key)
        if flags & COMMON_FIRST:
            return True
        foreign = self._foreign.get(key, FOREIGN_WORDS) < FOREIGN_NAMEY and not flags & COMMON_NAME
        if flags & FIRST:
            return not foreign
        if flags & (LAST | GIVEN):
            return self._common.get(key, COMMON_WORDS) > 8_000 and not foreign
        return False

    def _place(self, key: str, has_prep: bool) -> bool:
        flags, pop = self._gaz.get(key, (0, 0))
        if flags & PLACE:
            return True
        return bool(flags & CITY) and (has_prep or pop >= BIG_CITY)

    def _acronym(self, t: Tok) -> bool:
        """An all-capitals word ("IBAN", "AWS") that isn't a common name shouted, or a
        brand-style CamelCase word ("UnionPay"; but "McDonald", "DiCaprio")."""
        if len(t.text) > 1 and t.text.isupper():
            return not self._flags(t.key) & COMMON_NAME
        inner = [k for k, c in enumerate(t.text) if c.isupper() and k > 0]
        return bool(inner) and fold(t.text[: inner[0]]) not in NAME_PREFIXES

    # ---- scanning ---------------------------------------------------------------------
    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        toks = [self._tok(m) for m in TOKEN_RE.finditer(text)]
        self._in_context(text, toks)
        findings: list[Finding] = []
        taken = [False] * len(toks)
        self._addresses(toks, taken, findings)
        self._legal_orgs(text, toks, taken, findings)
        self._titles(toks, taken, findings)
        self._partner_firms(toks, taken, findings)
        self._runs(toks, taken, findings)
        return findings

    def _tok(self, m: re.Match[str]) -> Tok:
        text = m.group()
        seen = self._seen.get(text)
        if seen is None:
            if len(self._seen) > 50_000:  # a memo of word shapes, bounded
                self._seen.clear()
            key = fold(text)
            seen = self._seen[text] = (key, self._classify(text, key))
        return Tok(text, m.start(), m.end(), seen[0], seen[1])

    def _classify(self, text: str, key: str) -> str:
        """N number, D date-like number, J block number (1-2-3), S street word (s when
        lower case), K street compound, G street prefix (Am, Zum), A unit word,
        P particle, U short upper code, X code word (SaaS, PhD), C capitalised, L lower,
        and punctuation as itself. M (date word) is set in context."""
        ch = text[0]
        if ch.isdigit():
            if BLOCK_NUMBER.fullmatch(text):
                return "J"
            return "D" if text.count("-") + text.count("/") >= 2 else "N"
        if not ch.isalpha():
            return "\n" if ch == "\n" else ch
        if key in UNIT_WORDS:
            return "A"
        if key in STREET_WORDS:  # lower-case "via", "way", "park" are English words too
            return "s" if ch.islower() and self._english(key) else "S"
        if ch.isupper() and key.endswith(STREET_SUFFIXES) and len(key) > 5:
            return "K"
        if key in PARTICLES:
            return "P"
        if ch.isupper() and key in STREET_PREFIXES:
            return "G"
        if ch.isupper():
            if text.isupper():
                return "U" if len(text) <= 3 or any(c.isdigit() for c in text) else "C"
            if text[-1].isupper() or any(c.isdigit() for c in text):
                return "X"
            return "C"
        return "L"

    def _in_context(self, text: str, toks: list[Tok]) -> None:
        """Classes that depend on the neighbours: numbers inside dates and digit groups,
        date words, and "An" as a street prefix only before der/den/dem."""
        starts = [t.start for t in toks]
        for m in NOT_HOUSE_NUMBER.finditer(text):
            k = bisect.bisect_left(starts, m.start())
            while k < len(toks) and toks[k].start < m.end():
                if toks[k].cls in "NUCXJ":
                    toks[k].cls = "D"
                k += 1
        for k, t in enumerate(toks):
            if (
                t.cls == "G"
                and t.key == "an"
                and not (k + 1 < len(toks) and toks[k + 1].cls == "P")
            ):
                t.cls = "C"
            if t.key not in CALENDAR_FULL and t.key not in CALENDAR_ABBREV:
                continue
            prev = toks[k - 1] if k else None
            nxt = _after(toks, k)
            if any(o is not None and o.cls in "NDM" for o in (prev, nxt)):
                t.cls = "M"
                if prev is not None and prev.cls == "N":
                    prev.cls = "D"  # "5 October": a day, not a house number
            elif t.key in CALENDAR_FULL and t.cls == "C":
                after = toks[k + 1] if k + 1 < len(toks) else None
                if not (
                    after is not None
                    and after.cls == "C"
                    and (self._namey(after.key) or after.key in ORG_SUFFIXES)
                ):
                    t.cls = "M"  # "in June", "Juni"; but "June Carter"

    def _addresses(self, toks: list[Tok], taken: list[bool], out: list[Finding]) -> None:
        shape = "".join(t.cls for t in toks)
        for m in ADDRESS.finditer(shape):
            a, b = m.span()
            while b > a and (
                toks[b - 1].cls in ",\n->.P"
                or (
                    toks[b - 1].cls == "C"
                    and toks[b - 2].cls != "N"  # a town after its postcode stays
                    and self._english(toks[b - 1].key)
                    and not self._place(toks[b - 1].key, True)
                )
            ):
                b -= 1
            if b - a < 2 or not _looks_like_address(shape[a:b]):
                continue
            out.append(Finding("STREET_ADDRESS", toks[a].start, _end(toks, b - 1), 0.75))
            for i in range(a, b):
                taken[i] = True
            self._places_in_address(toks, a, b, shape, out)

    def _places_in_address(
        self, toks: list[Tok], a: int, b: int, shape: str, out: list[Finding]
    ) -> None:
        # Capitalised runs after the street line are the town, region or country.
        street = max(shape.rfind(c, a, b) for c in "SsKAGJ")
        while a <= street < b - 1 and shape[street + 1] not in ",\n":
            street += 1  # the rest of the street line: "rue des Tanneurs", "Calle X 45"
        i = max(street + 1, a)
        while i < b:
            if toks[i].cls == "C":
                j = i
                while j + 1 < b and toks[j + 1].cls in "CP":
                    j += 1
                if i > street + 1 or toks[i - 1].cls in ",\n":
                    out.append(Finding("LOCATION", toks[i].start, toks[j].end, 0.6))
                i = j + 1
            else:
                i += 1

    def _legal_orgs(
        self, text: str, toks: list[Tok], taken: list[bool], out: list[Finding]
    ) -> None:
        """Names ending in a legal form: "Acme S.r.l.", "Nordlys AS", "Kowal Sp. z o.o."."""
        starts = [t.start for t in toks]
        for m in LEGAL_RE.finditer(text):
            k = bisect.bisect_left(starts, m.start())
            if k >= len(toks) or toks[k].start != m.start() or taken[k]:
                continue
            j = k - 1
            if j >= 0 and toks[j].text == "," and m.group() not in AMBIGUOUS_FORMS:
                j -= 1
            first = None
            while j >= 0 and not taken[j] and k - j <= 7:
                t = toks[j]
                if _wordlike(t) or t.cls == "X" or (t.cls == "P" and t.text[0].isupper()):
                    first = j
                elif not (t.cls == "P" or t.text in "&-"):
                    break
                j -= 1
            if first is None:
                continue
            while first < k and (
                toks[first].key in FUNCTION_WORDS
                or toks[first].text in "&-"
                or (toks[first].cls == "P" and toks[first].text.islower())
            ):
                first += 1
            if first >= k or (m.group() in AMBIGUOUS_FORMS and not self._names_firm(toks, k - 1)):
                continue
            out.append(Finding("ORGANIZATION", toks[first].start, m.end(), 0.8))
            for i in range(first, len(toks)):
                if toks[i].start >= m.end():
                    break
                taken[i] = True

    def _names_firm(self, toks: list[Tok], i: int) -> bool:
        """Whether token ``i`` can end a firm's name before a legal form that is also a
        short word or code ("Nordlys AS", not "AS" in shouted text or "type AB")."""
        t = toks[i]
        if t.cls != "C" or t.text.isupper() or t.key in FUNCTION_WORDS:
            return False
        prev = _prev_words(toks, i)
        return bool(prev and prev[-1] not in SENTENCE_END) or not self._english(t.key)

    def _partner_firms(self, toks: list[Tok], taken: list[bool], out: list[Finding]) -> None:
        """ "Smith, Jones and Brown": surnames in a list closed by "and" name a firm."""
        shape = "".join(t.cls if t.key != "and" else "&" for t in toks)
        for m in _PARTNERS.finditer(shape):
            a, b = m.span()
            if any(taken[a:b]):
                continue
            out.append(Finding("ORGANIZATION", toks[a].start, toks[b - 1].end, 0.7))
            for i in range(a, b):
                taken[i] = True

    def _titles(self, toks: list[Tok], taken: list[bool], out: list[Finding]) -> None:
        for i, t in enumerate(toks):
            if taken[i]:
                continue
            if t.key in HONORIFICS and t.cls in "CUS":
                nxt = i + 1
                end = t.end
                if nxt < len(toks) and toks[nxt].text == ".":
                    end, nxt = toks[nxt].end, nxt + 1
                if nxt < len(toks) and toks[nxt].cls in "CU":
                    out.append(Finding("TITLE", t.start, end, 0.85))
                    taken[i] = True
                    if end != t.end:
                        taken[i + 1] = True
            elif t.key in JOB_HEADS or t.key in JOB_OF_HEADS:
                self._job(toks, i, taken, out)

    def _job(self, toks: list[Tok], i: int, taken: list[bool], out: list[Finding]) -> None:
        # "Head of Procurement": the head takes a capitalised "of" phrase along.
        last = i
        if i + 2 < len(toks) and toks[i + 1].key == "of" and _wordlike(toks[i + 2]):
            last = i + 2
            while last + 1 < len(toks) and (
                _wordlike(toks[last + 1]) or (toks[last + 1].text == "&" and last + 2 < len(toks))
            ):
                last += 1
        elif toks[i].key not in JOB_HEADS:
            return
        j = i
        while j > 0 and i - j < 5:
            prev = toks[j - 1]
            if prev.cls == "C" and self._namey(prev.key) and not self._ordinary(prev.key):
                break  # a name before the title ("Priya Raghunathan, Product Manager")
            if (
                (prev.cls in "CL" and prev.key not in FUNCTION_WORDS and prev.key not in CUE_ALL)
                or prev.key == "and"
                or prev.text == "-"
            ):
                j -= 1
            else:
                break
        while toks[j].cls in ",-" or toks[j].key == "and":
            j += 1
        if any(taken[j : last + 1]):
            return
        before = [t.key for t in toks[max(0, j - 3) : j]]
        ends_line = (
            last + 1 == len(toks) or toks[last + 1].cls in "\n,|@" or toks[last + 1].key == "at"
        )
        starts_line = j == 0 or toks[j - 1].cls == "\n"
        after_name = j >= 2 and toks[j - 1].text in ",|-\u2013\u2014" and toks[j - 2].cls in "CU"
        if not ((ends_line and (starts_line or after_name)) or any(k in JOB_CUES for k in before)):
            return
        out.append(Finding("TITLE", toks[j].start, toks[last].end, 0.6))
        for k in range(j, last + 1):
            taken[k] = True

    def _runs(self, toks: list[Tok], taken: list[bool], out: list[Finding]) -> None:
        i, n = 0, len(toks)
        while i < n:
            t = toks[i]
            if taken[i] or not _wordlike(t):
                if not taken[i] and t.cls == "L" and t.key in NRP_WORDS:
                    out.append(Finding("NRP", t.start, t.end, 0.6))
                i += 1
                continue
            j = self._run_end(toks, taken, i)
            linked = False
            # "Indian Institute of Science", "Bundesagentur für Arbeit"
            while (
                j + 2 < n
                and toks[j + 1].key in INSTITUTION_LINKS
                and not taken[j + 2]
                and _wordlike(toks[j + 2])
                and any(_institution(x.key) for x in toks[i : j + 1])
            ):
                j = self._run_end(toks, taken, j + 2)
                linked = True
            self._classify_run(toks, i, j + 1, out, linked)
            i = j + 1

    def _run_end(self, toks: list[Tok], taken: list[bool], i: int) -> int:
        j = i
        while j + 1 < len(toks) and not taken[j + 1] and _continues(toks, j + 1):
            j += 1
        while toks[j].cls in "P-.":
            j -= 1
        return j

    def _classify_run(
        self, toks: list[Tok], a: int, b: int, out: list[Finding], linked: bool = False
    ) -> None:
        words = [t for t in toks[a:b] if t.cls not in "-."]
        # Pronouns, greetings and labels are no part of a name: "I'm Priya", "Tel".
        while words and (words[0].key in FUNCTION_WORDS or words[0].key in LABEL_WORDS):
            words = words[1:]
        while words and (words[-1].key in FUNCTION_WORDS or words[-1].key in LABEL_WORDS):
            words = words[:-1]
        if not words:
            return
        keys = [w.key for w in words]
        if len(keys) > 1 and (
            keys[-1] in ORG_SUFFIXES
            or any(k in ORG_WORDS for k in keys[1:])
            or (linked and any(_institution(k) for k in keys))
        ):
            start, end = words[0].start, _end(toks, toks.index(words[-1], a))
            out.append(Finding("ORGANIZATION", start, end, 0.8))
            return
        prev = _prev_words(toks, toks.index(words[0], a))
        initial = not prev or prev[-1] in SENTENCE_END
        # A sentence-initial ordinary word ("Have", "The", "Bonjour") is no name.
        while (
            words
            and initial
            and self._ordinary(words[0].key)
            and not self._namey(words[0].key)
            and not self._place(words[0].key, False)
        ):
            if words[0].key in NRP_WORDS:
                break
            words = words[1:]
            initial = False
        if not words:
            return
        start, end = words[0].start, _end(toks, toks.index(words[-1], a))
        keys = [w.key for w in words]
        phrase = " ".join(keys)
        prev_key = prev[-1] if prev else ""
        nxt = _next_words(toks, b)
        if keys[-1] in ORG_SUFFIXES and len(keys) > 1:
            out.append(Finding("ORGANIZATION", start, end, 0.8))
            return
        if len(keys) == 1 and keys[0] in NRP_WORDS:
            out.append(Finding("NRP", start, end, 0.8))
            return
        has_prep = prev_key in PLACE_CUES
        if self._place(phrase, has_prep):
            out.append(Finding("LOCATION", start, end, 0.75))
            return
        org_cue = prev_key in ORG_CUES or any(k in ORG_CUES_AFTER for k in nxt[:2])
        # Acronyms at either end ("AWS", "ISO") are no part of a person's name.
        core = words
        while core and self._acronym(core[0]):
            core = core[1:]
        while core and self._acronym(core[-1]):
            core = core[:-1]
        ordinary = all(self._ordinary(k) and not self._namey(k) for k in keys)
        if not core or (len(core) == 1 and core[0].text.isupper() and len(core[0].text) > 1):
            if org_cue and not ordinary and not _org_shape(toks, a, b):
                out.append(Finding("ORGANIZATION", start, end, 0.6))
            return
        pstart, pend = core[0].start, _end(toks, toks.index(core[-1], a))
        pkeys = [w.key for w in core]
        namey = [self._namey(k) for k in pkeys]
        person_cue = (
            prev_key in PERSON_CUES
            or " ".join(prev[-3:]) in PERSON_PHRASES
            or " ".join(prev[-2:]) in PERSON_PHRASES
            or " ".join(prev[-1:]) in PERSON_PHRASES
            or (nxt and nxt[0] in SPEECH_VERBS)
        )
        ordinary_core = all(self._ordinary(k) and not self._namey(k) for k in pkeys)
        if _org_shape(toks, a, b):
            out.append(Finding("ORGANIZATION", start, end, 0.7))
        elif person_cue or (any(namey) and not org_cue):
            if ordinary_core and not person_cue:
                return
            out.append(Finding("PERSON", pstart, pend, 0.8 if namey[0] or person_cue else 0.6))
        elif org_cue and not ordinary:
            out.append(Finding("ORGANIZATION", start, end, 0.6))
        elif has_prep and not ordinary and self._flags(phrase) & CITY:
            out.append(Finding("LOCATION", start, end, 0.6))
        elif not ordinary_core and len(core) <= 3 and not initial and core == words:
            out.append(Finding("PERSON", pstart, pend, 0.4))


def _common_words() -> dict[str, int]:
    """Everyday English words with their frequency rank, from wordfreq (loaded once)."""
    import wordfreq

    words = wordfreq.top_n_list("en", COMMON_WORDS, wordlist="large")
    ranks = {fold(w): rank for rank, w in enumerate(words) if w.isalpha()}
    wordfreq.get_frequency_dict.cache_clear()
    wordfreq.get_frequency_list.cache_clear()
    return ranks


def _foreign_words() -> dict[str, int]:
    """The best frequency rank of each frequent word of FOREIGN_LANGS, from wordfreq."""
    import wordfreq

    ranks: dict[str, int] = {}
    for lang in FOREIGN_LANGS:
        for rank, w in enumerate(wordfreq.top_n_list(lang, FOREIGN_WORDS, wordlist="small")):
            if w.isalpha():
                key = fold(w)
                if rank < ranks.get(key, FOREIGN_WORDS):
                    ranks[key] = rank
        wordfreq.get_frequency_dict.cache_clear()
        wordfreq.get_frequency_list.cache_clear()
    return ranks


def _institution(key: str) -> bool:
    return key in INSTITUTION_HEADS or (
        len(key) > 7 and key.endswith(INSTITUTION_COMPOUNDS) and key not in INSTITUTION_LINKS
    )


def _wordlike(t: Tok) -> bool:
    """A capitalised word that may be (part of) a name: not a code with digits."""
    return t.cls in NAME_CLASSES and not any(c.isdigit() for c in t.text)


def _after(toks: list[Tok], k: int) -> Tok | None:
    """The token after ``k``, over an attached dot or a comma ("Jan. 5", "May, 2024")."""
    k += 1
    if k < len(toks) and (
        toks[k].text == "," or (toks[k].text == "." and toks[k].start == toks[k - 1].end)
    ):
        k += 1
    return toks[k] if k < len(toks) else None


def _end(toks: list[Tok], i: int) -> int:
    """End of token ``i``, taking a following abbreviation dot along."""
    t = toks[i]
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if (
        nxt
        and nxt.text == "."
        and nxt.start == t.end
        and (len(t.text) == 1 or t.key in ABBREV or t.key in HONORIFICS)
    ):
        return nxt.end
    return t.end


def _continues(toks: list[Tok], i: int) -> bool:
    t = toks[i]
    prev = toks[i - 1]
    follows = i + 1 < len(toks) and _wordlike(toks[i + 1]) and toks[i + 1].cls in "CU"
    if _wordlike(t):
        return True
    if t.cls == "P":
        return follows
    if t.text == ".":  # an initial: "Velimir  Jankovic"
        return len(prev.text) == 1 and follows
    if t.text == "&":
        return follows
    if t.text == "-" and t.start == prev.end:
        return follows
    return False


def _org_shape(toks: list[Tok], a: int, b: int) -> bool:
    """Surname-style firm names: "Smith-Jones"; "Smith, Jones and Brown" is joined below."""
    inner = toks[a:b]
    if len(inner) == 3 and inner[1].text == "-" and inner[0].cls == inner[2].cls == "C":
        return a == 0 or toks[a - 1].cls not in "CU"
    if "&" in (t.text for t in inner):
        return True
    # "Smith, Jones and Brown": this run is the last name of the list.
    return (
        a >= 4 and toks[a - 1].key == "and" and toks[a - 2].cls == "C" and toks[a - 3].text == ","
    )


def _prev_words(toks: list[Tok], a: int) -> list[str]:
    out: list[str] = []
    i = a - 1
    while i >= 0 and len(out) < 4:
        t = toks[i]
        if t.cls in '.!?:\n"“”>;' or t.text in ".!?:;":
            out.append(".")
            break
        if t.cls not in ",'\u2019()":
            out.append(t.key)
        i -= 1
    return out[::-1]


def _next_words(toks: list[Tok], b: int) -> list[str]:
    return [t.key for t in toks[b : b + 3] if t.cls in "CLUPASsKGXM"]


def _looks_like_address(shape: str) -> bool:
    return any(c in shape for c in "SsKAGJ") or shape.count("N") >= 2


# Street-address grammar over the token classes (see NamePii._classify). A house number
# is an N (never a date, time or digit group, which are D); a street is a street word or
# compound, or capitalised name words (never a date word, which is M).
_SEP = r"[,\n>]{0,3}"
_NAME_ON = r"(?:[PCSK'-]{0,4}[CSK])?"  # "rue des Tanneurs", "Harbour View Terrace"
_CORE = (
    # 12 Baker St, 14 rue des Tanneurs, 36 rue de pologne
    r"(?:N{1,3}(?:[CPUL'-]{0,5}?[SK]|[CPU'-]{1,5}s|s(?:P{0,3}[CSK]|P{1,3}L))" + _NAME_ON + r"\.?N?"
    r"|(?:[SK]|s(?=\.))\.?[CPL'-]{1,5},?N"  # Avenida Otoniel Dutra 1277, ul. Miła 53
    r"|[CP-]{0,3}K\.?,?N"  # Vesterskovvej 79
    r"|G[PC]{1,3},?N"  # Am Hafen 7, An der Alster 12
    r"|N{1,2}[P-]{0,2}C[CP-]{0,3}\.?N"  # 5366 Pivovarska 276
    r"|J,?[CK][CKP'-]{0,3}"  # 1-2-3 Jingumae
    r"|(?:U\.U\.)?A\.?N(?:,A\.?N)?)"  # Apt. 4, P.O. Box 242, PSC 5420, Box 2708
)
_TAIL = r"(?:" + _SEP + r"(?:A\.?N|[AU]{1,2}N|N|J|[CUPSK'-]{1,6}\.?))"
_PARTNERS = re.compile(r"(?<![CU,])C(?:,C){1,3},?&C(?![CU])")
ADDRESS = re.compile(_CORE + _TAIL + r"{0,8}")
