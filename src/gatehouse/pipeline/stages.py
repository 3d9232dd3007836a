"""The stages of the pipeline: resolve the model, admit the call, route it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

from gatehouse.errors import NotFound
from gatehouse.pipeline.exchange import Exchange
from gatehouse.routing import ModelRoute, Router
from gatehouse.routing.shedding import AdmissionControl

Next = Callable[[Exchange], Awaitable[None]]

TAGS_HEADER = "x-gatehouse-tags"


class ResolveModel:
    """Map the public model name to its route; 404 for a name the config lacks."""

    def __init__(self, routes: dict[str, ModelRoute]) -> None:
        self.routes = routes

    async def __call__(self, exchange: Exchange, call_next: Next) -> None:
        route = self.routes.get(exchange.model)
        if route is None:
            raise NotFound(
                f"The model '{exchange.model}' does not exist on this gateway "
                "(GET /v1/models lists the models it serves)",
                param="model",
                code="model_not_found",
            )
        exchange.route = route
        if exchange.headers is not None:
            tags = exchange.headers.get(TAGS_HEADER)
            if tags:
                exchange.tags = frozenset(t.strip() for t in tags.split(",") if t.strip())
        await call_next(exchange)


class Admit:
    """Hold a slot of the in-flight cap for the whole call, stream included."""

    def __init__(self, control: AdmissionControl) -> None:
        self.control = control

    async def __call__(self, exchange: Exchange, call_next: Next) -> None:
        await self.control.acquire()
        try:
            await call_next(exchange)
        except BaseException:
            self.control.release()
            raise
        if exchange.events is None:
            self.control.release()
        else:
            exchange.events = self._release_after(exchange.events)

    async def _release_after(
        self, events: AsyncGenerator[bytes, None]
    ) -> AsyncGenerator[bytes, None]:
        try:
            async for block in events:
                yield block
        finally:
            try:
                await events.aclose()
            finally:
                self.control.release()


class Route:
    """Call the best deployment, with retries, fallbacks, breakers and hedging."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(self, exchange: Exchange, call_next: Next) -> None:
        await self.router.route(exchange)
        await call_next(exchange)
