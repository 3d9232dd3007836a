"""Trace ids, traceparent parsing, and request records exported as OTLP spans."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import SpanKind, StatusCode

from gatehouse.config.telemetry import TracingConfig
from gatehouse.store.records import AttemptRecord, RequestRecord
from gatehouse.telemetry.tracing import (
    SpanExport,
    format_traceparent,
    new_span_id,
    new_trace_id,
    parse_traceparent,
    ratio_bound,
    sampled_by_ratio,
)
from tests.otlp import Received, attributes, otlp_receiver

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
VALID = f"00-{TRACE}-{PARENT}-01"
T0 = 1_750_000_000.0


# --- ids and traceparent -------------------------------------------------------------


def test_new_ids_are_lowercase_hex_of_the_right_length_and_distinct() -> None:
    traces = {new_trace_id() for _ in range(5000)}
    spans = {new_span_id() for _ in range(5000)}
    assert len(traces) == 5000 and len(spans) == 5000
    for t in traces:
        assert len(t) == 32 and t == t.lower() and int(t, 16) != 0
    for s in spans:
        assert len(s) == 16 and s == s.lower() and int(s, 16) != 0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (VALID, (TRACE, PARENT, True)),
        (f"00-{TRACE}-{PARENT}-00", (TRACE, PARENT, False)),
        # Flags other than `sampled` are ignored, not refused.
        (f"00-{TRACE}-{PARENT}-09", (TRACE, PARENT, True)),
        (f"00-{TRACE}-{PARENT}-02", (TRACE, PARENT, False)),
        # Optional whitespace around a header value.
        (f" \t{VALID} ", (TRACE, PARENT, True)),
        # A future version: parse the known fields, ignore what follows a dash.
        (f"cc-{TRACE}-{PARENT}-01", (TRACE, PARENT, True)),
        (f"cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like", (TRACE, PARENT, True)),
    ],
)
def test_valid_traceparents(header: str, expected: tuple[str, str, bool]) -> None:
    assert parse_traceparent(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"ff-{TRACE}-{PARENT}-01",  # version ff is forbidden
        f"00-{'0' * 32}-{PARENT}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE.upper()}-{PARENT}-01",  # uppercase is not HEXDIGLC
        f"00-{TRACE}-{PARENT.upper()}-01",
        f"0A-{TRACE}-{PARENT}-01",
        f"00-{TRACE}-{PARENT}-0A",
        f"00-{TRACE}-{PARENT}-01-extra",  # version 00 has exactly four fields
        f"00-{TRACE}-{PARENT}-01\n",
        f"00-{TRACE[:-1]}-{PARENT}-01",  # short trace id
        f"00-{TRACE}0-{PARENT}-01",  # long trace id
        f"00-{TRACE}-{PARENT[:-1]}-01",
        f"00-{TRACE}-{PARENT}0-01",
        f"00-{TRACE}-{PARENT}-1",
        f"00-{TRACE}-{PARENT}-001",
        f"00_{TRACE}_{PARENT}_01",
        f"0-{TRACE}-{PARENT}-01",
        f"000-{TRACE}-{PARENT}-01",
        f"00-{TRACE[:-1]}g-{PARENT}-01",
        f"cc-{TRACE}-{PARENT}-01.future",  # a future version still needs a dash after flags
        f"cc-{TRACE}-{PARENT}",
    ],
)
def test_invalid_traceparents(header: str | None) -> None:
    assert parse_traceparent(header) is None


def test_format_and_parse_round_trip() -> None:
    rng = random.Random(7)
    for _ in range(500):
        trace, span, sampled = new_trace_id(), new_span_id(), rng.random() < 0.5
        header = format_traceparent(trace, span, sampled)
        assert len(header) == 55
        assert parse_traceparent(header) == (trace, span, sampled)


def test_any_single_character_corruption_of_a_field_is_refused() -> None:
    for i, ch in enumerate(VALID):
        for bad in ("X", "A", "-", " ", "_") if ch != "-" else ("0", "a", "_"):
            mutated = VALID[:i] + bad + VALID[i + 1 :]
            assert parse_traceparent(mutated) is None, mutated


def test_ratio_decision_matches_the_sdk_sampler() -> None:
    for ratio in (0.0, 0.1, 0.5, 0.9, 1.0):
        sdk = TraceIdRatioBased(ratio)
        bound = ratio_bound(ratio)
        for _ in range(2000):
            trace = new_trace_id()
            ours = sampled_by_ratio(trace, bound)
            theirs = sdk.should_sample(None, int(trace, 16), "x").decision.is_sampled()
            assert ours == theirs


# --- records → spans ------------------------------------------------------------------


def attempt(idx: int, **over: Any) -> AttemptRecord:
    a: AttemptRecord = {
        "idx": idx,
        "span_id": f"{idx + 1:016x}",
        "model": "gpt-4o",
        "deployment": f"dep-{idx}",
        "provider": "openai-main",
        "upstream_model": "gpt-4o-2024-08-06",
        "hedge": False,
        "started_at": T0 + 0.01 + idx * 0.2,
        "ended_at": T0 + 0.15 + idx * 0.2,
        "duration_ms": 140.0,
        "outcome": "ok",
        "status": None,
        "error_type": None,
        "error_code": None,
        "input_tokens": 120,
        "output_tokens": 40,
        "cached_tokens": 100,
        "reasoning_tokens": 0,
        "cache_write_tokens": 0,
        "usage_estimated": False,
        "cost_usd": 0.0005,
    }
    a.update(over)  # type: ignore[typeddict-item]
    return a


def record(**over: Any) -> RequestRecord:
    r: RequestRecord = {
        "id": "req-1",
        "trace_id": TRACE,
        "span_id": "a" * 16,
        "parent_span_id": None,
        "sampled": True,
        "session_id": "sess-9",
        "subject_id": "alice",
        "key_id": "key-1",
        "team_id": "team-a",
        "user_id": None,
        "operation": "chat",
        "client_api": "openai",
        "model": "gpt-4o",
        "served_model": "gpt-4o",
        "deployment": "dep-1",
        "provider": "openai-main",
        "upstream_model": "gpt-4o-2024-08-06",
        "stream": True,
        "status": 200,
        "error_type": None,
        "error_code": None,
        "error_message": None,
        "received_at": T0,
        "first_token_at": T0 + 0.3,
        "done_at": T0 + 0.5,
        "latency_ms": 500.0,
        "ttft_ms": 300.0,
        "itl_ms": 5.0,
        "output_tokens_per_s": 100.0,
        "input_tokens": 120,
        "output_tokens": 40,
        "cached_tokens": 100,
        "reasoning_tokens": 8,
        "cache_write_tokens": 12,
        "usage_estimated": False,
        "cost_usd": 0.0009,
        "cache_hit": False,
        "finish_reason": "stop",
        "guard": None,
        "attempts": [
            attempt(
                0,
                outcome="error",
                status=429,
                error_type="rate_limited",
                error_code="rate_limit_exceeded",
                input_tokens=None,
                output_tokens=None,
                cached_tokens=None,
                cost_usd=None,
            ),
            attempt(1),
        ],
        "metadata": {},
        "body": None,
    }
    r.update(over)  # type: ignore[typeddict-item]
    return r


@pytest.fixture
def memory() -> Iterator[tuple[SpanExport, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    spans = SpanExport(
        TracingConfig(service_name="gh-test"),
        exporter,
        provider_names={"openai-main": "openai"},
        schedule_delay_s=60,
    )
    yield spans, exporter
    spans.shutdown(2.0)


def export(spans: SpanExport, exporter: InMemorySpanExporter, *records: RequestRecord) -> dict:
    spans.export(list(records))
    assert spans.force_flush(5.0)
    return {s.context.span_id: s for s in exporter.get_finished_spans()}


def test_one_server_span_and_one_client_span_per_attempt(memory) -> None:
    spans, exporter = memory
    got = export(spans, exporter, record())
    assert len(got) == 3
    server = got[int("a" * 16, 16)]
    first, second = got[1], got[2]
    assert server.kind is SpanKind.SERVER and server.parent is None
    assert server.name == "chat gpt-4o"
    assert server.context.trace_id == int(TRACE, 16)
    assert server.start_time == int(T0 * 1e9) and server.end_time == int((T0 + 0.5) * 1e9)
    for child, a in ((first, record()["attempts"][0]), (second, record()["attempts"][1])):
        assert child.kind is SpanKind.CLIENT
        assert child.name == "chat gpt-4o-2024-08-06"
        assert child.context.trace_id == int(TRACE, 16)
        assert child.parent is not None and child.parent.span_id == server.context.span_id
        assert child.start_time == int(a["started_at"] * 1e9)
        assert child.end_time == int(a["ended_at"] * 1e9)
    assert server.resource.attributes["service.name"] == "gh-test"
    assert server.instrumentation_scope is not None
    assert server.instrumentation_scope.name == "gatehouse"


def test_server_span_attributes_follow_the_genai_conventions(memory) -> None:
    spans, exporter = memory
    server = export(spans, exporter, record())[int("a" * 16, 16)]
    attrs = dict(server.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o"
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.time_to_first_chunk"] == pytest.approx(0.3)
    assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("stop",)
    assert attrs["gen_ai.conversation.id"] == "sess-9"
    assert attrs["gen_ai.usage.input_tokens"] == 120
    assert attrs["gen_ai.usage.output_tokens"] == 40
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 100
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 12
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 8
    assert attrs["http.response.status_code"] == 200
    assert attrs["gatehouse.request_id"] == "req-1"
    assert attrs["gatehouse.deployment"] == "dep-1"
    assert attrs["gatehouse.cost_usd"] == pytest.approx(0.0009)
    assert attrs["gatehouse.attempts"] == 2
    assert attrs["gatehouse.usage_estimated"] is False
    assert "error.type" not in attrs
    assert "subject_id" not in str(attrs) and "alice" not in attrs.values()
    assert server.status.status_code is StatusCode.UNSET


def test_failed_attempt_is_an_error_span_and_the_winner_carries_the_response(memory) -> None:
    spans, exporter = memory
    got = export(spans, exporter, record())
    failed, won = dict(got[1].attributes or {}), dict(got[2].attributes or {})
    assert got[1].status.status_code is StatusCode.ERROR
    assert failed["error.type"] == "rate_limited"
    assert failed["http.response.status_code"] == 429
    assert failed["gatehouse.attempt.outcome"] == "error"
    assert failed["gatehouse.attempt.index"] == 0
    assert failed["gatehouse.deployment"] == "dep-0"
    assert "gen_ai.response.model" not in failed
    assert "gen_ai.usage.input_tokens" not in failed
    assert got[2].status.status_code is StatusCode.UNSET
    assert won["gatehouse.attempt.outcome"] == "ok"
    assert won["gen_ai.request.model"] == "gpt-4o-2024-08-06"
    assert won["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert won["gen_ai.usage.cache_read.input_tokens"] == 100
    assert won["gatehouse.cost_usd"] == pytest.approx(0.0005)
    # First chunk at T0+0.3, the attempt started at T0+0.21.
    assert won["gen_ai.response.time_to_first_chunk"] == pytest.approx(0.09, abs=1e-6)


def test_a_cancelled_hedge_is_not_an_error(memory) -> None:
    spans, exporter = memory
    r = record(attempts=[attempt(0), attempt(1, hedge=True, outcome="cancelled")])
    loser = export(spans, exporter, r)[2]
    assert loser.status.status_code is StatusCode.UNSET
    assert dict(loser.attributes or {})["gatehouse.attempt.hedge"] is True


def test_a_call_that_failed_upstream_is_an_error(memory) -> None:
    spans, exporter = memory
    r = record(
        status=502,
        error_type="upstream_error",
        error_message="every attempt failed",
        done_at=None,
        latency_ms=250.0,
        attempts=[attempt(0, outcome="error", status=500, error_type=None)],
    )
    got = export(spans, exporter, r)
    server = got[int("a" * 16, 16)]
    assert server.status.status_code is StatusCode.ERROR
    assert server.status.description == "every attempt failed"
    assert dict(server.attributes or {})["error.type"] == "upstream_error"
    assert server.end_time == int((T0 + 0.25) * 1e9)
    assert dict(got[1].attributes or {})["error.type"] == "500"


def test_a_client_error_keeps_error_type_but_not_error_status(memory) -> None:
    spans, exporter = memory
    r = record(status=429, error_type="rate_limit_error", attempts=[])
    (server,) = export(spans, exporter, r).values()
    assert dict(server.attributes or {})["error.type"] == "rate_limit_error"
    assert server.status.status_code is StatusCode.UNSET


def test_operations_map_to_genai_names(memory) -> None:
    spans, exporter = memory
    r1 = record(operation="completions", span_id="b" * 16, attempts=[])
    r2 = record(operation="embeddings", span_id="c" * 16, stream=False, attempts=[])
    got = export(spans, exporter, r1, r2)
    assert got[int("b" * 16, 16)].name == "text_completion gpt-4o"
    embed = got[int("c" * 16, 16)]
    assert embed.name == "embeddings gpt-4o"
    assert "gen_ai.request.stream" not in (embed.attributes or {})
    assert "gen_ai.response.time_to_first_chunk" not in (embed.attributes or {})


def test_client_traceparent_becomes_the_remote_parent(memory) -> None:
    spans, exporter = memory
    got = export(spans, exporter, record(parent_span_id=PARENT))
    server = got[int("a" * 16, 16)]
    assert server.parent is not None
    assert server.parent.span_id == int(PARENT, 16)
    assert server.parent.trace_id == int(TRACE, 16)
    assert server.parent.is_remote


def test_client_sampled_flag_wins_over_the_ratio() -> None:
    exporter = InMemorySpanExporter()
    spans = SpanExport(TracingConfig(sample_ratio=0.0), exporter, schedule_delay_s=60)
    try:
        spans.export([record(parent_span_id=PARENT, sampled=False)])
        spans.export([record(parent_span_id=PARENT, sampled=True, span_id="b" * 16)])
        spans.export([record(span_id="c" * 16)])  # no traceparent: ratio 0 drops it
        spans.force_flush(5.0)
        servers = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
        assert [s.context.span_id for s in servers] == [int("b" * 16, 16)]
    finally:
        spans.shutdown(2.0)


def test_ratio_sampling_is_decided_by_the_trace_id() -> None:
    exporter = InMemorySpanExporter()
    spans = SpanExport(TracingConfig(sample_ratio=0.5), exporter, schedule_delay_s=60)
    try:
        traces = [new_trace_id() for _ in range(400)]
        spans.export([record(trace_id=t, attempts=[]) for t in traces])
        spans.force_flush(5.0)
        got = {f"{s.context.trace_id:032x}" for s in exporter.get_finished_spans()}
        bound = ratio_bound(0.5)
        assert got == {t for t in traces if sampled_by_ratio(t, bound)}
        assert 120 < len(got) < 280
        # The request path's decision agrees with the exporter's.
        assert all(spans.sample(t, None) == (t in got) for t in traces)
        assert spans.sample(traces[0], True) is True
        assert spans.sample(traces[0], False) is False
    finally:
        spans.shutdown(2.0)


def test_a_malformed_record_is_skipped_and_the_batch_survives(memory) -> None:
    spans, exporter = memory
    bad = record(span_id="not-hex", id="bad")
    got = export(spans, exporter, bad, record(span_id="b" * 16, attempts=[]))
    assert list(got) == [int("b" * 16, 16)]
    assert spans.skipped_records == 1


def test_a_full_queue_drops_and_counts_instead_of_blocking() -> None:
    exporter = InMemorySpanExporter()
    spans = SpanExport(
        TracingConfig(), exporter, max_queue_spans=2, batch_size=100, schedule_delay_s=60
    )
    try:
        spans.export([record()])  # three spans, room for two
        assert spans.dropped_spans == 1
        assert spans.force_flush(5.0)
        assert len(exporter.get_finished_spans()) == 2
    finally:
        spans.shutdown(2.0)


def test_shutdown_flushes_what_is_queued() -> None:
    exporter = InMemorySpanExporter()
    spans = SpanExport(TracingConfig(), exporter, schedule_delay_s=60)
    spans.export([record()])
    spans.shutdown(5.0)
    assert len(exporter.get_finished_spans()) == 3


def test_disabled_export_costs_nothing_and_never_loads_the_sdk() -> None:
    code = (
        "import sys\n"
        "from gatehouse.config.telemetry import TracingConfig\n"
        "from gatehouse.telemetry.tracing import SpanExport, new_trace_id\n"
        "s = SpanExport(TracingConfig())\n"
        "assert not s.enabled\n"
        "s.export([{}])\n"  # not even looked at
        "assert s.sample(new_trace_id(), None) is False\n"
        "assert s.sample(new_trace_id(), True) is True\n"
        "assert s.force_flush(1.0)\n"
        "s.shutdown(1.0)\n"
        "loaded = [m for m in sys.modules if m.startswith('opentelemetry')]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# --- a real OTLP/HTTP receiver --------------------------------------------------------


@pytest.fixture
def collector() -> Iterator[tuple[str, Received]]:
    with otlp_receiver() as got:
        yield got


def test_spans_arrive_at_an_otlp_http_collector(collector) -> None:
    url, received = collector
    spans = SpanExport(
        TracingConfig(otlp_endpoint=url, headers={"x-api-key": "k-123"}, service_name="gh-e2e"),
        provider_names={"openai-main": "openai"},
        schedule_delay_s=60,
    )
    try:
        spans.export([record(parent_span_id=PARENT)])
        assert spans.force_flush(10.0)
    finally:
        spans.shutdown(5.0)
    assert spans.failed_spans == 0
    assert len(received) == 1
    path, headers, body = received[0]
    assert path == "/v1/traces"
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-api-key"] == "k-123"
    request = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = request.resource_spans
    assert attributes(resource_spans.resource.attributes)["service.name"] == "gh-e2e"
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "gatehouse"
    by_id = {s.span_id.hex(): s for s in scope_spans.spans}
    assert set(by_id) == {"a" * 16, f"{1:016x}", f"{2:016x}"}
    server = by_id["a" * 16]
    assert server.trace_id.hex() == TRACE
    assert server.parent_span_id.hex() == PARENT
    assert server.kind == server.SPAN_KIND_SERVER
    assert server.start_time_unix_nano == int(T0 * 1e9)
    attrs = attributes(server.attributes)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.usage.input_tokens"] == 120
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert attrs["gatehouse.cost_usd"] == pytest.approx(0.0009)
    failed = by_id[f"{1:016x}"]
    assert failed.parent_span_id.hex() == "a" * 16
    assert failed.kind == failed.SPAN_KIND_CLIENT
    assert failed.status.code == failed.status.STATUS_CODE_ERROR
    assert attributes(failed.attributes)["error.type"] == "rate_limited"


def test_an_unreachable_collector_never_blocks_the_caller() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spans = SpanExport(
        TracingConfig(otlp_endpoint=f"http://127.0.0.1:{port}/v1/traces"),
        schedule_delay_s=60,
        export_timeout_s=0.5,
    )
    started = time.perf_counter()
    spans.export([record()] * 50)
    assert time.perf_counter() - started < 0.5
    spans.force_flush(5.0)
    started = time.perf_counter()
    spans.shutdown(2.0)
    assert time.perf_counter() - started < 2.5
    assert spans.failed_spans == 150


def test_provider_names_follow_the_kind_where_it_says_which_provider():
    import yaml

    from gatehouse.config import parse_config
    from gatehouse.telemetry.hub import semconv_provider_names

    cfg = {
        "providers": {
            "claude": {"kind": "anthropic", "api_key": "k"},
            "oai": {"kind": "openai", "base_url": "https://api.openai.com/v1"},
            "vllm": {"kind": "openai", "base_url": "http://10.0.0.5:8000/v1"},
        },
        "models": {"m": {"deployments": [{"provider": "vllm", "model": "x"}]}},
    }
    config = parse_config(yaml.safe_dump(cfg), "t.yaml", {})
    assert semconv_provider_names(config) == {"claude": "anthropic", "oai": "openai"}
