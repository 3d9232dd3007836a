"""The HTTP application: routes and the error edge, assembled in one place."""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from gatehouse.api.admin import AdminRoutes
from gatehouse.api.errors import MAX_BODY_BYTES, edge_middleware
from gatehouse.api.messages import MessagesRoutes
from gatehouse.api.streams import LIVE_STREAMS
from gatehouse.api.v1 import OpenAIRoutes
from gatehouse.errors import Overloaded
from gatehouse.pipeline import Gateway
from gatehouse.telemetry.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE

_OK = orjson.dumps({"status": "ok"})


def build_app(gateway: Gateway) -> web.Application:
    max_body = gateway.config.server.max_body_bytes
    app = web.Application(client_max_size=max_body, middlewares=[edge_middleware])
    app[MAX_BODY_BYTES] = max_body
    routes = OpenAIRoutes(gateway)
    routes.register(app)
    MessagesRoutes(routes).register(app)
    app[LIVE_STREAMS] = routes.live
    AdminRoutes(gateway).register(app)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(body=_OK, content_type="application/json")

    async def readyz(request: web.Request) -> web.Response:
        if not gateway.ready:
            raise Overloaded("not ready: starting or shutting down", code="not_ready")
        usable = sum(
            1
            for r in gateway.routes.values()
            for d in r.deployments
            if d.breaker is None or d.breaker.state != "open"
        )
        if not usable:
            raise Overloaded(
                "not ready: every deployment's circuit breaker is open", code="not_ready"
            )
        body = {"status": "ready", "models": len(gateway.routes), "deployments": usable}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    metrics = gateway.telemetry.metrics
    if metrics is not None:
        keyed = gateway.config.metrics.require_key
        access = gateway.guard.access

        async def metrics_page(request: web.Request) -> web.Response:
            if keyed:
                access.authenticate(request.headers, "viewer")
            # Rendering merges the other workers' snapshot files: off the loop.
            loop = asyncio.get_running_loop()
            body = await loop.run_in_executor(None, metrics.render)
            return web.Response(body=body, headers={"content-type": METRICS_CONTENT_TYPE})

        app.router.add_get("/metrics", metrics_page)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app
