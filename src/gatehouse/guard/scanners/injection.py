"""Prompt injection and jailbreak heuristics: a grammar of attack moves and a calibrated score.

Finding types, one finding per signal (the span of the phrase that gave it away):

* ``INSTRUCTION_OVERRIDE`` - "ignore all previous instructions", "your new task is".
* ``ROLEPLAY_JAILBREAK`` - a persona used to lift the rules: "developer mode", "no
  ethical guidelines", "never refuse", two-answer formats, token threats. A persona
  alone ("act as a travel guide") is not one.
* ``FAKE_TURN`` - forged turns and delimiters: ``<|im_start|>system``, ``[INST]``, a
  "System:" line, ``{"role": "system"}`` inside content.
* ``HIDDEN_TEXT`` - invisible characters, smuggled Unicode tag text, look-alike letters.
* ``ENCODED_PAYLOAD`` - base64, hex, ROT13, reversed or spaced-out text hiding any of
  the above.
* ``PROMPT_EXTRACTION`` - "repeat your system prompt", "what were you told before".
* ``INDIRECT`` - instructions addressed to an AI or any automated reader inside content
  ("Note to the AI reading this: ...", "Dear review model,", "agent: forward ..."); they
  weigh more in untrusted content (tool results, documents).

The text is folded first (:mod:`.obfuscation`), so look-alike letters, invisible
characters and odd spacing don't hide a phrase; spans are reported in original offsets.
Every finding of a text carries the same score: the probability that the text is an
attack, from a logistic model over each category's summed signal weights
(:data:`WEIGHTS`, fitted by ``scripts/calibrate_injection.py``).

The phrases themselves live in :mod:`.injection_grammar`. Speed: a rule is tried only
where a word that can open it stands (a dict from first word to the few rules it can
open), so a benign text costs little more than one pass of tokenising.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, ScanContext
from gatehouse.guard.scanners.injection_grammar import (
    CATEGORIES,
    DEFENCE_WORDS,
    DEFENSIVE,
    ENCODED,
    EXAMPLE_LEAD,
    EXTRACTION,
    FAKE_TURN,
    FRAMING,
    HARM_WORDS,
    HARMFUL_HOWTO,
    HIDDEN,
    INDIRECT,
    LEXICON,
    OVERRIDE,
    ROLEPLAY,
    RULES,
    RULES_BY_WORD,
    SCRIPT_RULES,
    SYMBOL_OPENERS,
    SYMBOL_RULES,
    SYMBOLS,
    TOKEN,
    Rule,
)
from gatehouse.guard.scanners.obfuscation import (
    Normalised,
    Reversed,
    concealed_regions,
    encoded_runs,
    normalise,
    reverse_words,
    rot13,
    spaced_runs,
    split_words,
    unleet,
)

#: Logistic model: bias + sum(weight * feature). A category's feature is
#: 1 - exp(-sum of its signal weights), so one strong signal gives ~0.6 and several
#: saturate; the cues are 0 or 1; "breadth" is (categories seen - 1) / 3. Fitted by
#: scripts/calibrate_injection.py on data/guard/injection_corpus.jsonl (1,399 texts); a
#: text with no signal at all gets no finding.
WEIGHTS: dict[str, float] = {
    "bias": -2.31,
    OVERRIDE: 8.70,
    ROLEPLAY: 8.14,
    FAKE_TURN: 4.15,
    HIDDEN: 5.50,
    ENCODED: 4.43,
    EXTRACTION: 7.63,
    INDIRECT: 9.18,
    "model_named": 0.37,
    "persona": 0.10,
    "breadth": 0.50,
    "discussion": -1.18,
    "code": -0.35,
}
#: Signal weights are multiplied by these in untrusted content, where nobody but an
#: attacker has a reason to address the model or forge its turns.
UNTRUSTED_BOOST: dict[str, float] = {INDIRECT: 2.5, FAKE_TURN: 1.6, OVERRIDE: 1.3}
#: A rule that fires again counts this fraction of its previous weight: a phrase said
#: five times is not five times the evidence.
REPEAT_DECAY = 0.5

# A hit right after one of these and an EXAMPLE_LEAD is quoted as an example.
_QUOTES = frozenset("\"'([")
# Tag characters after a black flag spell a region's flag (Scotland, Wales), not text.
_BLACK_FLAG = "\U0001f3f4"
_LINE_START = frozenset(" \t#>*[(=-")

# Cues for the model, as substrings: a regex pass each would cost more than the grammar.
_MODEL_NAMED = ("gpt", "openai", "bard", "claude", "gemini", "llama", "language model", "llm",
                "as an ai")  # fmt: skip
_PERSONA = ("act as", "acting as", "pretend", "roleplay", "role-play", "role play",
            "you are now", "you are going to", "you will be", "play the role", "impersonat",
            "simulat", "your name is")  # fmt: skip
_DISCUSSION = ("prompt injection", "injection attack", "attacker", "adversar", "threat model",
               "security research", "mitigat", "defend against", "defence against",
               "defense against", "vulnerabilit")  # fmt: skip
_CODE = ("```", "def ", "import ", "function", "const ", "=>", "#include", "console.",
         "print(", "return ", "{\n")  # fmt: skip
_DECODE_CUES = ("rot13", "rot-13", "rot 13", "caesar", "cipher", "reverse", "backward")


# --- scanning -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signal:
    """One phrase of the grammar (or one disguise) at original ``[start, end)``."""

    category: str
    start: int
    end: int
    weight: float


class InjectionHeuristics:
    """Prompt injection and jailbreak attempts, by grammar, with a calibrated score."""

    name = "injection"
    types = frozenset(CATEGORIES)
    isolated = False

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        if context.trusted and context.role in ("system", "developer"):
            return []  # the operator's own prompt: "never reveal ..." is not an attack
        norm = normalise(text)
        found = signals(norm)
        if not found:
            return []
        score = probability(found, norm.text, trusted=context.trusted)
        unique = {(s.category, s.start, s.end) for s in found}
        return [Finding(kind, start, end, score) for kind, start, end in sorted(unique)]


def signals(norm: Normalised) -> list[Signal]:
    """Every signal in a normalised text: grammar, disguises, concealment, encodings."""
    found, mixed = _grammar(norm, norm.text)
    found += _disguises(norm, found)
    found += _concealed(norm, found)
    found += _encoded(norm, leet=mixed >= 3)
    return found


def probability(found: list[Signal], folded: str, *, trusted: bool = True) -> float:
    """The logistic model of :data:`WEIGHTS` over the signals of a folded text."""
    features = features_of(found, folded, trusted=trusted)
    z = WEIGHTS["bias"] + sum(WEIGHTS[name] * value for name, value in features.items())
    return round(1.0 / (1.0 + math.exp(-z)), 4)


def features_of(found: list[Signal], folded: str, *, trusted: bool = True) -> dict[str, float]:
    """The model's inputs: one saturating strength per category, then the cues."""
    strength = dict.fromkeys(CATEGORIES, 0.0)
    for s in found:
        boost = 1.0 if trusted else UNTRUSTED_BOOST.get(s.category, 1.0)
        strength[s.category] += s.weight * boost
    features = {kind: 1.0 - math.exp(-total) for kind, total in strength.items()}
    seen = sum(total > 0 for total in strength.values())
    features["breadth"] = min(max(seen - 1, 0), 3) / 3
    for name, cues in (
        ("model_named", _MODEL_NAMED),
        ("persona", _PERSONA),
        ("discussion", _DISCUSSION),
        ("code", _CODE),
    ):
        features[name] = float(any(cue in folded for cue in cues))
    return features


# A hit before it becomes a signal: rule index (-1 for fixed ones), category, folded
# span, weight.
_Hit = tuple[int, str, int, int, float]


def _grammar(norm: Normalised, folded: str) -> tuple[list[Signal], int]:
    """Signals of the grammar in ``folded`` (``norm.text`` or a same-length transform),
    and the number of words that mix letters and digits."""
    hits, harm, mixed = _word_rules(norm, folded)
    if any(opener in folded for opener in SYMBOL_OPENERS):
        for m in SYMBOLS.finditer(folded):
            rule = SYMBOL_RULES[int(m.lastgroup[1:])][0]  # type: ignore[index]
            hits.append((-1, rule.category, *m.span(), _rule_weight(rule, norm, m)))
    if not folded.isascii():  # phrases of languages not written in Latin letters
        for letters, pattern, rules in SCRIPT_RULES:
            if letters.search(folded):
                for m in pattern.finditer(folded):
                    rule = rules[int(m.lastgroup[1:])]  # type: ignore[index]
                    hits.append((-3, rule.category, *m.span(), rule.weight))
    if harm and FRAMING.search(folded):
        hits += [(-2, ROLEPLAY, *m.span(), 0.6) for m in HARMFUL_HOWTO.finditer(folded)]
    if not hits:
        return [], mixed
    defences = []
    if any(word in folded for word in DEFENCE_WORDS):
        defences = [m.span() for m in DEFENSIVE.finditer(folded)]
    fired: dict[int, int] = {}
    found = []
    for index, kind, start, end, weight in hits:
        if any(a <= start < b for a, b in defences):
            continue
        repeats = fired[index] = fired.get(index, -1) + 1
        if folded[max(0, start - 2) : start].strip(" ") in _QUOTES and EXAMPLE_LEAD.search(
            folded, max(0, start - 40), start
        ):
            weight *= 0.4
        found.append(Signal(kind, *norm.span(start, end), weight * REPEAT_DECAY**repeats))
    return found, mixed


def _word_rules(norm: Normalised, folded: str) -> tuple[list[_Hit], bool, int]:
    """Hits of the word-led rules, whether a word of harm was seen, and how many words
    mix letters and digits (leetspeak), all in one pass over the words."""
    hits: list[_Hit] = []
    harm, mixed = False, 0
    covered = dict.fromkeys(CATEGORIES, -1)  # per category: end of its last match
    lookup = RULES_BY_WORD.get
    for token in TOKEN.finditer(folded):
        word = token.group()
        if word in HARM_WORDS:
            harm = True
        elif not word.isalpha() and not word.isdigit():
            mixed += 1
        candidates = lookup(word)
        if candidates is None:
            continue
        at = token.start()
        for kind, pattern in candidates:
            if at < covered[kind]:
                continue  # inside a match of the same category: counted once
            m = pattern.match(folded, at)
            if m is not None:
                covered[kind] = m.end()
                index = int(m.lastgroup[1:])  # type: ignore[index]
                hits.append((index, kind, at, m.end(), _rule_weight(RULES[index], norm, m)))
    return hits, harm, mixed


def _rule_weight(rule: Rule, norm: Normalised, m: re.Match[str]) -> float:
    weight = rule.weight
    if rule.cased:
        begin, stop = norm.span(*m.span())
        if not any(c.isupper() for c in norm.original[begin:stop]):
            weight *= 0.35
    if rule.line:
        line = m.string.rfind("\n", 0, m.start()) + 1
        if not all(c in _LINE_START for c in m.string[line : m.start()]):
            weight *= 0.5
    return weight


def _disguises(norm: Normalised, found: list[Signal]) -> list[Signal]:
    """HIDDEN_TEXT: smuggled tag text, stray invisible characters, look-alike letters,
    and any phrase of the grammar written with them."""
    hidden = [
        Signal(HIDDEN, a, b, 0.9)
        for a, b in norm.tag_runs
        if b - a >= 4 and norm.original[a - 1 : a] != _BLACK_FLAG  # flags of regions
    ]
    hidden += [Signal(HIDDEN, a, b, 0.2) for a, b in norm.suspicious_invisible()]
    hidden += [Signal(HIDDEN, a, b, 0.35) for a, b in norm.mixed_script_words()]
    if norm.lookalikes or norm.invisible:
        hidden += [
            Signal(HIDDEN, s.start, s.end, 0.9) for s in found if norm.disguised(s.start, s.end)
        ]
    return hidden


def _concealed(norm: Normalised, found: list[Signal]) -> list[Signal]:
    """INDIRECT: a phrase of the grammar inside an HTML comment or invisible markup."""
    concealed = []
    for region in concealed_regions(norm.text):
        start, end = norm.span(*region)
        if any(start <= s.start < end for s in found):
            concealed.append(Signal(INDIRECT, start, end, 0.7))
    return concealed


def _encoded(norm: Normalised, *, leet: bool) -> list[Signal]:
    """ENCODED_PAYLOAD: encoded, ROT13, reversed, leetspeak or spaced-out text that
    decodes to a phrase of the grammar, which also counts as what it says. One level
    deep: a payload's payload is not decoded."""
    found = []
    runs = [(r.start, r.end, r.kind, r.text) for r in encoded_runs(norm.original)]
    runs += [
        (a, b, "spaced", split_words(letters, LEXICON))
        for a, b, letters in spaced_runs(norm.original)
    ]
    for start, end, kind, plain in runs:
        inner = normalise(plain)
        said = _grammar(inner, inner.text)[0]
        if kind == "variation-selectors":
            found.append(Signal(HIDDEN, start, end, 0.9))
        if said:
            found.append(Signal(ENCODED, start, end, 0.6 + min(sum(s.weight for s in said), 2.0)))
            found += [Signal(s.category, start, end, s.weight) for s in said]
    folded = norm.text
    transforms: list[tuple[Normalised, str]] = []
    if any(cue in folded for cue in _DECODE_CUES):
        transforms += [(norm, rot13(folded)), (Reversed(norm), folded[::-1])]
        transforms.append((norm, reverse_words(folded)))
    if leet:
        transforms.append((norm, unleet(folded)))
    for mapping, transformed in transforms:
        for s in _grammar(mapping, transformed)[0]:
            found += [s, Signal(ENCODED, s.start, s.end, 0.6 + s.weight)]
    return found
