"""``/admin/api/requests|traces|stats``: the request log's read side.

The log (bodies included) needs the ``operator`` role, stats ``viewer``; a key of a
team that is not an admin key sees only its team's calls. Queries are synchronous
SQL on the store, so they run on threads of their own (`QUERY_THREADS`, see
``threads.py``) and never hold the event loop. The list returns metadata only;
bodies (personal data) come only with a single request.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from gatehouse.api.threads import AdminThreads
from gatehouse.errors import InvalidRequest, NotFound
from gatehouse.guard.access import Need, sees_team
from gatehouse.guard.keys import ApiKey
from gatehouse.pipeline import Gateway
from gatehouse.store import Queries
from gatehouse.store.queries import InvalidQuery
from gatehouse.times import parse_duration, parse_time

#: Request-log queries running at once per worker; more wait their turn.
QUERY_THREADS = 2
GROUPS = ("model", "deployment", "key", "team", "user", "provider")
_FILTERS = {
    "model": "model",
    "deployment": "deployment",
    "key": "key_id",
    "team": "team_id",
    "user": "user_id",
    "subject": "subject_id",
    "trace_id": "trace_id",
    "session": "session_id",
    "operation": "operation",
    "api": "client_api",
    "status": "status",
}


class RequestLogRoutes:
    def __init__(self, gateway: Gateway, authorize: Callable[[web.Request, Need], ApiKey]) -> None:
        self.gateway = gateway
        self.authorize = authorize
        database = gateway.telemetry.database
        self.queries = Queries(database) if database is not None else None
        self._threads = AdminThreads(QUERY_THREADS, "request-log")

    def register(self, app: web.Application) -> None:
        self._threads.attach(app)
        app.router.add_get("/admin/api/requests", self.list_requests)
        app.router.add_get("/admin/api/requests/{id}", self.get_request)
        app.router.add_get("/admin/api/traces/{trace_id}", self.get_trace)
        app.router.add_get("/admin/api/stats", self.stats)

    def _queries(self, request: web.Request, need: Need) -> tuple[Queries, str | None]:
        """The queries and the team the caller is confined to (None: every team)."""
        key = self.authorize(request, need)
        if self.queries is None:
            raise NotFound(
                "the request log is off on this gateway (recording.enabled is false or "
                "recording.bodies is none)",
                code="recording_disabled",
            )
        return self.queries, sees_team(key)

    async def list_requests(self, request: web.Request) -> web.Response:
        queries, team = self._queries(request, "operator")
        q = request.query
        filters: dict[str, Any] = {}
        for param, key in _FILTERS.items():
            value = q.get(param)
            if value:
                filters[key] = value
        if team is not None:
            filters["team_id"] = team
        if "status" in filters:
            filters["status"] = _status(filters["status"])
        now = time.time()
        if "window" in q:
            filters["since"] = now - duration(q["window"], "window")
        for edge in ("since", "until"):
            if edge in q:
                filters[edge] = _epoch(q[edge], edge)
        metadata = {k[9:]: v for k, v in q.items() if k.startswith("metadata.") and len(k) > 9}
        if metadata:
            filters["metadata"] = metadata
        limit = _int(q.get("limit", "100"), "limit", 1, 1000)
        cursor = q.get("cursor") or None
        try:
            page = await self._threads.run(queries.list_requests, filters, cursor, limit)
        except InvalidQuery as exc:
            raise InvalidRequest(str(exc), code="invalid_query") from None
        return _json({"object": "list", "data": page.data, "next_cursor": page.next_cursor})

    async def get_request(self, request: web.Request) -> web.Response:
        queries, team = self._queries(request, "operator")
        request_id = request.match_info["id"]
        found = await self._threads.run(queries.get_request, request_id, True, team)
        if found is None or (team is not None and found.get("team_id") != team):
            raise NotFound(
                f"no request {request_id!r} in the request log (records arrive within about "
                "a second of the response)",
                code="request_not_found",
            )
        return _json(found)

    async def get_trace(self, request: web.Request) -> web.Response:
        queries, team = self._queries(request, "operator")
        trace_id = request.match_info["trace_id"].lower()
        if not re.fullmatch(r"[0-9a-f]{32}", trace_id):
            raise InvalidRequest("a trace id is 32 hexadecimal characters", code="invalid_trace_id")
        found = await self._threads.run(queries.trace, trace_id, team)
        if not found or not found.get("requests"):
            raise NotFound(f"no request of trace {trace_id} was recorded", code="trace_not_found")
        return _json(found)

    async def stats(self, request: web.Request) -> web.Response:
        queries, team = self._queries(request, "viewer")
        q = request.query
        window_s = duration(q.get("window", "1h"), "window")
        group_by = q.get("group_by", "model")
        if group_by not in GROUPS:
            raise InvalidRequest(
                f"group_by must be one of {', '.join(GROUPS)}",
                param="group_by",
                code="invalid_group",
            )
        return _json(await self._threads.run(queries.stats, window_s, group_by, None, team))


def duration(text: str, param: str) -> float:
    """'90s', '15m', '1h', '7d' (or plain seconds) as seconds, up to a year."""
    seconds = parse_duration(text)
    if seconds is None or not 0 < seconds <= 366 * 86400:
        raise InvalidRequest(
            f"{param} must be a duration such as 15m, 1h or 7d (at most a year)",
            param=param,
            code="invalid_duration",
        )
    return seconds


def _epoch(text: str, param: str) -> float:
    seconds = parse_time(text)
    if seconds is None:
        raise InvalidRequest(
            f"{param} must be Unix seconds or an ISO 8601 time", param=param, code="invalid_time"
        )
    return seconds


def _status(text: str) -> int | str:
    if text in ("ok", "error", "2xx", "4xx", "5xx"):
        return text
    return _int(text, "status", 100, 599)


def _int(text: str, param: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise InvalidRequest(
            f"{param} must be an integer from {low} to {high}", param=param, code="invalid_value"
        )
    return value


def _json(body: Any) -> web.Response:
    return web.Response(
        body=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), content_type="application/json"
    )
