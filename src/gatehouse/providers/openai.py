"""Adapter for any OpenAI-compatible HTTP API.

OpenAI itself, vLLM, Ollama, llama.cpp server, TGI, Groq, Together… all speak this
protocol, so one adapter serves them. The request body is forwarded as the client
sent it (bar the model name), and the response bytes are relayed untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, NoReturn

import aiohttp
import orjson

from gatehouse import __version__
from gatehouse.config import ProviderConfig
from gatehouse.errors import (
    GatehouseError,
    RateLimited,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
)
from gatehouse.providers.base import (
    DEFAULT_TIMEOUTS,
    PATHS,
    CallTimeouts,
    Headers,
    Operation,
    Provider,
    Reply,
)

_DONE = b"data: [DONE]"
_FINISHED = (b'"finish_reason":"', b'"finish_reason": "')


class OpenAIProvider(Provider):
    def __init__(self, name: str, config: ProviderConfig) -> None:
        super().__init__(name, config.forward_headers)
        self.config = config
        self._urls = {op: config.base_url + path for op, path in PATHS.items()}
        headers = {"content-type": "application/json", "user-agent": f"gatehouse/{__version__}"}
        headers.update(config.headers)
        if config.api_key is not None:
            headers["authorization"] = f"Bearer {config.api_key.get_secret_value()}"
        self._headers = headers
        self._timeout = aiohttp.ClientTimeout(
            total=config.timeout_s, sock_connect=config.connect_timeout_s
        )
        self._session: aiohttp.ClientSession | None = None
        self._client_timeouts: dict[CallTimeouts, aiohttp.ClientTimeout] = {}

    def default_timeouts(self) -> CallTimeouts:
        c = self.config
        return CallTimeouts(
            connect_s=c.connect_timeout_s,
            first_token_s=c.first_token_timeout_s,
            stall_s=c.stall_timeout_s,
            total_s=c.timeout_s,
        )

    def _client_timeout(self, timeouts: CallTimeouts) -> aiohttp.ClientTimeout:
        found = self._client_timeouts.get(timeouts)
        if found is None:
            found = aiohttp.ClientTimeout(total=timeouts.total_s, sock_connect=timeouts.connect_s)
            self._client_timeouts[timeouts] = found
        return found

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self.config.max_connections, ttl_dns_cache=300, keepalive_timeout=30
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=self._headers,
            timeout=self._timeout,
            # No skip_auto_headers: it puts aiohttp on a slow path for every request,
            # and our own user-agent already replaces aiohttp's.
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"provider {self.name!r} used before start()")
        return self._session

    async def probe(self, timeout_s: float) -> None:
        url = self.config.base_url + "/models"
        await self._fetch("GET", url, None, None, aiohttp.ClientTimeout(total=timeout_s))

    async def _fetch(
        self,
        method: str,
        url: str,
        data: bytes | None,
        headers: dict[str, str] | None,
        limits: aiohttp.ClientTimeout,
    ) -> bytes:
        """One whole request: the body of a 200, else a catalogue error."""
        try:
            async with self.session.request(
                method, url, data=data, headers=headers, timeout=limits
            ) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    self._raise_for_status(resp.status, resp.headers, raw)
                return raw
        except GatehouseError:
            raise
        except Exception as exc:  # translated: the client never sees aiohttp's types
            self._raise_transport(exc)

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
            orjson.dumps(body),
            self.outbound(headers, traceparent),
            self._client_timeout(timeouts),
        )
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise UpstreamError(
                f"provider {self.name!r} returned a malformed response body",
                code="upstream_malformed_response",
            )
        return Reply(raw, parsed)

    async def stream(
        self,
        operation: Operation,
        body: dict[str, Any],
        headers: Headers = None,
        timeouts: CallTimeouts = DEFAULT_TIMEOUTS,
        traceparent: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        url, data = self._urls[operation], orjson.dumps(body)
        extra = self.outbound(headers, traceparent)
        timeout = self._client_timeout(timeouts)
        loop = asyncio.get_running_loop()
        watch: _StallWatch | None = None
        try:
            async with self.session.post(url, data=data, headers=extra, timeout=timeout) as resp:
                if resp.status != 200:
                    self._raise_for_status(resp.status, resp.headers, await resp.read())
                watch = _StallWatch(loop, timeouts.stall_s, resp)
                pending = b""
                complete = False
                async for data in resp.content.iter_any():
                    watch.last = loop.time()
                    pending += data
                    if b"\r" in data:
                        # On the joined buffer, so a CRLF split between two reads is
                        # still one line end (a lone trailing CR waits for its LF).
                        pending = pending.replace(b"\r\n", b"\n")
                    cut = pending.rfind(b"\n\n")
                    if cut < 0:
                        continue
                    block, pending = pending[: cut + 2], pending[cut + 2 :]
                    if not complete and (_DONE in block or any(f in block for f in _FINISHED)):
                        complete = True
                    yield block
                    # Time spent waiting for a slow client is not upstream silence.
                    watch.last = loop.time()
                if watch.fired:
                    raise self._stalled(timeouts)
                if pending.strip():
                    raise UpstreamError(
                        f"provider {self.name!r} ended the stream inside an event",
                        code="upstream_stream_cut",
                    )
                if not complete:
                    raise UpstreamError(
                        f"provider {self.name!r} ended the stream before it was complete",
                        code="upstream_stream_cut",
                    )
        except GatehouseError:
            raise
        except Exception as exc:  # translated: the client never sees aiohttp's types
            if watch is not None and watch.fired:
                raise self._stalled(timeouts) from exc
            self._raise_transport(exc)
        finally:
            if watch is not None:
                watch.cancel()

    def _stalled(self, timeouts: CallTimeouts) -> UpstreamTimeout:
        return UpstreamTimeout(
            f"provider {self.name!r} sent nothing for {timeouts.stall_s:g}s mid-stream",
            code="upstream_stalled",
        )

    def _raise_transport(self, exc: BaseException) -> NoReturn:
        if isinstance(exc, asyncio.TimeoutError):
            raise UpstreamTimeout(
                f"provider {self.name!r} did not answer within its timeout",
                code="upstream_timeout",
            ) from exc
        if isinstance(exc, aiohttp.ClientConnectorError):
            raise UpstreamError(
                f"could not connect to provider {self.name!r}", code="upstream_connect_error"
            ) from exc
        if isinstance(exc, aiohttp.ClientError | OSError):
            raise UpstreamError(
                f"connection to provider {self.name!r} failed mid-response",
                code="upstream_disconnected",
            ) from exc
        raise exc

    def _raise_for_status(self, status: int, headers: Any, raw: bytes) -> NoReturn:
        message, error_type, code = _upstream_error(raw)
        if status == 429:
            raise RateLimited(
                f"provider {self.name!r} is rate limiting: {message}",
                code="upstream_rate_limited",
                retry_after=_retry_after(headers),
            )
        if status in (401, 403):
            # Never relay the upstream's words here: they may quote the gateway's key.
            raise UpstreamError(
                f"provider {self.name!r} rejected the gateway's credentials (HTTP {status}); "
                "check its api_key",
                code="upstream_auth_failed",
            )
        if 400 <= status < 500:
            raise UpstreamRejected(
                message,
                status=status,
                error_type=error_type or "invalid_request_error",
                code=_rejection_code(code, message),
            )
        raise UpstreamError(
            f"provider {self.name!r} failed with HTTP {status}: {message}",
            code="upstream_http_error",
            retry_after=_retry_after(headers) if status == 503 else None,
        )


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


_CONTEXT_HINTS = ("context length", "context window", "maximum context", "too many tokens")
_FILTER_CODES = ("content_filter", "content_policy_violation")


def _rejection_code(code: str | None, message: str) -> str | None:
    """Name the two rejections a fallback can cure, whatever the upstream calls them."""
    if code == "context_length_exceeded":
        return code
    if code in _FILTER_CODES:
        return "content_filter"
    lowered = message.lower()
    if any(hint in lowered for hint in _CONTEXT_HINTS):
        return "context_length_exceeded"
    return code


class _StallWatch:
    """Closes an upstream response that stays silent for ``limit`` seconds.

    One timer per stream, re-armed lazily: a read only stores the time, so the
    per-event cost is one clock call.
    """

    __slots__ = ("fired", "handle", "last", "limit", "loop", "resp")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, limit: float, resp: aiohttp.ClientResponse
    ) -> None:
        self.loop = loop
        self.limit = limit
        self.resp = resp
        self.fired = False
        self.last = loop.time()
        self.handle = loop.call_at(self.last + limit, self._check)

    def _check(self) -> None:
        due = self.last + self.limit
        if self.loop.time() >= due:
            self.fired = True
            self.resp.close()
        else:
            self.handle = self.loop.call_at(due, self._check)

    def cancel(self) -> None:
        self.handle.cancel()


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
