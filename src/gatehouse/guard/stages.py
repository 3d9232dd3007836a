"""The guard's stages: what a key may ask for, then the limits it is held to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gatehouse.guard.access import check_model
from gatehouse.guard.hub import Guard
from gatehouse.pipeline.exchange import Exchange
from gatehouse.telemetry.cost import estimate_input_tokens

Next = Callable[[Exchange], Awaitable[None]]


class Authorize:
    """The key's model allow-list, body size, max_tokens and parameter rules."""

    def __init__(self, guard: Guard) -> None:
        self.policy = guard.policy
        self.metrics = guard.metrics

    async def __call__(self, exchange: Exchange, call_next: Next) -> None:
        key = exchange.key
        try:
            check_model(key, exchange.model)
        except Exception:
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
        exchange.input_tokens = estimate_input_tokens(exchange.body)
        await self.guard.admit(exchange, exchange.input_tokens)
        await call_next(exchange)
