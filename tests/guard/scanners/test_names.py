from __future__ import annotations

import pytest

from gatehouse.guard.scanners.base import Finding
from gatehouse.guard.scanners.names import NamePii


@pytest.fixture(scope="module")
def scanner() -> NamePii:
    return NamePii()


def spans(scanner: NamePii, text: str) -> set[tuple[str, str]]:
    return {(f.type, text[f.start : f.end]) for f in scanner.scan(text)}


def test_interface(scanner: NamePii) -> None:
    assert scanner.name == "pii_ner"
    assert scanner.isolated is True
    assert {"PERSON", "ORGANIZATION", "LOCATION", "STREET_ADDRESS", "NRP", "TITLE"} <= set(
        scanner.types
    )
    found = scanner.scan("Please ask Margaret Okafor about it.")
    assert all(isinstance(f, Finding) and 0 < f.score <= 1 for f in found)


def test_person_after_name_cue(scanner: NamePii) -> None:
    text = "Hello, my name is Rosalind Whitfield and I need help with a refund."
    assert ("PERSON", "Rosalind Whitfield") in spans(scanner, text)


def test_person_with_title(scanner: NamePii) -> None:
    text = "The letter was signed by Dr. Henrik Lindqvist yesterday."
    found = spans(scanner, text)
    assert ("TITLE", "Dr.") in found
    assert ("PERSON", "Henrik Lindqvist") in found


def test_org_with_suffix(scanner: NamePii) -> None:
    text = "Last year I moved to Brightwater Logistics Ltd. as their accountant."
    found = spans(scanner, text)
    assert ("ORGANIZATION", "Brightwater Logistics Ltd.") in found
    assert ("TITLE", "accountant") in found


def test_org_of_partner_surnames(scanner: NamePii) -> None:
    text = "The contract is with Parker, Doyle and Sutton from now on."
    assert ("ORGANIZATION", "Sutton") in spans(scanner, text) or (
        "ORGANIZATION",
        "Parker, Doyle and Sutton",
    ) in spans(scanner, text)


def test_places(scanner: NamePii) -> None:
    text = "We drove from Rotterdam to Germany over the weekend."
    found = spans(scanner, text)
    assert ("LOCATION", "Rotterdam") in found
    assert ("LOCATION", "Germany") in found


def test_nationality(scanner: NamePii) -> None:
    assert ("NRP", "Portuguese") in spans(scanner, "Her grandfather was Portuguese, I think.")


def test_multiline_address_found_whole(scanner: NamePii) -> None:
    address = "41 Merrow Road\nFlat 3\nGuildford\nUnited Kingdom GU1 2QP"
    text = f"Please send the parcel to:\n{address}\nThanks!"
    found = spans(scanner, text)
    assert ("STREET_ADDRESS", address) in found
    assert ("LOCATION", "Guildford") in found


def test_foreign_street_compound(scanner: NamePii) -> None:
    text = "She lives at Nordre Ringvej 14, 2600 Glostrup these days."
    found = {s for s in spans(scanner, text) if s[0] == "STREET_ADDRESS"}
    assert found == {("STREET_ADDRESS", "Nordre Ringvej 14, 2600 Glostrup")}


def test_unit_line(scanner: NamePii) -> None:
    assert ("STREET_ADDRESS", "Suite 1200") in spans(scanner, "Deliver it to Suite 1200 please.")


def test_sentence_initial_ordinary_words_not_flagged(scanner: NamePii) -> None:
    text = "Yesterday was long. Nothing worked. Maybe tomorrow. Please call back."
    assert scanner.scan(text) == []


def test_lowercase_prose_has_nothing(scanner: NamePii) -> None:
    text = (
        "the quick brown fox jumps over the lazy dog while the kettle boils and "
        "everyone waits for the meeting to start at noon."
    )
    assert scanner.scan(text) == []


def test_code_like_text_has_no_address(scanner: NamePii) -> None:
    text = "for i in range(10): total += values[i] * 2"
    assert not [f for f in scanner.scan(text) if f.type == "STREET_ADDRESS"]
