"""Request records for store tests: complete, with every field overridable."""

from __future__ import annotations

import itertools
from typing import Any

from gatehouse.store import AttemptRecord, RequestRecord

_ids = itertools.count(1)


def attempt(**overrides: Any) -> AttemptRecord:
    a: dict[str, Any] = {
        "idx": 0,
        "span_id": "a" * 16,
        "model": "chat",
        "deployment": "dep-1",
        "provider": "local",
        "upstream_model": "mock-model",
        "hedge": False,
        "started_at": 1_000.001,
        "ended_at": 1_000.2,
        "duration_ms": 199.0,
        "outcome": "ok",
        "status": None,
        "error_type": None,
        "error_code": None,
        "input_tokens": 10,
        "output_tokens": 5,
        "cached_tokens": None,
        "reasoning_tokens": None,
        "cache_write_tokens": None,
        "usage_estimated": False,
        "cost_usd": 0.001,
    }
    a.update(overrides)
    return a  # type: ignore[return-value]


def record(**overrides: Any) -> RequestRecord:
    n = next(_ids)
    r: dict[str, Any] = {
        "id": f"req-{n:06d}",
        "client_request_id": None,
        "trace_id": f"{n:032x}",
        "span_id": f"{n:016x}",
        "parent_span_id": None,
        "session_id": None,
        "subject_id": None,
        "key_id": "key-1",
        "team_id": "team-1",
        "user_id": "user-1",
        "operation": "chat",
        "client_api": "openai",
        "model": "chat",
        "served_model": "chat",
        "deployment": "dep-1",
        "provider": "local",
        "upstream_model": "mock-model",
        "stream": False,
        "status": 200,
        "error_type": None,
        "error_code": None,
        "error_message": None,
        "received_at": 1_000.0,
        "first_token_at": None,
        "done_at": 1_000.25,
        "latency_ms": 250.0,
        "ttft_ms": None,
        "itl_ms": None,
        "output_tokens_per_s": None,
        "input_tokens": 10,
        "output_tokens": 5,
        "cached_tokens": None,
        "reasoning_tokens": None,
        "cache_write_tokens": None,
        "usage_estimated": False,
        "cost_usd": 0.001,
        "cache_hit": False,
        "finish_reason": "stop",
        "guard": None,
        "attempts": [attempt(started_at=overrides.get("received_at", 1_000.0) + 0.001)],
        "metadata": {},
        "body": None,
    }
    r.update(overrides)
    return r  # type: ignore[return-value]
