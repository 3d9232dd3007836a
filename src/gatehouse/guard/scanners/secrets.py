"""Credentials in text: provider key formats, private keys, passwords, random tokens.

Types (our names; Presidio has none for these):

* ``AWS_ACCESS_KEY`` - ``AKIA``/``ASIA``/... and 16 upper-case letters or digits.
* ``AWS_SECRET_KEY`` - 40 base64 characters within reach of an AWS word.
* ``GCP_API_KEY`` - ``AIza`` and 35 URL-safe characters.
* ``GCP_SERVICE_ACCOUNT`` - the value of a ``"private_key"`` JSON field.
* ``AZURE_KEY`` - ``AccountKey=``/``SharedAccessKey=`` values, and 32-hex or 84/88-char
  keys within reach of an Azure word.
* ``GITHUB_TOKEN`` (``ghp_ gho_ ghu_ ghs_ ghr_ github_pat_``), ``GITLAB_TOKEN``
  (``glpat-``), ``SLACK_TOKEN`` (``xoxb-`` ...), ``SLACK_WEBHOOK`` (the whole URL),
  ``OPENAI_API_KEY`` (``sk-``, ``sk-proj-``), ``ANTHROPIC_API_KEY`` (``sk-ant-``),
  ``STRIPE_KEY`` (``sk_live_``/``rk_live_``; test keys score lower), ``GATEHOUSE_KEY``
  (our own ``gh-`` and 43 URL-safe characters).
* ``PRIVATE_KEY`` - a whole PEM block, or from ``BEGIN`` to the end of the text when the
  block is cut off.
* ``JWT`` - three base64url segments whose header decodes to JSON with ``alg``.
* ``URL_PASSWORD`` - the password of ``scheme://user:password@host`` (only the password).
* ``PASSWORD`` - the value after ``password=``, ``"password": "..."``, ``pwd:``,
  ``password is ...``.
* ``HIGH_ENTROPY`` - any other token of 20+ base64/hex characters that mixes letters and
  digits (or both cases) at random: high Shannon entropy and frequent changes of
  character class, which tells ``aB3x9Qz...`` from ``camelCaseIdentifiers2`` and paths.
  UUIDs are skipped (identifiers far more often than credentials); a hex digest of
  32/40/64 characters is probably a hash, so it scores below the default threshold.

A specific type wins over ``HIGH_ENTROPY`` for the text it covers. Every span covers the
whole token: quotes and trailing punctuation stay outside, the key's characters inside.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterator

from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, ScanContext

# Where another secret starts. A variable-length token stops there, so two secrets
# written back to back come out as two findings. Only prefixes of four or more
# characters: a shorter one turns up inside random key bodies too often.
_NEXT = (
    r"(?:AKIA|ASIA|AIza|gh[pousr]_|github_pat_|glpat-|xox[baprs]-|sk-ant-|sk-proj-"
    r"|[sr]k_live_|[sr]k_test_)"
)
_URLSAFE = "A-Za-z0-9_-"


def _token(chars: str, least: int) -> str:
    """``least`` or more of ``chars``, stopping where another known secret begins."""
    return rf"(?:(?!{_NEXT})[{chars}]){{{least},}}"


def _fixed(chars: str, count: int) -> str:
    """Exactly ``count`` of ``chars``, then the token's end or another secret."""
    return rf"[{chars}]{{{count}}}(?:(?![{chars}])|(?={_NEXT}))"


# Prefixes distinctive enough to need no boundary before them, so a key written right
# after another one is still found; "sk-" and "gh-" need one ("task-", "high-").
_SPECS = [
    (
        "AWS_ACCESS_KEY",
        ("AKIA", "ASIA", "ABIA", "ACCA"),
        # No end boundary: AWS key ids are exactly 20 characters, so the first 20 of a
        # longer run (a key glued to the next value) are the key.
        "(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}",
        0.95,
    ),
    ("GCP_API_KEY", "AIza", "AIza" + _fixed(_URLSAFE, 35), 0.95),
    ("GITHUB_TOKEN", "gh", "gh[pousr]_" + _token("A-Za-z0-9", 30), 0.95),
    ("GITHUB_TOKEN", "github_pat_", "github_pat_" + _token("A-Za-z0-9_", 22), 0.95),
    ("GITLAB_TOKEN", "glpat-", "glpat-" + _token(_URLSAFE, 20), 0.95),
    ("SLACK_TOKEN", "xox", "xox[baprs]-" + _token("A-Za-z0-9-", 10), 0.9),
    (
        "SLACK_WEBHOOK",
        "hooks.slack.com",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]+",
        0.95,
    ),
    ("ANTHROPIC_API_KEY", "sk-ant-", "sk-ant-" + _token(_URLSAFE, 32), 0.95),
    ("OPENAI_API_KEY", "sk-", "sk-(?:proj|svcacct|admin)-" + _token(_URLSAFE, 20), 0.95),
    (
        "OPENAI_API_KEY",
        "sk-",
        "(?<![A-Za-z0-9_-])sk-(?!ant-|proj-|svcacct-|admin-)" + _token(_URLSAFE, 20),
        0.9,
    ),
    ("STRIPE_KEY", "_live_", "[sr]k_live_" + _token("A-Za-z0-9", 16), 0.95),
    ("STRIPE_KEY", "_test_", "[sr]k_test_" + _token("A-Za-z0-9", 16), 0.6),
    ("GATEHOUSE_KEY", "gh-", "(?<![A-Za-z0-9_-])gh-" + _fixed(_URLSAFE, 43), 0.95),
]
#: (type, substrings one of which must be in the text, pattern, score)
_PREFIXED = [
    (kind, (gate,) if isinstance(gate, str) else gate, re.compile(pattern), score)
    for kind, gate, pattern, score in _SPECS
]

_PEM_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----")
_GCP_PRIVATE_KEY = re.compile(r'"private_key"\s*:\s*"((?:[^"\\]|\\.)*)')
_JWT = re.compile(r"(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{4,})\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_URL_TOKEN = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://([A-Za-z0-9_~.-]{16,})@")
#: mysql -u admin -pSECRET (the client's only way to take a password inline)
_CLI_PASSWORD = re.compile(r"\bmysql(?:dump|admin|sh)?\b[^\n]*?\s-p(?![\s-])([^\s'\"]+)")
#: Subresource-integrity hashes (npm lockfiles, <script integrity=...>): digests, not keys.
_SRI = re.compile(r"sha(?:1|256|384|512)-")
_URL_PASSWORD = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'\"<>]+:([^\s/@'\"<>]+)@")
_PASSWORD = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Za-z_]*(?:password|passwd|passphrase|pwd)|pass)['\"]?"
    r"(?:\s*(?::=|=>|[:=])\s*|\s+is\s+(?P<prose>))"
    r"(?:\"(?P<dq>[^\"\n]*)\"|'(?P<sq>[^'\n]*)'|(?P<bare>[^\s\"',;()}\[\]]+))",
    re.I,
)
_PLACEHOLDER = re.compile(
    r"\*+|x+|X+|\.{3}|<[^>]*>|\{\{?[^}]*\}\}?|\$\{?\w+\}?|%\(?\w*\)?s|None|null|nil|true|false"
    r"|undefined|required|optional|string|str",
    re.I,
)
_IDENTIFIER = re.compile(r"[A-Za-z_][\w.]*(?:\(.*)?")

_AWS_WORDS = re.compile(r"aws|amazon|secret.?access", re.I)
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AZURE_INLINE = re.compile(r"(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{20,}={0,2})")
_AZURE_WORDS = re.compile(r"azure|ocp-apim-subscription-key|cognitive", re.I)
_AZURE_KEY = re.compile(
    r"(?<![A-Za-z0-9+/])(?:[0-9a-fA-F]{32}|[A-Za-z0-9]{84}|[A-Za-z0-9+/]{86}==)"
    r"(?![A-Za-z0-9+/=])"
)
#: How far after its context word a context-dependent key may start.
_KEY_REACH = 120

_CANDIDATE = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{20,}={0,2}(?![A-Za-z0-9+/=_-])")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_DIGEST_LENGTHS = (32, 40, 64, 128)
_LOWER_RUN = re.compile(r"[a-z]+")
_MAX_MEAN_LOWER_RUN = 2.5


class SecretScanner:
    """API keys, tokens, private keys and passwords, by format and by randomness."""

    name = "secrets"
    types = frozenset(
        {
            "AWS_ACCESS_KEY",
            "AWS_SECRET_KEY",
            "GCP_API_KEY",
            "GCP_SERVICE_ACCOUNT",
            "AZURE_KEY",
            "GITHUB_TOKEN",
            "GITLAB_TOKEN",
            "SLACK_TOKEN",
            "SLACK_WEBHOOK",
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "STRIPE_KEY",
            "GATEHOUSE_KEY",
            "PRIVATE_KEY",
            "JWT",
            "URL_PASSWORD",
            "PASSWORD",
            "HIGH_ENTROPY",
        }
    )
    isolated = False

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        found: list[Finding] = []
        for kind, gates, pattern, score in _PREFIXED:
            if any(gate in text for gate in gates):
                found += _prefixed(kind, pattern, score, text)
        if "PRIVATE KEY" in text:
            found += _private_keys(text)
        if "eyJ" in text:
            found += _jwts(text)
        if "://" in text:
            found += list(_url_passwords(text, found))
        lowered = text.lower()
        if "pass" in lowered or "pwd" in lowered:
            found += _passwords(text)
        if "mysql" in lowered:
            found += _cli_passwords(text)
        if "aws" in lowered or "amazon" in lowered or "secret_access" in lowered:
            found += _near_words("AWS_SECRET_KEY", _AWS_WORDS, _AWS_SECRET, text, 0.9)
        if "key=" in lowered:
            found += _azure_inline(text)
        if "azure" in lowered or "ocp-apim" in lowered or "cognitive" in lowered:
            found += _near_words("AZURE_KEY", _AZURE_WORDS, _AZURE_KEY, text, 0.85)
        found += _high_entropy(text, found)
        return found


def _prefixed(kind: str, pattern: re.Pattern[str], score: float, text: str) -> Iterator[Finding]:
    for m in pattern.finditer(text):
        if kind == "OPENAI_API_KEY" and not any(c.isdigit() for c in m.group()):
            continue  # "sk-" and a run of hyphenated words
        yield Finding(kind, m.start(), m.end(), score)


def _private_keys(text: str) -> Iterator[Finding]:
    for begin in _PEM_BEGIN.finditer(text):
        end_marker = f"-----END {begin[1]}PRIVATE KEY{begin[2] or ''}-----"
        end = text.find(end_marker, begin.end())
        stop = len(text) if end < 0 else end + len(end_marker)
        yield Finding("PRIVATE_KEY", begin.start(), stop, 1.0)
    if '"private_key"' in text:
        for m in _GCP_PRIVATE_KEY.finditer(text):
            if m.end(1) > m.start(1):
                yield Finding("GCP_SERVICE_ACCOUNT", m.start(1), m.end(1), 0.95)


def _jwts(text: str) -> Iterator[Finding]:
    for m in _JWT.finditer(text):
        header = m[1]
        try:
            decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        except (ValueError, binascii.Error):
            continue
        if isinstance(decoded, dict) and "alg" in decoded:
            yield Finding("JWT", m.start(), m.end(), 0.95)


def _url_passwords(text: str, specific: list[Finding]) -> Iterator[Finding]:
    for m in _URL_PASSWORD.finditer(text):
        if not _PLACEHOLDER.fullmatch(m[1]):
            yield Finding("URL_PASSWORD", m.start(1), m.end(1), 0.9)
    # A long token alone before "@" (https://TOKEN@host, a Sentry DSN's key) is a
    # credential too, whatever its shape: hex keys would otherwise pass for digests.
    for m in _URL_TOKEN.finditer(text):
        token = m[1]
        if _covered(m.start(1), m.end(1), specific) or _PLACEHOLDER.fullmatch(token):
            continue  # a token of a known kind already found there
        if any(c.isdigit() for c in token):
            yield Finding("URL_PASSWORD", m.start(1), m.end(1), 0.8)


def _cli_passwords(text: str) -> Iterator[Finding]:
    for m in _CLI_PASSWORD.finditer(text):
        if not _PLACEHOLDER.fullmatch(m[1]):
            yield Finding("PASSWORD", m.start(1), m.end(1), 0.85)


def _passwords(text: str) -> Iterator[Finding]:
    for m in _PASSWORD.finditer(text):
        group = next(g for g in ("dq", "sq", "bare") if m[g] is not None)
        value = m[group]
        start, end = m.start(group), m.end(group)
        if not value or _PLACEHOLDER.fullmatch(value):
            continue
        if m["prose"] is not None:
            # "the password is incorrect": only a value with a digit or symbol counts.
            if value.isalpha():
                continue
            score = 0.7
        elif group != "bare":
            score = 0.9
        elif _IDENTIFIER.fullmatch(value) and not any(c.isdigit() for c in value):
            score = 0.4  # a variable or a call: password = get_password()
        else:
            score = 0.85
        yield Finding("PASSWORD", start, end, score)


def _near_words(
    kind: str, words: re.Pattern[str], value: re.Pattern[str], text: str, score: float
) -> Iterator[Finding]:
    seen: set[int] = set()
    for word in words.finditer(text):
        for m in value.finditer(text, word.end(), min(len(text), word.end() + _KEY_REACH)):
            token = m.group()
            mixed = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
            if mixed and m.start() not in seen:
                seen.add(m.start())
                yield Finding(kind, m.start(), m.end(), score)


def _azure_inline(text: str) -> Iterator[Finding]:
    for m in _AZURE_INLINE.finditer(text):
        yield Finding("AZURE_KEY", m.start(1), m.end(1), 0.95)


def _entropy(token: str) -> float:
    n = len(token)
    return -sum(c / n * math.log2(c / n) for c in Counter(token).values())


def _looks_random(token: str) -> bool:
    """Random tokens switch character class often; words and identifiers do not.

    In random base64 or hex a run of lower-case letters is under two long on average;
    in ``getUserAccountSettings2`` or ``x86_64_linux_gnu`` it is a word long.
    """
    runs = _LOWER_RUN.findall(token)
    if runs:
        return sum(map(len, runs)) / len(runs) <= _MAX_MEAN_LOWER_RUN
    # No lower case (AWS-style upper case and digits): count changes of class.
    switches = sum(a.isdigit() != b.isdigit() for a, b in itertools.pairwise(token))
    return switches / len(token) >= 0.25


def _high_entropy(text: str, specific: list[Finding]) -> Iterator[Finding]:
    for m in _CANDIDATE.finditer(text):
        start, end = m.span()
        while text[start] in "/-_" and end - start > 20:  # "//ghp_…" in a URL: not the token
            start += 1
        token = text[start:end]
        if _SRI.match(token):
            continue
        has_digit = any(c.isdigit() for c in token)
        has_lower = any(c.islower() for c in token)
        has_upper = any(c.isupper() for c in token)
        if not (has_digit and (has_lower or has_upper)) and not (has_lower and has_upper):
            continue
        if _UUID.fullmatch(token) or not _looks_random(token):
            continue
        if _covered(start, end, specific):
            continue
        if _HEX.fullmatch(token):
            if _entropy(token) < 3.0:
                continue
            score = 0.4 if len(token) in _DIGEST_LENGTHS else 0.6
        else:
            if _entropy(token) < 3.5:
                continue
            score = 0.85 if len(token) >= 32 else 0.7
        yield Finding("HIGH_ENTROPY", start, end, score)


def _covered(start: int, end: int, findings: list[Finding]) -> bool:
    """True when the findings together cover all of ``[start, end)``."""
    for f in sorted(findings, key=lambda f: f.start):
        if f.start <= start < f.end:
            start = f.end
    return start >= end
