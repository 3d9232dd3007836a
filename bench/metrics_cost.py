"""Microseconds per record that GatewayMetrics.observe costs, and what a scrape costs.

    .venv/bin/python bench/metrics_cost.py

Records are built by hand: a streamed chat call with one attempt, a non-streamed one
with a retry, and an embedding, spread over a few models and deployments as a busy
gateway sees them. Batches of 100, as the recorder hands them over.
"""

from __future__ import annotations

import time
from typing import Any

from gatehouse.store.records import AttemptRecord, RequestRecord
from gatehouse.telemetry.metrics import GatewayMetrics


def attempt(model: str, deployment: str, outcome: str, ms: float) -> AttemptRecord:
    return {
        "idx": 0,
        "span_id": "0" * 16,
        "model": model,
        "deployment": deployment,
        "provider": "local",
        "upstream_model": "mock-model",
        "hedge": False,
        "started_at": 0.0,
        "ended_at": ms / 1000,
        "duration_ms": ms,
        "outcome": outcome,
        "status": None if outcome == "ok" else 503,
        "error_type": None if outcome == "ok" else "overloaded_error",
        "error_code": None,
        "input_tokens": 20,
        "output_tokens": 40,
        "cached_tokens": None,
        "reasoning_tokens": None,
        "usage_estimated": False,
        "cost_usd": 0.0001,
    }


def record(i: int) -> RequestRecord:
    model = f"model-{i % 4}"
    deployment = f"{model}/dep-{i % 2}"
    stream = i % 3 == 0
    embed = i % 3 == 2
    attempts = [attempt(model, deployment, "ok", 120.0)]
    if i % 3 == 1:
        attempts.insert(0, attempt(model, deployment, "error", 30.0))
    base: dict[str, Any] = {
        "id": str(i),
        "trace_id": "0" * 32,
        "span_id": "0" * 16,
        "parent_span_id": None,
        "session_id": None,
        "subject_id": None,
        "key_id": None,
        "team_id": None,
        "operation": "embeddings" if embed else "chat",
        "model": model,
        "served_model": model,
        "deployment": deployment,
        "provider": "local",
        "upstream_model": "mock-model",
        "stream": stream,
        "status": 200,
        "error_type": None,
        "error_code": None,
        "error_message": None,
        "received_at": 0.0,
        "first_token_at": 0.05 if stream else None,
        "done_at": 0.15,
        "latency_ms": 150.0,
        "ttft_ms": 50.0 if stream else None,
        "itl_ms": 2.5 if stream else None,
        "output_tokens_per_s": 400.0 if stream else None,
        "input_tokens": 20,
        "output_tokens": None if embed else 40,
        "cached_tokens": None,
        "reasoning_tokens": None,
        "usage_estimated": False,
        "cost_usd": 0.0002,
        "cache_hit": False,
        "finish_reason": "stop",
        "guard": None,
        "attempts": attempts,
        "metadata": {},
        "body": None,
    }
    return base  # type: ignore[return-value]


def main() -> None:
    metrics = GatewayMetrics(metrics_dir=None)
    batches = [[record(b * 100 + i) for i in range(100)] for b in range(50)]
    for batch in batches:  # warm: bind every series once
        metrics.observe(batch)
    rounds = 20
    start = time.perf_counter()
    for _ in range(rounds):
        for batch in batches:
            metrics.observe(batch)
    elapsed = time.perf_counter() - start
    n = rounds * sum(len(b) for b in batches)
    print(f"observe: {elapsed / n * 1e6:.2f} µs per record ({n} records)")

    start = time.perf_counter()
    for _ in range(1_000_000):
        metrics.in_flight_inc()
        metrics.in_flight_dec()
    per_pair = (time.perf_counter() - start) / 1_000_000
    print(f"in_flight_inc + in_flight_dec: {per_pair * 1e9:.0f} ns")

    metrics.render()
    start = time.perf_counter()
    scrapes = 200
    for _ in range(scrapes):
        page = metrics.render()
    per_scrape = (time.perf_counter() - start) / scrapes
    print(f"render: {per_scrape * 1e3:.2f} ms per scrape ({len(page)} bytes)")


if __name__ == "__main__":
    main()
