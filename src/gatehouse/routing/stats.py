"""Live statistics of one deployment: calls in flight, smoothed latency, recent load.

The strategies read these numbers to order deployments; `SlidingCounter` (the
per-second ring behind every "last N seconds" figure here) is shared with the breaker.
Everything is O(1) per call and runs on one event loop, so nothing is locked.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class SlidingCounter:
    """A sum over the last `window_s` seconds, kept in a ring of one-second buckets.

    An amount added at time t is counted until the ring has moved ceil(window_s)
    whole seconds past t's second, i.e. for between window_s - 1 and window_s
    seconds. Callers pass `now` so that several counters updated together agree
    on the time (a call and its failure must never land in different seconds).
    """

    __slots__ = ("_buckets", "_head", "_second", "_total")

    def __init__(self, window_s: float, now: float) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0, got {window_s!r}")
        self._buckets = [0] * max(1, math.ceil(window_s))
        self._head = 0  # index of the bucket for `_second`
        self._second = math.floor(now)
        self._total = 0

    def add(self, now: float, amount: int = 1) -> None:
        """Count `amount` (>= 0) at time `now`."""
        self._advance(now)
        self._buckets[self._head] += amount
        self._total += amount

    def total(self, now: float) -> int:
        """The sum of what was added within the window ending at `now`."""
        self._advance(now)
        return self._total

    def clear(self) -> None:
        if self._total:
            for i in range(len(self._buckets)):
                self._buckets[i] = 0
            self._total = 0

    def _advance(self, now: float) -> None:
        second = math.floor(now)
        gap = second - self._second
        if gap <= 0:  # same second; a clock that stepped back counts as "now" too
            return
        self._second = second
        buckets = self._buckets
        size = len(buckets)
        if gap >= size:
            # The whole window has passed: O(window) at most once per idle spell.
            self._head = (self._head + gap) % size
            self.clear()
            return
        head = self._head
        for _ in range(gap):
            head = (head + 1) % size
            self._total -= buckets[head]
            buckets[head] = 0
        self._head = head


class DeploymentStats:
    """What one worker has seen of one deployment recently.

    `begin()` / `end()` (or `cancel()`) bracket every call. Latency and TTFT are
    exponentially weighted moving averages of successful calls only: a deployment
    that fails fast must not look fast. Counts cover the last `window_s` seconds
    (one minute by default, hence the method names, which match upstream rpm/tpm limits).
    """

    __slots__ = (
        "_alpha",
        "_calls",
        "_clock",
        "_failures",
        "_tokens",
        "ewma_latency_s",
        "ewma_ttft_s",
        "in_flight",
        "last_sample_at",
    )

    def __init__(
        self,
        *,
        alpha: float = 0.2,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        self._alpha = alpha
        self._clock = clock
        now = clock()
        self._calls = SlidingCounter(window_s, now)
        self._failures = SlidingCounter(window_s, now)
        self._tokens = SlidingCounter(window_s, now)
        self.in_flight = 0
        self.ewma_latency_s: float | None = None
        self.ewma_ttft_s: float | None = None
        self.last_sample_at: float | None = None

    def begin(self) -> float:
        """A call starts; returns its start time, to be handed back to `end()`."""
        self.in_flight += 1
        return self._clock()

    def end(
        self, started: float, *, ok: bool, ttft_s: float | None = None, tokens: int = 0
    ) -> None:
        """A call ended with a verdict; `ttft_s` only for streams, `tokens` if known."""
        now = self._clock()
        self._leave()
        self._calls.add(now)
        if tokens:
            self._tokens.add(now, tokens)
        if not ok:
            self._failures.add(now)
            return
        alpha = self._alpha
        latency = now - started
        ewma = self.ewma_latency_s
        # The first sample is taken as is: averaging it with 0 would flatter a new deployment.
        self.ewma_latency_s = latency if ewma is None else ewma + alpha * (latency - ewma)
        if ttft_s is not None:
            ewma = self.ewma_ttft_s
            self.ewma_ttft_s = ttft_s if ewma is None else ewma + alpha * (ttft_s - ewma)
        self.last_sample_at = now

    def cancel(self) -> None:
        """A call ended without a verdict (client went away): it is not counted."""
        self._leave()

    def add_tokens(self, tokens: int) -> None:
        """Tokens known only after the call ended (e.g. a usage chunk read later)."""
        if tokens:
            self._tokens.add(self._clock(), tokens)

    def requests_last_minute(self) -> int:
        return self._calls.total(self._clock())

    def tokens_last_minute(self) -> int:
        return self._tokens.total(self._clock())

    def error_rate(self) -> float:
        now = self._clock()
        calls = self._calls.total(now)
        return self._failures.total(now) / calls if calls else 0.0

    def snapshot(self) -> dict[str, object]:
        latency, ttft = self.ewma_latency_s, self.ewma_ttft_s
        return {
            "in_flight": self.in_flight,
            "ewma_latency_ms": None if latency is None else round(latency * 1000.0, 1),
            "ewma_ttft_ms": None if ttft is None else round(ttft * 1000.0, 1),
            "requests_last_minute": self.requests_last_minute(),
            "tokens_last_minute": self.tokens_last_minute(),
            "error_rate": round(self.error_rate(), 4),
        }

    def _leave(self) -> None:
        # Never below zero: one stray double end() must not make a deployment look
        # permanently idle to least-inflight.
        if self.in_flight > 0:
            self.in_flight -= 1
