"""Adapter for Anthropic's Messages API.

The gateway's OpenAI-shaped chat request is translated to a Messages request
(``anthropic_format``), and the answer back to OpenAI's shape: a whole message to a
``chat.completion``, the event stream to ``chat.completion.chunk`` events
(``anthropic_stream``). So routing, limits, guards, cost and records treat an Anthropic
deployment like any other. Errors map into the catalogue: 529 (overloaded) and 5xx are
upstream failures to retry or fall over, 429 keeps its Retry-After, a too-long prompt is
``context_length_exceeded`` (a fallback may take it), other 4xx are the client's.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any, NoReturn

import orjson

from gatehouse.config import ProviderConfig
from gatehouse.errors import InvalidRequest, UpstreamError, UpstreamRejected
from gatehouse.providers.anthropic_format import from_messages_response, to_messages_request
from gatehouse.providers.anthropic_stream import ChunkStream
from gatehouse.providers.anthropic_tools import uses_json_tool
from gatehouse.providers.base import DEFAULT_TIMEOUTS, CallTimeouts, Headers, Operation, Reply
from gatehouse.providers.http import HttpProvider, rejection_code, retry_after

#: Anthropic's "overloaded" status: its API is busy, not the request wrong.
OVERLOADED = 529


class AnthropicProvider(HttpProvider):
    def __init__(self, name: str, config: ProviderConfig) -> None:
        headers = {"anthropic-version": config.version}
        if config.api_key is not None:
            headers["x-api-key"] = config.api_key.get_secret_value()
        super().__init__(name, config, headers)
        self._url = config.base_url + "/messages"
        self._max_tokens = config.max_tokens

    def _request(self, operation: Operation, body: dict[str, Any]) -> dict[str, Any]:
        if operation != "chat":
            raise InvalidRequest(
                f"provider {self.name!r} speaks Anthropic's Messages API, which has no "
                f"{operation} endpoint; use a chat model",
                code="unsupported_operation",
            )
        return to_messages_request(body, max_tokens=self._max_tokens)

    async def complete(
        self,
        operation: Operation,
        body: dict[str, Any],
        headers: Headers = None,
        timeouts: CallTimeouts = DEFAULT_TIMEOUTS,
        traceparent: str | None = None,
    ) -> Reply:
        request = self._request(operation, body)
        request.pop("stream", None)
        raw = await self._fetch(
            "POST",
            self._url,
            orjson.dumps(request),
            self.outbound(headers, traceparent),
            self._client_timeout(timeouts),
        )
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict) or message.get("type") == "error":
            raise self._malformed()
        data = from_messages_response(
            message, created=int(time.time()), json_mode=uses_json_tool(request)
        )
        return Reply(orjson.dumps(data), data)

    def stream(
        self,
        operation: Operation,
        body: dict[str, Any],
        headers: Headers = None,
        timeouts: CallTimeouts = DEFAULT_TIMEOUTS,
        traceparent: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        request = self._request(operation, body)
        request["stream"] = True
        options = body.get("stream_options")
        chunks = ChunkStream(
            include_usage=isinstance(options, dict) and options.get("include_usage") is True,
            json_mode=uses_json_tool(request),
            created=int(time.time()),
        )
        return self._sse_blocks(
            self._url,
            orjson.dumps(request),
            self.outbound(headers, traceparent),
            timeouts,
            _Translated(chunks),
        )

    def _raise_for_status(self, status: int, headers: Any, raw: bytes) -> NoReturn:
        error_type, message = _upstream_error(raw)
        self._raise_for_limits_and_keys(status, headers, message)
        if status == 402 or error_type == "billing_error":
            # The gateway's account, not the client's request: fail over, and keep the
            # upstream's words (about the operator's credit) from the client.
            raise UpstreamError(
                f"provider {self.name!r} refused the call for its account's billing "
                f"(HTTP {status}); check the provider's plan and credit",
                code="upstream_billing",
            )
        if status == OVERLOADED or error_type == "overloaded_error":
            raise UpstreamError(
                f"provider {self.name!r} is overloaded (HTTP {status}): {message}",
                code="upstream_overloaded",
                retry_after=retry_after(headers),
            )
        if 400 <= status < 500:
            raise UpstreamRejected(
                message,
                status=status,
                error_type=_OPENAI_TYPES.get(error_type or "", "invalid_request_error"),
                code=rejection_code(None, message),
            )
        raise UpstreamError(
            f"provider {self.name!r} failed with HTTP {status}: {message}",
            code="upstream_http_error",
            retry_after=retry_after(headers),
        )


#: Anthropic's 4xx error types as the catalogue names them (most are the same words).
_OPENAI_TYPES = {
    "invalid_request_error": "invalid_request_error",
    "not_found_error": "not_found_error",
    "request_too_large": "request_too_large",
    "permission_error": "permission_error",
}


class _Translated:
    """Each block of Anthropic events as OpenAI chunks; whole once ``message_stop`` came."""

    __slots__ = ("chunks",)

    def __init__(self, chunks: ChunkStream) -> None:
        self.chunks = chunks

    @property
    def complete(self) -> bool:
        return self.chunks.finished

    def read(self, block: bytes) -> bytes:
        return b"".join(self.chunks.feed(event) for event in _events(block))


def _events(block: bytes) -> list[dict[str, Any]]:
    """The JSON of each ``data:`` line of a block of SSE events (``event:`` lines are
    redundant: every Anthropic payload names its own type)."""
    events = []
    for line in block.split(b"\n"):
        if not line.startswith(b"data:"):
            continue
        try:
            event = orjson.loads(line[5:])
        except orjson.JSONDecodeError:
            raise UpstreamError(
                "upstream sent a malformed stream event", code="upstream_malformed"
            ) from None
        if not isinstance(event, dict):
            raise UpstreamError("upstream sent a malformed stream event", code="upstream_malformed")
        events.append(event)
    return events


def _upstream_error(raw: bytes) -> tuple[str | None, str]:
    """The type and message of an Anthropic error body ({"type": "error", "error": {…}})."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        text = raw[:200].decode("utf-8", "replace").strip()
        return None, text or "no error message"
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        kind = err.get("type")
        return (
            kind if isinstance(kind, str) else None,
            str(err.get("message") or "no error message")[:1000],
        )
    return None, "no error message"
