"""The hate scanner: hate towards protected groups flagged, profanity, criticism of
non-protected groups, negation, counter-speech, reclaimed slurs and homonyms not.

Slurs are read from the scanner's own table, so this file spells none out.
"""

from __future__ import annotations

import gzip
import time
import tracemalloc
from importlib import resources

import pytest

from gatehouse.guard.scanners.base import Finding
from gatehouse.guard.scanners.toxicity import ToxicityLexicon
from gatehouse.guard.scanners.toxicity_tokens import MAX_REPAIR, _lexicon, tag

THRESHOLD = 0.5
scanner = ToxicityLexicon()


def _slurs() -> list[tuple[str, str, str, str]]:
    table = resources.files("gatehouse.guard.scanners").joinpath("data/toxicity_slurs.tsv.gz")
    with table.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        rows = [line.rstrip("\n").split("\t") for line in lines if not line.startswith("#")]
    return [(term, group, tier, reclaimable) for term, group, tier, reclaimable, _ in rows]


SLURS = _slurs()
STRONG = next(t for t, _, tier, r in SLURS if tier == "strong" and r == "0" and t.isalpha())
HOMONYM = next(t for t, _, tier, _ in SLURS if tier == "ambiguous" and t.isalpha())
RECLAIMABLE = next(t for t, _, tier, r in SLURS if r == "1" and t.isalpha())


def score(text: str) -> float:
    return max((f.score for f in scanner.scan(text)), default=0.0)


def flagged(text: str) -> bool:
    return score(text) >= THRESHOLD


def spans(text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in scanner.scan(text) if f.score >= THRESHOLD]


def test_attributes() -> None:
    assert scanner.name == "toxicity" and scanner.isolated is False
    assert scanner.types == {"HATE", "DEHUMANISATION", "THREAT", "SLUR"}


def test_slur_table_is_well_formed() -> None:
    assert len(SLURS) > 200
    assert {tier for _, _, tier, _ in SLURS} == {"strong", "ambiguous"}
    assert {r for *_, r in SLURS} == {"0", "1"}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # derogation
        ("Honestly, refugees are the most pathetic people on earth.", "HATE"),
        ("Why are Jews always so greedy?", "HATE"),
        ("I reckon gay men are degenerates.", "HATE"),
        ("Disabled people are a burden on the rest of us.", "HATE"),
        # hatred expressed, with or without profanity
        ("I despise every single Muslim.", "HATE"),
        ("I am so sick of trans people.", "HATE"),
        ("Fuck all immigrants.", "HATE"),
        ("Black people make me sick.", "HATE"),
        # dehumanisation
        ("Asylum seekers are vermin.", "DEHUMANISATION"),
        ("Muslims are a plague on this country.", "DEHUMANISATION"),
        ("Women are nothing but property.", "DEHUMANISATION"),
        # threats, direct and normative
        ("I am going to shoot every gay person I see.", "THREAT"),
        ("Someone should hang those immigrants.", "THREAT"),
        ("Trans people deserve to die.", "THREAT"),
        ("Death to all Jews.", "THREAT"),
        # exclusion
        ("Refugees should be deported, all of them.", "HATE"),
        ("Muslims have no place in our country.", "HATE"),
        # praise denied
        ("Disabled people are not human.", "DEHUMANISATION"),
        ("Black people cannot be trusted.", "HATE"),
        ("Immigrants are not welcome here.", "HATE"),
        # a group named before, then "they"
        ("I worked with some Muslims once. They are filthy.", "HATE"),
        # subject split from its verb by an aside
        ("Lesbians, if you ask me, are disgusting.", "HATE"),
        # the speaker's own feeling, inside a question
        ("Can you tell that I am disgusted by all the immigrants around here?", "HATE"),
        ("Kill every last one of those refugees.", "THREAT"),
    ],
)
def test_hate_is_flagged(text: str, kind: str) -> None:
    assert flagged(text), text
    assert kind in {t for t, _ in spans(text)}, spans(text)


@pytest.mark.parametrize(
    "text",
    [
        # profanity with no group
        "This fucking laptop crashed again.",
        "Shit, I missed the bus.",
        # abuse of an individual, an object, a group nobody is born into
        "You are a pathetic idiot.",
        "I will kill you if you eat my fries again.",
        "My landlord is scum.",
        "I hate this printer.",
        "Politicians are parasites.",
        "Lawyers should all be locked up.",
        # neutral and positive statements
        "Muslims are welcome here.",
        "I love being gay.",
        "My neighbour is a Jewish doctor.",
        "Immigrants make up a large share of nurses.",
        "Trans women are women.",
        "Deaf people use sign language.",
        # negated hate
        "Women are not inferior to men.",
        "I don't hate immigrants at all.",
        "Nobody should ever hurt a gay person.",
        "Refugees are not vermin.",
        # reports of harm, not hate
        "Violence against women is rising.",
        "Many Muslims were killed in the attack.",
        "Refugees will die at sea if nobody helps.",
        "Immigrants are often treated like criminals by the press.",
        # words that look like targets
        "Black coffee is disgusting.",
        "The white wine was gross.",
        "Kill the lights, please.",
        "I hate Mondays.",
    ],
)
def test_not_hate(text: str) -> None:
    assert not flagged(text), (text, spans(text))


@pytest.mark.parametrize(
    "text",
    [
        'Someone posted "immigrants are vermin" and I find that disgusting.',
        "Saying that gay people are sick is just bigotry.",
        "People who call Muslims rats are ignorant.",
        "It is wrong to hate disabled people.",
        "Stop saying women are stupid.",
        "My uncle claims refugees are parasites, which is a lie.",
        "It is simply false that women are weak.",
    ],
)
def test_counter_speech_is_not_hate(text: str) -> None:
    assert not flagged(text), (text, spans(text))


def test_counter_speech_scores_far_below_the_hate_it_quotes() -> None:
    assert score("Refugees are parasites.") > 0.8
    assert score('He said "refugees are parasites", which is a disgusting lie.') < 0.1


def test_negation_flips_both_ways() -> None:
    assert score("Gay people are disgusting.") > 0.8
    assert score("Gay people are not disgusting.") < 0.1
    assert score("Gay people are decent.") == 0.0  # praise: nothing to report
    assert score("Gay people are not decent.") > 0.8  # praise denied


def test_slurs() -> None:
    assert spans(f"Get out of my shop, you {STRONG}.") == [("SLUR", STRONG)]
    assert flagged(f"There are too many {HOMONYM} around here.")
    assert flagged(f"You are nothing but a {HOMONYM}.")
    assert flagged(f"He is a {HOMONYM}.")
    # the same word not aimed at anyone is its ordinary meaning
    assert not flagged(f"We had {HOMONYM} with gravy for dinner.")
    assert not flagged(f"The old dog is a {HOMONYM}.")


def test_reclaimed_use_of_a_slur() -> None:
    assert not flagged(f"I'm a proud {RECLAIMABLE} and I love my life.")
    assert flagged(f"Shut up, you filthy {STRONG}.")


@pytest.mark.parametrize(
    "text",
    [
        "W0m3n are d1sgusting.",  # leetspeak
        "Imm1gr@nts are v3rmin.",
        "I h a t e Muslims.",  # letters spaced out
        "Wmoen are disgusting.",  # letters swapped
        "Imigrants are disgusting.",  # a letter dropped
        "Gay people are disgustting.",  # a letter added
        "I hate mus lims.",  # a space added inside a word
        "womenare disgusting",  # a space removed
        "I hatewomen.",
        "Immigrants are v*rmin.",  # masked
        "Women are stuuupid.",  # letters repeated
    ],
)
def test_disguised_spellings(text: str) -> None:
    assert flagged(text), text


def test_spans_cover_the_decisive_phrase() -> None:
    text = "To be honest, refugees are vermin and I said so."
    assert spans(text) == [("DEHUMANISATION", "refugees are vermin")]
    spaced = "I h a t e gay people."
    assert spans(spaced) == [("HATE", "h a t e gay people")]


def test_every_finding_of_a_text_has_the_same_score() -> None:
    findings = scanner.scan("Muslims are vermin. Someone should shoot them all.")
    assert {f.type for f in findings} == {"DEHUMANISATION", "THREAT"}
    assert len({f.score for f in findings}) == 1
    assert all(isinstance(f, Finding) and 0.0 <= f.score <= 1.0 for f in findings)


def test_more_kinds_of_hate_score_higher() -> None:
    one = score("Muslims are vermin.")
    two = score("Muslims are vermin. Someone should shoot them all.")
    assert 0.5 < one < two < 1.0


def test_empty_and_plain_text() -> None:
    assert scanner.scan("") == []
    assert scanner.scan("The meeting is at 10am in room 4.") == []


def test_long_text_is_fast() -> None:
    scanner.scan("warm up")  # the lexicon loads once, on first use
    sentence = (
        "Refugees arrived in the city and women, men and disabled people helped them settle, "
        "while some said immigrants are vermin and that is disgusting. "
    )
    text = (sentence * (100_000 // len(sentence) + 1))[:100_000]
    started = time.perf_counter()
    scanner.scan(text)
    assert time.perf_counter() - started < 1.0
    unpunctuated = ("women immigrants hate kill vermin not " * 3000)[:100_000]
    started = time.perf_counter()
    scanner.scan(unpunctuated)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "text",
    [
        "a1" * 50_000,  # one long token, digits and letters: was quadratic in repair
        "aB3+" * 25_000,  # leetspeak throughout
        ("hatewomen" * 11_112)[:100_000],  # a single 100 KB word
    ],
    ids=["a1", "aB3+", "one-word"],
)
def test_long_token_is_fast_and_small(text: str) -> None:
    scanner.scan("warm up")
    tracemalloc.start()
    try:
        started = time.perf_counter()
        scanner.scan(text)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 50_000_000


def test_repair_bound_exceeds_the_longest_lexicon_words_run_together() -> None:
    assert 2 * max(len(w) for w in _lexicon().phrases) <= MAX_REPAIR


def test_run_together_words_are_still_split() -> None:
    assert [u.word for u in tag("hatewomen")] == ["hate", "women"]
    assert [u.word for u in tag("i hatewomenandmen")] == ["i", "hate", "women", "and", "men"]
    short = "hateresponsibilitieswomen"
    assert [u.word for u in tag(short)] == ["hate", "responsibilities", "women"]
    long = "hateresponsibilitiesresponsibilitieswomen"  # 41 letters, past the bound
    assert len(long) > MAX_REPAIR and [u.word for u in tag(long)] == [long]
