"""Anthropic's Messages API, served by the gateway: ``POST /v1/messages``.

A request is translated to the gateway's OpenAI shape and goes through the same
pipeline as ``/v1/chat/completions`` (keys, limits, guardrails, routing to any kind of
upstream, cost, records); the answer is translated back, a stream into Anthropic's event
format. Errors use Anthropic's shape (``{"type": "error", "error": {…}}``), which the
edge picks for every path under ``/v1/messages``.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson
from aiohttp import web
from multidict import CIMultiDict

from gatehouse.api.v1 import Dialect, OpenAIRoutes, json_object
from gatehouse.errors import GatehouseError, InvalidRequest, NotFound, UpstreamError
from gatehouse.guard.access import may_use
from gatehouse.guard.content import UNTRUSTED_HEADER, untrusted_indexes
from gatehouse.pipeline import Exchange
from gatehouse.providers.anthropic_events import EventStream, anthropic_events
from gatehouse.providers.anthropic_inbound import from_messages_request, to_messages_response
from gatehouse.providers.anthropic_vocab import FROM_MESSAGES, anthropic_error_type
from gatehouse.telemetry.cost import estimate_input_tokens

#: The header Anthropic's SDKs read a request's id from.
ANTHROPIC_REQUEST_ID = "request-id"


def parse_messages(raw: bytes, exchange: Exchange) -> dict[str, Any]:
    if not raw:
        raise InvalidRequest("request body is empty; expected a JSON object", code="invalid_json")
    headers = exchange.headers
    if headers is None or UNTRUSTED_HEADER not in headers:
        body = from_messages_request(json_object(raw))
    else:
        origins: list[int] = []
        body = from_messages_request(json_object(raw), origins)
        exchange.headers = _untrusted_translated(headers, origins)
    body[FROM_MESSAGES] = True
    return body


def _untrusted_translated(headers: Mapping[str, str], origins: list[int]) -> CIMultiDict[str]:
    """The headers with ``x-gatehouse-untrusted`` naming the client's messages by their
    index in the translated list (a user turn with tool results becomes several)."""
    marked = untrusted_indexes(headers)
    translated = ",".join(str(j) for j, i in enumerate(origins) if i >= 0 and i in marked)
    out = CIMultiDict(headers)
    out.popall(UNTRUSTED_HEADER, None)
    if translated:
        out[UNTRUSTED_HEADER] = translated
    return out


def _answer(exchange: Exchange) -> bytes:
    try:
        data = orjson.loads(exchange.response_body or b"")
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise UpstreamError("the answer was not a JSON object", code="upstream_malformed_response")
    return orjson.dumps(to_messages_response(data, model=exchange.model))


def _events(exchange: Exchange) -> AsyncGenerator[bytes, None]:
    assert exchange.events is not None
    return anthropic_events(exchange.events, model=exchange.model)


def error_event(err: GatehouseError) -> bytes:
    return EventStream.error(anthropic_error_type(err.error_type, err.http_status), err.message)


ANTHROPIC = Dialect(
    parse_messages, _answer, _events, error_event, ANTHROPIC_REQUEST_ID, "anthropic"
)


class MessagesRoutes:
    """``/v1/messages`` and ``/v1/messages/count_tokens`` over the OpenAI routes' pipeline."""

    def __init__(self, routes: OpenAIRoutes) -> None:
        self.routes = routes

    def register(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages", functools.partial(self.routes.serve, "chat", ANTHROPIC))
        app.router.add_post("/v1/messages/count_tokens", self.count_tokens)

    async def count_tokens(self, request: web.Request) -> web.Response:
        """The gateway's estimate of a request's input tokens (no upstream call).

        Anthropic's own endpoint counts with the model's tokenizer; ours estimates as the
        limits do (about four characters a token), so a client sees what it will be
        charged against its token limits.
        """
        key = self.routes.access.authenticate(request.headers, "app")
        raw = await request.read()
        if not raw:
            raise InvalidRequest(
                "request body is empty; expected a JSON object", code="invalid_json"
            )
        body = json_object(raw)
        # Anthropic's count_tokens takes no max_tokens: don't require one here.
        if body.get("max_tokens") is None:
            body["max_tokens"] = 1
        translated = from_messages_request(body)
        model = translated["model"]
        if model not in self.routes.gateway.routes or not may_use(key, model):
            raise NotFound(
                f"The model '{model}' does not exist on this gateway",
                param="model",
                code="model_not_found",
            )
        tokens = estimate_input_tokens(translated)
        return web.Response(
            body=orjson.dumps({"input_tokens": tokens}), content_type="application/json"
        )
