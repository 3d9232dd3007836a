"""The one place where errors become HTTP responses, in OpenAI's error shape."""

from __future__ import annotations

import logging
import re

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestPayloadError

from gatehouse.errors import (
    GatehouseError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    RequestTooLarge,
)
from gatehouse.ids import time_ordered_id
from gatehouse.logs import request_id_var
from gatehouse.providers.anthropic_vocab import anthropic_error_type

log = logging.getLogger("gatehouse.api")

REQUEST_ID = "x-request-id"
ROUTE = "x-gatehouse-route"
#: Replaces aiohttp's default, which would tell every client our exact stack versions.
SERVER = "gatehouse"
REQUEST_ID_KEY = web.RequestKey("request_id", str)
MAX_BODY_BYTES = web.AppKey("max_body_bytes", int)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


#: Paths whose clients expect Anthropic's error shape rather than OpenAI's.
ANTHROPIC_PATHS = "/v1/messages"


def error_response(err: GatehouseError, request_id: str, anthropic: bool = False) -> web.Response:
    headers = err.headers()
    headers[REQUEST_ID] = request_id
    headers["server"] = SERVER
    if err.route:
        headers[ROUTE] = err.route
    if anthropic:
        headers["request-id"] = request_id
        body = anthropic_error_body(err, request_id)
    else:
        body = err.to_json()
    return web.Response(
        body=body, status=err.http_status, content_type="application/json", headers=headers
    )


def anthropic_error_body(err: GatehouseError, request_id: str | None = None) -> bytes:
    """An error in Anthropic's shape; the status stays the catalogue's."""
    kind = anthropic_error_type(err.error_type, err.http_status)
    body: dict[str, object] = {"type": "error", "error": {"type": kind, "message": err.message}}
    if request_id is not None:
        body["request_id"] = request_id
    return orjson.dumps(body)


def translate_http_exception(exc: web.HTTPException, request: web.Request) -> GatehouseError:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        limit = request.app[MAX_BODY_BYTES]
        return RequestTooLarge(
            f"request body is larger than this gateway accepts ({limit} bytes)",
            code="request_too_large",
        )
    if isinstance(exc, web.HTTPNotFound):
        return NotFound(f"unknown path {request.path}", code="unknown_url")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return MethodNotAllowed(
            f"{request.method} is not allowed on {request.path}", code="method_not_allowed"
        )
    return InvalidRequest(exc.reason or "bad request")


def request_id_of(request: web.Request) -> str:
    """The client's x-request-id when it is a sane one, else a new id."""
    given = request.headers.get(REQUEST_ID)
    if given is not None and _VALID_ID.match(given):
        return given
    return time_ordered_id()


@web.middleware
async def edge_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every response a request id; turn every error into OpenAI's shape."""
    request_id = request_id_of(request)
    request[REQUEST_ID_KEY] = request_id
    request_id_var.set(request_id)
    try:
        if "%00" in request.raw_path or "\x00" in request.path:
            # PostgreSQL text can't hold NUL: refuse it here rather than fail a query.
            raise InvalidRequest("the URL contains a NUL character", code="invalid_url")
        response = await handler(request)
    except GatehouseError as err:
        if err.http_status >= 500 or err.code == "upstream_rate_limited":
            # Upstream trouble is the operator's business; client mistakes are not logged.
            log.warning(
                "%s %s -> %d %s: %s",
                request.method,
                request.path,
                err.http_status,
                err.code or err.error_type,
                err.message,
            )
        return error_response(err, request_id, request.path.startswith(ANTHROPIC_PATHS))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        refused = translate_http_exception(exc, request)
        return error_response(refused, request_id, request.path.startswith(ANTHROPIC_PATHS))
    except RequestPayloadError as exc:
        # The body could not be read as sent: a Content-Encoding it doesn't match (bad
        # gzip), a chunked body that breaks off. The client's mistake, not a crash.
        cause = type(exc.__cause__ or exc).__name__
        unreadable = InvalidRequest(
            f"the request body could not be read ({cause}): check its Content-Encoding and length",
            code="unreadable_body",
        )
        return error_response(unreadable, request_id, request.path.startswith(ANTHROPIC_PATHS))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        internal = InternalError(
            f"internal error in the gateway (request id {request_id}; see its log)",
            code="internal_error",
        )
        return error_response(internal, request_id, request.path.startswith(ANTHROPIC_PATHS))
    if not response.prepared:
        response.headers.setdefault(REQUEST_ID, request_id)
        response.headers.setdefault("server", SERVER)
    return response
