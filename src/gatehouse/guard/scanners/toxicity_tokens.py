"""The words of a text for the hate scanner: repaired, tokenised and tagged by role.

Owns the compiled lexicon (the lists of ``toxicity_words`` and the slur table, as role
bits per word or phrase), the repair of disguised words (leetspeak, masked letters,
letters spaced out, words split or run together, one typo in a long word through a
deletion index), and :func:`tag`, which turns a text into units: words and phrases
with their roles, clauses, sentences, and what they name as a target. The grammar that
links them, and the score, live in ``toxicity``.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from gatehouse.guard.scanners import toxicity_words as words

# Roles a word or phrase can play, as bits (a word may have several). Targets: GROUP
# (plural noun), MEMBER (singular), MEMBER_ADJ (singular that is also an adjective),
# IDADJ (identity adjective), NOMINAL (adjective naming a group alone), PERSON/PERSON1
# (person nouns), PRONOUN, SLUR, SLUR_AMB (slur that is also a word), RECLAIM. The
# others are named after the lists of ``toxicity_words`` they come from.
(GROUP, MEMBER, MEMBER_ADJ, IDADJ, NOMINAL, PERSON, PERSON1, PRONOUN, SLUR, SLUR_AMB, RECLAIM,
 DEHUM, NEG, NEGV, HATE, HATE_AFTER, THREAT, THREAT_AFTER, THREAT_NOUN, EXCL, EXCL_STATED,
 POS, POS_HUMAN, POS_PLACE, POS_LIFE, POSV, NEGATOR, IDIOM, INTENT, REPORT, CONDEMN, SELF,
 PFRAME, PROFANE, OTHER_SUBJ, BARRIER, CLAUSE_VERB, BREAK, GLUE, COPULA, WISH, ANGER,
 CAUSE_ME, FEEL, SELF_ID, PREP) = (1 << i for i in range(46))  # fmt: skip
NEGATIVE = DEHUM | NEG | NEGV | HATE | HATE_AFTER | THREAT | THREAT_AFTER | THREAT_NOUN
NEGATIVE |= EXCL | EXCL_STATED | ANGER | FEEL
POSITIVE = POS | POS_HUMAN | POS_PLACE | POS_LIFE | POSV

# Target kinds.
T_GROUP, T_MEMBER, T_PRONOUN, T_SLUR, T_SLUR_AMB = 1, 2, 3, 4, 5

_APOSTROPHE = "\u2019"
_TOKEN = re.compile(r"[@$]?[^\W_](?:['\u2019]?[^\W_]|[@$!*|+]+(?=[^\W_]))*[@$*]*")
_SENTENCE_END = frozenset(".!?\n")
_CLAUSE_END = frozenset(",;:()[]{}\"'|\u201c\u201d\u2018\u2019\u2013\u2014")
_LEET = str.maketrans("4@3!0$57+|", "aaeiossttl")
_LEET_CHARS = frozenset("4@3!0$57+|1")
_CLITICS = {"s": "'s", "re": "'re", "m": "'m", "ll": "'ll", "d": "'d", "ve": "'ve"}
#: Spellings without the apostrophe that are other words ("we'll" is not "well").
_APOSTROPHE_CLASH = frozenset(("ill", "well", "id", "wed", "were", "shell", "hell", "its"))
_VOWEL = re.compile("[aeiouy]")
_REPEAT = re.compile(r"(.)\1{2,}")
_COMMON_WORDS = 30_000  # wordfreq's most frequent English words: left as they are
_SEGMENT_WORDS = 10_000  # ... and the words a run-together token may be split into
#: Longest token repaired or split, and cached: the longest lexicon word has 19 letters,
#: so no disguised word, nor two run together, is longer. Past it a token is taken as it
#: is, which keeps a long run of letters linear in time and memory.
MAX_REPAIR = 40
_MAX_PIECES = 4  # a run-together token is split into at most this many words
_MAX_PIECE = 16  # ... each at most this long


@dataclass(frozen=True, slots=True)
class _Lexicon:
    phrases: dict[str, list[tuple[tuple[str, ...], int]]]  # first word -> longest first
    content: frozenset[str]  # words that carry meaning here: repairs aim at these
    joinable: frozenset[str]  # content words two tokens may be joined into (no slurs)
    known: frozenset[str]  # every lexicon word and every common English word
    segment: frozenset[str]  # pieces a run-together token may be split into
    fuzzy: dict[str, str]  # one deletion (or, for 4 letters, a swap) -> content word
    masked: dict[tuple[int, str], tuple[str, ...]]  # (length, first letter) -> words


@cache
def _lexicon() -> _Lexicon:
    table: dict[tuple[str, ...], int] = {}

    def add(terms: Iterable[str], flag: int) -> None:
        for term in terms:
            key = tuple(w for word in term.replace("-", " ").split() for w in _clitic(word))
            table[key] = table.get(key, 0) | flag
            bare = tuple(w.replace("'", "") for w in key)
            if bare != key and not set(bare) & _APOSTROPHE_CLASH:
                table[bare] = table.get(bare, 0) | flag

    for plural_singular in words.GROUP_NOUNS.values():
        adjectives = {a for kind in words.IDENTITY_ADJECTIVES.values() for a in kind}
        for plural, singular in plural_singular:
            add([plural], GROUP)
            if singular:
                add([singular], MEMBER_ADJ if singular in adjectives else MEMBER)
    add(words.GROUP_PHRASES, GROUP)
    add(words.EXCLUSION_ADDRESSED, GROUP | EXCL)
    add((a for kind in words.IDENTITY_ADJECTIVES.values() for a in kind), IDADJ)
    add(words.NOMINAL_ADJECTIVES, NOMINAL)
    add((p for p, _ in words.PERSON_NOUNS), PERSON)
    add((s for _, s in words.PERSON_NOUNS), PERSON1)
    for flag, terms in (
        (PRONOUN, words.PRONOUNS),
        (DEHUM, words.DEHUMANISING),
        (NEG, words.NEGATIVE_ADJECTIVES + words.NEGATIVE_PHRASES + words.NEGATIVE_NOUNS),
        (NEGV, words.NEGATIVE_VERBS),
        (HATE, words.HATRED),
        (HATE_AFTER, words.HATRED_AFTER),
        (THREAT, words.THREAT_VERBS),
        (THREAT_AFTER, words.THREAT_AFTER),
        (THREAT_NOUN, words.THREAT_NOUNS),
        (INTENT, (*words.INTENT, *words.WISHES, "'ll", "'d")),
        (WISH, words.WISHES),
        (EXCL, words.EXCLUSION),
        (EXCL_STATED, words.EXCLUSION_STATED),
        (POS, words.POSITIVE),
        (POS_HUMAN, words.POSITIVE_HUMAN),
        (POS_PLACE, words.POSITIVE_PLACE),
        (POS_LIFE, words.POSITIVE_LIFE),
        (POSV, words.POSITIVE_VERBS),
        (NEGATOR, words.NEGATORS),
        (IDIOM, words.NON_NEGATING),
        (REPORT, words.REPORTING),
        (CONDEMN, words.CONDEMNATION),
        (SELF, words.SELF),
        (PFRAME, words.PERSON_FRAME),
        (PROFANE, words.PROFANITY),
        (OTHER_SUBJ, words.OTHER_SUBJECTS),
        (BARRIER, words.BARRIERS),
        (CLAUSE_VERB, words.CLAUSE_VERBS),
        (BREAK, words.CLAUSE_BREAKS),
        (GLUE, words.GLUE),
        (COPULA, (*words.COPULAS, *words.CAUSE_ME, "'re", "'s", "'m")),
        (ANGER, words.ANGER),
        (CAUSE_ME, words.CAUSE_ME),
        (FEEL, words.FEELINGS),
        (SELF_ID, words.SELF_IDENTIFICATION),
        (PREP, words.PREPOSITIONS),
    ):
        add(terms, flag)
    slurs = resources.files(__package__).joinpath("data/toxicity_slurs.tsv.gz")
    with slurs.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("#"):
                term, _group, tier, reclaimable, _source = line.rstrip("\n").split("\t")
                flag = SLUR if tier == "strong" else SLUR_AMB
                add([term], flag | (RECLAIM if reclaimable == "1" else 0))
    return _compile(table)


def _compile(table: dict[tuple[str, ...], int]) -> _Lexicon:
    import wordfreq  # a dependency already; loaded on first scan, not at import

    phrases: dict[str, list[tuple[tuple[str, ...], int]]] = {}
    for key, flags in sorted(table.items(), key=lambda kv: -len(kv[0])):
        phrases.setdefault(key[0], []).append((key, flags))
    meaning = GROUP | MEMBER | MEMBER_ADJ | IDADJ | PERSON | SLUR | SLUR_AMB | NEGATIVE
    # Words of phrases too ("death" of "death to"), where long enough to be told apart.
    content = {w for k, f in table.items() if f & meaning for w in k if len(k) == 1 or len(w) > 4}
    # Never repaired towards a slur: too many names and words lie one letter from one.
    slurs = {w for k, f in table.items() if f & (SLUR | SLUR_AMB) for w in k}
    common = wordfreq.top_n_list("en", _COMMON_WORDS)
    singles = {w for k in table for w in k}
    fuzzy: dict[str, str] = {}
    masked: dict[tuple[int, str], list[str]] = {}
    for word in sorted(content, key=lambda w: (not table.get((w,), 0) & (GROUP | SLUR), w)):
        if not word.isalpha() or word in slurs:
            continue
        masked.setdefault((len(word), word[0]), []).append(word)
        if len(word) >= 5:
            fuzzy.setdefault(word, word)
            for i in range(len(word)):
                fuzzy.setdefault(word[:i] + word[i + 1 :], word)
        elif len(word) == 4:
            for i in range(3):
                fuzzy.setdefault(word[:i] + word[i + 1] + word[i] + word[i + 2 :], word)
    return _Lexicon(
        phrases=phrases,
        content=frozenset(content),
        joinable=frozenset(content - slurs),
        known=frozenset(common) | singles,
        segment=frozenset(w for w in common[:_SEGMENT_WORDS] if len(w) > 2) | singles,
        fuzzy={k: v for k, v in fuzzy.items() if k == v or not (k in singles or k in common)},
        masked={k: tuple(v) for k, v in masked.items()},
    )


def _clitic(word: str) -> tuple[str, ...]:
    """``they're`` -> they 're, as tokens are split."""
    head, apostrophe, tail = word.rpartition("'")
    if apostrophe and head and tail in _CLITICS:
        return (head, _CLITICS[tail])
    return (word,)


def _resolve(raw: str) -> tuple[tuple[str, int, int], ...]:
    """The lexicon words a token stands for, as (word, offset, length) within it.

    Usually the token itself; a disguised one is repaired towards a content word, and
    one of words run together ("womenare") is split. Tokens up to ``MAX_REPAIR`` long
    are cached; longer ones are not (they would fill the cache with keys of any size).
    """
    return _resolve_cached(raw) if len(raw) <= MAX_REPAIR else _resolve_token(raw)


@lru_cache(maxsize=1 << 16)
def _resolve_cached(raw: str) -> tuple[tuple[str, int, int], ...]:
    return _resolve_token(raw)


def _resolve_token(raw: str) -> tuple[tuple[str, int, int], ...]:
    lex = _lexicon()
    if raw in lex.phrases:
        return ((raw, 0, len(raw)),)
    head, apostrophe, tail = raw.rpartition("'")
    if apostrophe and head and tail in _CLITICS:  # "they're" -> they 're
        return (*_resolve(head), (_CLITICS[tail], len(head), len(tail) + 1))
    if raw in lex.known and _VOWEL.search(raw):  # "blck" is in the list, but no word
        return ((raw, 0, len(raw)),)
    word = raw
    if any(c in _LEET_CHARS for c in raw) and any(c.isalpha() for c in raw):
        mapped = raw.translate(_LEET)
        for candidate in (mapped.replace("1", "i"), mapped.replace("1", "l")):
            if candidate in lex.phrases:
                return ((candidate, 0, len(raw)),)
        word = mapped.replace("1", "i")
    if "*" in word:
        return ((_unmask(word, lex), 0, len(raw)),)
    if _REPEAT.search(word):  # "haaate", "stuuupid"
        for squeezed in (_REPEAT.sub(r"\1", word), _REPEAT.sub(r"\1\1", word)):
            if squeezed in lex.phrases:
                return ((squeezed, 0, len(raw)),)
    if (word in lex.known and _VOWEL.search(word)) or not word.isalpha() or len(word) < 4:
        return ((word, 0, len(raw)),)
    if len(word) > MAX_REPAIR:  # no word, nor a few run together: quadratic to try
        return ((word, 0, len(raw)),)
    repaired = _near(word, lex)
    if repaired:
        return ((repaired, 0, len(raw)),)
    if len(word) >= 5 and len(raw) == len(word):
        pieces = _split(word, lex)
        if pieces:
            return pieces
    return ((word, 0, len(raw)),)


def _unmask(word: str, lex: _Lexicon) -> str:
    """``f*ggot``-style masking: the first content word the visible letters fit."""
    visible = sum(c != "*" for c in word)
    if word[0] != "*" and visible >= 2 and visible * 2 >= len(word):
        for candidate in lex.masked.get((len(word), word[0]), ()):
            if all(c in ("*", d) for c, d in zip(word, candidate, strict=True)):
                return candidate
    return word


def _near(word: str, lex: _Lexicon) -> str | None:
    """A content word one deletion, insertion, substitution or swap away (5+ letters;
    4-letter words only by a swap of neighbours)."""
    hit = lex.fuzzy.get(word)
    if hit:
        return hit
    for i in range(len(word)):
        hit = lex.fuzzy.get(word[:i] + word[i + 1 :])
        if hit and len(hit) >= 5:
            return hit
    return None


def _split(word: str, lex: _Lexicon) -> tuple[tuple[str, int, int], ...] | None:
    """``hatewomen`` -> hate women: the split into fewest known words (at most
    ``_MAX_PIECES``), if one of them carries meaning here."""
    n = len(word)
    # count[end]: fewest pieces word[:end] splits into; back[end]: where the last starts.
    # Among splits as few, the one whose last piece starts earliest is kept.
    count: list[int | None] = [0] + [None] * n
    back = [0] * (n + 1)
    for end in range(1, n + 1):
        for start in range(max(0, end - _MAX_PIECE), end):
            prev = count[start]
            if prev is None or prev >= _MAX_PIECES:
                continue
            piece = word[start:end]
            if len(piece) < 2 and piece not in ("i", "a"):
                continue
            current = count[end]
            if piece in lex.segment and (current is None or prev + 1 < current):
                count[end], back[end] = prev + 1, start
    if count[n] is None:
        return None
    pieces: list[tuple[str, int, int]] = []
    end = n
    while end:
        start = back[end]
        pieces.append((word[start:end], start, end - start))
        end = start
    pieces.reverse()
    if not any(p in lex.content and len(p) > 2 for p, _, _ in pieces):
        return None
    return tuple(pieces)


@dataclass(slots=True)
class Unit:
    """A word or a lexicon phrase, with its roles and its place in the text."""

    word: str
    flags: int
    start: int
    end: int
    brk: int  # what separates it from the unit before: 0 nothing, 1 clause, 2 sentence
    clause: int = 0
    sentence: int = 0
    target: int = 0  # T_* when it names a target
    size: int = 1  # words in the phrase


def _gap(text: str, a: int, b: int) -> int:
    if b - a == 1 and text[a] == " ":
        return 0
    gap = text[a:b]
    if any(c in _SENTENCE_END for c in gap):
        return 2
    if any(c in _CLAUSE_END for c in gap) or (len(gap) > 1 and "-" in gap):
        return 1
    return 0


def _atoms(text: str, lex: _Lexicon) -> list[tuple[str, int, int, int]]:
    """Repaired words as (word, start, end, break before), letters spaced out and words
    split by a space put back together."""
    toks = [
        (m[0].lower().replace(_APOSTROPHE, "'"), m.start(), m.end()) for m in _TOKEN.finditer(text)
    ]
    atoms: list[tuple[str, int, int, int]] = []
    prev_end, i, n = 0, 0, len(toks)
    while i < n:
        raw, start, end = toks[i]
        brk = _gap(text, prev_end, start) if atoms else 0
        j = i
        if len(raw) == 1:  # "h a t e", "k.i.l.l"
            while j + 1 < n and len(toks[j + 1][0]) == 1 and toks[j + 1][1] - toks[j][2] == 1:
                if text[toks[j][2]] not in " .-_*":
                    break
                j += 1
        if j - i >= 2:
            merged, where = "".join(t[0] for t in toks[i : j + 1]), [t[1] for t in toks[i : j + 1]]
            for word, off, length in _resolve(merged):
                atoms.append((word, where[off], where[off + length - 1] + 1, brk))
                brk = 0
            prev_end, i = toks[j][2], j + 1
            continue
        if i + 1 < n and toks[i + 1][1] == end + 1 and text[end] == " ":  # "wo men"
            nxt = toks[i + 1][0]
            if raw + nxt in lex.joinable and (
                raw not in lex.known or nxt not in lex.known or min(len(raw), len(nxt)) <= 2
            ):
                atoms.append((raw + nxt, start, toks[i + 1][2], brk))
                prev_end, i = toks[i + 1][2], i + 2
                continue
        for word, off, length in _resolve(raw):
            atoms.append((word, start + off, start + off + length, brk))
            brk = 0
        prev_end, i = end, i + 1
    return atoms


def tag(text: str) -> list[Unit]:
    """The text's words and phrases with their roles, clauses, sentences and targets."""
    lex = _lexicon()
    atoms = _atoms(text, lex)
    found = [a[0] for a in atoms]
    units: list[Unit] = []
    i = 0
    while i < len(atoms):
        word, start, _, brk = atoms[i]
        flags, span = 0, 1
        for key, f in lex.phrases.get(word, ()):
            n = len(key)
            if n == 1 or (
                tuple(found[i : i + n]) == key and not any(a[3] for a in atoms[i + 1 : i + n])
            ):
                flags, span = f, n
                break
        units.append(Unit(word, flags, start, atoms[i + span - 1][2], brk, size=span))
        i += span
    clause = sentence = 0
    for k, u in enumerate(units):
        if k and (u.brk or u.flags & BREAK):
            clause += 1
        if k and u.brk == 2:
            sentence += 1
        u.clause, u.sentence = clause, sentence
    return _targets(units)


def _targets(units: list[Unit]) -> list[Unit]:
    """Mark what names a group, a member, a slur or "them"; join "gay" + "people"."""
    out: list[Unit] = []
    last_group = addressed = -10  # sentences of the latest group named, and addressed
    i = 0
    while i < len(units):
        u = units[i]
        f = u.flags
        nxt = units[i + 1] if i + 1 < len(units) and not units[i + 1].brk else None
        if f & IDADJ:
            j = i + 1
            while j < len(units) and j - i < 3 and units[j].flags & IDADJ and not units[j].brk:
                j += 1
            head = units[j] if j < len(units) and not units[j].brk else None
            if head is not None and head.flags & (PERSON | PERSON1 | GROUP | MEMBER):
                u = Unit(u.word, GROUP, u.start, head.end, u.brk, u.clause, u.sentence)
                u.target = T_GROUP if head.flags & (PERSON | GROUP) else T_MEMBER
                out.append(u)
                last_group = u.sentence
                i = j + 1
                continue
        if f & GROUP or (f & IDADJ and nxt and nxt.flags & DEHUM and not _after_article(out, u)):
            u.target = T_GROUP  # "Muslims", and "female" in "female vermin" (not "a brown animal")
        elif f & MEMBER:
            u.target = T_MEMBER
        elif f & (NOMINAL | MEMBER_ADJ) and not (nxt and nxt.flags == 0 and nxt.word.isalpha()):
            u.target = T_GROUP if f & NOMINAL else T_MEMBER  # "the Irish are", "a Muslim is"
        elif f & SLUR:
            u.target = T_SLUR
        elif f & SLUR_AMB:
            u.target = T_SLUR_AMB
        elif u.word == "you":
            # "you" stands for a group only after one was addressed: "Muslims like you",
            # "you women"; "if you ask me" is nobody in particular.
            if (out and out[-1].word == "like" and len(out) > 1 and out[-2].target) or (
                nxt and nxt.flags & (GROUP | IDADJ)
            ):
                addressed = u.sentence
            elif u.sentence - addressed <= 1:
                u.target = T_PRONOUN
        elif f & PRONOUN and u.sentence - last_group <= 2:
            # "those" and "these" point back alone, not before a noun ("those immigrants")
            determiner = u.word in ("those", "these") and nxt and (nxt.flags == 0 or nxt.target)
            if not determiner and not (nxt and nxt.flags & (PERSON | GROUP | IDADJ)):
                u.target = T_PRONOUN
        if u.target in (T_GROUP, T_SLUR):
            last_group = u.sentence
        out.append(u)
        i += 1
    return out


def _after_article(before: list[Unit], u: Unit) -> bool:
    return bool(before) and before[-1].word in ("a", "an") and not u.brk
