"""A gateway recording into PostgreSQL: calls listed, filtered and summed by the admin API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ADMIN_KEY, AUTH, config_for, wait_for

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hello"}]}


def listing(gw, **params: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{gw.base}/admin/api/requests", params=params, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_calls_are_recorded_in_postgresql(start_gateway, mock_upstream, pg_url):
    cfg = config_for(mock_upstream.url, store={"url": pg_url})
    cfg["routing"] = {"retry": {"attempts": 3, "backoff_base_s": 0}}
    gw = start_gateway(cfg)

    plain = httpx.post(f"{gw.url}/chat/completions", json=CHAT, headers=AUTH)
    assert plain.status_code == 200
    with httpx.stream(
        "POST", f"{gw.url}/chat/completions", json=CHAT | {"stream": True}, headers=AUTH
    ) as r:
        assert r.status_code == 200
        assert r.read().decode().rstrip().endswith("data: [DONE]")
        streamed = r.headers["x-request-id"]
    # Every attempt at the upstream fails: the call fails after its retries.
    upstream_down = httpx.post(
        f"{gw.url}/chat/completions", json=CHAT, headers={**AUTH, "x-mock-fail": "500"}
    )
    assert upstream_down.status_code >= 500
    unknown = httpx.post(f"{gw.url}/chat/completions", json=CHAT | {"model": "nope"}, headers=AUTH)
    assert unknown.status_code == 404

    ok = [plain.headers["x-request-id"], streamed]
    failed_5xx = upstream_down.headers["x-request-id"]
    failed_4xx = unknown.headers["x-request-id"]
    everything = [*ok, failed_5xx, failed_4xx]
    # Within a flush interval normally; a write the database refused once is retried
    # from the spool after 5 s.
    assert wait_for(lambda: len(listing(gw)) == 4, 15), listing(gw)

    rows = {row["id"]: row for row in listing(gw)}
    assert [row["id"] for row in listing(gw)] == everything[::-1]  # newest first
    assert rows[streamed]["stream"] is True and rows[streamed]["ttft_ms"] is not None
    assert rows[ok[0]]["stream"] is False
    assert rows[ok[0]]["output_tokens"] == plain.json()["usage"]["completion_tokens"]
    assert rows[failed_5xx]["status"] == upstream_down.status_code
    assert rows[failed_5xx]["attempt_count"] == 3
    assert rows[failed_4xx]["error_code"] == "model_not_found"

    assert [row["id"] for row in listing(gw, status="5xx")] == [failed_5xx]
    assert [row["id"] for row in listing(gw, status="4xx")] == [failed_4xx]
    assert [row["id"] for row in listing(gw, status="200")] == ok[::-1]
    assert [row["id"] for row in listing(gw, status="error")] == [failed_4xx, failed_5xx]
    record = httpx.get(f"{gw.base}/admin/api/requests/{failed_5xx}", headers=ADMIN).json()
    assert [a["outcome"] for a in record["attempts"]] == ["error"] * 3

    r = httpx.get(
        f"{gw.base}/admin/api/stats",
        params={"window": "1h", "group_by": "deployment"},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    groups = {row["group"]: row for row in r.json()["groups"]}
    served = groups["local/mock-model"]
    assert served["requests"] == 2  # the calls it answered
    assert served["attempts"] == 5 and served["attempt_errors"] == 3  # and every try
    assert served["output_tokens"] > 0
    assert served["latency_ms"]["p50"] > 0 and served["ttft_ms"]["p50"] is not None
    # The calls no deployment served are a group of their own.
    assert groups[None]["requests"] == 2 and groups[None]["errors"] == 1
    assert groups[None]["client_errors"] == 1
