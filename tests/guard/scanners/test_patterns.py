"""The pattern PII scanner: each type found with its exact span, look-alikes left alone.

Numbers with checksums are computed here (Luhn, mod-97), not copied from anywhere.
"""

from __future__ import annotations

import pytest

from gatehouse.guard.scanners.patterns import PatternPii
from gatehouse.guard.scanners.registry import build
from tests.guard.values import iban, luhn_break, luhn_complete

THRESHOLD = 0.5  # a policy's default
scanner = PatternPii()


def found(text: str, kind: str | None = None) -> list[tuple[str, str]]:
    """(type, exact text) of findings at or above the default threshold."""
    return sorted(
        (f.type, text[f.start : f.end])
        for f in scanner.scan(text)
        if f.score >= THRESHOLD and (kind is None or f.type == kind)
    )


def values(text: str, kind: str) -> list[str]:
    return [value for _, value in found(text, kind)]


def test_registry_builds_it() -> None:
    built = build("pii")
    assert built.name == "pii" and built.isolated is False
    assert {"EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER"} <= built.types


def test_prose_without_pii_yields_nothing() -> None:
    text = (
        "Could you summarise the attached report in three bullet points? Focus on what "
        "changed since the last review, keep it under 200 words, and skip the appendix. "
        "We spent 3 weeks on the pilot and saw a 12% improvement across 4 teams."
    )
    assert found(text) == []


# -- email ----------------------------------------------------------------------------


def test_email_spans_and_no_domain_inside_it() -> None:
    text = "Write to jane.doe+news@mail.example.co.uk, or (ops@example.org)."
    assert found(text) == [
        ("EMAIL_ADDRESS", "jane.doe+news@mail.example.co.uk"),
        ("EMAIL_ADDRESS", "ops@example.org"),
    ]


def test_at_sign_without_an_address() -> None:
    assert values("ping @channel about item @ 5", "EMAIL_ADDRESS") == []


# -- cards ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "groups", "sep"),
    [
        ("411111111111111", (16,), ""),  # Visa
        ("555555555555444", (4, 4, 4, 4), " "),  # Mastercard
        ("37828224631000", (4, 6, 5), "-"),  # Amex
        ("601111111111111", (4, 4, 4, 4), "-"),  # Discover
        ("3530111333300000", (17,), ""),  # JCB, 17 digits
    ],
)
def test_luhn_valid_cards_are_found_whole(body: str, groups: tuple[int, ...], sep: str) -> None:
    number = luhn_complete(body)
    parts, at = [], 0
    for size in groups:
        parts.append(number[at : at + size])
        at += size
    shown = sep.join(parts)
    text = f"Card: {shown}, exp 12/29."
    assert values(text, "CREDIT_CARD") == [shown]


def test_luhn_invalid_or_unissued_numbers_are_not_cards() -> None:
    bad = luhn_break(luhn_complete("411111111111111"))
    unissued = luhn_complete("911111111111111")  # no network issues 9...
    assert values(f"ref {bad} and {unissued}", "CREDIT_CARD") == []


def test_card_digits_inside_a_longer_number_are_not_a_card() -> None:
    number = luhn_complete("411111111111111")
    assert values(f"id 9{number}9", "CREDIT_CARD") == []


# -- IBAN -----------------------------------------------------------------------------


def test_iban_compact_and_grouped() -> None:
    gb = iban("GB", "WEST12345698765432")
    de = iban("DE", "370400440532013000")
    grouped = " ".join(de[i : i + 4] for i in range(0, len(de), 4))
    text = f"Pay {gb} or {grouped} today."
    assert values(text, "IBAN_CODE") == sorted([gb, grouped])


def test_iban_followed_by_a_four_letter_word_keeps_its_length() -> None:
    gb = iban("GB", "WEST12345698765432")
    grouped = " ".join(gb[i : i + 4] for i in range(0, len(gb), 4))
    assert values(f"IBAN {grouped} from me", "IBAN_CODE") == [grouped]


def test_iban_with_bad_check_digits_or_length_is_not_reported() -> None:
    gb = iban("GB", "WEST12345698765432")
    wrong_check = gb[:2] + f"{(int(gb[2:4]) + 1) % 100:02d}" + gb[4:]
    too_short = iban("GB", "WEST1234569876543")
    assert values(f"{wrong_check} {too_short}", "IBAN_CODE") == []


# -- SSN ------------------------------------------------------------------------------


def test_ssn_with_dashes_and_with_spaces_in_context() -> None:
    assert values("His social security number is 536-22-1874.", "US_SSN") == ["536-22-1874"]
    assert values("SSN: 536 22 1874", "US_SSN") == ["536 22 1874"]


@pytest.mark.parametrize(
    "ssn", ["000-12-3456", "666-12-3456", "912-12-3456", "536-00-1874", "536-22-0000"]
)
def test_ssn_rules(ssn: str) -> None:
    assert values(f"SSN {ssn}", "US_SSN") == []


def test_bare_nine_digits_need_context() -> None:
    assert values("order 536221874 shipped", "US_SSN") == []
    assert values("my ssn is 536221874", "US_SSN") == ["536221874"]


# -- IP -------------------------------------------------------------------------------


def test_ipv4_and_ipv6() -> None:
    text = "From 192.168.10.254, 2001:db8:85a3::8a2e:370:7334 and fe80::1."
    assert values(text, "IP_ADDRESS") == [
        "192.168.10.254",
        "2001:db8:85a3::8a2e:370:7334",
        "fe80::1",
    ]


def test_not_ips() -> None:
    text = "octets 300.1.2.3, version 1.2.3.4, std::vector, time 11:34:56, pi 3.14159"
    assert values(text, "IP_ADDRESS") == []


# -- phones ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "+1-984-182-0190",
        "(579)888-3058",
        "905.674.3793",
        "345-899-3560x4587",
        "+44 20 7946 0958",
        "+447700900123",
        "+41 (0)85 806 98 67",
        "07700 900 966",
        "01.84.17.61.18",
        "(08) 8747 6301",
        "001-253-366-9781",
    ],
)
def test_phone_shapes_found_without_context(phone: str) -> None:
    assert values(f"See {phone} for details.", "PHONE_NUMBER") == [phone]


@pytest.mark.parametrize("phone", ["467 3395", "78 651 450", "60-56-85-91", "9498777106"])
def test_weak_phone_shapes_need_a_context_word(phone: str) -> None:
    assert values(f"The total was {phone} units.", "PHONE_NUMBER") == []
    assert values(f"Call me at {phone} tomorrow.", "PHONE_NUMBER") == [phone]
    assert values(f"{phone} (mobile)", "PHONE_NUMBER") == [phone]


def test_phone_look_alikes() -> None:
    card = luhn_complete("411111111111111")
    text = (
        f"In 1999 it cost $1,234,567.89; on 2024-03-05 at 10.0.0.12 we paid with {card} "
        "and the ratio was 3.1415926."
    )
    assert values(text, "PHONE_NUMBER") == []


# -- dates and times ------------------------------------------------------------------


def test_dates_and_times() -> None:
    text = (
        "Born 4/14/1962, moved 2018-02-24 12:45:18, met on Thursday, "
        "signed March 5, 2021 at 9am and again on 5 March 2021 at 14:30."
    )
    assert values(text, "DATE_TIME") == [
        "14:30",
        "2018-02-24 12:45:18",
        "4/14/1962",
        "5 March 2021",
        "9am",
        "March 5, 2021",
        "Thursday",
    ]


def test_years_after_a_date_word_only() -> None:
    assert values("The band was founded in 1973.", "DATE_TIME") == ["1973"]
    assert values("Room 1973 is upstairs.", "DATE_TIME") == []
    assert values("send it to 1987 74 Main Street", "DATE_TIME") == []


def test_not_dates() -> None:
    assert values("scores 31/45/2020 and 13/13/2020, May I ask?", "DATE_TIME") == []


# -- domains --------------------------------------------------------------------------


def test_urls_and_bare_domains() -> None:
    text = "See https://www.Example.com.pt/, www.example.org/docs and example.com. Read main.py."
    assert values(text, "DOMAIN_NAME") == [
        "example.com",
        "https://www.Example.com.pt/",
        "www.example.org/docs",
    ]


# -- context-only types ---------------------------------------------------------------


def test_zip_code_needs_context() -> None:
    assert values("My zip code is 94107", "ZIP_CODE") == ["94107"]
    assert values("ZIP: 7412 SL", "ZIP_CODE") == ["7412 SL"]
    assert values("We sold 94107 units", "ZIP_CODE") == []


def test_age() -> None:
    text = "She is a 36 year old nurse; he just turned 47 and I'm 23 y/o, aged 81."
    assert values(text, "AGE") == ["23", "36", "47", "81"]
    assert values("The pump turned 180 degrees; page 12", "AGE") == []


def test_driver_license_needs_context() -> None:
    assert values("My driver's license number is F162823540116", "US_DRIVER_LICENSE") == [
        "F162823540116"
    ]
    assert values("Ticket F162823540116 closed", "US_DRIVER_LICENSE") == []


def test_nhs_number_checked() -> None:
    assert values("NHS number 943 476 5919", "UK_NHS") == ["943 476 5919"]
    assert values("NHS number 943 476 5918", "UK_NHS") == []


def test_scores_stay_in_range() -> None:
    text = "Call +1-984-182-0190 or mail a@b.com on 2020-01-02; SSN 536-22-1874"
    assert all(0.0 <= f.score <= 1.0 for f in scanner.scan(text))


@pytest.mark.parametrize(
    "text",
    [
        "DATABASE_URL=postgres://admin:s3cretPw@db.internal.example.com:5432/app",
        "git remote add origin https://oauth2token123@gitlab.example.com/team/repo.git",
    ],
)
def test_url_credentials_are_not_mailboxes(text: str) -> None:
    assert values(text, "EMAIL_ADDRESS") == []


def test_a_card_shaped_run_inside_an_iban_is_the_iban() -> None:
    # A Swiss IBAN whose digits 6928 4412 0170 1523 happen to pass Luhn.
    assert luhn_complete("692844120170152") == "6928441201701523"
    number = iban("CH", "69284412017015239")
    spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    text = f"Pay to {spaced} by Friday"
    assert values(text, "IBAN_CODE") == [spaced]
    assert values(text, "CREDIT_CARD") == []


def test_a_version_shortly_before_a_dotted_quad_is_not_an_ip() -> None:
    assert values("the firmware version is now 4.2.0.17", "IP_ADDRESS") == []
    assert values("Version notes aside, we moved DNS to 8.8.8.8 today", "IP_ADDRESS") == ["8.8.8.8"]
