"""GatewayMetrics and its registry: exact values through the Prometheus text format.

Pages are read back with prometheus_client's own parser, so the exposition is checked
by an independent reader. Multi-process merging is tested with registries under fake
pids and with real worker processes writing snapshots into one directory.
"""

from __future__ import annotations

import asyncio
import enum
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gatehouse.store.records import AttemptRecord, RequestRecord
from gatehouse.telemetry.exposition import render
from gatehouse.telemetry.metrics import TOKEN_BUCKETS, GatewayMetrics
from gatehouse.telemetry.multiprocess import WorkerSnapshots
from gatehouse.telemetry.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
LabelsKey = tuple[str, frozenset[tuple[str, str]]]


def make_attempt(**overrides: Any) -> AttemptRecord:
    att: dict[str, Any] = {
        "idx": 0,
        "span_id": "a" * 16,
        "model": "chat",
        "deployment": "chat/local",
        "provider": "local",
        "upstream_model": "mock-model",
        "hedge": False,
        "started_at": 1000.0,
        "ended_at": 1000.1,
        "duration_ms": 100.0,
        "outcome": "ok",
        "status": None,
        "error_type": None,
        "error_code": None,
        "input_tokens": 10,
        "output_tokens": 20,
        "cached_tokens": None,
        "reasoning_tokens": None,
        "usage_estimated": False,
        "cost_usd": 0.001,
    }
    att.update(overrides)
    return att  # type: ignore[return-value]


def make_record(**overrides: Any) -> RequestRecord:
    rec: dict[str, Any] = {
        "id": "req-1",
        "trace_id": "0" * 32,
        "span_id": "b" * 16,
        "parent_span_id": None,
        "session_id": None,
        "subject_id": None,
        "key_id": None,
        "team_id": None,
        "user_id": None,
        "operation": "chat",
        "model": "chat",
        "served_model": "chat",
        "deployment": "chat/local",
        "provider": "local",
        "upstream_model": "mock-model",
        "stream": False,
        "status": 200,
        "error_type": None,
        "error_code": None,
        "error_message": None,
        "received_at": 1000.0,
        "first_token_at": None,
        "done_at": 1000.25,
        "latency_ms": 250.0,
        "ttft_ms": None,
        "itl_ms": None,
        "output_tokens_per_s": None,
        "input_tokens": 10,
        "output_tokens": 20,
        "cached_tokens": None,
        "reasoning_tokens": None,
        "usage_estimated": False,
        "cost_usd": 0.001,
        "cache_hit": False,
        "finish_reason": "stop",
        "guard": None,
        "attempts": [make_attempt()],
        "metadata": {},
        "body": None,
    }
    rec.update(overrides)
    return rec  # type: ignore[return-value]


def samples(page: bytes) -> dict[LabelsKey, float]:
    out: dict[LabelsKey, float] = {}
    for family in text_string_to_metric_families(page.decode()):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in out, f"duplicate sample {key}"
            out[key] = s.value
    return out


def value(page: bytes | dict[LabelsKey, float], name: str, **labels: str) -> float | None:
    found = samples(page) if isinstance(page, bytes) else page
    return found.get((name, frozenset(labels.items())))


def names(page: bytes) -> set[str]:
    return {name for name, _ in samples(page)}


GENAI_OK = {
    "gen_ai_operation_name": "chat",
    "gen_ai_provider_name": "local",
    "gen_ai_request_model": "chat",
    "gen_ai_response_model": "mock-model",
    "gatehouse_deployment": "chat/local",
    "error_type": "",
}

SHORT = {"model": "chat", "deployment": "chat/local"}
OK_REQUESTS = {**SHORT, "status": "200"}


def local_metrics(**kwargs: Any) -> GatewayMetrics:
    kwargs.setdefault("resources", False)
    return GatewayMetrics(metrics_dir=None, **kwargs)


# --- registry and exposition ----------------------------------------------------


def test_histogram_buckets_are_inclusive_and_cumulative() -> None:
    reg = Registry()
    hist = reg.histogram("latency_seconds", "help", ("route",), (1, 2, 5))
    series = hist.labels("a")
    for v in (0.5, 1.0, 1.5, 2.0, 7.0):
        series.observe(v)
    page = render(reg.collect())
    got = samples(page)

    def bucket(le: str) -> float | None:
        return value(got, "latency_seconds_bucket", route="a", le=le)

    assert [bucket(le) for le in ("1", "2", "5", "+Inf")] == [2, 4, 4, 5]
    assert value(got, "latency_seconds_sum", route="a") == 12.0
    assert value(got, "latency_seconds_count", route="a") == 5


def test_label_values_and_help_are_escaped() -> None:
    reg = Registry()
    tricky = 'back\\slash "quoted"\nnewline'
    reg.counter("odd_total", 'help with "quotes" and \\ and\nnewline', ("v",)).labels(tricky).inc(2)
    page = render(reg.collect())
    assert value(page, "odd_total", v=tricky) == 2
    (family,) = text_string_to_metric_families(page.decode())
    assert family.documentation == 'help with "quotes" and \\ and\nnewline'


def test_counters_and_gauges_render_their_values() -> None:
    reg = Registry()
    reg.counter("plain_total", "h").labels().inc(0.25)
    gauge = reg.gauge("level", "h", ("k",))
    gauge.labels("x").set(5)
    gauge.labels("x").dec(2)
    gauge.labels("y").inc()
    page = render(reg.collect())
    assert value(page, "plain_total") == 0.25
    assert value(page, "level", k="x") == 3
    assert value(page, "level", k="y") == 1
    families = {f.name: f.type for f in text_string_to_metric_families(page.decode())}
    assert families == {"plain": "counter", "level": "gauge"}


def test_labels_must_match_the_declared_names() -> None:
    reg = Registry()
    counter = reg.counter("c_total", "h", ("a", "b"))
    with pytest.raises(ValueError, match="takes labels"):
        counter.labels("only-one")
    with pytest.raises(ValueError, match="already registered"):
        reg.counter("c_total", "h")


# --- the gateway's metrics ----------------------------------------------------------


def test_a_call_is_observed_once_and_each_attempt_once() -> None:
    metrics = local_metrics()
    retried_stream = make_record(
        stream=True,
        latency_ms=900.0,
        ttft_ms=150.0,
        itl_ms=20.0,
        input_tokens=30,
        output_tokens=300,
        cost_usd=0.5,
        attempts=[
            make_attempt(outcome="error", duration_ms=40.0, status=503),
            make_attempt(idx=1, outcome="ok", duration_ms=850.0),
        ],
    )
    metrics.observe([retried_stream, make_record()])
    got = samples(metrics.render())

    assert value(got, "gen_ai_client_operation_duration_seconds_count", **GENAI_OK) == 2
    assert value(got, "gen_ai_client_operation_duration_seconds_sum", **GENAI_OK) == 1.15
    assert value(got, "gen_ai_client_operation_duration_seconds_bucket", le="0.32", **GENAI_OK) == 1
    assert value(got, "gen_ai_client_operation_duration_seconds_bucket", le="1.28", **GENAI_OK) == 2

    inputs = {**GENAI_OK, "gen_ai_token_type": "input"}
    outputs = {**GENAI_OK, "gen_ai_token_type": "output"}
    assert value(got, "gen_ai_client_token_usage_sum", **inputs) == 40
    assert value(got, "gen_ai_client_token_usage_count", **inputs) == 2
    assert value(got, "gen_ai_client_token_usage_sum", **outputs) == 320
    assert value(got, "gen_ai_client_token_usage_bucket", le="16", **outputs) == 0
    assert value(got, "gen_ai_client_token_usage_bucket", le="64", **outputs) == 1
    assert value(got, "gen_ai_client_token_usage_bucket", le="1024", **outputs) == 2

    # Only the stream has a first token and an inter-token latency.
    assert value(got, "gen_ai_server_time_to_first_token_seconds_count", **GENAI_OK) == 1
    assert value(got, "gen_ai_server_time_to_first_token_seconds_sum", **GENAI_OK) == 0.15
    assert value(got, "gen_ai_server_time_per_output_token_seconds_count", **GENAI_OK) == 1
    assert value(got, "gen_ai_server_time_per_output_token_seconds_sum", **GENAI_OK) == 0.02
    assert (
        value(got, "gen_ai_server_time_per_output_token_seconds_bucket", le="0.01", **GENAI_OK) == 0
    )
    assert (
        value(got, "gen_ai_server_time_per_output_token_seconds_bucket", le="0.025", **GENAI_OK)
        == 1
    )

    short = {"model": "chat", "deployment": "chat/local"}
    assert value(got, "gatehouse_requests_total", status="200", **short) == 2
    assert value(got, "gatehouse_cost_usd_total", **short) == pytest.approx(0.501)
    assert value(got, "gatehouse_upstream_attempts_total", outcome="ok", **short) == 2
    assert value(got, "gatehouse_upstream_attempts_total", outcome="error", **short) == 1
    attempt_ok = {"deployment": "chat/local", "outcome": "ok"}
    assert value(got, "gatehouse_upstream_attempt_duration_seconds_count", **attempt_ok) == 2
    assert value(got, "gatehouse_upstream_attempt_duration_seconds_sum", **attempt_ok) == 0.95
    attempt_error = {"deployment": "chat/local", "outcome": "error"}
    assert value(got, "gatehouse_upstream_attempt_duration_seconds_sum", **attempt_error) == 0.04


def test_token_usage_uses_the_recommended_buckets() -> None:
    metrics = local_metrics()
    metrics.observe([make_record(input_tokens=67108864, output_tokens=67108865)])
    got = samples(metrics.render())
    les = sorted(
        float(dict(labels)["le"])
        for name, labels in got
        if name == "gen_ai_client_token_usage_bucket"
        and dict(labels)["gen_ai_token_type"] == "input"
    )
    assert les == [*map(float, TOKEN_BUCKETS), float("inf")]
    inputs = {**GENAI_OK, "gen_ai_token_type": "input"}
    outputs = {**GENAI_OK, "gen_ai_token_type": "output"}
    assert value(got, "gen_ai_client_token_usage_bucket", le="6.7108864e+07", **inputs) is None
    assert value(got, "gen_ai_client_token_usage_bucket", le="67108864", **inputs) == 1
    assert value(got, "gen_ai_client_token_usage_bucket", le="67108864", **outputs) == 0


def test_operations_errors_and_missing_fields_get_semconv_labels() -> None:
    metrics = local_metrics()
    metrics.observe(
        [
            make_record(operation="completions"),
            make_record(operation="embeddings", output_tokens=None, upstream_model="embed-model"),
            make_record(
                status=503,
                error_type="overloaded_error",
                deployment=None,
                provider=None,
                upstream_model=None,
                latency_ms=5.0,
                input_tokens=None,
                output_tokens=None,
                cost_usd=None,
                attempts=[],
            ),
            make_record(status=499, error_type=None, latency_ms=30.0, output_tokens=None),
        ]
    )
    got = samples(metrics.render())
    duration = "gen_ai_client_operation_duration_seconds_count"
    assert value(got, duration, **{**GENAI_OK, "gen_ai_operation_name": "text_completion"}) == 1
    embed = {
        **GENAI_OK,
        "gen_ai_operation_name": "embeddings",
        "gen_ai_response_model": "embed-model",
    }
    assert value(got, duration, **embed) == 1
    assert value(got, "gen_ai_client_token_usage_count", gen_ai_token_type="input", **embed) == 1
    assert (
        value(got, "gen_ai_client_token_usage_count", gen_ai_token_type="output", **embed) is None
    )
    refused = {
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": "",
        "gen_ai_request_model": "chat",
        "gen_ai_response_model": "",
        "gatehouse_deployment": "",
        "error_type": "overloaded_error",
    }
    assert value(got, duration, **refused) == 1
    assert value(got, "gatehouse_requests_total", model="chat", deployment="", status="503") == 1
    assert value(got, "gatehouse_cost_usd_total", model="chat", deployment="") is None
    # A failure without an error type still gets a non-empty error_type: its status.
    assert value(got, duration, **{**GENAI_OK, "error_type": "499"}) == 1
    # No stream in this batch: no time-to-first-token series at all.
    assert not any(n.startswith("gen_ai_server_time_to_first_token") for n, _ in got)


def test_recorder_hooks_and_in_flight() -> None:
    metrics = local_metrics()
    page = metrics.render()
    assert value(page, "gatehouse_recorder_dropped_total", what="record") == 0
    assert value(page, "gatehouse_requests_in_flight") == 0
    metrics.dropped("body", 3)
    metrics.dropped("record")
    metrics.set_queue_depth(42)
    for _ in range(3):
        metrics.in_flight_inc()
    metrics.in_flight_dec()
    got = samples(metrics.render())
    assert value(got, "gatehouse_recorder_dropped_total", what="body") == 3
    assert value(got, "gatehouse_recorder_dropped_total", what="record") == 1
    assert value(got, "gatehouse_recorder_queue_depth") == 42
    assert value(got, "gatehouse_requests_in_flight") == 2


class _State(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


def test_breaker_states_are_read_at_scrape_time() -> None:
    metrics = local_metrics()
    states: list[tuple[str, str, str | int]] = [("chat", "chat/a", _State.CLOSED)]
    metrics.watch_breakers(lambda: states)
    page = metrics.render()
    assert value(page, "gatehouse_deployment_breaker_state", model="chat", deployment="chat/a") == 0
    states[:] = [("chat", "chat/a", _State.OPEN), ("chat", "chat/b", "half_open"), ("x", "y", 1)]
    got = samples(metrics.render())
    assert value(got, "gatehouse_deployment_breaker_state", model="chat", deployment="chat/a") == 2
    assert value(got, "gatehouse_deployment_breaker_state", model="chat", deployment="chat/b") == 1
    assert value(got, "gatehouse_deployment_breaker_state", model="x", deployment="y") == 1


def test_a_failing_collector_leaves_the_rest_of_the_page(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = local_metrics()

    def broken() -> list[Any]:
        raise RuntimeError("bug")

    metrics.add_collector(broken)
    metrics.observe([make_record()])
    page = metrics.render()
    assert value(page, "gatehouse_requests_total", **OK_REQUESTS) == 1
    assert "metrics collector" in caplog.text


def test_client_chosen_model_names_cannot_grow_series_without_bound() -> None:
    metrics = local_metrics(max_call_series=2)
    metrics.observe([make_record(model=f"typo-{i}", deployment=None) for i in range(10)])
    got = samples(metrics.render())
    requests = {
        dict(labels)["model"]: v
        for (name, labels), v in got.items()
        if name.endswith("requests_total")
    }
    assert requests == {"typo-0": 1, "typo-1": 1, "other": 8}


def test_resources_are_on_the_page_by_default() -> None:
    page = GatewayMetrics(metrics_dir=None).render()
    assert value(page, "process_resident_memory_bytes", pid=str(os.getpid())) > 0  # type: ignore[operator]
    assert "gatehouse_host_memory_total_bytes" in names(page)


# --- several workers ---------------------------------------------------------------


def test_workers_snapshots_add_up(tmp_path: Path) -> None:
    here = GatewayMetrics(metrics_dir=tmp_path, resources=False)
    # Another live process stands in for a second worker.
    other = GatewayMetrics(metrics_dir=tmp_path, pid=os.getppid(), resources=False)
    here.observe([make_record()] * 3)
    other.observe([make_record()] * 4 + [make_record(status=500, error_type="server_error")])
    here.in_flight_inc()
    for _ in range(5):
        other.in_flight_inc()
    other.dropped("body", 2)
    other.watch_breakers(lambda: [("chat", "chat/local", "open")])
    here.watch_breakers(lambda: [("chat", "chat/local", "closed")])
    here.snapshots.write()  # type: ignore[union-attr]
    other.snapshots.write()  # type: ignore[union-attr]
    here.observe([make_record()])  # after its own snapshot: the live state must win

    got = samples(here.render())
    short = {"model": "chat", "deployment": "chat/local"}
    assert value(got, "gatehouse_requests_total", status="200", **short) == 8
    assert value(got, "gatehouse_requests_total", status="500", **short) == 1
    assert value(got, "gen_ai_client_operation_duration_seconds_count", **GENAI_OK) == 8
    assert value(got, "gen_ai_client_operation_duration_seconds_sum", **GENAI_OK) == 2.0
    assert value(got, "gatehouse_upstream_attempts_total", outcome="ok", **short) == 9
    assert value(got, "gatehouse_requests_in_flight") == 6
    assert value(got, "gatehouse_recorder_dropped_total", what="body") == 2
    assert value(got, "gatehouse_deployment_breaker_state", **short) == 2  # the most open


def test_an_exited_worker_keeps_its_totals_but_not_its_gauges(tmp_path: Path) -> None:
    script = "import os; print(os.getpid())"
    gone = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    here = GatewayMetrics(metrics_dir=tmp_path, resources=False)
    dead = GatewayMetrics(metrics_dir=tmp_path, pid=dead_pid, resources=True)
    dead.observe([make_record()] * 2)
    dead.in_flight_inc()
    dead.set_queue_depth(7)
    dead.watch_breakers(lambda: [("chat", "chat/local", "open")])
    dead.snapshots.write()  # type: ignore[union-attr]

    got = samples(here.render())
    assert value(got, "gatehouse_requests_total", **OK_REQUESTS) == 2
    assert value(got, "gatehouse_requests_in_flight") == 0
    assert value(got, "gatehouse_recorder_queue_depth") == 0
    assert value(got, "gatehouse_deployment_breaker_state", **SHORT) is None
    assert value(got, "process_cpu_seconds_total", pid=str(dead_pid)) is None


def test_a_silent_worker_counts_as_gone(tmp_path: Path) -> None:
    reg = Registry()
    reg.gauge("g", "h").labels().set(3)
    reg.counter("c_total", "h").labels().inc(4)
    # A live pid, but its last snapshot is from long ago: wedged, or the pid was reused.
    WorkerSnapshots(reg, tmp_path, pid=os.getppid(), clock=lambda: 0.0).write()
    merged = WorkerSnapshots(Registry(), tmp_path).merged([])
    page = render(merged)
    assert value(page, "c_total") == 4
    assert value(page, "g") is None


def test_unreadable_snapshots_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "123.json").write_bytes(b"{not json")
    (tmp_path / "124.json").write_bytes(b'{"pid": 124}')
    here = GatewayMetrics(metrics_dir=tmp_path, resources=False)
    here.observe([make_record()])
    assert value(here.render(), "gatehouse_requests_total", **OK_REQUESTS) == 1


WORKER_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from gatehouse.telemetry.metrics import GatewayMetrics
    from tests.telemetry.test_metrics import make_record

    count, in_flight = int(sys.argv[1]), int(sys.argv[2])

    async def main():
        metrics = GatewayMetrics()  # GATEHOUSE_METRICS_DIR comes from the environment
        metrics.observe([make_record(latency_ms=100.0 * (i % 5)) for i in range(count)])
        for _ in range(in_flight):
            metrics.in_flight_inc()
        await metrics.start()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        metrics.observe([make_record()])  # after the last periodic write: stop() keeps it
        await metrics.stop()

    asyncio.run(main())
    """
)


def test_real_worker_processes_merge_exactly(tmp_path: Path) -> None:
    env = {**os.environ, "GATEHOUSE_METRICS_DIR": str(tmp_path)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER_SCRIPT, str(count), str(in_flight)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            text=True,
        )
        for count, in_flight in ((700, 2), (300, 3))
    ]
    try:
        for proc in workers:
            assert _wait(lambda p=proc: (tmp_path / f"{p.pid}.json").exists())
        here = GatewayMetrics(metrics_dir=tmp_path, resources=False)
        here.observe([make_record()])

        got = samples(here.render())
        duration = "gen_ai_client_operation_duration_seconds"
        assert value(got, "gatehouse_requests_total", **OK_REQUESTS) == 1001
        assert value(got, f"{duration}_count", **GENAI_OK) == 1001
        # 1000 latencies of 0, 0.1, 0.2, 0.3, 0.4 s (200 each), plus one of 0.25 s.
        assert value(got, f"{duration}_sum", **GENAI_OK) == pytest.approx(200.25)
        assert value(got, f"{duration}_bucket", le="0.01", **GENAI_OK) == 200
        assert value(got, f"{duration}_bucket", le="0.16", **GENAI_OK) == 400
        assert value(got, f"{duration}_bucket", le="0.32", **GENAI_OK) == 801
        assert value(got, "gatehouse_requests_in_flight") == 5
        pids = {dict(labels)["pid"] for name, labels in got if name == "process_cpu_seconds_total"}
        assert pids == {str(p.pid) for p in workers}

        # The first worker stops: its totals (and its last call) stay, its gauges go.
        assert workers[0].communicate("\n", timeout=20) == (None, None)
        assert workers[0].returncode == 0
        got = samples(here.render())
        assert value(got, "gatehouse_requests_total", **OK_REQUESTS) == 1002
        assert value(got, "gatehouse_requests_in_flight") == 3
        pids = {dict(labels)["pid"] for name, labels in got if name == "process_cpu_seconds_total"}
        assert pids == {str(workers[1].pid)}
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.communicate("\n", timeout=20)


def _wait(predicate: Any, timeout: float = 20.0) -> bool:
    async def poll() -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if predicate():
                return True
            await asyncio.sleep(0.02)
        return bool(predicate())

    return asyncio.run(poll())
