"""Load-balancing strategies: the order in which one public model's deployments are tried.

A strategy only orders, best first; the router walks that order and skips deployments
whose breaker refuses. Wherever a strategy sees a tie it breaks it by a weighted random
draw, so configured weights still shape traffic among equals. Each `order()` is
O(n log n) for n deployments, with no I/O and no state beyond a counter.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol, TypeVar

from gatehouse.routing.stats import DeploymentStats


class Candidate(Protocol):
    """What a strategy needs to know of a deployment (read-only, so frozen dataclasses fit)."""

    @property
    def name(self) -> str: ...
    @property
    def weight(self) -> float: ...  # > 0
    @property
    def price_input(self) -> float | None: ...  # USD per 1M input tokens, None if unknown
    @property
    def price_output(self) -> float | None: ...
    @property
    def rpm_limit(self) -> int | None: ...  # None (or 0): unknown or unlimited
    @property
    def tpm_limit(self) -> int | None: ...
    @property
    def stats(self) -> DeploymentStats: ...


C = TypeVar("C", bound=Candidate)


class Strategy(Protocol):
    @property
    def name(self) -> str: ...
    def order(self, candidates: Sequence[C], *, estimated_tokens: int = 0) -> list[C]: ...


def _draw(random: Callable[[], float], weight: float) -> float:
    """An exponential variate with rate `weight`: sorting by it ascending is a weighted
    random order without replacement (Efraimidis-Spirakis), in one pass."""
    return -math.log(1.0 - random()) / weight


class BaseStrategy:
    """Common plumbing: the random source, the clock, and the one-candidate shortcut."""

    name: ClassVar[str]

    def __init__(
        self, *, rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rng = rng if rng is not None else random.Random()
        self._random = self._rng.random
        self._clock = clock

    def order(self, candidates: Sequence[C], *, estimated_tokens: int = 0) -> list[C]:
        if len(candidates) < 2:
            return list(candidates)
        return self._order(candidates, estimated_tokens)

    def _order(self, candidates: Sequence[C], estimated_tokens: int) -> list[C]:
        raise NotImplementedError


class WeightedRandom(BaseStrategy):
    """First pick by weight, then the next among the rest by weight, and so on."""

    name = "weighted"

    def _order(self, candidates: Sequence[C], estimated_tokens: int) -> list[C]:
        rnd = self._random
        return sorted(candidates, key=lambda c: _draw(rnd, c.weight))


class RoundRobin(BaseStrategy):
    """Each call starts one further along the list; the rest follow in list order."""

    name = "round-robin"

    def __init__(
        self, *, rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(rng=rng, clock=clock)
        # A random first offset, so that worker processes do not all start on the same one.
        self._next = self._rng.randrange(1 << 30)

    def _order(self, candidates: Sequence[C], estimated_tokens: int) -> list[C]:
        start = self._next % len(candidates)
        self._next += 1
        return [*candidates[start:], *candidates[:start]]


class LeastInFlight(BaseStrategy):
    """Fewest calls in flight first."""

    name = "least-inflight"

    def _order(self, candidates: Sequence[C], estimated_tokens: int) -> list[C]:
        rnd = self._random
        return sorted(candidates, key=lambda c: (c.stats.in_flight, _draw(rnd, c.weight)))


class LeastLatency(BaseStrategy):
    """Fastest first, by smoothed latency, while still looking at the others now and then.

    Score: if every deployment with a sample also has a TTFT sample (streaming traffic),
    `ewma_ttft_s + 0.2 * ewma_latency_s` - time to first token is what a streaming user
    waits for, and the latency term still separates slow generators. Otherwise plain
    `ewma_latency_s` for all, so that like is compared with like.

    Exploration: a deployment with no sample yet, or none for `explore_after_s`, goes
    first - but only while it has no call in flight, so one call finds out how it is
    doing instead of a whole burst landing on a deployment that may still be slow.
    One still waiting for its first verdict goes after the scored ones (fewest in flight
    first). And with probability `epsilon` the whole order is a weighted random one.
    """

    name = "least-latency"
    LATENCY_SHARE: ClassVar[float] = 0.2

    def __init__(
        self,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        epsilon: float = 0.05,
        explore_after_s: float = 30.0,
    ) -> None:
        super().__init__(rng=rng, clock=clock)
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon!r}")
        self.epsilon = epsilon
        self.explore_after_s = explore_after_s

    def _order(self, candidates: Sequence[C], estimated_tokens: int) -> list[C]:
        rnd = self._random
        if rnd() < self.epsilon:
            return sorted(candidates, key=lambda c: _draw(rnd, c.weight))
        stale_before = self._clock() - self.explore_after_s
        # A TTFT sample implies a latency sample (both come from the same successful call).
        use_ttft = all(
            c.stats.ewma_ttft_s is not None
            for c in candidates
            if c.stats.ewma_latency_s is not None
        )
        share = self.LATENCY_SHARE

        def key(c: C) -> tuple[int, float, float]:
            stats = c.stats
            last = stats.last_sample_at
            latency = stats.ewma_latency_s
            if stats.in_flight == 0 and (last is None or last < stale_before):
                return (0, 0.0, _draw(rnd, c.weight))  # explore
            if latency is None:
                return (2, float(stats.in_flight), _draw(rnd, c.weight))  # first call pending
            ttft = stats.ewma_ttft_s
            score = ttft + share * latency if use_ttft and ttft is not None else latency
            return (1, score, _draw(rnd, c.weight))

        return sorted(candidates, key=key)


class LowestCost(BaseStrategy):
    """Cheapest first, by price_input + price_output (USD per 1M tokens each).

    That sum ranks deployments as the cost of a call would if it had as many output
    tokens as input tokens. `estimated_tokens` is not used: it scales every deployment's
    cost alike and cannot change the order. A deployment with either price unknown
    goes last.
    """

    name = "lowest-cost"

    def _order(self, candidates: Sequence[C], estimated_tokens: int) -> list[C]:
        rnd = self._random

        def key(c: C) -> tuple[float, float]:
            p_in, p_out = c.price_input, c.price_output
            cost = p_in + p_out if p_in is not None and p_out is not None else math.inf
            return (cost, _draw(rnd, c.weight))

        return sorted(candidates, key=key)


class MostHeadroom(BaseStrategy):
    """Most spare capacity under the upstream's rate limits first.

    Headroom is min(1 - rpm_used / rpm_limit, 1 - tpm_used / tpm_limit), an unknown limit
    counting as 1.0 on its axis. rpm_used adds the calls in flight to those finished in
    the last minute (upstreams count a request when it starts); tpm_used adds this call's
    `estimated_tokens`. At or over a limit the headroom is 0: such deployments go last,
    in weighted random order among themselves.
    """

    name = "headroom"

    def _order(self, candidates: Sequence[C], estimated_tokens: int) -> list[C]:
        rnd = self._random

        def key(c: C) -> tuple[float, float]:
            stats = c.stats
            room = 1.0
            rpm_limit, tpm_limit = c.rpm_limit, c.tpm_limit
            if rpm_limit:
                room = 1.0 - (stats.requests_last_minute() + stats.in_flight) / rpm_limit
            if tpm_limit:
                tpm_room = 1.0 - (stats.tokens_last_minute() + estimated_tokens) / tpm_limit
                room = min(room, tpm_room)
            return (-max(room, 0.0), _draw(rnd, c.weight))

        return sorted(candidates, key=key)


STRATEGIES: dict[str, type[BaseStrategy]] = {
    cls.name: cls
    for cls in (WeightedRandom, RoundRobin, LeastInFlight, LeastLatency, LowestCost, MostHeadroom)
}


def make_strategy(
    name: str, rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic
) -> Strategy:
    """The strategy called `name`, with its default settings."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        valid = ", ".join(STRATEGIES)
        raise ValueError(f"unknown routing strategy {name!r}; valid: {valid}") from None
    return cls(rng=rng, clock=clock)
