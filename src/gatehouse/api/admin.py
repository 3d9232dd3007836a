"""``/admin/api/*``: operator endpoints, each behind the role it needs.

Credentials are keys with the ``admin``, ``operator`` or ``viewer`` role, and the
bootstrap ``GATEHOUSE_ADMIN_KEY`` (an ``admin``). Roles per endpoint are in
docs/access.md; a test walks every endpoint with every role.
"""

from __future__ import annotations

import os
import time
from typing import Any

import orjson
from aiohttp import web

from gatehouse import __version__
from gatehouse.api.keys import KeyRoutes
from gatehouse.api.requestlog import RequestLogRoutes
from gatehouse.errors import NotFound
from gatehouse.guard.access import Need
from gatehouse.guard.keys import ApiKey
from gatehouse.pipeline import Gateway
from gatehouse.routing import Deployment


class AdminRoutes:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.access = gateway.guard.access

    def register(self, app: web.Application) -> None:
        app.router.add_get("/admin/api/status", self.status)
        app.router.add_get("/admin/api/deployments", self.deployments)
        app.router.add_get("/admin/api/route/explain", self.explain)
        RequestLogRoutes(self.gateway, self.authorize).register(app)
        KeyRoutes(self.gateway, self.authorize).register(app)

    def authorize(self, request: web.Request, need: Need) -> ApiKey:
        """The caller's key if it has a role that grants ``need``; else 401/403."""
        key = self.access.authenticate(request.headers, need)
        assert key is not None  # admin endpoints always need a key
        return key

    async def status(self, request: web.Request) -> web.Response:
        self.authorize(request, "viewer")
        gw = self.gateway
        models = {
            name: [
                {"name": d.name, "provider": d.provider.name, "model": d.model, "weight": d.weight}
                for d in route.deployments
            ]
            for name, route in gw.routes.items()
        }
        body = {
            "version": __version__,
            "pid": os.getpid(),
            "ready": gw.ready,
            "uptime_s": round(time.time() - gw.started_at, 3),
            "providers": {
                name: {"kind": p.kind, "base_url": p.base_url}
                for name, p in gw.config.providers.items()
            },
            "models": models,
        }
        return _json(body)

    async def deployments(self, request: web.Request) -> web.Response:
        """Health, breaker state and live statistics of every deployment (this worker)."""
        self.authorize(request, "viewer")
        scraper = self.gateway.telemetry.scraper
        loads = scraper.snapshot() if scraper is not None else {}
        models: dict[str, list[dict[str, Any]]] = {}
        for name, route in self.gateway.routes.items():
            views = models[name] = []
            for dep in route.deployments:
                view = deployment_view(dep)
                if dep.name in loads:
                    # The deployment's own figures (vLLM, TGI), from its metrics_url.
                    view["load"] = loads[dep.name]
                views.append(view)
        body = {
            "pid": os.getpid(),
            "scope": "per worker: each worker process keeps its own breakers and statistics",
            "models": models,
        }
        admission = self.gateway.admission
        if admission is not None:
            body["admission"] = {
                "max_in_flight": admission.max_in_flight,
                "in_flight": admission.in_flight,
                "queued": admission.queued,
                "shed": admission.shed,
            }
        return _json(body)

    async def explain(self, request: web.Request) -> web.Response:
        """What the router would do now for a model: candidates in order, and why."""
        self.authorize(request, "viewer")
        name = request.query.get("model", "")
        route = self.gateway.routes.get(name)
        if route is None:
            raise NotFound(f"unknown model {name!r}", param="model", code="model_not_found")
        tags = frozenset(t for t in request.query.get("tags", "").split(",") if t)
        order = route.strategy.order(route.deployments)
        candidates = []
        for rank, dep in enumerate(order, 1):
            view = deployment_view(dep)
            view["rank"] = rank
            view["eligible"], view["why"] = _eligibility(dep, tags)
            candidates.append(view)
        body = {
            "model": name,
            "strategy": route.strategy.name,
            "note": "the order is the strategy's draw for one call; random strategies vary",
            "retry": route.retry.model_dump(),
            "fallbacks": list(route.fallbacks),
            "fallback_on": sorted(route.fallback_on),
            "hedge_after_ms": route.hedge_after_s * 1000 if route.hedge_after_s else None,
            "candidates": candidates,
        }
        return _json(body)


def deployment_view(dep: Deployment) -> dict[str, Any]:
    breaker = dep.breaker.snapshot() if dep.breaker is not None else {"state": "disabled"}
    return {
        "name": dep.name,
        "provider": dep.provider.name,
        "model": dep.model,
        "weight": dep.weight,
        "tags": sorted(dep.tags),
        "healthy": breaker.get("state") != "open",
        "breaker": breaker,
        "stats": dep.stats.snapshot(),
        "limits": {"rpm": dep.rpm_limit, "tpm": dep.tpm_limit, "max_in_flight": dep.max_in_flight},
        "price": {"input": dep.price_input, "output": dep.price_output},
    }


def _eligibility(dep: Deployment, tags: frozenset[str]) -> tuple[bool, str]:
    if tags and not tags <= dep.tags:
        return False, f"lacks tags {', '.join(sorted(tags - dep.tags))}"
    if dep.max_in_flight is not None and dep.stats.in_flight >= dep.max_in_flight:
        return False, "at its in-flight limit"
    if dep.breaker is not None and dep.breaker.state == "open":
        return False, "breaker open"
    if dep.breaker is not None and dep.breaker.state == "half_open":
        return True, "breaker half-open: takes a probe call"
    return True, "ok"


def _json(body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")
