"""What every scanner is: text and its context in, findings out.

A span scanner (PII, secrets) reports where each entity sits; a classifier reports one
finding over the whole text. Scanners are pure and synchronous: they hold no state
between calls, so one instance serves every request of a worker (or of the scan
worker process, for the heavy ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

Direction = Literal["input", "output"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a scanner found: ``text[start:end]`` is an entity of ``type``."""

    type: str  # Presidio's entity names where one exists: "EMAIL_ADDRESS", "PERSON", ...
    start: int
    end: int
    score: float  # confidence in [0, 1]; policies compare it with their threshold


@dataclass(frozen=True, slots=True)
class ScanContext:
    """Where the text comes from. Scanners may use it; none has to."""

    direction: Direction = "input"
    role: str = "user"  # the message's role; "assistant" for output
    trusted: bool = True  # false for tool results and content the client marks untrusted
    model: str = ""
    key_id: str | None = None
    #: For output scanners: the request's system and developer messages, joined.
    system: str = ""
    #: For output scanners: the canary the gateway wrote into the system prompt ("" if none).
    canary: str = ""
    #: For output scanners: the request's ``response_format`` (structured output), if any.
    response_format: dict[str, Any] | None = None


DEFAULT_CONTEXT = ScanContext()


class Scanner(Protocol):
    name: str  # the name policies and `gatehouse guard eval --scanner` use
    #: Entity types the scanner can report (for a classifier: its one label).
    types: frozenset[str]
    #: True for scanners too slow or too big for the gateway worker (models, large
    #: dictionaries): they run in the scan worker process under a time budget.
    isolated: bool
    #: True for scanners that can only judge a complete text (JSON validity): on a
    #: stream they run once, at its end. Optional; absent means False.
    # whole: bool

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        """Findings in ``text``, in any order; they may overlap."""
        ...
