"""``/admin/api/*``: operator endpoints, behind the admin key.

Until access control lands, the only credential is ``GATEHOUSE_ADMIN_KEY``: with it
unset, every admin endpoint answers 403 and says how to enable it.
"""

from __future__ import annotations

import hmac
import os
import time

import orjson
from aiohttp import web

from gatehouse import __version__
from gatehouse.errors import AuthenticationFailed, PermissionDenied
from gatehouse.pipeline import Gateway

ADMIN_KEY_ENV = "GATEHOUSE_ADMIN_KEY"


class AdminRoutes:
    def __init__(self, gateway: Gateway, admin_key: str | None = None) -> None:
        self.gateway = gateway
        key = admin_key if admin_key is not None else os.environ.get(ADMIN_KEY_ENV, "")
        self._key = key.encode() if key else None

    def register(self, app: web.Application) -> None:
        app.router.add_get("/admin/api/status", self.status)

    def check(self, request: web.Request) -> None:
        if self._key is None:
            raise PermissionDenied(
                f"the admin API is disabled: set {ADMIN_KEY_ENV} in the gateway's environment "
                "and send it as 'Authorization: Bearer <key>'",
                code="admin_disabled",
            )
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self._key):
            raise AuthenticationFailed(
                "invalid admin key: send 'Authorization: Bearer <GATEHOUSE_ADMIN_KEY>'",
                code="invalid_admin_key",
            )

    async def status(self, request: web.Request) -> web.Response:
        self.check(request)
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
        return web.Response(body=orjson.dumps(body), content_type="application/json")
