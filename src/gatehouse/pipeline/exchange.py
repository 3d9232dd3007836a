"""The Exchange: one object that carries a call through the pipeline.

Stages read and fill it in; the api layer builds it from the HTTP request and turns
it back into a response; later the recorder takes the finished one. Timings are
``time.perf_counter()`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gatehouse.routing.attempt import Attempt

if TYPE_CHECKING:
    from gatehouse.guard.keys import ApiKey
    from gatehouse.guard.limits import Reservation
    from gatehouse.guard.redaction import Redactor
    from gatehouse.providers.base import Operation
    from gatehouse.routing.table import Deployment, ModelRoute


@dataclass(slots=True)
class Exchange:
    request_id: str
    operation: Operation
    body: dict[str, Any]
    model: str
    stream: bool = False
    client_api: str = "openai"  # the API the client called (anthropic: /v1/messages)
    headers: Mapping[str, str] | None = None  # the client's request headers
    tags: frozenset[str] = frozenset()  # deployment tags the client requires
    client_request_id: str | None = None  # the x-request-id the client sent, if any
    key: ApiKey | None = None  # who is calling (None: auth is off)
    reservation: Reservation | None = None  # what the call holds of its limits until it ends
    body_size: int = 0  # bytes of the request body as received
    received: float = field(default_factory=time.perf_counter)
    received_wall: float = field(default_factory=time.time)  # the same instant, epoch
    # Trace context: the client's (from traceparent) or a new trace.
    trace_id: str = ""
    span_id: str = ""
    parent_span_id: str | None = None
    sampled: bool = True
    tracestate: str | None = None
    metadata: dict[str, str] | None = None  # x-gatehouse-metadata, checked at the edge
    raw_body: bytes | None = None  # kept only under the `full` body policy
    captured: list[bytes] | None = None  # a stream's blocks as sent, under `full`
    status: int = 200  # the HTTP status the client got
    strip_usage: bool = False  # usage was asked of the upstream, not by the client
    cache_hit: bool = False
    guard: list[dict[str, Any]] | None = None  # guardrail verdicts, as the request log keeps them
    redactor: Redactor | None = None  # placeholders sent upstream, restored in the answer
    canary: str | None = None  # the token the guardrails wrote into the system prompt
    #: The request as the store may keep it when guardrails blocked or redacted it.
    stored_request: bytes | None = None
    #: The response as the store may keep it when guardrails changed what the client got
    #: (placeholders not restored, output redactions applied).
    stored_response: bytes | None = None
    route: ModelRoute | None = None
    deployment: Deployment | None = None  # the one that served the call
    served_model: str | None = None  # the public model that served it (a fallback's name)
    attempts: list[Attempt] = field(default_factory=list)
    # A non-streaming result: the upstream's bytes, relayed untouched, and their parsed form.
    response_body: bytes | None = None
    response_data: dict[str, Any] | None = None
    # A streaming result: blocks of complete SSE events.
    events: AsyncGenerator[bytes, None] | None = None
    usage: dict[str, Any] | None = None
    first_token: float | None = None
    done: float | None = None
    error: Exception | None = None
