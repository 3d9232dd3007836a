"""The circuit breaker of one deployment: when to stop sending it calls, and when to try again.

CLOSED lets every call through and counts verdicts. Too many failures in a row, or
too high a failure share over a sliding window, open it: calls are refused for a
cooldown, after which it is HALF_OPEN and lets a few probe calls through. A probe
that succeeds closes it; one that fails re-opens it for twice as long (capped).

Contract with the caller: every `allow()` that returned True is followed by exactly
one of `record_success()`, `record_failure()` or `release()`; otherwise a probe slot
stays taken and a half-open breaker never lets another call through.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.routing.stats import SlidingCounter


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    consecutive_failures: int = 5  # open after this many failures in a row
    failure_rate: float = 0.5  # ...or when the failure share over the window reaches this
    window_s: float = 30.0  # sliding window for the rate
    min_requests: int = 10  # the rate rule needs at least this many calls in the window
    cooldown_s: float = 10.0  # open for this long, then half-open
    max_cooldown_s: float = 300.0  # a failed probe re-opens with double the cooldown, up to this
    half_open_probes: int = 1  # calls let through while half-open

    def __post_init__(self) -> None:
        problems = []
        if self.consecutive_failures < 1:
            problems.append("consecutive_failures must be >= 1")
        if not 0.0 < self.failure_rate <= 1.0:
            problems.append("failure_rate must be in (0, 1]")
        if not self.window_s > 0:
            problems.append("window_s must be > 0")
        if self.min_requests < 1:
            problems.append("min_requests must be >= 1")
        if not self.cooldown_s >= 0:
            problems.append("cooldown_s must be >= 0")
        if not self.max_cooldown_s >= self.cooldown_s:
            problems.append("max_cooldown_s must be >= cooldown_s")
        if self.half_open_probes < 1:
            problems.append("half_open_probes must be >= 1")
        if problems:
            raise ValueError("invalid breaker policy: " + "; ".join(problems))


OnChange = Callable[[str, BreakerState, BreakerState, str], None]


class CircuitBreaker:
    """One deployment's breaker, in one worker process."""

    __slots__ = (
        "_calls",
        "_clock",
        "_consecutive",
        "_cooldown_s",
        "_failures",
        "_on_change",
        "_open_until",
        "_probes",
        "_reason",
        "_state",
        "name",
        "policy",
    )

    def __init__(
        self,
        name: str,
        policy: BreakerPolicy = BreakerPolicy(),
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: OnChange | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self._clock = clock
        self._on_change = on_change
        now = clock()
        self._calls = SlidingCounter(policy.window_s, now)
        self._failures = SlidingCounter(policy.window_s, now)
        self._state = BreakerState.CLOSED
        self._reason: str | None = None  # why the last state change happened
        self._consecutive = 0
        self._cooldown_s = policy.cooldown_s  # the current one; grows on failed probes
        self._open_until = 0.0
        self._probes = 0  # probe calls in flight while half-open

    @property
    def state(self) -> BreakerState:
        """The current state; OPEN becomes HALF_OPEN here, once the cooldown has passed."""
        if self._state is BreakerState.OPEN and self._clock() >= self._open_until:
            self._probes = 0
            self._change(BreakerState.HALF_OPEN, f"cooldown of {self._cooldown_s:g}s elapsed")
        return self._state

    def allow(self) -> bool:
        """May a call go to this deployment now? While half-open, True reserves a probe slot."""
        if self._state is BreakerState.CLOSED:  # the hot path: no clock read
            return True
        if self.state is not BreakerState.HALF_OPEN:
            return False
        if self._probes >= self.policy.half_open_probes:
            return False
        self._probes += 1
        return True

    def record_success(self) -> None:
        state = self.state
        if state is BreakerState.CLOSED:
            self._consecutive = 0
            self._calls.add(self._clock())
        elif state is BreakerState.HALF_OPEN and self._probes:
            self._close("probe succeeded")
        # OPEN, or half-open with no probe out: a call admitted before the breaker
        # opened says nothing about the deployment now, so it is ignored.

    def record_failure(self, reason: str) -> None:
        """A call failed for a reason that is the deployment's fault (e.g. "upstream_timeout")."""
        state = self.state
        if state is BreakerState.CLOSED:
            self._count_failure(reason)
        elif state is BreakerState.HALF_OPEN and self._probes:
            # Never shorter than the base cooldown, even after a short trip().
            cooldown = max(self._cooldown_s * 2.0, self.policy.cooldown_s)
            self._open(min(cooldown, self.policy.max_cooldown_s), f"probe failed: {reason}")

    def release(self) -> None:
        """A call ended without a verdict (cancelled, client error): frees its probe slot."""
        if self._state is BreakerState.HALF_OPEN and self._probes:
            self._probes -= 1

    def trip(self, seconds: float, reason: str) -> None:
        """Open now for `seconds`, e.g. an upstream 429 whose Retry-After outlasts any retry."""
        seconds = max(0.0, seconds)
        if self._state is BreakerState.OPEN:
            # Already refusing calls: only ever lengthen, and it is not a state change.
            until = self._clock() + seconds
            if until > self._open_until:
                self._open_until = until
                self._cooldown_s = seconds
                self._reason = f"tripped for {seconds:g}s: {reason}"
            return
        self._open(seconds, f"tripped for {seconds:g}s: {reason}")

    def snapshot(self) -> dict[str, object]:
        state = self.state
        now = self._clock()
        calls = self._calls.total(now)
        failures = self._failures.total(now)
        return {
            "state": state.value,
            "reason": self._reason,
            "half_open_in_s": (
                round(max(0.0, self._open_until - now), 3) if state is BreakerState.OPEN else None
            ),
            "consecutive_failures": self._consecutive,
            "window_calls": calls,
            "window_failures": failures,
            "failure_rate": round(failures / calls, 4) if calls else 0.0,
        }

    def _count_failure(self, reason: str) -> None:
        policy = self.policy
        now = self._clock()
        self._consecutive += 1
        self._calls.add(now)
        self._failures.add(now)
        if self._consecutive >= policy.consecutive_failures:
            self._open(
                policy.cooldown_s, f"{self._consecutive} consecutive failures (last: {reason})"
            )
            return
        calls = self._calls.total(now)
        if calls >= policy.min_requests:
            rate = self._failures.total(now) / calls
            if rate >= policy.failure_rate:
                self._open(
                    policy.cooldown_s,
                    f"failure rate {rate:.0%} over {policy.window_s:g}s ({calls} calls)",
                )

    def _open(self, seconds: float, reason: str) -> None:
        self._cooldown_s = seconds
        self._open_until = self._clock() + seconds
        self._probes = 0
        self._change(BreakerState.OPEN, reason)

    def _close(self, reason: str) -> None:
        # A fresh start: failures from before the outage must not re-open it at once.
        self._consecutive = 0
        self._calls.clear()
        self._failures.clear()
        self._cooldown_s = self.policy.cooldown_s
        self._probes = 0
        self._change(BreakerState.CLOSED, reason)

    def _change(self, new: BreakerState, reason: str) -> None:
        old = self._state
        self._state = new
        self._reason = reason
        # Called last, with the breaker already consistent, in case the callback raises.
        if self._on_change is not None and old is not new:
            self._on_change(self.name, old, new, reason)
