"""The Gateway: providers, routes and the ordered stage list, built once at start-up.

A stage is ``async def __call__(exchange, call_next)``; it may refuse a call by
raising a :class:`gatehouse.errors.GatehouseError`. The chain is linked once here,
so a request costs one coroutine per stage and no allocation for the links.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from gatehouse.config import Config
from gatehouse.guard.access import ADMIN_KEY_ENV
from gatehouse.guard.guardrails import Guardrails, Screen
from gatehouse.guard.hub import Guard
from gatehouse.guard.stages import Authorize, Limit
from gatehouse.pipeline.exchange import Exchange
from gatehouse.pipeline.stages import Admit, ResolveModel, Route
from gatehouse.providers import Provider, build_provider
from gatehouse.routing import ModelRoute, Router, build_routes
from gatehouse.routing.health import HealthChecks
from gatehouse.routing.shedding import AdmissionControl
from gatehouse.store.db import Database
from gatehouse.telemetry.hub import Telemetry, prepare_store

Next = Callable[[Exchange], Awaitable[None]]


class Stage(Protocol):
    async def __call__(self, exchange: Exchange, call_next: Next) -> None: ...


async def _end(exchange: Exchange) -> None:
    return None


class Gateway:
    """Everything one worker needs to serve calls."""

    def __init__(self, config: Config, admin_key: str | None = None) -> None:
        """``admin_key``: the bootstrap admin secret (default: ``GATEHOUSE_ADMIN_KEY``)."""
        self.config = config
        self.providers: dict[str, Provider] = {
            name: build_provider(name, p) for name, p in config.providers.items()
        }
        self.routes: dict[str, ModelRoute] = build_routes(config, self.providers)
        self.router = Router(self.routes)
        routing = config.routing
        self.admission: AdmissionControl | None = None
        if routing.max_in_flight is not None:
            self.admission = AdmissionControl(
                routing.max_in_flight, routing.queue_size, routing.queue_timeout_s
            )
        self.health = HealthChecks(self.routes, routing.health_check)
        #: The store: keys, and the request log when recording is on.
        self.database = Database(config.store.url)
        self.telemetry = Telemetry(config, self.routes, self.database)
        #: Hand a finished call to the recorder: ``gateway.record(exchange)``.
        self.record = self.telemetry.record
        if admin_key is None:
            admin_key = os.environ.get(ADMIN_KEY_ENV) or None
        self.guard = Guard(
            config,
            self.database,
            _dearest_prices(config, self.routes),
            self.telemetry.metrics,
            admin_key,
        )
        self.guardrails = Guardrails(config.guardrails, self.telemetry.metrics)
        # Limits are settled with the record's usage and cost, when the record is built.
        self.telemetry.recorder.observers.append(self.guard.settle)
        self.stages: list[Stage] = self.build_stages()
        handler: Next = _end
        for stage in reversed(self.stages):
            # A partial, not a wrapper coroutine: each level of coroutines is walked
            # again at every suspension of the call, so the chain is kept shallow.
            handler = functools.partial(stage, call_next=handler)
        #: Run a call through every stage: ``await gateway.handle(exchange)``.
        self.handle: Next = handler
        self.ready = False
        self.started_at = time.time()

    def build_stages(self) -> list[Stage]:
        """The order every call goes through. Later stages see what earlier ones set."""
        stages: list[Stage] = [Authorize(self.guard), ResolveModel(self.routes), Limit(self.guard)]
        if self.guardrails.enabled:
            stages.append(Screen(self.guardrails))
        if self.admission is not None:
            stages.append(Admit(self.admission))
        stages.append(Route(self.router))
        return stages

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, prepare_store, self.database, self.config.store)
        await self.guard.start()
        await self.guardrails.start()
        await self.telemetry.start()
        for provider in self.providers.values():
            await provider.start()
        self.started_at = time.time()
        self.health.start()
        self.ready = True

    async def close(self) -> None:
        self.ready = False
        try:
            await self.health.stop()
            for provider in self.providers.values():
                await provider.close()
        finally:
            try:
                await self.telemetry.close()
            finally:
                try:
                    await self.guardrails.close()
                finally:
                    await self.guard.close()
                    self.database.close()


def _dearest_prices(
    config: Config, routes: dict[str, ModelRoute]
) -> dict[str, tuple[float, float]]:
    """Per public model, the highest USD per 1M input and output tokens of any deployment
    a call could reach, fallbacks included: what a budget reserves is an upper bound."""
    own: dict[str, tuple[float, float]] = {}
    for name, route in routes.items():
        price_in = max((d.price_input or 0.0 for d in route.deployments), default=0.0)
        price_out = max((d.price_output or 0.0 for d in route.deployments), default=0.0)
        own[name] = (price_in, price_out)
    dearest = {}
    for name in routes:
        reach = [name, *config.models[name].fallbacks]
        dearest[name] = (
            max(own.get(m, (0.0, 0.0))[0] for m in reach),
            max(own.get(m, (0.0, 0.0))[1] for m in reach),
        )
    return dearest
