"""Trace ids, W3C ``traceparent`` in and out, and OTLP export of finished calls as spans.

The request path only makes ids and parses or formats headers (no OpenTelemetry import);
spans are built later from :class:`~gatehouse.store.records.RequestRecord` batches on a
background thread, with the ids the call already used, and sent by OTLP/HTTP.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gatehouse.config.telemetry import TracingConfig
from gatehouse.ids import time_ordered_id
from gatehouse.store.records import AttemptRecord, RequestRecord

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import SpanContext, Status

log = logging.getLogger(__name__)

# Ids only need to be unique, not secret: a seeded Mersenne Twister is ~10x cheaper per
# call than `secrets`, and `random.Random()` seeds itself from os.urandom.
_getrandbits = random.Random().getrandbits

# W3C Trace Context level 1: lowercase hex only. `\Z`, not `$`, so "…-01\n" is refused.
# A future version may append fields after a dash; version 00 may not (checked by length).
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|\Z)")
_ODD_HEX = frozenset("13579bdf")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
_TRACE_ID_LIMIT = (1 << 64) - 1


def new_trace_id() -> str:
    """32 lowercase hex digits, never all zero: time first, so the request log's trace
    index grows at one end (see ``gatehouse.ids``); the last 80 bits are random."""
    return time_ordered_id()


def new_span_id() -> str:
    """16 lowercase hex digits, never all zero."""
    return (_getrandbits(64) or 1).to_bytes(8, "big").hex()


def parse_traceparent(value: str | None) -> tuple[str, str, bool] | None:
    """``(trace_id, parent_span_id, sampled)`` from a ``traceparent`` header, else None.

    None means "start a new trace" (and drop the client's ``tracestate`` with it, as the
    spec asks); a valid header's ``tracestate`` is forwarded as received.
    """
    if not value:
        return None
    value = value.strip(" \t")  # optional whitespace around a header value is allowed
    m = _TRACEPARENT.match(value)
    if m is None:
        return None
    version, trace_id, span_id, flags = m.groups()
    if version == "00":
        if len(value) != 55:
            return None
    elif version == "ff":
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return trace_id, span_id, flags[1] in _ODD_HEX  # the low bit is `sampled`


def format_traceparent(trace_id: str, span_id: str, sampled: bool) -> str:
    """The ``traceparent`` the gateway sends upstream (version 00)."""
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


def ratio_bound(ratio: float) -> int:
    """The threshold that :func:`sampled_by_ratio` compares the trace id's low bits with."""
    return round(ratio * (_TRACE_ID_LIMIT + 1))


def sampled_by_ratio(trace_id: str, bound: int) -> bool:
    """OpenTelemetry's ``TraceIdRatioBased`` decision: the same id gives the same answer
    in every process, so a trace is kept or dropped whole."""
    return int(trace_id[16:], 16) < bound


# Our operations → `gen_ai.operation.name` well-known values.
_OPERATIONS = {"chat": "chat", "completions": "text_completion", "embeddings": "embeddings"}
_MAX_STATUS_MESSAGE = 256


class SpanExport:
    """The recorder's span sink: turns request records into spans and exports them.

    Disabled (no ``otlp_endpoint`` and no injected exporter): :meth:`export` returns at
    once and the OpenTelemetry SDK is never imported. Enabled: spans go into a bounded
    queue that one daemon thread drains in batches; a full queue drops spans and counts
    them in :attr:`dropped_spans`, it never blocks the caller.
    """

    def __init__(
        self,
        config: TracingConfig,
        exporter: SpanExporter | None = None,
        *,
        provider_names: Mapping[str, str] | None = None,
        max_queue_spans: int = 32_768,
        batch_size: int = 512,
        schedule_delay_s: float = 1.0,
        export_timeout_s: float = 5.0,
    ) -> None:
        self.enabled = exporter is not None or config.otlp_endpoint is not None
        self._bound = ratio_bound(config.sample_ratio)
        self._provider_names = dict(provider_names or {})
        self.dropped_spans = 0
        self.failed_spans = 0
        self.skipped_records = 0
        if not self.enabled:
            return
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(
                endpoint=config.otlp_endpoint,
                headers=dict(config.headers),
                timeout=export_timeout_s,
            )
        self._builder = _SpanBuilder(config.service_name, self._provider_names)
        self._exporter = exporter
        self._queue: deque[ReadableSpan] = deque()
        self._max_queue = max_queue_spans
        self._batch_size = batch_size
        self._delay = schedule_delay_s
        self._wake = threading.Event()
        self._done = threading.Condition()
        self._accepted = 0  # spans queued so far (written by the caller's thread only)
        self._finished = 0  # spans handed to the exporter so far (worker thread only)
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="gatehouse-trace-export", daemon=True
        )
        self._thread.start()

    def sample(self, trace_id: str, client_sampled: bool | None) -> bool:
        """Whether this call's trace is recorded: the client's flag when its traceparent
        carried one, else ``sample_ratio`` (never, with export off). Cheap: hot path."""
        if client_sampled is not None:
            return client_sampled
        return self.enabled and int(trace_id[16:], 16) < self._bound

    def export(self, records: Sequence[RequestRecord]) -> None:
        """Queue the spans of the sampled records (called from a background thread)."""
        if not self.enabled:
            return
        if self._stopping:
            self.dropped_spans += len(records)  # at least one span each; nobody drains now
            return
        spans: list[ReadableSpan] = []
        for record in records:
            try:
                if self._keep(record):
                    spans.extend(self._builder.spans(record))
            except (KeyError, TypeError, ValueError):
                # A malformed record must not lose the rest of the batch.
                self.skipped_records += 1
                log.warning("no spans for request %s: malformed record", record.get("id"))
        if not spans:
            return
        room = self._max_queue - len(self._queue)
        if room < len(spans):
            self.dropped_spans += len(spans) - max(room, 0)
            spans = spans[: max(room, 0)]
        self._queue.extend(spans)
        self._accepted += len(spans)
        if len(self._queue) >= self._batch_size:
            self._wake.set()

    def _keep(self, record: RequestRecord) -> bool:
        # A client's traceparent decided (its flag is in the record); else the ratio,
        # which gives the same answer as `sample()` did on the request path.
        if record["parent_span_id"] is None:
            return int(record["trace_id"][16:], 16) < self._bound
        return record["sampled"]

    def force_flush(self, timeout_s: float = 5.0) -> bool:
        """Export everything queued so far; False if that took longer than ``timeout_s``."""
        if not self.enabled:
            return True
        target = self._accepted
        self._wake.set()
        with self._done:
            return self._done.wait_for(lambda: self._finished >= target, timeout_s)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Flush what is queued (within ``timeout_s``), then stop the worker and exporter."""
        if not self.enabled or self._stopping:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            lost = len(self._queue)
            self._queue.clear()
            self.dropped_spans += lost
            log.warning("trace export did not finish in %.1fs; %d spans lost", timeout_s, lost)
        # Also aborts an export still retrying, so the worker ends soon after.
        self._exporter.shutdown()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self._delay)
            self._wake.clear()
            self._drain()
        self._drain()

    def _drain(self) -> None:
        from opentelemetry.sdk.trace.export import SpanExportResult

        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
            try:
                ok = self._exporter.export(batch) is SpanExportResult.SUCCESS
            except Exception:
                # Exporters should not raise; if one does, keep the worker alive.
                log.exception("trace export failed")
                ok = False
            if not ok:
                self.failed_spans += len(batch)
            with self._done:
                self._finished += len(batch)
                self._done.notify_all()


class _SpanBuilder:
    """Builds ``ReadableSpan``s with explicit ids and times (the tracer API cannot)."""

    def __init__(self, service_name: str, provider_names: Mapping[str, str]) -> None:
        # Imported here so that a gateway with tracing off never loads the SDK.
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

        from gatehouse import __version__

        self._span_cls = ReadableSpan
        self._context_cls = SpanContext
        self._kind = SpanKind
        self._status_cls = Status
        self._code = StatusCode
        self._flags = TraceFlags(TraceFlags.SAMPLED)
        self._resource = Resource.create(
            {"service.name": service_name, "service.version": __version__}
        )
        self._scope = InstrumentationScope("gatehouse", __version__)
        self._provider_names = provider_names
        self._ok = Status(StatusCode.UNSET)

    def spans(self, r: RequestRecord) -> list[ReadableSpan]:
        trace_id = int(r["trace_id"], 16)
        ctx = self._context(trace_id, r["span_id"], remote=False)
        parent = (
            self._context(trace_id, r["parent_span_id"], remote=True)
            if r["parent_span_id"]
            else None
        )
        operation = _OPERATIONS.get(r["operation"], r["operation"])
        start = r["received_at"]
        end = _end_of_call(r)
        failed = r["status"] >= 400 or r["error_type"] is not None
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.request.model": r["model"],
            "http.response.status_code": r["status"],
            "gatehouse.request_id": r["id"],
            "gatehouse.attempts": len(r["attempts"]),
            "gatehouse.cache_hit": r["cache_hit"],
            "gatehouse.usage_estimated": r["usage_estimated"],
        }
        _put(attrs, "gen_ai.provider.name", self._provider(r["provider"]))
        _put(attrs, "gen_ai.response.model", r["upstream_model"])
        _put(attrs, "gen_ai.conversation.id", r["session_id"])
        if r["stream"]:
            attrs["gen_ai.request.stream"] = True
            if r["ttft_ms"] is not None:
                attrs["gen_ai.response.time_to_first_chunk"] = r["ttft_ms"] / 1000
        if r["finish_reason"]:
            attrs["gen_ai.response.finish_reasons"] = (r["finish_reason"],)
        _put_usage(attrs, r)
        if r["served_model"] and r["served_model"] != r["model"]:
            attrs["gatehouse.served_model"] = r["served_model"]
        _put(attrs, "gatehouse.deployment", r["deployment"])
        _put(attrs, "gatehouse.cost_usd", r["cost_usd"])
        _put(attrs, "gatehouse.team_id", r["team_id"])
        _put(attrs, "gatehouse.key_id", r["key_id"])
        _put(attrs, "gatehouse.error_code", r["error_code"])
        status = self._ok
        if failed:
            attrs["error.type"] = r["error_type"] or str(r["status"])
            # HTTP server convention: a 4xx is the client's doing, not a server error.
            if r["status"] >= 500 or r["status"] < 400:
                status = self._error(r["error_message"])
        server = self._span_cls(
            name=f"{operation} {r['model']}",
            context=ctx,
            parent=parent,
            resource=self._resource,
            attributes=attrs,
            kind=self._kind.SERVER,
            status=status,
            start_time=_ns(start),
            end_time=_ns(end),
            instrumentation_scope=self._scope,
        )
        spans = [server]
        winner = _winning_attempt(r)
        for a in r["attempts"]:
            spans.append(self._attempt_span(r, a, a is winner, operation, ctx, end))
        return spans

    def _attempt_span(
        self,
        r: RequestRecord,
        a: AttemptRecord,
        won: bool,
        operation: str,
        parent: SpanContext,
        call_end: float,
    ) -> ReadableSpan:
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.request.model": a["upstream_model"],
            "gatehouse.request_id": r["id"],
            "gatehouse.model": a["model"],
            "gatehouse.deployment": a["deployment"],
            "gatehouse.attempt.index": a["idx"],
            "gatehouse.attempt.outcome": a["outcome"],
            "gatehouse.attempt.hedge": a["hedge"],
            "gatehouse.usage_estimated": a["usage_estimated"],
        }
        _put(attrs, "gen_ai.provider.name", self._provider(a["provider"]))
        _put_usage(attrs, a)
        _put(attrs, "gatehouse.cost_usd", a["cost_usd"])
        _put(attrs, "gatehouse.error_code", a["error_code"])
        if r["stream"]:
            attrs["gen_ai.request.stream"] = True
        if won:
            attrs["gen_ai.response.model"] = a["upstream_model"]
            if r["finish_reason"]:
                attrs["gen_ai.response.finish_reasons"] = (r["finish_reason"],)
            if r["stream"] and r["first_token_at"] is not None:
                ttfc = r["first_token_at"] - a["started_at"]
                attrs["gen_ai.response.time_to_first_chunk"] = max(ttfc, 0.0)
        status = self._ok
        if a["outcome"] == "error":
            attrs["error.type"] = a["error_type"] or (str(a["status"]) if a["status"] else "_OTHER")
            _put(attrs, "http.response.status_code", a["status"])
            status = self._error(a["error_code"])
        start = a["started_at"]
        if a["ended_at"] is not None:
            end = a["ended_at"]
        elif a["duration_ms"] is not None:
            end = start + a["duration_ms"] / 1000
        else:
            end = max(call_end, start)
        return self._span_cls(
            name=f"{operation} {a['upstream_model']}",
            context=self._context(parent.trace_id, a["span_id"], remote=False),
            parent=parent,
            resource=self._resource,
            attributes=attrs,
            kind=self._kind.CLIENT,
            status=status,
            start_time=_ns(start),
            end_time=_ns(end),
            instrumentation_scope=self._scope,
        )

    def _context(self, trace_id: int, span_id: str, *, remote: bool) -> SpanContext:
        return self._context_cls(
            trace_id=trace_id, span_id=int(span_id, 16), is_remote=remote, trace_flags=self._flags
        )

    def _error(self, message: str | None) -> Status:
        return self._status_cls(
            self._code.ERROR, message[:_MAX_STATUS_MESSAGE] if message else None
        )

    def _provider(self, name: str | None) -> str | None:
        if name is None:
            return None
        return self._provider_names.get(name, name)


def _end_of_call(r: RequestRecord) -> float:
    if r["done_at"] is not None:
        return r["done_at"]
    if r["latency_ms"] is not None:
        return r["received_at"] + r["latency_ms"] / 1000
    ends = [a["ended_at"] for a in r["attempts"] if a["ended_at"] is not None]
    return max([r["received_at"], *ends])


def _winning_attempt(r: RequestRecord) -> AttemptRecord | None:
    """The attempt whose answer the client got: the last successful one."""
    for a in reversed(r["attempts"]):
        if a["outcome"] == "ok":
            return a
    return None


def _put(attrs: dict[str, Any], key: str, value: object) -> None:
    # OTel attribute values cannot be None.
    if value is not None:
        attrs[key] = value


def _put_usage(attrs: dict[str, Any], u: RequestRecord | AttemptRecord) -> None:
    # Our input/output counts include cached and reasoning tokens, as the semconv asks.
    _put(attrs, "gen_ai.usage.input_tokens", u["input_tokens"])
    _put(attrs, "gen_ai.usage.output_tokens", u["output_tokens"])
    if u["cached_tokens"]:
        attrs["gen_ai.usage.cache_read.input_tokens"] = u["cached_tokens"]
    if u["cache_write_tokens"]:
        attrs["gen_ai.usage.cache_creation.input_tokens"] = u["cache_write_tokens"]
    if u["reasoning_tokens"]:
        attrs["gen_ai.usage.reasoning.output_tokens"] = u["reasoning_tokens"]


def _ns(t: float) -> int:
    return int(t * 1e9)
