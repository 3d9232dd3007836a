"""The interface every upstream adapter implements.

Inside the gateway a request is the OpenAI wire format as a plain dict; an adapter
translates at the edge. A non-streaming call returns the upstream's JSON bytes
untouched (plus the parsed form, for usage). A streaming call is an async iterator of
*blocks*: byte strings holding one or more complete server-sent events, in the
OpenAI chunk format, ready to relay. Adapters raise only :mod:`gatehouse.errors`
types, so a caller never sees an aiohttp or socket exception.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Operation = Literal["chat", "completions", "embeddings"]
Headers = Mapping[str, str] | None

PATHS: dict[str, str] = {
    "chat": "/chat/completions",
    "completions": "/completions",
    "embeddings": "/embeddings",
}


#: The client's credentials for the gateway: never passed on, whatever forward_headers says.
CREDENTIALS = frozenset({"authorization", "x-api-key"})


@dataclass(frozen=True, slots=True)
class CallTimeouts:
    """The limits of one call, in seconds (resolved per deployment at start-up)."""

    connect_s: float = 5.0
    first_token_s: float = 60.0
    stall_s: float = 30.0
    total_s: float = 600.0


DEFAULT_TIMEOUTS = CallTimeouts()


@dataclass(slots=True)
class Reply:
    """A finished non-streaming upstream response."""

    body: bytes
    data: dict[str, Any]


class Provider(abc.ABC):
    """One upstream, with its own pooled connections, created at start-up."""

    def __init__(self, name: str, forward_headers: list[str] | None = None) -> None:
        self.name = name
        patterns = [h.lower() for h in forward_headers or [] if h.lower() not in CREDENTIALS]
        self._exact = frozenset(p for p in patterns if not p.endswith("*"))
        self._prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))

    def forwarded(self, headers: Headers) -> dict[str, str] | None:
        """The client headers this provider is configured to pass on, if any."""
        if not headers or not (self._exact or self._prefixes):
            return None
        out = {}
        for key, value in headers.items():
            k = key.lower()
            if k in self._exact or (k.startswith(self._prefixes) and k not in CREDENTIALS):
                out[k] = value
        return out or None

    def outbound(self, headers: Headers, traceparent: str | None) -> dict[str, str] | None:
        """The headers of one upstream call: the forwarded ones and the trace context."""
        out = self.forwarded(headers)
        if traceparent is None:
            return out
        if out is None:
            out = {}
        out["traceparent"] = traceparent
        state = headers.get("tracestate") if headers else None
        if state:
            out["tracestate"] = state
        return out

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open pooled connections; called once before the first request."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once at shutdown."""

    def default_timeouts(self) -> CallTimeouts:
        """Timeouts of this provider's deployments unless a deployment overrides them."""
        return DEFAULT_TIMEOUTS

    async def probe(self, timeout_s: float) -> None:  # noqa: B027 - optional hook
        """A cheap health check; raises a GatehouseError when the upstream is unwell."""

    @abc.abstractmethod
    async def complete(
        self,
        operation: Operation,
        body: dict[str, Any],
        headers: Headers = None,
        timeouts: CallTimeouts = DEFAULT_TIMEOUTS,
        traceparent: str | None = None,
    ) -> Reply:
        """Send a non-streaming call and return the upstream's JSON.

        ``headers`` are the client's request headers; only those named in the
        provider's ``forward_headers`` are passed on, plus the W3C trace context
        (``traceparent``, and the client's ``tracestate``).
        """

    @abc.abstractmethod
    def stream(
        self,
        operation: Operation,
        body: dict[str, Any],
        headers: Headers = None,
        timeouts: CallTimeouts = DEFAULT_TIMEOUTS,
        traceparent: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """Send a streaming call; yield blocks of complete SSE events.

        The iterator raises a :class:`gatehouse.errors.GatehouseError` when the
        upstream fails before or during the stream, including when the stream ends
        without its terminating ``data: [DONE]`` event, or stays silent longer than
        ``timeouts.stall_s`` between two reads. Closing the iterator early
        (``aclose()``) aborts the upstream request. The time to the first content
        event is the caller's to bound (it knows what counts as content).
        """
