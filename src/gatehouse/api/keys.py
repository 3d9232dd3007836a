"""``/admin/api/keys`` and ``/admin/api/budgets``: virtual keys and their spend.

Managing keys needs the ``admin`` role. The secret is in the answer to create and
rotate only; the store keeps its SHA-256. Writes go to the store (on threads of their
own, ``threads.py``) and into this worker's snapshot at once; other workers and
replicas see them within ``auth.refresh_interval_s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from gatehouse.api.threads import AdminThreads
from gatehouse.api.v1 import json_object
from gatehouse.config.access import BudgetConfig, KeyLimits
from gatehouse.errors import InvalidRequest, NotFound, Overloaded
from gatehouse.guard.access import Need, sees_team
from gatehouse.guard.keys import ApiKey
from gatehouse.guard.keystore import KeyBusy
from gatehouse.pipeline import Gateway
from gatehouse.store.spend import last_used
from gatehouse.times import parse_duration, parse_time

_FIELDS = ("name", "roles", "owner", "team", "models", "expires_at", "metadata", "limits", "budget")


class KeyRoutes:
    def __init__(self, gateway: Gateway, authorize: Callable[[web.Request, Need], ApiKey]) -> None:
        self.guard = gateway.guard
        self.store = gateway.guard.store
        self.authorize = authorize
        # Not the key snapshot's thread: a write waiting on a row lock, or a listing of
        # every key, must never hold the refresh back.
        self._threads = AdminThreads(2, "admin-keys")

    def register(self, app: web.Application) -> None:
        self._threads.attach(app)
        app.router.add_post("/admin/api/keys", self.create)
        app.router.add_get("/admin/api/keys", self.list_keys)
        app.router.add_get("/admin/api/keys/{id}", self.show)
        app.router.add_patch("/admin/api/keys/{id}", self.update)
        app.router.add_delete("/admin/api/keys/{id}", self.revoke)
        app.router.add_post("/admin/api/keys/{id}/rotate", self.rotate)
        app.router.add_get("/admin/api/budgets", self.budgets)

    async def create(self, request: web.Request) -> web.Response:
        self.authorize(request, "admin")
        fields = _fields(await _body(request), creating=True)
        key, secret = await self._write(lambda: self.store.create(**fields))
        return _json({"key": key.view(), "secret": secret}, status=201)

    async def list_keys(self, request: web.Request) -> web.Response:
        self.authorize(request, "admin")
        team = request.query.get("team") or None
        revoked = request.query.get("include_revoked") in ("1", "true")
        keys = await self._threads.run(lambda: self.store.list(team=team, include_revoked=revoked))
        return _json({"object": "list", "data": [k.view() for k in keys]})

    async def show(self, request: web.Request) -> web.Response:
        self.authorize(request, "admin")
        key = await self._get(request.match_info["id"])
        view = key.view()
        used = await self._threads.run(lambda: last_used(self.store.database, [key.id]).get(key.id))
        view["last_used_at"] = used
        view["spend"] = await self.guard.spend_of(self.guard.policy.key_budgets(key, time.time()))
        return _json(view)

    async def update(self, request: web.Request) -> web.Response:
        self.authorize(request, "admin")
        key_id = request.match_info["id"]
        fields = _fields(await _body(request), creating=False)
        key = await self._write(lambda: self.store.update(key_id, **fields), key_id)
        return _json(key.view())

    async def revoke(self, request: web.Request) -> web.Response:
        self.authorize(request, "admin")
        key_id = request.match_info["id"]
        key = await self._write(lambda: self.store.revoke(key_id), key_id)
        return _json(key.view())

    async def rotate(self, request: web.Request) -> web.Response:
        self.authorize(request, "admin")
        key_id = request.match_info["id"]
        key, secret = await self._write(lambda: self.store.rotate(key_id), key_id)
        return _json({"key": key.view(), "secret": secret})

    async def budgets(self, request: web.Request) -> web.Response:
        """Every budget in force with its live spend; a team's key sees its team's only."""
        caller = self.authorize(request, "viewer")
        team = sees_team(caller)
        found = self.guard.budgets_now(time.time())
        if team is not None:
            found = [
                b
                for b in found
                if (b.scope == "team" and b.owner == team)
                or (b.scope == "key" and _team_of(self.guard.key_of(b.owner)) == team)
            ]
        return _json({"object": "list", "data": await self.guard.spend_of(found)})

    async def _get(self, key_id: str) -> ApiKey:
        key = await self._threads.run(lambda: self.store.get(key_id))
        if key is None:
            raise NotFound(f"no key {key_id!r}", code="key_not_found")
        return key

    async def _write(self, write: Callable[[], Any], key_id: str | None = None) -> Any:
        try:
            result = await self._threads.run(write)
        except KeyError:
            raise NotFound(f"no active key {key_id!r}", code="key_not_found") from None
        except KeyBusy:
            raise Overloaded(
                f"key {key_id!r} is being changed by another writer; try again",
                code="key_busy",
                retry_after=1,
            ) from None
        except ValueError as exc:
            raise InvalidRequest(str(exc), code="invalid_key_field") from None
        await self.guard.snapshot.refresh_now(self.store)
        return result


def _team_of(key: ApiKey | None) -> str | None:
    return key.team if key is not None else None


async def _body(request: web.Request) -> dict[str, Any]:
    return json_object(await request.read() or b"{}")


def _fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The key fields of a create or update body, parsed; unknown fields are an error."""
    body = dict(body)
    if "expires_in" in body:
        try:
            body["expires_at"] = time.time() + _seconds(body.pop("expires_in"))
        except ValueError as exc:
            raise InvalidRequest(str(exc), param="expires_in", code="invalid_key_field") from None
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise InvalidRequest(
            f"unknown field(s) {', '.join(unknown)}; known: {', '.join(_FIELDS)}, expires_in",
            code="invalid_key_field",
        )
    if creating and not body.get("name"):
        raise InvalidRequest("'name' is required", param="name", code="invalid_key_field")
    fields: dict[str, Any] = {}
    for name, value in body.items():
        try:
            if name == "limits":
                value = KeyLimits.model_validate(value or {})
            elif name == "budget" and value is not None:
                value = BudgetConfig.model_validate(value)
            elif name == "expires_at" and value is not None:
                value = _epoch(value)
            elif name in ("roles", "models"):
                # null is refused: an empty model list would mean every model.
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ValueError("must be a list of strings")
                value = tuple(value)
        except (ValidationError, ValueError, TypeError) as exc:
            raise InvalidRequest(
                f"{name}: {_first_error(exc)}", param=name, code="invalid_key_field"
            ) from None
        fields[name] = value
    return fields


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where}: {err['msg']}" if where else str(err["msg"])
    return str(exc)


def _seconds(value: Any) -> float:
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = parse_duration(value)
    if seconds is None or seconds <= 0:
        raise ValueError("expires_in must be seconds or a duration such as 30d")
    return seconds


def _epoch(value: Any) -> float:
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = parse_time(value)
    if seconds is None:
        raise ValueError("must be Unix seconds or an ISO 8601 time")
    return seconds


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")
