"""Adapter for any OpenAI-compatible HTTP API.

OpenAI itself, vLLM, Ollama, llama.cpp server, TGI, Groq, Together… all speak this
protocol, so one adapter serves them. The request body is forwarded as the client
sent it (bar the model name, and the Anthropic-only fields of a ``/v1/messages``
client's call), and the response bytes are relayed untouched.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, NoReturn

import orjson

from gatehouse.config import ProviderConfig
from gatehouse.errors import UpstreamError, UpstreamRejected
from gatehouse.providers.anthropic_vocab import FROM_MESSAGES
from gatehouse.providers.base import (
    DEFAULT_TIMEOUTS,
    PATHS,
    CallTimeouts,
    Headers,
    Operation,
    Reply,
)
from gatehouse.providers.http import HttpProvider, rejection_code, retry_after

_DONE = b"data: [DONE]"
_FINISHED = (b'"finish_reason":"', b'"finish_reason": "')


class OpenAIProvider(HttpProvider):
    def __init__(self, name: str, config: ProviderConfig) -> None:
        headers = {}
        if config.api_key is not None:
            headers["authorization"] = f"Bearer {config.api_key.get_secret_value()}"
        super().__init__(name, config, headers)
        self._urls = {op: config.base_url + path for op, path in PATHS.items()}

    async def complete(
        self,
        operation: Operation,
        body: dict[str, Any],
        headers: Headers = None,
        timeouts: CallTimeouts = DEFAULT_TIMEOUTS,
        traceparent: str | None = None,
    ) -> Reply:
        raw = await self._fetch(
            "POST",
            self._urls[operation],
            _encode(body),
            self.outbound(headers, traceparent),
            self._client_timeout(timeouts),
        )
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise self._malformed()
        return Reply(raw, parsed)

    def stream(
        self,
        operation: Operation,
        body: dict[str, Any],
        headers: Headers = None,
        timeouts: CallTimeouts = DEFAULT_TIMEOUTS,
        traceparent: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        return self._sse_blocks(
            self._urls[operation],
            _encode(body),
            self.outbound(headers, traceparent),
            timeouts,
            _Relayed(),
        )

    def _raise_for_status(self, status: int, headers: Any, raw: bytes) -> NoReturn:
        message, error_type, code = _upstream_error(raw)
        self._raise_for_limits_and_keys(status, headers, message)
        if 400 <= status < 500:
            raise UpstreamRejected(
                message,
                status=status,
                error_type=error_type or "invalid_request_error",
                code=rejection_code(code, message),
            )
        raise UpstreamError(
            f"provider {self.name!r} failed with HTTP {status}: {message}",
            code="upstream_http_error",
            retry_after=retry_after(headers) if status == 503 else None,
        )


class _Relayed:
    """Blocks pass as they are; the stream is whole once ``[DONE]`` or a finish_reason
    has come (some servers omit ``[DONE]``)."""

    __slots__ = ("complete",)

    def __init__(self) -> None:
        self.complete = False

    def read(self, block: bytes) -> bytes:
        if not self.complete and (_DONE in block or any(f in block for f in _FINISHED)):
            self.complete = True
        return block


def _encode(body: dict[str, Any]) -> bytes:
    if FROM_MESSAGES in body:
        # An Anthropic client's call: its Anthropic-only fields would make some
        # OpenAI-compatible servers refuse it. A call from an OpenAI client is sent as
        # its client wrote it (e.g. cache_control for a router that understands it).
        body = _without_anthropic_fields(body)
    return orjson.dumps(body)


def _without_anthropic_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The body minus ``thinking`` and the marker, and ``cache_control``, ``thinking_blocks``
    and ``is_error`` in messages, content parts and tools (copies: the body is shared by
    every attempt)."""
    out = {k: v for k, v in body.items() if k not in ("thinking", FROM_MESSAGES)}
    messages = out.get("messages")
    if isinstance(messages, list):
        out["messages"] = [_strip_message(m) for m in messages]
    tools = out.get("tools")
    if isinstance(tools, list):
        out["tools"] = [_strip(t, "cache_control") for t in tools]
    return out


def _strip_message(message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    message = _strip(message, "cache_control", "thinking_blocks", "is_error")
    content = message.get("content")
    if isinstance(content, list):
        message["content"] = [_strip(part, "cache_control") for part in content]
    return message


def _strip(item: Any, *keys: str) -> Any:
    if not isinstance(item, dict) or not any(k in item for k in keys):
        return item
    return {k: v for k, v in item.items() if k not in keys}


def _upstream_error(raw: bytes) -> tuple[str, str | None, str | None]:
    """The message, type and code of an upstream error body, whatever its shape."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        text = raw[:200].decode("utf-8", "replace").strip()
        return (text or "no error message"), None, None
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        code = err.get("code")
        return (
            str(err.get("message") or "no error message")[:1000],
            err.get("type"),
            code if isinstance(code, str) else None,
        )
    if isinstance(err, str):
        return err[:1000], None, None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"][:1000], None, None
    return "no error message", None, None
