"""What every HTTP upstream adapter shares: one pooled client, timeouts, stall watch.

An adapter subclasses :class:`HttpProvider` and says how its protocol's error bodies
read (``_raise_for_status``); transport failures are translated here, so a caller never
sees an aiohttp or socket exception.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any, NoReturn, Protocol

import aiohttp

from gatehouse import __version__
from gatehouse.config import ProviderConfig
from gatehouse.errors import GatehouseError, RateLimited, UpstreamError, UpstreamTimeout
from gatehouse.providers.base import CallTimeouts, Provider

USER_AGENT = f"gatehouse/{__version__}"
log = logging.getLogger("gatehouse.providers")


class BlockReader(Protocol):
    """What a protocol makes of each block of a stream's events."""

    @property
    def complete(self) -> bool:
        """Whether the events so far make a whole answer (checked when the stream ends)."""
        ...

    def read(self, block: bytes) -> bytes:
        """The block to relay (b"": nothing); raises a GatehouseError for a bad one."""
        ...


class HttpProvider(Provider):
    """An upstream reached over HTTP with one connection pool per worker.

    Redirects are never followed: an API has no reason to redirect a call, and the
    provider's key (a session header) would go wherever the redirect pointed.
    """

    def __init__(self, name: str, config: ProviderConfig, headers: dict[str, str]) -> None:
        super().__init__(name, config.forward_headers)
        self.config = config
        self._headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        self._headers.update(config.headers)
        self._headers.update(headers)
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
        """``GET {base_url}/models``: both OpenAI-compatible servers and Anthropic list
        their models there, so it is a cheap check of the address and the key."""
        url = self.config.base_url + "/models"
        await self._fetch("GET", url, None, None, aiohttp.ClientTimeout(total=timeout_s))

    @abc.abstractmethod
    def _raise_for_status(self, status: int, headers: Any, raw: bytes) -> NoReturn:
        """Raise the catalogue error for a non-200 answer of this protocol."""

    def _raise_for_limits_and_keys(self, status: int, headers: Any, message: str) -> None:
        """What every protocol means by 429 (with its Retry-After) and 401/403."""
        if status == 429:
            raise RateLimited(
                f"provider {self.name!r} is rate limiting: {message}",
                code="upstream_rate_limited",
                retry_after=retry_after(headers),
            )
        if status in (401, 403):
            # Never relay the upstream's words here: they may quote the gateway's key.
            raise UpstreamError(
                f"provider {self.name!r} rejected the gateway's credentials (HTTP {status}); "
                "check its api_key",
                code="upstream_auth_failed",
            )

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
                method, url, data=data, headers=headers, timeout=limits, allow_redirects=False
            ) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    self._raise_for_status(resp.status, resp.headers, raw)
                return raw
        except GatehouseError:
            raise
        except Exception as exc:  # translated: the client never sees aiohttp's types
            self._raise_transport(exc)

    async def _sse_blocks(
        self,
        url: str,
        data: bytes,
        headers: dict[str, str] | None,
        timeouts: CallTimeouts,
        blocks: BlockReader,
    ) -> AsyncGenerator[bytes, None]:
        """POST and yield the answer's server-sent events in blocks of complete events,
        each as ``blocks`` reads it (the protocol's check or translation: a method call
        per block, not another generator, which would cost every event of every stream).

        Raises on a non-200 answer, on ``timeouts.stall_s`` of silence, on a transport
        failure, when the stream ends inside an event, and when it ends before
        ``blocks`` saw it complete. Once it is complete, the rest is read only to leave
        the connection reusable: a failure then ends the stream quietly.
        """
        loop = asyncio.get_running_loop()
        watch: _StallWatch | None = None
        try:
            timeout = self._client_timeout(timeouts)
            async with self.session.post(
                url, data=data, headers=headers, timeout=timeout, allow_redirects=False
            ) as resp:
                if resp.status != 200:
                    self._raise_for_status(resp.status, resp.headers, await resp.read())
                watch = _StallWatch(loop, timeouts.stall_s, resp)
                pending = b""
                async for chunk in resp.content.iter_any():
                    watch.last = loop.time()
                    pending += chunk
                    if b"\r" in chunk:
                        # On the joined buffer, so a CRLF split between two reads is
                        # still one line end (a lone trailing CR waits for its LF).
                        pending = pending.replace(b"\r\n", b"\n")
                    cut = pending.rfind(b"\n\n")
                    if cut < 0:
                        continue
                    block, pending = pending[: cut + 2], pending[cut + 2 :]
                    try:
                        block = blocks.read(block)
                    except GatehouseError:
                        if blocks.complete:
                            return  # junk after a whole answer: not the client's problem
                        raise
                    except Exception as exc:
                        log.warning(
                            "provider %r: unreadable stream event", self.name, exc_info=True
                        )
                        raise UpstreamError(
                            f"provider {self.name!r} sent an event the gateway could not read",
                            code="upstream_malformed",
                        ) from exc
                    if block:
                        yield block
                        # Time spent waiting for a slow client is not upstream silence.
                        watch.last = loop.time()
                if blocks.complete:
                    return  # whatever followed the whole answer (silence, a torn tail)
                if watch.fired:
                    raise self._stalled(timeouts)
                if pending.strip():
                    raise UpstreamError(
                        f"provider {self.name!r} ended the stream inside an event",
                        code="upstream_stream_cut",
                    )
                raise self._stream_cut()
        except GatehouseError:
            raise
        except Exception as exc:  # translated: the client never sees aiohttp's types
            if watch is not None and blocks.complete:
                # A reset or a stall after the whole answer (and its usage, usually) came:
                # the call succeeded; reading on was only to free the connection cleanly.
                return
            if watch is not None and watch.fired:
                raise self._stalled(timeouts) from exc
            self._raise_transport(exc)
        finally:
            if watch is not None:
                watch.cancel()

    def _stream_cut(self) -> UpstreamError:
        return UpstreamError(
            f"provider {self.name!r} ended the stream before it was complete",
            code="upstream_stream_cut",
        )

    def _malformed(self) -> UpstreamError:
        return UpstreamError(
            f"provider {self.name!r} returned a malformed response body",
            code="upstream_malformed_response",
        )

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


def retry_after(headers: Any) -> float | None:
    """Seconds of a Retry-After header given in seconds (None when absent or a date)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


_CONTEXT_HINTS = (
    "context length",
    "context window",
    "maximum context",
    "too many tokens",
    "prompt is too long",
)
_FILTER_CODES = ("content_filter", "content_policy_violation")


def rejection_code(code: str | None, message: str) -> str | None:
    """Name the two rejections a fallback can cure, whatever the upstream calls them."""
    if code == "context_length_exceeded":
        return code
    if code in _FILTER_CODES:
        return "content_filter"
    lowered = message.lower()
    if any(hint in lowered for hint in _CONTEXT_HINTS):
        return "context_length_exceeded"
    return code
