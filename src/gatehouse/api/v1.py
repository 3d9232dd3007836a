"""The OpenAI-compatible endpoints under ``/v1``.

A handler parses the body once (orjson), checks only what the gateway itself needs,
hands an Exchange to the pipeline and writes the result. Fields it doesn't know are
forwarded untouched; the upstream's response bytes are returned untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from gatehouse.api.context import METADATA_HEADER, parse_metadata, start_trace
from gatehouse.api.errors import (
    REQUEST_ID,
    REQUEST_ID_KEY,
    ROUTE,
    SERVER,
    translate_http_exception,
)
from gatehouse.api.streams import LiveStreams
from gatehouse.errors import GatehouseError, InvalidRequest, NotFound, Overloaded
from gatehouse.guard.access import may_use
from gatehouse.guard.limits import rate_headers
from gatehouse.ids import time_ordered_id
from gatehouse.pipeline import Exchange, Gateway
from gatehouse.providers import Operation

log = logging.getLogger("gatehouse.api")

SERVED_BY = "x-gatehouse-model"
TRACE_ID = "x-gatehouse-trace-id"
#: The status recorded for a call whose client went away before its answer (nginx's).
CLIENT_CLOSED = 499
_NO_BODY: dict[str, Any] = {}
_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one client API reads a request and writes an answer, around the same pipeline.

    The pipeline speaks OpenAI's wire format; a dialect translates at this edge, as a
    provider does at the other.
    """

    #: The request body as an OpenAI-shaped dict (checked; InvalidRequest otherwise). It
    #: may also adjust the exchange (e.g. headers that name messages by index).
    parse: Callable[[bytes, Exchange], dict[str, Any]]
    #: The body of a non-streaming answer.
    answer: Callable[[Exchange], bytes]
    #: The client's stream: blocks of complete SSE events.
    events: Callable[[Exchange], AsyncGenerator[bytes, None]]
    #: The event that ends a stream which failed after it started.
    error_event: Callable[[GatehouseError], bytes]
    #: The header the client's library reads a request id from (besides x-request-id).
    request_id_header: str = REQUEST_ID
    #: The request log's ``client_api``.
    name: str = "openai"


def _openai_events(exchange: Exchange) -> AsyncGenerator[bytes, None]:
    assert exchange.events is not None
    return exchange.events


def _openai_error_event(err: GatehouseError) -> bytes:
    return b"data: " + err.to_json() + b"\n\n"


class OpenAIRoutes:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.access = gateway.guard.access
        self.live = LiveStreams()
        self.keep_bodies = gateway.config.recording.bodies in ("full", "redacted")
        spans = gateway.telemetry.spans
        self._sample = spans.sample if spans.enabled else None
        created = int(gateway.started_at)
        models = [
            {"id": name, "object": "model", "created": created, "owned_by": "gatehouse"}
            for name in gateway.routes
        ]
        self._model_views = models
        self._models = {m["id"]: orjson.dumps(m) for m in models}
        self._model_list = orjson.dumps({"object": "list", "data": models})

    def register(self, app: web.Application) -> None:
        # Partials rather than wrapper coroutines keep the await chain one level shorter.
        app.router.add_post("/v1/chat/completions", functools.partial(self.serve, "chat", OPENAI))
        app.router.add_post("/v1/completions", functools.partial(self.serve, "completions", OPENAI))
        app.router.add_post("/v1/embeddings", functools.partial(self.serve, "embeddings", OPENAI))
        app.router.add_get("/v1/models", self.list_models)
        app.router.add_get("/v1/models/{model:.+}", self.get_model)

    async def list_models(self, request: web.Request) -> web.Response:
        key = self.access.authenticate(request.headers, "app")
        if key is None or not key.models:
            return web.Response(body=self._model_list, content_type=_JSON)
        mine = [m for m in self._model_views if may_use(key, str(m["id"]))]
        return _json_response({"object": "list", "data": mine})

    async def get_model(self, request: web.Request) -> web.Response:
        key = self.access.authenticate(request.headers, "app")
        name = request.match_info["model"]
        body = self._models.get(name) if may_use(key, name) else None
        if body is None:
            raise NotFound(
                f"The model '{name}' does not exist", param="model", code="model_not_found"
            )
        return web.Response(body=body, content_type=_JSON)

    async def serve(
        self, operation: Operation, dialect: Dialect, request: web.Request
    ) -> web.StreamResponse:
        request_id = request[REQUEST_ID_KEY]
        client_id = None
        if request.headers.get(REQUEST_ID) == request_id:
            # The client's own id: echoed back, but a client may reuse it, so the
            # record gets an id of the gateway's.
            client_id, request_id = request_id, time_ordered_id()
        exchange = Exchange(
            request_id=request_id,
            client_request_id=client_id,
            operation=operation,
            body=_NO_BODY,
            model="",
            headers=request.headers,
            client_api=dialect.name,
        )
        gateway = self.gateway
        in_flight = gateway.telemetry.in_flight
        in_flight.value += 1
        try:
            return await self._answer(exchange, dialect, request)
        except GatehouseError as err:
            exchange.error, exchange.status = err, err.http_status
            if exchange.attempts:
                err.route = _route_header(exchange)
            raise
        except asyncio.CancelledError:
            if gateway.ready:
                exchange.status = CLIENT_CLOSED
            else:  # the shutdown deadline cut it, not the client
                cut = Overloaded("the gateway shut down before the call finished", code="shutdown")
                exchange.error, exchange.status = cut, cut.http_status
            raise
        except web.HTTPException as exc:  # e.g. the body was too large to read
            refused = translate_http_exception(exc, request)
            exchange.error, exchange.status = refused, refused.http_status
            raise
        except Exception as exc:
            exchange.error, exchange.status = exc, 500
            raise
        finally:
            in_flight.value -= 1
            if exchange.done is None:
                exchange.done = time.perf_counter()
            gateway.record(exchange)

    async def _answer(
        self, exchange: Exchange, dialect: Dialect, request: web.Request
    ) -> web.StreamResponse:
        start_trace(exchange, request.headers, self._sample)
        # Before anything else is parsed: an anonymous client can't make the gateway
        # parse its metadata or its body.
        exchange.key = self.access.authenticate(request.headers, "app")
        metadata = request.headers.get(METADATA_HEADER)
        if metadata:
            exchange.metadata = parse_metadata(metadata)
        raw = await request.read()
        exchange.body_size = len(raw)
        try:
            body = dialect.parse(raw, exchange)
        except InvalidRequest:
            exchange.model = _model_named(raw)  # so the refusal is counted under it
            raise
        exchange.body = body
        exchange.model = body["model"]
        exchange.stream = body.get("stream") is True
        if self.keep_bodies:
            exchange.raw_body = raw
            if exchange.stream:
                exchange.captured = []
        await self.gateway.handle(exchange)
        headers = {
            "server": SERVER,
            REQUEST_ID: exchange.client_request_id or exchange.request_id,
            ROUTE: _route_header(exchange),
            SERVED_BY: exchange.served_model or exchange.model,
            TRACE_ID: exchange.trace_id,
        }
        if dialect.request_id_header != REQUEST_ID:
            headers[dialect.request_id_header] = headers[REQUEST_ID]
        if exchange.reservation is not None:
            headers.update(rate_headers(exchange.reservation.states))
        if exchange.events is None:
            headers["content-type"] = _JSON
            return web.Response(body=dialect.answer(exchange), headers=headers)
        return await _relay_stream(request, exchange, dialect, headers, self.live)


async def _relay_stream(
    request: web.Request,
    exchange: Exchange,
    dialect: Dialect,
    headers: dict[str, str],
    live: LiveStreams,
) -> web.StreamResponse:
    """Write the SSE blocks as they come; a failure mid-stream becomes an error event."""
    assert exchange.events is not None
    headers["content-type"] = "text/event-stream; charset=utf-8"
    headers["cache-control"] = "no-cache"
    headers["x-accel-buffering"] = "no"
    response = web.StreamResponse(headers=headers)
    events = dialect.events(exchange)
    task = asyncio.current_task()
    assert task is not None
    live.add(task)
    try:
        # The first block is already buffered; taking it first starts the iterator, so
        # closing it below always runs its clean-up (a never-started generator's
        # aclose() would skip it).
        first = await anext(events)
        await response.prepare(request)
        await response.write(first)
        async for block in events:
            await response.write(block)
    except GatehouseError as err:
        if not response.prepared:
            raise
        # Sent as its own event, and no [DONE]: the client can tell a failed stream
        # from a finished one. The record keeps the error's status.
        log.warning("stream failed after it started: %s", err.message)
        exchange.error, exchange.status = err, err.http_status
        with contextlib.suppress(ConnectionError):
            await response.write(dialect.error_event(err))
    except ConnectionError:
        log.info("client went away mid-stream; upstream call aborted")
        exchange.status = CLIENT_CLOSED
        return response
    except asyncio.CancelledError:
        if not (live.was_cut(task) and response.prepared):
            raise  # the client went away
        # The shutdown grace period ran out: the client is still there and must not
        # mistake the cut for a clean end.
        task.uncancel()
        stop = Overloaded("the gateway shut down before the stream finished", code="shutdown")
        exchange.error, exchange.status = stop, stop.http_status
        with contextlib.suppress(ConnectionError):
            await response.write(dialect.error_event(stop))
    finally:
        live.discard(task)
        await events.aclose()
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


def _json_response(body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type=_JSON)


def _route_header(exchange: Exchange) -> str:
    return ", ".join(a.describe() for a in exchange.attempts)


_REQUIRED: dict[str, tuple[str, str]] = {
    "chat": ("messages", "a non-empty array of messages"),
    "completions": ("prompt", "a prompt"),
    "embeddings": ("input", "an input"),
}


def _model_named(raw: bytes) -> str:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    model = body.get("model") if isinstance(body, dict) else None
    return model[:256] if isinstance(model, str) else ""


def json_object(raw: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object; 400 ``invalid_json`` otherwise."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            f"request body is not valid JSON: {exc}", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object", code="invalid_json")
    return body


def parse_body(raw: bytes, operation: Operation) -> dict[str, Any]:
    """Parse and check the fields the gateway relies on; the rest is the upstream's."""
    if not raw:
        raise InvalidRequest("request body is empty; expected a JSON object", code="invalid_json")
    body = json_object(raw)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest(
            "you must provide a model parameter (a string)", param="model", code="missing_model"
        )
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be true or false", param="stream", code="invalid_type")
    if stream and operation == "embeddings":
        raise InvalidRequest("embeddings cannot be streamed", param="stream", code="invalid_type")
    field, what = _REQUIRED[operation]
    value = body.get(field)
    if value is None or (field == "messages" and isinstance(value, list) and not value):
        raise InvalidRequest(f"'{field}' is required: {what}", param=field, code="missing_field")
    if field == "messages" and not isinstance(value, list):
        raise InvalidRequest(f"'{field}' must be {what}", param=field, code="invalid_type")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise InvalidRequest(
            "'stream_options' must be an object", param="stream_options", code="invalid_type"
        )
    return body


def _openai_answer(exchange: Exchange) -> bytes:
    assert exchange.response_body is not None
    return exchange.response_body


def _openai_parse(raw: bytes, exchange: Exchange) -> dict[str, Any]:
    return parse_body(raw, exchange.operation)


#: OpenAI's API: the request body and the answer's bytes pass as they are.
OPENAI = Dialect(_openai_parse, _openai_answer, _openai_events, _openai_error_event)
