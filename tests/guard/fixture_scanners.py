"""Scanners with fixed, known behaviour for `gatehouse guard eval` tests."""

from __future__ import annotations

import re

from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, ScanContext

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_BOB = re.compile(r"\bBob\b")


class Fixed:
    """E-mail addresses (score 0.9) and every "Bob" as PERSON (score 0.3)."""

    name = "fixed"
    types = frozenset({"EMAIL_ADDRESS", "PERSON"})
    isolated = False

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        found = [Finding("EMAIL_ADDRESS", m.start(), m.end(), 0.9) for m in _EMAIL.finditer(text)]
        found += [Finding("PERSON", m.start(), m.end(), 0.3) for m in _BOB.finditer(text)]
        return found


class Jailbreakish:
    """A classifier flagging texts that say "ignore" (score 0.8)."""

    name = "jailbreakish"
    types = frozenset({"JAILBREAK"})
    isolated = False

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        if "ignore" in text.lower():
            return [Finding("JAILBREAK", 0, len(text), 0.8)]
        return []


class Recording:
    """Finds nothing; keeps the context of every text it was asked about."""

    name = "recording"
    types = frozenset({"NOTHING"})
    isolated = False
    seen: list[tuple[str, ScanContext]] = []

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        self.seen.append((text, context))
        return []
