"""Hate against protected groups, told apart from profanity, criticism and counter-speech.

A lexicon and a little grammar. Words are repaired first (leetspeak, masked letters,
letters spaced out, words split or run together, one typo in a long word) and tagged by
the role they play, both in ``toxicity_tokens`` with the lists of ``toxicity_words``.
Here they are linked within a clause: a predicate counts only when it is said *of a
protected group* (or of a member as a member, or of "them" when a group was just named).
Negation flips it ("are not vermin" is not hate, "are not human" is), a report or
quotation that is condemned makes it counter-speech, and in-group use of a reclaimable
slur is not hate.

Types, each on the decisive phrase:

* ``HATE`` - derogation, expressed hatred or contempt, exclusion ("go back", "have no
  place here"), denial of a group's worth ("can't be trusted");
* ``DEHUMANISATION`` - a group likened to vermin, animals, disease or filth;
* ``THREAT`` - violence threatened against or called for on a group;
* ``SLUR`` - a slur used as one (a homonym only where it is aimed at a person).

Every finding of a text carries the same score: the probability that the text is
hateful, a logistic combination of the features below (weights set by hand).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, ScanContext
from gatehouse.guard.scanners.toxicity_tokens import (
    ANGER,
    BARRIER,
    CAUSE_ME,
    CLAUSE_VERB,
    CONDEMN,
    COPULA,
    DEHUM,
    EXCL,
    EXCL_STATED,
    FEEL,
    GLUE,
    HATE,
    HATE_AFTER,
    IDIOM,
    INTENT,
    NEG,
    NEGATIVE,
    NEGATOR,
    NEGV,
    OTHER_SUBJ,
    PFRAME,
    POS,
    POS_HUMAN,
    POS_LIFE,
    POS_PLACE,
    POSITIVE,
    POSV,
    PREP,
    PROFANE,
    RECLAIM,
    REPORT,
    SELF,
    SELF_ID,
    T_GROUP,
    T_MEMBER,
    T_PRONOUN,
    T_SLUR,
    T_SLUR_AMB,
    THREAT,
    THREAT_AFTER,
    THREAT_NOUN,
    WISH,
    Unit,
    tag,
)

# Logistic weights: z = BIAS + kind + adjustments, score = sigmoid(max z over phrases).
BIAS = -2.0
KIND_WEIGHTS = {"HATE": 4.0, "DEHUMANISATION": 4.6, "THREAT": 5.0, "SLUR": 4.6}
W_PROFANE_GROUP = 3.0  # swearing as the only thing said of a group ("fucking Muslims")
W_SLUR_TARGET = 1.0  # the group is named by a slur as well
W_MEMBER = -0.8  # said of one member ("that woman"), not the group
W_INDIVIDUAL = -2.0  # said of one known person who belongs to it ("the old man was ...")
W_PRONOUN = -0.4  # said of "them": the group was named earlier
W_AMBIGUOUS_SLUR = -1.2  # a slur that is also an ordinary word
W_NEGATED = -6.0  # "I don't hate ...", "are not vermin"
W_COUNTER = -6.0  # a report or quotation, condemned
W_REPORTED = -3.3  # someone else's words, neither endorsed nor condemned
W_POSITIVE = -2.0  # praise of the same group in the same clause
W_RECLAIMED = -6.0  # self-identification ("I am a proud ..."), or an in-group form unhostile
W_QUOTED = -2.3  # inside quotation marks, with no comment around it
W_CORROBORATION = 0.7  # each further kind of hate in the text (at most two)

# Role sets of the grammar (the roles themselves are tagged in ``toxicity_tokens``).
PRED = NEGATIVE | POSITIVE
#: Predicates whose group follows them ("hate ..."), precedes them ("... should die"), or either.
AFTER = HATE | THREAT | POSV | FEEL
BEFORE = NEGV | HATE_AFTER | THREAT_AFTER | EXCL_STATED | ANGER
EITHER = DEHUM | NEG | POS | POS_HUMAN | POS_PLACE | POS_LIFE | EXCL | THREAT_NOUN
PASS = GLUE | COPULA | NEGATOR | INTENT | IDIOM | PROFANE  # words a link may cross
GATED = THREAT | THREAT_AFTER | EXCL  # need intent, obligation or an imperative

# How far back (in words) negation, intent and reports reach: a clause is rarely longer,
# and a bound keeps a long unpunctuated text linear.
_REACH = 12
_REPORT_REACH = 30

_QUOTE = re.compile(
    '"[^"\n]{2,500}"|\u201c[^\u201d\n]{2,500}\u201d|\u2018[^\u2019\n]{2,500}\u2019'
    "|(?<!\\w)'[^'\n]{2,500}'(?!\\w)"
)
_QUESTION_OPENERS = frozenset(("how", "why", "isn't", "aren't", "doesn't", "wouldn't"))
_PERSONAL = frozenset(("you", "u", "he", "she", "they", "ya", "ur"))
_DEFINITE = frozenset(("the", "this", "my", "his", "her", "your", "our", "their"))
_SPEAKER = frozenset(("i", "my", "i'm", "i've", "me"))


@dataclass(frozen=True, slots=True)
class _Hit:
    kind: str
    start: int
    end: int
    z: float


class _Text:
    """One text's units with its clauses, sentences and quotations, and what was found."""

    def __init__(self, text: str, units: list[Unit]) -> None:
        self.units = units
        self.clauses: list[tuple[int, int, bool]] = []  # (first, end, ends with "?")
        self.sentences: dict[int, tuple[int, int]] = {}
        first = 0
        for k in range(1, len(units) + 1):
            if k == len(units) or units[k].clause != units[first].clause:
                after = text[units[k - 1].end : units[k].start if k < len(units) else len(text)]
                asks = "?" in after or units[first].word in _QUESTION_OPENERS
                self.clauses.append((first, k, asks))
                first = k
        for k, u in enumerate(units):
            a, _ = self.sentences.get(u.sentence, (k, k))
            self.sentences[u.sentence] = (a, k + 1)
        self.quotes: list[tuple[int, int]] = []
        if any(q in text for q in "\"'\u201c\u2018"):
            spans = [m.span() for m in _QUOTE.finditer(text)]
            # A quotation mark around the whole text quotes nothing.
            self.quotes = [(a, b) for a, b in spans if (b - a) < 0.8 * len(text.strip())]
        self.linked: set[int] = set()  # predicates said of a target
        self.praised: set[int] = set()  # targets something positive is said of

    def hits(self) -> list[_Hit]:
        units = self.units
        found: list[tuple[str, int, int, bool]] = []  # kind, target, predicate, negated
        for c0, c1, question in self.clauses:
            for p in range(c0, c1):
                f = units[p].flags
                if f & PRED:
                    found += self._predicate(p, f, c0, c1, question)
                target = units[p].target
                prev = units[p - 1] if p > c0 else None
                profane = prev and prev.flags & PROFANE and not prev.flags & NEG
                if target in (T_GROUP, T_MEMBER) and profane:  # "fucking Muslims"
                    found.append(("PROFANE", p, p - 1, self._negated(p - 1, c0, question)))
                elif target == T_SLUR or (target == T_SLUR_AMB and self._aimed(p, c0)):
                    found.append(("SLUR", p, p, False))
        return [self._score(*hit) for hit in found]

    def _aimed(self, p: int, c0: int) -> bool:
        """Whether a slur that is also an ordinary word is aimed at a person: "you ...",
        "those ...", "is a ...", "dirty ..."."""
        units = self.units
        k = p - 1
        while k >= c0 and units[k].flags & GLUE and not units[k].flags & (PFRAME | COPULA):
            k -= 1  # "you are (just) a ...", "(you are) nothing but a ..."
        if k >= c0 and units[k].flags & PFRAME:
            return True
        if k >= c0 and units[k].flags & COPULA:  # "you are a ...", not "the dog is a ..."
            j = k - 1
            while j >= c0 and units[j].flags & GLUE and not units[j].flags & OTHER_SUBJ:
                j -= 1
            return j >= c0 and (units[j].word in _PERSONAL or bool(units[j].target))
        return [u.word for u in units[p + 1 : p + 3]] == ["like", "you"]

    def _predicate(
        self, p: int, f: int, c0: int, c1: int, question: bool
    ) -> list[tuple[str, int, int, bool]]:
        units = self.units
        t, role = -1, 0
        if units[p].target:  # "go back where you came from" names its own target
            t, role = p, f & PRED
        if t < 0 and f & (BEFORE | EITHER):
            t, role = self._back(p, c0), f & (BEFORE | EITHER)
        if t < 0 and f & (AFTER | EITHER):
            t, role = self._forward(p, c1, 5 if f & AFTER else 3), f & (AFTER | EITHER)
            vocative = p > c0 and units[p - 1].word == "you"  # "you filthy immigrant"
            modifier = t >= 0 and not f & AFTER and units[p].size == 1
            if modifier and units[t].target == T_MEMBER and not vocative:
                return []  # "a crazy woman" describes one woman: no claim about women
        if t < 0:
            return []
        negated = self._negated(p, c0, question)
        if role & POSITIVE and not role & NEGATIVE:
            if not negated:
                self.praised.add(t)
                return []
            # Praise denied is derogation: "not human", "not welcome", "don't deserve to live".
            kind = "DEHUMANISATION" if role & POS_HUMAN else "THREAT" if role & POS_LIFE else "HATE"
            negated = False
        else:
            if role & GATED and not self._called_for(p, c0, t, role):
                return []
            if role & ANGER and not any(units[k].flags & CAUSE_ME for k in range(t, p)):
                return []  # "women are angry" is no hate; "women make me angry" is
            if role & FEEL and not any(units[k].word in _SPEAKER for k in range(c0, t)):
                return []  # "the hatred for women" is a topic; "my hatred for women" is hate
            kind = (
                "THREAT"
                if role & (THREAT | THREAT_AFTER | THREAT_NOUN)
                else "DEHUMANISATION"
                if role & DEHUM
                else "HATE"
            )
        self.linked.add(p)
        return [(kind, t, p, negated)]

    def _back(self, p: int, c0: int) -> int:
        """The target a predicate is said of, before it: "Muslims are (so) ..."."""
        units = self.units
        copula, slack = False, 0
        for k in range(p - 1, c0 - 1, -1):
            u = units[k]
            if u.target:  # "gay vermin" is one insult, wherever it stands
                return -1 if k < p - 1 and self._after_preposition(k) else k
            if u.flags & PRED:
                return -1  # "Calling them vermin is disgusting": "disgusting" is not said of them
            if u.flags & PASS:
                copula = copula or bool(u.flags & COPULA)
                continue
            if u.flags & BARRIER or not copula or slack == 3:
                return -1
            slack += 1  # "women in tech are": a few words of a group's subject, but
            # "the gypsy moth is" is about a moth
            if k > c0 and units[k - 1].target == T_MEMBER:
                return -1
        if units[c0].flags & (CLAUSE_VERB | COPULA | INTENT | WISH) and slack == 0:
            # "Muslims, in my view, are ...": a clause that only names a group is the
            # subject of a later clause that opens with its verb.
            a, _ = self.sentences[units[p].sentence]
            for k in range(c0 - 1, max(a, c0 - _REACH) - 1, -1):
                if self._quoted(units[k]) != self._quoted(units[p]):
                    break  # not across a quotation mark
                if units[k].target:
                    alone = all(
                        units[j].flags & GLUE
                        for j in range(a, k)
                        if units[j].clause == units[k].clause
                    )
                    end = k + 1 == len(units) or units[k + 1].clause != units[k].clause
                    return k if alone and end else -1
        return -1

    def _after_preposition(self, k: int) -> bool:
        """A group after a preposition is not the subject: "violence against women is ..."."""
        k -= 1
        while k >= 0 and self.units[k].flags & GLUE and not self.units[k].flags & PREP:
            k -= 1
        return k >= 0 and bool(self.units[k].flags & PREP) and not self.units[k].brk

    def _forward(self, p: int, c1: int, limit: int) -> int:
        """The target after a predicate: "hate (all those) ...", "filthy ..."."""
        for k in range(p + 1, min(c1, p + 1 + limit)):
            if self.units[k].target:
                return k
            if not self.units[k].flags & (GLUE | PROFANE | IDIOM):
                return -1
        return -1

    def _quoted(self, u: Unit) -> bool:
        return any(a <= u.start < b for a, b in self.quotes)

    def _negated(self, p: int, c0: int, question: bool) -> bool:
        units = self.units
        for k in range(p - 1, max(c0, p - _REACH) - 1, -1):
            if units[k].flags & BARRIER:
                return False  # "... will stop laughing when I start shooting them"
            if units[k].flags & NEGATOR and not (k == c0 and question):
                # A question's negator before "that"/"how" is rhetorical, as one opening
                # it is: "Does this not show that ... ?", "Isn't it ... ?"
                if question and any(units[j].word in ("that", "how") for j in range(k, p)):
                    continue
                return True
        return False

    def _called_for(self, p: int, c0: int, t: int, role: int) -> bool:
        """Violence or removal wished for, promised or ordered, not merely reported."""
        before = range(max(c0, p - _REACH), p)
        if any(self.units[k].flags & WISH for k in before):
            return True
        if t < p:  # the group is the subject: "... will die" only predicts ...
            k = t - 1
            while k >= c0 and self.units[k].flags & GLUE:
                k -= 1  # ... unless someone makes it happen: "make them suffer", "see them die"
            causes = k >= c0 and self.units[k].word in ("make", "see", "watch", "let")
            return causes and any(self.units[j].flags & INTENT for j in before)
        if any(self.units[k].flags & INTENT for k in before):
            return True
        if self.units[p].word.endswith(("ing", "ed")):
            return False  # "..., murdering some" narrates; an order uses the bare verb
        return all(self.units[k].flags & (GLUE | PROFANE) for k in before)  # imperative

    def _score(self, kind: str, t: int, p: int, negated: bool) -> _Hit:
        units = self.units
        target = units[t].target
        z = BIAS + (W_PROFANE_GROUP if kind == "PROFANE" else KIND_WEIGHTS[kind])
        if target == T_MEMBER:
            z += W_INDIVIDUAL if t > 0 and units[t - 1].word in _DEFINITE else W_MEMBER
        elif target == T_PRONOUN or units[t].clause != units[p].clause:
            z += W_PRONOUN
        elif target == T_SLUR_AMB:
            z += W_AMBIGUOUS_SLUR
        if target in (T_SLUR, T_SLUR_AMB) and kind != "SLUR":
            z += W_SLUR_TARGET
        if negated:
            z += W_NEGATED
        if t in self.praised:
            z += W_POSITIVE
        if kind == "SLUR" and self._reclaimed(t):
            z += W_RECLAIMED
        first, last = min(t, p), max(t, p)
        if units[t].clause != units[p].clause:
            first = last = p
        z += self._stance(first, last, p)
        span_kind = "HATE" if kind == "PROFANE" else kind
        return _Hit(span_kind, units[first].start, units[last].end, z)

    def _reclaimed(self, t: int) -> bool:
        """In-group use: self-identification ("I'm a proud ..."), or a reclaimable form
        ("-a" spellings) used without hostility."""
        units = self.units
        k = t - 1
        while k >= 0 and units[k].flags & GLUE and not units[k].flags & (SELF_ID | NEG):
            k -= 1
        if k >= 0 and units[k].flags & SELF_ID:
            return True
        hostile = (t > 0 and bool(units[t - 1].flags & (NEG | PROFANE))) or any(
            units[p].flags & NEGATIVE and units[p].clause == units[t].clause for p in self.linked
        )
        return bool(units[t].flags & RECLAIM) and not hostile

    def _stance(self, first: int, last: int, p: int) -> float:
        """Counter-speech and reports: whose words are these, and are they condemned?"""
        units = self.units
        start, end = units[first].start, units[last].end
        quoted = any(a <= start and end <= b for a, b in self.quotes)
        sentence = units[first].sentence
        a, _ = self.sentences[sentence]
        framed = False
        for k in range(max(a, first - _REPORT_REACH), first):
            if units[k].flags & REPORT and not _first_person(units, k, a):
                framed = True
                if k > a and units[k - 1].flags & NEGATOR:  # "stop saying", "don't call"
                    return W_COUNTER
        if units[p].flags & (HATE | POSV | FEEL) and p < last:  # whose feeling is it?
            subject = p - 1
            while (
                subject >= a
                and units[subject].flags & (GLUE | COPULA)
                and not units[subject].flags & (OTHER_SUBJ | SELF)
            ):
                subject -= 1
            if subject >= a and units[subject].flags & SELF and not quoted:
                return 0.0  # "... I am disgusted by ...": the speaker's own
            framed = framed or (subject >= a and bool(units[subject].flags & OTHER_SUBJ))
        if not (quoted or framed):
            return 0.0
        lo = self.sentences.get(sentence - 1, (a, a))[0] if quoted else a
        hi = self.sentences.get(sentence + 1, self.sentences[sentence])[1]
        for k in range(max(lo, first - _REPORT_REACH), min(hi, last + _REPORT_REACH)):
            u = units[k]
            condemns = u.flags & CONDEMN and not first <= k <= last and k not in self.linked
            if condemns and not (quoted and self._quoted(u)):  # outside the quotation
                return W_COUNTER
        return W_REPORTED if framed else W_QUOTED


def _first_person(units: list[Unit], k: int, a: int) -> bool:
    """Whether the report is the speaker's own opinion: "I think", "am I wrong to think",
    and not "my uncle thinks"."""
    for j in range(k - 1, max(a, k - 4) - 1, -1):
        if units[j].flags & SELF:
            return True
        noun = not units[j].flags and not units[j].word.endswith("ly")  # "my uncle", not "firmly"
        if units[j].flags & OTHER_SUBJ or noun or units[j].clause != units[k].clause:
            return False
    return False


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


class ToxicityLexicon:
    """Hate against protected groups (types HATE, DEHUMANISATION, THREAT, SLUR).

    The vocabulary and wordfreq's common words load on the first scan (about a second);
    after that a 500-character text takes a fraction of a millisecond.
    """

    name = "toxicity"
    types = frozenset({"HATE", "DEHUMANISATION", "THREAT", "SLUR"})
    isolated = False

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        units = tag(text)
        if not any(u.target for u in units):
            return []
        hits = _Text(text, units).hits()
        if not hits:
            return []
        best = max(h.z for h in hits)
        kinds = {h.kind for h in hits if h.z > 0}
        score = _sigmoid(best + W_CORROBORATION * min(2, max(0, len(kinds) - 1)))
        shown = [h for h in hits if h.z > 0] if score >= 0.5 else [max(hits, key=lambda h: h.z)]
        spans = {(h.kind, h.start, h.end) for h in shown}
        return [Finding(kind, start, end, score) for kind, start, end in sorted(spans)]
