"""Calls through a real gateway arrive as OTLP spans at a real OTLP/HTTP receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.conftest import ADMIN_KEY, AUTH, GatewayServer, config_for, wait_for
from tests.otlp import Received, attributes, otlp_receiver

CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hello there"}]}


class Collector:
    """What the receiver got: every span, with its resource's attributes."""

    def __init__(self, received: Received) -> None:
        self.received = received

    @property
    def paths(self) -> list[str]:
        return [path for path, _, _ in list(self.received)]

    @property
    def spans(self) -> list[tuple[dict[str, Any], Span]]:
        out = []
        for _, _, body in list(self.received):
            for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    out.extend((resource, s) for s in scope_spans.spans)
        return out

    def of_trace(self, trace_id: str) -> list[Span]:
        return [s for _, s in self.spans if s.trace_id.hex() == trace_id]


@pytest.fixture
def collector() -> Iterator[tuple[str, Collector]]:
    with otlp_receiver() as (endpoint, received):
        yield endpoint, Collector(received)


def traced_gateway(start_gateway, mock_upstream, endpoint: str, **tracing: Any):
    return start_gateway(
        config_for(mock_upstream.url, tracing={"otlp_endpoint": endpoint, **tracing})
    )


def call(gw, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
    r = httpx.post(
        f"{gw.url}/chat/completions", json=CHAT | body, headers={**AUTH, **(headers or {})}
    )
    assert r.status_code == 200, r.text
    return r


def split(traceparent: str) -> tuple[str, str, str, str]:
    version, trace_id, span_id, flags = traceparent.split("-")
    return version, trace_id, span_id, flags


def server_and_client(collector: Collector, trace_id: str) -> tuple[Span, Span]:
    """The trace's two spans (one call, one attempt), once both arrived."""
    assert wait_for(lambda: len(collector.of_trace(trace_id)) >= 2, timeout=8), trace_id
    spans = collector.of_trace(trace_id)
    assert len(spans) == 2, spans
    [server] = [s for s in spans if s.kind == Span.SPAN_KIND_SERVER]
    [client] = [s for s in spans if s.kind == Span.SPAN_KIND_CLIENT]
    return server, client


def test_calls_arrive_as_server_and_client_spans(start_gateway, mock_upstream, collector):
    endpoint, got = collector
    gw = traced_gateway(start_gateway, mock_upstream, endpoint)

    joined = call(gw, {"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
    joined_upstream = mock_upstream.stats.last_headers["traceparent"]
    fresh = call(gw)
    fresh_upstream = mock_upstream.stats.last_headers["traceparent"]

    assert joined.headers["x-gatehouse-trace-id"] == CLIENT_TRACE
    fresh_trace = fresh.headers["x-gatehouse-trace-id"]
    assert len(fresh_trace) == 32 and fresh_trace != CLIENT_TRACE

    for response, upstream_tp, parent in (
        (joined, joined_upstream, CLIENT_SPAN),
        (fresh, fresh_upstream, None),
    ):
        trace_id = response.headers["x-gatehouse-trace-id"]
        server, client = server_and_client(got, trace_id)
        # The call is a child of the client's span (or a root), the attempt a child of
        # the call, and the upstream was told the attempt's span as its parent.
        assert server.parent_span_id.hex() == (parent or "")
        assert client.parent_span_id == server.span_id
        assert split(upstream_tp) == ("00", trace_id, client.span_id.hex(), "01")
        assert server.start_time_unix_nano <= client.start_time_unix_nano
        assert client.end_time_unix_nano <= server.end_time_unix_nano
        assert server.status.code != server.status.STATUS_CODE_ERROR

        usage = response.json()["usage"]
        attrs = attributes(server.attributes)
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.request.model"] == "chat"
        assert attrs["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
        assert attrs["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
        assert attrs["http.response.status_code"] == 200
        assert attrs["gatehouse.request_id"] == response.headers["x-request-id"]
        assert attrs["gatehouse.deployment"] == "local/mock-model"
        attempt = attributes(client.attributes)
        assert attempt["gen_ai.operation.name"] == "chat"
        assert attempt["gen_ai.request.model"] == "mock-model"  # what the upstream was asked
        assert attempt["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
        assert attempt["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
        assert attempt["gatehouse.attempt.outcome"] == "ok"

    assert set(got.paths) == {"/v1/traces"}
    assert {resource["service.name"] for resource, _ in got.spans} == {"gatehouse"}


def test_a_stream_is_traced_with_its_usage(start_gateway, mock_upstream, collector):
    endpoint, got = collector
    gw = traced_gateway(start_gateway, mock_upstream, endpoint, service_name="gh-e2e")
    body = CHAT | {"stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", f"{gw.url}/chat/completions", json=body, headers=AUTH) as r:
        assert r.status_code == 200
        lines = [line for line in r.iter_lines() if line.startswith("data: {")]
        trace_id = r.headers["x-gatehouse-trace-id"]
    usage = json.loads(lines[-1].removeprefix("data: "))["usage"]
    server, client = server_and_client(got, trace_id)
    attrs = attributes(server.attributes)
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert attrs["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert attrs["gen_ai.response.time_to_first_chunk"] >= 0
    assert attributes(client.attributes)["gen_ai.response.time_to_first_chunk"] >= 0
    upstream = mock_upstream.stats.last_headers["traceparent"]
    assert split(upstream) == ("00", trace_id, client.span_id.hex(), "01")
    assert {resource["service.name"] for resource, _ in got.spans} == {"gh-e2e"}


def test_unsampled_calls_export_nothing(start_gateway, mock_upstream, collector):
    endpoint, got = collector
    gw = traced_gateway(start_gateway, mock_upstream, endpoint, sample_ratio=0)

    dropped = call(gw)  # the ratio decides: 0
    dropped_trace = dropped.headers["x-gatehouse-trace-id"]
    version, trace_id, _span, flags = split(mock_upstream.stats.last_headers["traceparent"])
    assert (version, trace_id, flags) == ("00", dropped_trace, "00")

    declined = "0af7651916cd43dd8448eb211c80319c"  # the client's flag decides: not sampled
    call(gw, {"traceparent": f"00-{declined}-b7ad6b7169203331-00"})
    assert split(mock_upstream.stats.last_headers["traceparent"])[3] == "00"

    # The client's sampled flag wins over the ratio. Records are exported in order, so
    # once this call's spans are in, the two before them would have been too.
    call(gw, {"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
    assert split(mock_upstream.stats.last_headers["traceparent"])[3] == "01"
    server_and_client(got, CLIENT_TRACE)
    assert {s.trace_id.hex() for _, s in got.spans} == {CLIENT_TRACE}


def test_stopping_the_gateway_flushes_queued_spans(loop_thread, mock_upstream, collector):
    endpoint, got = collector
    gw = GatewayServer(
        loop_thread, config_for(mock_upstream.url, tracing={"otlp_endpoint": endpoint})
    )
    try:
        r = call(gw)
        request_id = r.headers["x-request-id"]
        # Once the call is in the request log, its spans are queued for export too.
        assert wait_for(
            lambda: (
                httpx.get(
                    f"{gw.base}/admin/api/requests/{request_id}",
                    headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                ).status_code
                == 200
            )
        )
    finally:
        gw.close()
    # No waiting: stop() exported what was queued before it returned.
    assert len(got.of_trace(r.headers["x-gatehouse-trace-id"])) == 2
