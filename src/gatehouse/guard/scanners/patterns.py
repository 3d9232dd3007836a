"""PII found by shape: patterns, checksums and context words, no model.

Entity names follow Presidio. Shapes that validate (Luhn, mod-97, ``ipaddress``) or
that are unambiguous score 0.85-1.0; shapes that could be many things (short digit
groups, bare years, nine bare digits) score below the default threshold of 0.5 and
cross it only when a context word sits nearby, as Presidio's context enhancement
does. ``ZIP_CODE``, ``AGE``, ``US_DRIVER_LICENSE``, ``US_BANK_NUMBER``,
``US_PASSPORT`` and ``UK_NHS`` are reported only next to their context words: bare
digits are too ambiguous. URLs and bare domains are both ``DOMAIN_NAME``.

The gateway runs this on every request, so each recogniser is gated by a cheap test
(an ``@``, a digit, a lowered keyword) and most prose skips most of them.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
import string
from collections.abc import Iterator

from gatehouse.guard.scanners import dates
from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, ScanContext
from gatehouse.guard.scanners.numbers import (
    Claimed,
    Windows,
    matches_in,
    near,
    numeric_windows,
    overlaps,
)

#: Presidio's context enhancement: a context word lifts a score by this much.
CONTEXT_BOOST = 0.35


# An address is read outwards from its "@": the local part by hand, the domain by regex.
_EMAIL_LOCAL = frozenset(string.ascii_letters + string.digits + "._%+-")
_EMAIL_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)

# -- domains and URLs ---------------------------------------------------------------

_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`]+|\bwww\.[A-Za-z0-9-]+\.[^\s<>\"'`]+", re.I)
_URL_TAIL = ".,;:!?)]}'\""
# Bare domains need a TLD from this list. Two-letter country codes that are also
# common file extensions (.py, .md, .sh, .rs, .pl, .js ...) are left out on purpose:
# prompts are full of file names.
_GENERIC_TLDS = "com|org|net|edu|gov|info|biz|io|ai|app|dev|cloud|online|site|tech|store|xyz"
_COUNTRY_TLDS = (
    "uk|us|ca|de|fr|es|it|nl|be|ch|at|se|no|dk|fi|pt|br|au|nz|jp|cn|ru|eu|cz|sk|hu|ro"
    "|gr|ie|il|mx|ar|cl|uy|za|kr|tw|hk|sg|cy|ee|lv|lt|si|hr|bg|tr|ua|is|lu|co|me|tv"
)
#: How far before its TLD a bare domain may start.
_DOMAIN_REACH = 80
_HOST = frozenset(string.ascii_letters + string.digits + "-.")
_TLD_HINT = re.compile(rf"\.(?:{_GENERIC_TLDS}|{_COUNTRY_TLDS})\b")
_BARE_DOMAIN = re.compile(
    r"(?<![\w@.-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    rf"(?:(?P<generic>{_GENERIC_TLDS})|{_COUNTRY_TLDS})(?:\.[a-z]{{2}})?(?![\w@-]|\.\w)"
)

# -- numbers with checksums -----------------------------------------------------------

_CARD = re.compile(
    r"(?<![\w+.,-])(?:\d{12,19}|\d{4}(?P<sep>[ -])\d{4}(?P=sep)\d{4}(?P=sep)\d{1,4}"
    r"(?:(?P=sep)\d{3})?|\d{4}[ -]\d{6}[ -]\d{4,5})(?!\d|[.,-]\d)"
)
# Numeric patterns open with a character class and check what precedes it only after
# that first character: the regex engine then skips ahead to candidates in C instead
# of trying the look-behind at every position.
_IBAN = re.compile(
    # Not inside a word, but right after a number is fine (values glued together).
    r"[A-Z](?<![A-Za-z_-][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]{4}){2,8}(?: ?[A-Z0-9]{1,4})?",
    re.I,
)
# Per-country IBAN lengths (SWIFT's registry).
_IBAN_LENGTHS = {
    **dict.fromkeys(["NO"], 15),
    **dict.fromkeys(["BE"], 16),
    **dict.fromkeys(["DK", "FI", "FO", "GL", "NL", "SD", "FK"], 18),
    **dict.fromkeys(["MK", "SI"], 19),
    **dict.fromkeys(["AT", "BA", "EE", "KZ", "LT", "LU", "XK", "MN"], 20),
    **dict.fromkeys(["CH", "HR", "LI", "LV"], 21),
    **dict.fromkeys(["BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA"], 22),
    **dict.fromkeys(["AE", "GI", "IL", "IQ", "TL", "OM", "SO"], 23),
    **dict.fromkeys(["AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"], 24),
    **dict.fromkeys(["LY", "PT", "ST"], 25),
    **dict.fromkeys(["IS", "TR"], 26),
    **dict.fromkeys(["FR", "GR", "IT", "MC", "MR", "SM", "BI", "DJ"], 27),
    **dict.fromkeys(["AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "PL", "SV", "NI"], 28),
    **dict.fromkeys(["BR", "EG", "PS", "QA", "UA"], 29),
    **dict.fromkeys(["JO", "KW", "MU", "YE"], 30),
    **dict.fromkeys(["MT", "SC"], 31),
    **dict.fromkeys(["LC"], 32),
    **dict.fromkeys(["RU"], 33),
}
_SSN = re.compile(r"(\d(?<![\d-]\d)\d{2})([- ])(\d{2})\2(\d{4})(?![\d-]|\.\d)")
_IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?!\d|\.\d)")
#: "firmware version is now 4.2.0.17": a version word shortly before, same line.
_VERSION_NEAR = re.compile(r"\b(?:version|ver\.?|release|firmware|build|v)\b[^\n]{0,12}\Z", re.I)
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:|::?)(?:[0-9A-Fa-f]{0,4}:){1,7}"
    r"(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.\d)"
)

_AGE_MARGIN = 16
_LETTERS = frozenset(string.ascii_letters)
_UPPER = frozenset(string.ascii_uppercase)


_PHONE = re.compile(
    r"(?<![\w+/.:$€£-])(?:\+\d{1,3}[ .-]?)?(?:\(0\)[ .-]?)?"
    r"(?:\(\d{1,4}\)[ .-]?)?\d{1,15}(?:[ .-]\d{1,8}){0,5}"
    r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w/]|[.,:-]\d)"
)
_NANP = re.compile(
    r"(?:\+?1[ .-]?|001[ .-])?(?:\([2-9]\d\d\) ?|[2-9]\d\d[ .-])\d{3}[ .-]\d{4}"
    r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?"
)
_TRUNK_GROUPED = re.compile(r"0\d{1,4}(?:[ .-]\d{2,8}){1,4}")
_PHONE_WORD_LIST = (
    r"\b(?:phone|tel|telephone|mobile|mob|cell|cellphone|fax|call|calling|office|desk"
    r"|contact|reach|text|sms|whatsapp|dial|ring|landline|hotline|answering|messages?)\b"
)
_PHONE_WORDS = re.compile(_PHONE_WORD_LIST, re.I)
# The same on lower-cased text: re.I makes every position of a 2 KB text try every word
# both ways, nearly three times slower.
_PHONE_WORDS_LOWER = re.compile(_PHONE_WORD_LIST)

# -- context-only entities ------------------------------------------------------------

#: type -> (lowered substrings that gate it, context regex, value regex, score)
_CONTEXT_ONLY: dict[str, tuple[tuple[str, ...], re.Pattern[str], re.Pattern[str], float]] = {
    "ZIP_CODE": (
        ("zip", "postal", "postcode", "post code"),
        re.compile(r"\b(?:zip|postal)\b|\bpost\s?code\b|\bzipcode\b", re.I),
        re.compile(
            r"(?<![\w-])(?:[A-Z]\d[A-Z] ?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"
            r"|\d{4} ?[A-Z]{2}|\d{5}-\d{3,4}|\d{2}-\d{3}|\d{3} \d{2}|\d{3,6})(?![\w-])"
        ),
        0.85,
    ),
    "US_DRIVER_LICENSE": (
        ("driver", "driving", "dl#", "dl:", "dl "),
        re.compile(r"\b(?:driver'?s?|driving)\s+licen[sc]e\b|\bDL\b", re.I),
        re.compile(r"(?<![\w-])(?=[A-Z0-9-]*\d{4})[A-Z0-9][A-Z0-9-]{4,18}[A-Z0-9](?![\w-])"),
        0.85,
    ),
    "US_BANK_NUMBER": (
        ("account n", "account #", "bank account", "acct", "routing"),
        re.compile(r"\b(?:bank\s+account|account\s+(?:number|no\.?|#)|acct\.?|routing)", re.I),
        re.compile(r"(?<![\w-])\d{8,17}(?![\w-])"),
        0.75,
    ),
    "US_PASSPORT": (
        ("passport",),
        re.compile(r"\bpassport\b", re.I),
        re.compile(r"(?<![\w-])[A-Z]?\d{8,9}(?![\w-])"),
        0.75,
    ),
    "UK_NHS": (
        ("nhs",),
        re.compile(r"\bNHS\b", re.I),
        re.compile(r"(?<![\w-])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\w-])"),
        0.9,
    ),
}
#: How far after its context word a context-only value may start.
_VALUE_REACH = 40

_AGE = re.compile(
    r"\b(\d{1,3})(?:\s?(?:years?|yrs?)[ -]old\b|[ -]year[ -]old\b|\s?y/?o\b)"
    r"|\b(?:aged|age(?: of|:| is)?|turn(?:s|ed|ing)?)\s+(\d{1,3})\b(?![.,]\d|\s?(?:%|degrees))"
    r"|\bwhen (?:he|she|I|they|we|you) (?:was|were) (\d{1,3})(?=[.!,;]|\s*$)",
    re.I,
)
_AGE_GATES = ("old", "age", "turn", "y/o", "yo ", "yo.", "yo,", "when")
# Canadian and UK postcodes have shapes distinctive enough to stand alone.
_POSTCODE = re.compile(
    r"[A-Z](?<!\w[A-Z])(?:(?<=[ABCEGHJ-NPRSTVXY])\d[ABCEGHJ-NPRSTV-Z] \d[ABCEGHJ-NPRSTV-Z]\d"
    r"|(?<=[A-PR-UWYZ])[A-HK-Y]?\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2})\b"
)
_SSN_WORDS = re.compile(r"\b(?:ssn|social security|social sec)", re.I)
_BARE_SSN = re.compile(r"(?<![\w-])(\d{3})(\d{2})(\d{4})(?![\w-])")
_CARD_WORDS = re.compile(r"\b(?:card|visa|mastercard|amex|credit|debit|cc)\b", re.I)


class PatternPii:
    """Emails, cards, IBANs, SSNs, IPs, phones, dates, domains and a few context-only
    identifiers, by pattern and checksum."""

    name = "pii"
    types = frozenset(
        {
            "EMAIL_ADDRESS",
            "PHONE_NUMBER",
            "CREDIT_CARD",
            "IBAN_CODE",
            "US_SSN",
            "IP_ADDRESS",
            "DATE_TIME",
            "DOMAIN_NAME",
            "ZIP_CODE",
            "AGE",
            "US_DRIVER_LICENSE",
            "US_BANK_NUMBER",
            "US_PASSPORT",
            "UK_NHS",
        }
    )
    isolated = False

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        found: list[Finding] = []
        if "@" in text:
            found += _emails(text)
        found += _domains(text, found)
        found += dates.date_words(text)
        windows = numeric_windows(text)
        if not windows:
            return found
        lowered = text.lower()
        found += _context_only(text, lowered)
        found += _postcodes(text, windows)
        found += _ages(text, windows, lowered)
        found += _ssns(text, windows, lowered)
        for recogniser in (_cards, _ibans, _ips, dates.dates):
            found += recogniser(text, windows)
        ibans = [f for f in found if f.type == "IBAN_CODE"]
        if ibans:  # a Luhn-valid run of digits inside an IBAN is part of the IBAN
            found = [
                f for f in found if f.type != "CREDIT_CARD" or not overlaps(f.start, f.end, ibans)
            ]
        found += list(_phones(text, windows, found))
        found += list(dates.years(text, windows, found))
        return found


#: What comes before the "user:password@" or "token@" of a URL (postgres://, https://):
#: the part before "@" is credentials, not a mailbox (the secrets scanner's concern).
_URL_USERINFO = re.compile(r"(?://|://[^\s/@:]{1,64}:)\Z")


def _emails(text: str) -> Iterator[Finding]:
    at = text.find("@")
    while at >= 0:
        start = at
        while start > 0 and at - start < 64 and text[start - 1] in _EMAIL_LOCAL:
            start -= 1
        while start < at and not text[start].isalnum():
            start += 1
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if start < at and domain is not None and not _URL_USERINFO.search(text, 0, start):
            yield Finding("EMAIL_ADDRESS", start, domain.end(), 1.0)
        at = text.find("@", at + 1)


def _domains(text: str, emails: list[Finding]) -> Iterator[Finding]:
    urls: list[Finding] = []
    if "://" in text or "www." in text:
        for url in _URL.finditer(text):
            end = url.end()
            while end > url.start() and text[end - 1] in _URL_TAIL:
                end -= 1
            urls.append(Finding("DOMAIN_NAME", url.start(), end, 0.95))
        yield from urls
    last_end = -1
    for hint in _TLD_HINT.finditer(text):
        if hint.start() < last_end:
            continue
        start = hint.start()  # walk back to where the host name begins
        while start > 0 and hint.start() - start < _DOMAIN_REACH and text[start - 1] in _HOST:
            start -= 1
        bare = _BARE_DOMAIN.match(text, start, min(len(text), hint.end() + 8))
        if bare is None or bare.end() <= hint.start():
            continue
        last_end = bare.end()
        if not (overlaps(start, last_end, urls) or overlaps(start, last_end, emails)):
            yield Finding("DOMAIN_NAME", start, last_end, 0.85 if bare["generic"] else 0.6)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_issuer_fits(d: str) -> bool:
    """True when the number's prefix belongs to a card network issuing that length."""
    n, two, four = len(d), int(d[:2]), int(d[:4])
    if d[0] == "4":
        return n in (13, 16, 19)
    if two in (34, 37):
        return n == 15
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (30, 36, 38, 39):
        return 14 <= n <= 19
    if two == 35:
        return 16 <= n <= 19
    if four in (1800, 2131):  # the old 15-digit JCB ranges
        return n == 15
    # Discover, UnionPay and Maestro (5018, 5020, 56-58, 6304, 6759, 676x and the
    # 0604 range issuer tables still list) share 12-19 digits.
    return d[0] in "56" or four == 604


def _cards(text: str, windows: Windows) -> Iterator[Finding]:
    for m in matches_in(_CARD, text, windows, 12):
        digits = re.sub(r"\D", "", m.group())
        if not (_card_issuer_fits(digits) and _luhn(digits)):
            continue
        score = 1.0 if len(digits) >= 14 else 0.7
        if score < 1 and near(_CARD_WORDS, text, m.start(), m.end()):
            score = 0.95
        yield Finding("CREDIT_CARD", m.start(), m.end(), score)


def _ibans(text: str, windows: Windows) -> Iterator[Finding]:
    for w in windows:
        if w.digits < 6 or _LETTERS.isdisjoint(w.edges):
            continue
        pos = w.start
        while (m := _IBAN.search(text, pos, w.end)) is not None:
            end = _iban_end(text, m)
            if end is None:
                pos = m.start() + 1  # the next IBAN may start inside this match (glued)
                continue
            yield Finding("IBAN_CODE", m.start(), end, 1.0)
            pos = end


def _iban_end(text: str, m: re.Match[str]) -> int | None:
    """Where the IBAN starting at ``m`` ends, if it is one (length and mod-97)."""
    length = _IBAN_LENGTHS.get(m.group()[:2].upper())
    if length is None:
        return None
    # Take exactly the country's length of characters: a trailing word of four
    # letters may have been swallowed by the group pattern.
    chars, end = 0, m.start()
    while end < m.end() and chars < length:
        chars += text[end] != " "
        end += 1
    if chars != length:
        return None
    value = text[m.start() : end]
    # Followed by more letters or digits, only an upper-case IBAN counts (glued to the
    # next value); a lower-case run inside a longer token is a base64 coincidence.
    if end < len(text) and text[end].isalnum() and not value.isupper():
        return None
    iban = value.replace(" ", "").upper()
    rotated = iban[4:] + iban[:4]
    return end if int("".join(str(int(c, 36)) for c in rotated)) % 97 == 1 else None


def _ssn_valid(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _ssns(text: str, windows: Windows, lowered: str) -> Iterator[Finding]:
    for m in matches_in(_SSN, text, windows, 9, frozenset("- ")):
        if _ssn_valid(m[1], m[3], m[4]):
            score = 0.85 if m[2] == "-" else 0.45
            if near(_SSN_WORDS, text, m.start(), m.end()):
                score = min(1.0, score + CONTEXT_BOOST)
            yield Finding("US_SSN", m.start(), m.end(), score)
    if "ss" not in lowered and "social" not in lowered:
        return
    for m in matches_in(_BARE_SSN, text, windows, 9):
        if _ssn_valid(m[1], m[2], m[3]) and near(_SSN_WORDS, text, m.start(), m.end()):
            yield Finding("US_SSN", m.start(), m.end(), 0.75)


def _ips(text: str, windows: Windows) -> Iterator[Finding]:
    if "." in text:
        for m in matches_in(_IPV4, text, windows, 4, frozenset(".")):
            if _VERSION_NEAR.search(text, max(0, m.start() - 40), m.start()):
                continue  # "version 1.2.3.4"
            try:
                ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            yield Finding("IP_ADDRESS", m.start(), m.end(), 0.95)
    if ":" in text:
        for m in matches_in(_IPV6, text, windows, 1, frozenset(":"), frozenset(":")):
            value = m.group()
            if value.count(":") < 2 or not any(c.isdigit() for c in value):
                continue
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            yield Finding("IP_ADDRESS", m.start(), m.end(), 0.95)


def _phones(text: str, windows: Windows, found: list[Finding]) -> Iterator[Finding]:
    claimed = Claimed(found)
    words: list[tuple[int, int]] | None = None  # the phone words of the text, found once
    for m in matches_in(_PHONE, text, windows, 7):
        if claimed.overlaps(m.start(), m.end()):  # a card, an IBAN, a date: cheapest first
            continue
        value = m.group()
        digits = sum(map(str.isdigit, value))
        if not 7 <= digits <= 15:
            continue
        if (value[0] == "+" and digits >= 8) or _NANP.fullmatch(value):
            score = 0.95
        elif value[0] == "(" or (digits >= 10 and _TRUNK_GROUPED.fullmatch(value)):
            score = 0.75
        elif digits == len(value):
            score = 0.3  # bare digits: an id, an amount, an order number...
        else:
            score = 0.4  # short groups: '467 3395', '78 651 450'
        if score < 0.95:
            if words is None:
                words = _phone_words(text)
            if _word_near(words, m.start() - 30, m.end() + 12):
                score = min(1.0, score + CONTEXT_BOOST)
        yield Finding("PHONE_NUMBER", m.start(), m.end(), round(score, 2))


def _phone_words(text: str) -> list[tuple[int, int]]:
    lowered = text.lower()
    if len(lowered) == len(text):  # lower() kept every offset (it doesn't always: "İ")
        return [w.span() for w in _PHONE_WORDS_LOWER.finditer(lowered)]
    return [w.span() for w in _PHONE_WORDS.finditer(text)]


def _word_near(words: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether one of the (sorted) word spans lies within [start, end)."""
    i = bisect.bisect_left(words, (start, 0))
    return i < len(words) and words[i][1] <= end


def _context_only(text: str, lowered: str) -> Iterator[Finding]:
    for kind, (gates, words, value, score) in _CONTEXT_ONLY.items():
        if not any(gate in lowered for gate in gates):
            continue
        for word in words.finditer(text):
            m = value.search(text, word.end(), min(len(text), word.end() + _VALUE_REACH))
            if m is None:
                continue
            if kind == "UK_NHS" and not _nhs_valid(re.sub(r"\D", "", m.group())):
                continue
            yield Finding(kind, m.start(), m.end(), score)


def _postcodes(text: str, windows: Windows) -> Iterator[Finding]:
    for m in matches_in(_POSTCODE, text, windows, 1, edges=_UPPER):
        yield Finding("ZIP_CODE", m.start(), m.end(), 0.6)


def _nhs_valid(digits: str) -> bool:
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    return check != 10 and check % 11 == int(digits[9])


def _ages(text: str, windows: Windows, lowered: str) -> Iterator[Finding]:
    if not any(word in lowered for word in _AGE_GATES):
        return
    near_words = []
    for w in windows:
        start, end = max(0, w.start - _AGE_MARGIN), w.end + _AGE_MARGIN
        if any(word in lowered[start:end] for word in _AGE_GATES):
            near_words.append(w._replace(start=start, end=min(len(text), end)))
    for m in matches_in(_AGE, text, near_words, 1):
        group = next(g for g in (1, 2, 3) if m[g] is not None)
        if int(m[group]) <= 125:
            yield Finding("AGE", m.start(group), m.end(group), 0.6 if group == 3 else 0.85)
