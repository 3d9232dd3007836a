"""The limit engine's interface: the rules a call is admitted under, and `Limiter`.

The policy layer turns a call into `Rule`s (requests or tokens per sliding window,
calls in flight, a USD budget per period) and asks an engine to admit it against all of
them at once, then settles the call when it ends. `MemoryLimiter` (``memory_limiter.py``)
serves one process; `RedisLimiter` (``redis_limiter.py``) shares the counters between
processes and replicas. Both follow the semantics documented on `Limiter`, which their
tests check side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

Kind = Literal["requests", "tokens", "concurrent", "budget"]
KINDS: frozenset[str] = frozenset(get_args(Kind))

#: How long an unsettled record is remembered after it stopped counting (a tokens entry
#: left its window, a budget reservation outlived its lease), so that a late `settle`
#: still charges the real tokens or cost exactly once. Later than that a settle is a no-op.
LATE_SETTLE_S = 3600.0
#: Retry-After of a refusal that ends when some call in flight ends: nobody knows when.
NOMINAL_RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class Rule:
    name: str  # unique id of the counter, composed by the caller, e.g. "key:k_1:rpm"
    kind: Kind
    limit: int  # requests | tokens per window | calls in flight | micro-USD per period
    window_s: float  # sliding window; budget: seconds until the period ends (0 = never)
    label: str  # for messages, e.g. "key 'ci-bot' requests per minute"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"rule {self.name!r}: unknown kind {self.kind!r}")
        if self.limit < 0:
            raise ValueError(f"rule {self.name!r}: limit must be >= 0")
        if self.window_s < 0 or (self.kind in ("requests", "tokens") and not self.window_s > 0):
            raise ValueError(f"rule {self.name!r}: window_s out of range ({self.window_s})")


@dataclass(slots=True)
class RuleState:
    rule: Rule
    used: int  # after this admission (including it when admitted)
    remaining: int  # max(0, limit - used)
    reset_s: float  # requests/tokens: until every entry has left the window; budget: period end


@dataclass(slots=True)
class Admission:
    admitted: bool
    states: list[RuleState]  # one per rule, same order as given
    refused: Rule | None  # the first rule (in the given order) that refused
    retry_after_s: float | None  # when that rule would admit this same call; None: never


class LimiterUnavailable(Exception):
    """The shared store (Redis) could not be reached or answered with an error.

    ``sent``: whether the operation may have run anyway (False: it never reached the
    store, so an admission took nothing and needs no giving back).
    """

    def __init__(self, message: str, *, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


class LimiterUnsupported(Exception):
    """The shared store can never serve the limits (a Redis older than the script needs)."""


class Limiter(Protocol):
    """Counters of rate limits, concurrency and budgets, shared by whoever holds the engine.

    ``admit`` is atomic and all-or-nothing: if any rule refuses, nothing is recorded for
    any rule. Otherwise each rule records the call under ``request_id``:

    * ``requests``: an entry of weight 1 in a sliding-window log (an entry made at ``t``
      counts while ``now < t + window_s``); refused when ``count + 1 > limit``.
    * ``tokens``: an entry of weight ``tokens`` in such a log; refused when
      ``sum + tokens > limit``. ``settle`` sets its weight to the real tokens, keeping its
      time; if it already left the window, only the excess is added, as an entry at now.
    * ``concurrent``: a lease until ``now + lease_s``; refused when ``live + 1 > limit``.
    * ``budget``: a reservation of ``cost`` micro-USD under a lease of ``lease_s``;
      refused when ``spent >= limit`` or ``spent + reserved + cost > limit``. ``settle``
      drops the reservation and adds the real cost to ``spent``.

    Choices the engines share:

    * A ``request_id`` already recorded by a counter (still in its window, leased, or
      remembered for a late settle) is not recorded again: that rule admits it as is.
      A retried admission therefore never counts a call twice.
    * Idempotent settle: a settled tokens entry is marked settled and keeps that mark
      while in the window; a budget reservation is deleted when settled. Records that
      stopped counting unsettled are remembered for `LATE_SETTLE_S`, so a late settle
      still charges the real tokens (the excess) or cost once; a settle that comes later
      still, or a second settle, changes nothing (the periodic `seed` heals budgets).
    * Retry-After: requests/tokens, until enough oldest weight leaves the window (None
      when the call alone exceeds the limit); concurrent, `NOMINAL_RETRY_S`; budget,
      None when ``cost > limit``, the period's end (or None without one) when spent
      alone leaves no room, `NOMINAL_RETRY_S` when only others' reservations are in
      the way. A rule with ``limit`` 0 never admits (None).
    * A refused admission reports every rule's state as it is, without this call.
    * Budget ``spent`` expires ``window_s`` after its last write (settle, seed); with
      ``window_s`` 0 it never expires. ``reset_s`` of a budget is its ``window_s``.
    """

    async def admit(
        self, request_id: str, rules: Sequence[Rule], tokens: int, cost: int, lease_s: float
    ) -> Admission: ...

    async def settle(self, request_id: str, rules: Sequence[Rule], tokens: int, cost: int) -> None:
        """Once when an admitted call ends, with its rules, real tokens and real cost."""

    async def release(self, request_id: str, rules: Sequence[Rule]) -> None:
        """Give back everything an admission of ``request_id`` took, requests entries
        included: its answer never reached the caller (a timeout, a cancelled caller),
        so the call was not admitted by these counters. Idempotent; a no-op for an id
        the rules don't hold."""

    async def spend(self, rules: Sequence[Rule]) -> list[tuple[int, int]]:
        """Per rule (spent, live reserved) of a budget, (used now, 0) of any other kind."""

    async def seed(self, rule: Rule, spent: int) -> None:
        """Raise a budget's spent to at least ``spent`` (restored from the request log)."""

    async def check(self) -> None:
        """At start-up: LimiterUnsupported if the engine can never work, LimiterUnavailable
        if it can't be reached now."""

    async def close(self) -> None: ...


def check_amounts(tokens: int, cost: int, lease_s: float) -> None:
    if tokens < 0 or cost < 0:
        raise ValueError("tokens and cost must be >= 0")
    if not lease_s > 0:
        raise ValueError("lease_s must be > 0")


def make_admission(
    rules: Sequence[Rule],
    usage: Sequence[tuple[int, float]],
    refused: int | None,
    retry_after_s: float | None,
) -> Admission:
    """An `Admission` from (used, reset_s) per rule and the index of the refusing rule."""
    states = [
        RuleState(rule, used, max(0, rule.limit - used), reset_s)
        for rule, (used, reset_s) in zip(rules, usage, strict=True)
    ]
    if refused is None:
        return Admission(True, states, None, None)
    return Admission(False, states, rules[refused], retry_after_s)
