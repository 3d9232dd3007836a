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


def _of(scanner: NamePii, text: str, kind: str) -> set[str]:
    return {s for t, s in spans(scanner, text) if t == kind}


def test_frequent_words_of_other_languages_are_not_people(scanner: NamePii) -> None:
    text = (
        "Bonjour, merci pour votre aide. Mon colis est perdu. Hola, mi pedido no llegó. "
        "Bitte helfen Sie mir. Mein Paket fehlt. Grazie mille, Giulia Romano"
    )
    assert _of(scanner, text, "PERSON") == {"Giulia Romano"}


def test_common_names_survive_foreign_words(scanner: NamePii) -> None:
    text = "Vielen Dank für Ihre Hilfe. Viele Grüße, Sabine Krüger"
    assert _of(scanner, text, "PERSON") == {"Sabine Krüger"}


def test_acronyms_labels_and_pronouns_are_not_people(scanner: NamePii) -> None:
    text = "Thanks, I sent the IBAN and the AWS ISO SOC report to the UI team. Tel: 555 0100."
    assert _of(scanner, text, "PERSON") == set()
    assert _of(scanner, "CONTACT: SARAH JOHNSON", "PERSON") == {"SARAH JOHNSON"}


def test_dates_words_are_not_people(scanner: NamePii) -> None:
    text = "We meet in June, or am 3. Juni, or Jan 12. Ask June Carter about Tuesday."
    assert _of(scanner, text, "PERSON") == {"June Carter"}
    assert _of(scanner, "Jan Kowalski called.", "PERSON") == {"Jan Kowalski"}


def test_i_am_is_not_part_of_the_name(scanner: NamePii) -> None:
    text = "Hello, I'm Priya Raghunathan and I\u2019m writing about my bill."
    assert _of(scanner, text, "PERSON") == {"Priya Raghunathan"}


def test_dates_times_and_digit_groups_are_not_addresses(scanner: NamePii) -> None:
    text = (
        "Logged at 2024-03-14T09:13:02Z. Born 02 Jan 1975, renewed 5 October 2024. "
        "Paid via UnionPay 6212 3456 7890 1234. Then 2 - 12x more and 4 more via PayPal."
    )
    assert _of(scanner, text, "STREET_ADDRESS") == set()


@pytest.mark.parametrize(
    "address",
    [
        "14 rue des Tanneurs, 69002 Lyon",
        "Unit 5, 22 Kelly Street, Ultimo NSW 2007",
        "77 Harbour View Terrace, Wellington 6011",
        "Am Hafen 7\n28217 Bremen",
        "1-2-3 Jingumae, Shibuya-ku, Tokyo 150-0001",
        "Calle de Alcalá 45, 28014 Madrid",
        "Viale Monza 12, 20127 Milano",
    ],
)
def test_addresses_of_many_countries_found_whole(scanner: NamePii, address: str) -> None:
    text = f"Please ship it to:\n{address}\nThank you."
    assert _of(scanner, text, "STREET_ADDRESS") == {address}
    street_line = address.split(",")[0].split("\n")[0]
    assert not any(
        street_line.find(s) >= 0
        for kind in ("PERSON", "NRP", "LOCATION")
        for s in _of(scanner, text, kind)
    )


def test_legal_forms_of_many_countries(scanner: NamePii) -> None:
    text = (
        "We invoiced Acme S.r.l., Kowalski Sp. z o.o., Nordlys AS, Brightwater Pty Ltd, "
        "Van Dijk B.V., Hansa GmbH & Co. KG, Kone Oyj, Maersk A/S, Dupont SARL, "
        "Grant LLP and Apple Inc. last week."
    )
    assert _of(scanner, text, "ORGANIZATION") == {
        "Acme S.r.l.",
        "Kowalski Sp. z o.o.",
        "Nordlys AS",
        "Brightwater Pty Ltd",
        "Van Dijk B.V.",
        "Hansa GmbH & Co. KG",
        "Kone Oyj",
        "Maersk A/S",
        "Dupont SARL",
        "Grant LLP",
        "Apple Inc.",
    }


def test_institutions(scanner: NamePii) -> None:
    text = (
        "She studied at the Indian Institute of Science and the University of Leeds, "
        "banks with Harbourside Credit Union and heard from the Bundesagentur für Arbeit "
        "and the Internal Revenue Service."
    )
    assert _of(scanner, text, "ORGANIZATION") == {
        "Indian Institute of Science",
        "University of Leeds",
        "Harbourside Credit Union",
        "Bundesagentur für Arbeit",
        "Internal Revenue Service",
    }


def test_product_codes_are_not_organisations(scanner: NamePii) -> None:
    text = "Our B2B SaaS revenue grew in Q3 and the PhD team shipped it."
    assert _of(scanner, text, "ORGANIZATION") == set()


def test_signature_titles(scanner: NamePii) -> None:
    text = "Best regards,\nMarta Lindqvist\nHead of Procurement\n\nTomas Berg\nProduct Manager"
    found = spans(scanner, text)
    assert {s for t, s in found if t == "TITLE"} == {"Head of Procurement", "Product Manager"}
    assert {s for t, s in found if t == "PERSON"} == {"Marta Lindqvist", "Tomas Berg"}
    text = "Jan Kowalski, Senior Engineer at Acme"
    assert _of(scanner, text, "TITLE") == {"Senior Engineer"}
    assert _of(scanner, text, "PERSON") == {"Jan Kowalski"}
