"""The guard's stages: what a key may ask for, then the limits it is held to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gatehouse.errors import NotFound
from gatehouse.guard.access import check_model
from gatehouse.guard.hub import Guard
from gatehouse.pipeline.exchange import Exchange

Next = Callable[[Exchange], Awaitable[None]]


class Authorize:
    """The key's model allow-list, body size, max_tokens and parameter rules.

    It runs before the model is resolved, so a model outside the key's list answers
    exactly as one that doesn't exist.
    """

    def __init__(self, guard: Guard) -> None:
        self.policy = guard.policy
        self.metrics = guard.metrics

    async def __call__(self, exchange: Exchange, call_next: Next) -> None:
        key = exchange.key
        try:
            check_model(key, exchange.model)
        except NotFound:
            if self.metrics is not None:
                self.metrics.auth_failures.labels("model_not_allowed").value += 1
            raise
        self.policy.check_request(key, exchange.model, exchange.body, exchange.body_size)
        await call_next(exchange)


class Limit:
    """Reserve the call's share of its rate limits and budgets, or refuse it (429)."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    async def __call__(self, exchange: Exchange, call_next: Next) -> None:
        await self.guard.admit(exchange)
        await call_next(exchange)
