"""Build ``data/guard/toxicity_corpus.jsonl``: a templated training set for a hate classifier head.

Every row is ``{"text", "label", "group", "source": "template"}``: label 1 is hate towards
a protected group, 0 is not; ``group`` is the template's id, so cross-validation can hold
out whole templates (a template's disguised spellings share its id). Templates are ours;
the words come from the scanner's lexicons (``toxicity_words``, and the slur table for the
slur templates), plus the few corpus-only lists below (groups nobody is born into,
objects, everyday insults, homonyms of slurs). The same spread of kinds both ways:

* hateful: derogation, dehumanisation, threats (direct and called for), expressed
  hatred, exclusion, praise denied, slurs, hateful questions and opinions, hate said of
  "them" after a group was named, hate with profanity, and disguised spellings;
* not hateful: neutral and positive statements about groups, negated hate,
  counter-speech quoting or reporting hate, profanity with no group, abuse of
  individuals, objects and groups nobody is born into, news of harm done to a group,
  slur homonyms in their ordinary sense, reclaimed in-group use.

Deterministic (seeded)::

    .venv/bin/python scripts/build_toxicity_corpus.py
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from gatehouse.guard.scanners import toxicity_words as words

OUT = Path(__file__).resolve().parent.parent / "data/guard/toxicity_corpus.jsonl"
SEED = 20240917
PER_TEMPLATE = 56  # rows per template, before disguised copies

#: Groups written as people write them: capitalised where English capitalises.
_PROPER = {"religion", "nationality", "ethnicity"}
_PROPER_RACE = {"asians", "asian", "arabs", "arab"}

#: Corpus-only lists: what is *not* a protected group, and everyday targets.
NOT_PROTECTED = words._terms(
    "lawyers, politicians, bankers, landlords, estate agents, referees, journalists,"
    "influencers, tourists, cyclists, drivers, vegans, gamers, critics, managers,"
    "telemarketers, football fans, hipsters, billionaires, pigeons"
)
OBJECTS = words._terms(
    "printer, laptop, weather, traffic, phone, app, update, song, meeting, queue, bus,"
    "wifi, homework, alarm clock, spreadsheet, train, car, game, tax form, keyboard"
)
INSULTS = words._terms("idiot, moron, clown, jerk, loser, fool, muppet, numpty, disgrace, joke")
PROFANITY = ("fucking", "bloody", "goddamn", "shitty", "damn")
#: Ordinary senses of words that are also slurs ({} is the word).
HOMONYMS = (
    ("faggots", "We had {} with onion gravy for dinner last night."),
    ("faggots", "The old woodsman tied the kindling into {} for the stove."),
    ("spook", "The film is about a Cold War {} working in Berlin."),
    ("spooks", "The children dressed up as {} for Halloween."),
    ("coon", "He kept a {} hound for hunting in the hills."),
    ("dyke", "The farmers raised the {} before the spring floods."),
    ("homo", "Fossils of {} erectus were found in the cave."),
    ("spade", "Grab a {} and help me dig the vegetable patch."),
    ("spade", "She led the ace of {}s and won the trick."),
    ("slope", "The ski {} was icy this morning."),
    ("fag", "He stepped outside for a {} and a coffee."),
    ("poof", "And then, {}, the magician's rabbit vanished."),
    ("nancy", "{} Drew solved another mystery in the new book."),
    ("bender", "After the wedding they went on a three-day {}."),
    ("cripple", "The strike could {} the country's ports for weeks."),
    ("retard", "These additives {} the spread of fire in foam."),
    ("negro", "The {} River is one of the longest in South America."),
    ("gypsy", "The {} moth is a pest of oak forests."),
    ("chink", "There is a {} in the curtains letting the light in."),
)


def _article(phrase: str) -> str:
    return ("an " if phrase[0].lower() in "aeiou" else "a ") + phrase


class Words:
    """Random draws from the lexicons, shaped for templates."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.plurals: list[str] = []
        self.singulars: list[str] = []
        for kind, pairs in words.GROUP_NOUNS.items():
            for plural, singular in pairs:
                proper = kind in _PROPER or plural in _PROPER_RACE
                self.plurals.append(plural.title() if proper else plural)
                if singular:
                    self.singulars.append(singular.title() if proper else singular)
        heads = [(p, s) for p, s in words.PERSON_NOUNS if p in ("people", "men", "women")]
        for kind, adjectives in words.IDENTITY_ADJECTIVES.items():
            for adj in adjectives:
                shown = adj.title() if kind in _PROPER or adj in _PROPER_RACE else adj
                for plural, singular in heads[:1] if kind == "gender" else heads:
                    self.plurals.append(f"{shown} {plural}")
                    self.singulars.append(f"{shown} {singular}")
        table = resources.files("gatehouse.guard.scanners").joinpath("data/toxicity_slurs.tsv.gz")
        with table.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
            rows = [line.split("\t") for line in lines if not line.startswith("#")]
        # Plain, well-known spellings: the disguised copies add the variants.
        self.slurs = [
            r[0]
            for r in rows
            if r[2] == "strong" and r[3] == "0" and r[0].isalpha() and len(r[0]) < 10
        ]
        self.reclaimable = [r[0] for r in rows if r[3] == "1" and r[0].isalpha()]

    def pick(self, items: tuple[str, ...] | list[str]) -> str:
        return self.rng.choice(list(items))

    def G(self) -> str:  # a group, as the templates name it
        return self.pick(self.plurals)

    def g(self) -> str:  # a member, with its article
        return _article(self.pick(self.singulars))

    def neg(self) -> str:
        return self.pick([w for w in words.NEGATIVE_ADJECTIVES if " " not in w])

    def noun(self) -> str:
        return self.pick([w for w in words.NEGATIVE_NOUNS if " " not in w])

    def dehum(self) -> str:
        return self.pick([w for w in words.DEHUMANISING if w.endswith("s") or " " in w])

    def pos(self) -> str:
        return self.pick([w for w in words.POSITIVE if " " not in w and w != "matter"])


def _hateful(w: Words) -> dict[str, Callable[[], str]]:
    r = w.pick
    return {
        "h-derog-copula": lambda: f"{w.G()} are {r(['', 'so ', 'really ', 'utterly '])}{w.neg()}.",
        "h-derog-noun": lambda: f"{w.G()} are {w.noun()}, every last one of them.",
        "h-derog-member": lambda: f"Never met {w.g()} who wasn't {w.neg()}.",
        "h-derog-question": lambda: f"Has anyone else noticed how {w.neg()} {w.G()} are?",
        "h-derog-opinion": lambda: (
            f"{r(['Honestly,', 'Let us be real:', 'Everyone knows', 'Face it,'])} "
            f"{w.G()} are {w.neg()}."
        ),
        "h-derog-superlative": lambda: (
            f"{w.G()} are the {r(['worst', 'dumbest', 'laziest'])} people I have ever come across."
        ),
        "h-praise-denied": lambda: f"{w.G()} will never be {w.pos()}, whatever they pretend.",
        "h-distrust": lambda: f"You should never trust {w.G()}, not for a second.",
        "h-not-human": lambda: (
            f"{w.G()} aren't even {r(['human', 'real people', 'human beings'])}."
        ),
        "h-hatred": lambda: (
            f"I {r(['truly ', 'really ', ''])}{w.pick(words.HATRED[:16])} "
            f"{w.G()}{r(['.', ' with all my heart.', ', always have.'])}"
        ),
        "h-hatred-after": lambda: (
            f"{w.G()} {r(['disgust me', 'make me sick', 'make my skin crawl'])}."
        ),
        "h-feeling": lambda: (
            f"The {r(['contempt', 'disdain', 'loathing'])} I have for {w.G()} grows every day."
        ),
        "h-dehum-copula": lambda: f"{w.G()} are {w.dehum()}.",
        "h-dehum-compare": lambda: f"{w.G()} are no better than {w.dehum()}.",
        "h-dehum-spread": lambda: (
            f"{w.G()} are {r(['a plague', 'a disease', 'a cancer'])} spreading through our towns."
        ),
        "h-threat-direct": lambda: (
            f"I {r(['will', 'am going to', 'want to'])} "
            f"{r(['shoot', 'stab', 'hurt', 'kill'])} the next {w.pick(w.singulars)} I see."
        ),
        "h-threat-called": lambda: (
            f"{w.G()} should be {r(['shot', 'hanged', 'gassed', 'exterminated'])}."
        ),
        "h-threat-someone": lambda: (
            f"Someone needs to {r(['wipe out', 'get rid of', 'kill'])} all the {w.G()}."
        ),
        "h-threat-wish": lambda: f"I hope all {w.G()} {r(['die', 'suffer', 'rot', 'burn'])}.",
        "h-threat-noun": lambda: f"{w.G()} deserve {r(['death', 'a bullet', 'the rope'])}.",
        "h-exclusion-go": lambda: f"{w.G()} should go back {r(['home', 'where they came from'])}.",
        "h-exclusion-place": lambda: f"{w.G()} have no place in {r(['this country', 'our town'])}.",
        "h-exclusion-ban": lambda: (
            f"{w.G()} should not be allowed to {r(['vote', 'teach', 'live here'])}."
        ),
        "h-profanity": lambda: f"{r(PROFANITY).capitalize()} {w.G()}, always ruining everything.",
        "h-profanity-copula": lambda: f"{w.G()} are {r(['fucking', 'bloody'])} {w.neg()}.",
        "h-pronoun-sentence": lambda: f"Some {w.G()} moved in next door. They are {w.neg()}.",
        "h-pronoun-clause": lambda: f"I know a few {w.G()} and all of them are {w.dehum()}.",
        "h-rid-question": lambda: f"Why don't we just get rid of {w.G()}?",
        "h-implicit": lambda: (
            f"{w.G()} are {r(['taking over', 'ruining', 'invading'])} our neighbourhoods."
        ),
        "h-slur-address": lambda: (
            f"{r(['Shut up', 'Get lost', 'Nobody asked you'])}, you {r(w.slurs)}."
        ),
        "h-slur-street": lambda: f"Our street is full of {r(w.slurs)} now.",
        "h-slur-expect": lambda: f"What else would you expect from a {r(w.slurs)}.",
    }


def _not_hateful(w: Words) -> dict[str, Callable[[], str]]:
    r = w.pick
    return {
        "n-praise": lambda: f"{w.G()} are {w.pos()}.",
        "n-praise-verb": lambda: f"I {r(['love', 'respect', 'admire', 'support'])} {w.G()}.",
        "n-welcome": lambda: f"{w.G()} are welcome in our town.",
        "n-rights": lambda: f"{w.G()} deserve the same rights as everyone else.",
        "n-neutral-fact": lambda: f"{w.G()} live in every part of the city.",
        "n-neutral-member": lambda: f"My {r(['neighbour', 'dentist', 'coach'])} is {w.g()}.",
        "n-neutral-count": lambda: f"There are {rng_int(w)} {w.G()} in my class.",
        "n-neutral-question": lambda: f"What do {w.G()} usually eat for breakfast?",
        "n-identity": lambda: f"As {w.g()}, I feel at home here.",
        "n-negated-derog": lambda: f"{w.G()} are not {w.neg()}.",
        "n-negated-false": lambda: f"It is simply false that {w.G()} are {w.neg()}.",
        "n-negated-hatred": lambda: f"I don't {r(['hate', 'despise', 'resent'])} {w.G()} at all.",
        "n-negated-threat": lambda: f"Nobody should {r(['hurt', 'attack', 'threaten'])} {w.G()}.",
        "n-counter-quote": lambda: (
            f'Someone wrote "{w.G()} are {w.dehum()}" on the wall and I reported it.'
        ),
        "n-counter-quote-judged": lambda: f'"{w.G()} are {w.neg()}" is a hateful thing to say.',
        "n-counter-reference": lambda: f"Calling {w.G()} {w.dehum()} is dehumanising and wrong.",
        "n-counter-people-who": lambda: f"People who say {w.G()} are {w.neg()} are bigots.",
        "n-counter-threat": lambda: f'He shouted "kill all {w.G()}" and was arrested.',
        "n-news-harm": lambda: f"{w.G()} were attacked outside a shop last night, police said.",
        "n-news-crime": lambda: f"Hate crimes against {w.G()} rose sharply last year.",
        "n-profanity-object": lambda: f"This {r(PROFANITY)} {r(OBJECTS)} is driving me mad.",
        "n-profanity-exclaim": lambda: f"Fuck this {r(OBJECTS)}, I give up.",
        "n-abuse-individual": lambda: f"{r(['Shut up', 'Go away', 'Listen'])}, you {r(INSULTS)}.",
        "n-abuse-person": lambda: f"My {r(['boss', 'ex', 'brother'])} is such a {r(INSULTS)}.",
        "n-abuse-object": lambda: f"I {r(['hate', 'despise', 'loathe'])} this {r(OBJECTS)}.",
        "n-object-derog": lambda: f"The {r(OBJECTS)} is {w.neg()}.",
        "n-unprotected-derog": lambda: f"{r(NOT_PROTECTED).capitalize()} are {w.neg()}.",
        "n-unprotected-dehum": lambda: f"{r(NOT_PROTECTED).capitalize()} are {w.dehum()}.",
        "n-unprotected-hatred": lambda: f"I {r(['hate', 'despise', 'loathe'])} {r(NOT_PROTECTED)}.",
        "n-homonym": lambda: (lambda pair: pair[1].format(pair[0]))(w.rng.choice(HOMONYMS)),
        "n-reclaimed": lambda: (
            f"{r(['I am a proud', 'Me and my fellow', 'Us'])} {r(w.reclaimable)} "
            f"{r(['are marching today.', 'run this town.', 'look out for each other.'])}"
        ),
        "n-policy": lambda: f"I disagree with the new policy on {w.G()}, but let us talk about it.",
    }


def rng_int(w: Words) -> int:
    return w.rng.randint(2, 30)


_LEET = str.maketrans("aeio", "4310")


def disguise(text: str, rng: random.Random) -> str:
    """One disguised spelling of a content word: leetspeak, spaced letters, a dropped or
    swapped letter, or a space added or removed."""
    tokens = text.split(" ")
    i = rng.randrange(len(tokens))
    word = tokens[i]
    how = rng.choice(("leet", "spaced", "drop", "swap", "split", "join"))
    if how == "leet":
        tokens[i] = word.translate(_LEET)
    elif how == "spaced":
        tokens[i] = " ".join(word)
    elif how == "drop" and len(word) > 4:
        k = rng.randrange(1, len(word) - 1)
        tokens[i] = word[:k] + word[k + 1 :]
    elif how == "swap" and len(word) > 4:
        k = rng.randrange(1, len(word) - 2)
        tokens[i] = word[:k] + word[k + 1] + word[k] + word[k + 2 :]
    elif how == "split" and len(word) > 4:
        k = rng.randrange(2, len(word) - 1)
        tokens[i] = word[:k] + " " + word[k:]
    elif how == "join" and i + 1 < len(tokens):
        tokens[i : i + 2] = [word + tokens[i + 1]]
    return " ".join(tokens)


def build(rng: random.Random) -> list[dict[str, object]]:
    w = Words(rng)
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    for label, templates in ((1, _hateful(w)), (0, _not_hateful(w))):
        for template, make in templates.items():
            made = 0
            for _ in range(PER_TEMPLATE * 20):
                text = make()
                text = text[0].upper() + text[1:]
                if rng.random() < 0.15:
                    text = text.lower().rstrip(".")  # as people type in chats
                if text not in seen:
                    seen.add(text)
                    rows.append({"text": text, "label": label, "group": template})
                    made += 1
                if made == PER_TEMPLATE:
                    break
            if label == 1 and template != "h-slur-street":
                for _ in range(6):  # disguised copies keep their template's id
                    text = disguise(make(), rng)
                    if text not in seen:
                        seen.add(text)
                        rows.append({"text": text, "label": 1, "group": template})
    for row in rows:
        row["source"] = "template"
    rng.shuffle(rows)
    return rows


def main() -> None:
    rows = build(random.Random(SEED))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    hateful = sum(1 for r in rows if r["label"] == 1)
    groups = len({r["group"] for r in rows})
    print(f"{OUT}: {len(rows)} rows ({hateful} hateful), {groups} templates")


if __name__ == "__main__":
    main()
