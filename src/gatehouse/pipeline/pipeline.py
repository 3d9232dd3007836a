"""The Gateway: providers, routes and the ordered stage list, built once at start-up.

A stage is ``async def __call__(exchange, call_next)``; it may refuse a call by
raising a :class:`gatehouse.errors.GatehouseError`. The chain is linked once here,
so a request costs one coroutine per stage and no allocation for the links.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from gatehouse.config import Config
from gatehouse.pipeline.exchange import Exchange
from gatehouse.pipeline.stages import Admit, ResolveModel, Route
from gatehouse.providers import Provider, build_provider
from gatehouse.routing import ModelRoute, Router, build_routes
from gatehouse.routing.health import HealthChecks
from gatehouse.routing.shedding import AdmissionControl
from gatehouse.telemetry.hub import Telemetry

Next = Callable[[Exchange], Awaitable[None]]


class Stage(Protocol):
    async def __call__(self, exchange: Exchange, call_next: Next) -> None: ...


async def _end(exchange: Exchange) -> None:
    return None


class Gateway:
    """Everything one worker needs to serve calls."""

    def __init__(self, config: Config) -> None:
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
        self.telemetry = Telemetry(config, self.routes)
        #: Hand a finished call to the recorder: ``gateway.record(exchange)``.
        self.record = self.telemetry.record
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
        stages: list[Stage] = [ResolveModel(self.routes)]
        if self.admission is not None:
            stages.append(Admit(self.admission))
        stages.append(Route(self.router))
        return stages

    async def start(self) -> None:
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
            await self.telemetry.close()
