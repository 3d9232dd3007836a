"""Every call recorded: through a real gateway, read back through the admin API."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import ADMIN_KEY, AUTH, GatewayServer, config_for, wait_for

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
PRICE = {"input": 1.0, "output": 2.0}  # USD per 1M tokens


def priced(url: str, store_url: str | None = None, **overrides: Any) -> dict[str, Any]:
    cfg = config_for(url, **overrides)
    cfg["models"]["chat"]["deployments"][0]["price"] = PRICE
    if store_url is not None:
        cfg["store"] = {"url": store_url}
    return cfg


def record_of(gw: GatewayServer, request_id: str, timeout: float = 15.0) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def arrived() -> bool:
        r = httpx.get(f"{gw.base}/admin/api/requests/{request_id}", headers=ADMIN)
        if r.status_code == 200:
            found.update(r.json())
            return True
        assert r.status_code == 404, r.text
        return False

    assert wait_for(arrived, timeout), f"no record of {request_id}"
    return found


def listing(gw: GatewayServer, **params: str) -> dict[str, Any]:
    r = httpx.get(f"{gw.base}/admin/api/requests", params=params, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_call_is_recorded_with_its_trace_and_cost(start_gateway, mock_upstream, store_url):
    gw = start_gateway(priced(mock_upstream.url, store_url))
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = "00f067aa0ba902b7"
    r = httpx.post(
        f"{gw.url}/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "hello there"}]},
        headers={
            **AUTH,
            "traceparent": f"00-{trace_id}-{parent}-01",
            "x-gatehouse-subject": "user-7",
        },
    )
    assert r.status_code == 200
    assert r.headers["x-gatehouse-trace-id"] == trace_id
    # The upstream joins the same trace, as a child of the attempt's span.
    sent = mock_upstream.stats.last_headers["traceparent"]
    version, sent_trace, attempt_span, flags = sent.split("-")
    assert (version, sent_trace, flags) == ("00", trace_id, "01")

    rec = record_of(gw, r.headers["x-request-id"])
    usage = r.json()["usage"]
    assert rec["trace_id"] == trace_id
    assert rec["parent_span_id"] == parent
    assert rec["subject_id"] == "user-7"
    assert rec["status"] == 200 and rec["error_type"] is None
    assert rec["model"] == "chat" and rec["deployment"] == "local/mock-model"
    assert rec["input_tokens"] == usage["prompt_tokens"]
    assert rec["output_tokens"] == usage["completion_tokens"]
    expected = (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 2.0) / 1e6
    assert rec["cost_usd"] == pytest.approx(expected)
    assert rec["usage_estimated"] is False
    assert rec["latency_ms"] > 0
    [attempt] = rec["attempts"]
    assert attempt["span_id"] == attempt_span
    assert attempt["outcome"] == "ok"
    assert rec["body"] is None  # the default policy keeps metadata only


def test_a_stream_gets_usage_without_showing_it_to_a_client_that_did_not_ask(
    gateway, mock_upstream
):
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.stream("POST", f"{gateway.url}/chat/completions", json=body, headers=AUTH) as r:
        text = r.read().decode()
        request_id = r.headers["x-request-id"]
    assert '"usage":{' not in text.replace(" ", "")
    assert text.rstrip().endswith("data: [DONE]")
    assert mock_upstream.stats.last_body["stream_options"] == {"include_usage": True}
    rec = record_of(gateway, request_id)
    assert rec["output_tokens"] and rec["usage_estimated"] is False
    assert rec["ttft_ms"] is not None and rec["ttft_ms"] <= rec["latency_ms"]


def test_a_stream_that_asked_for_usage_keeps_it(gateway):
    client = gateway.client()
    stream = client.chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    rec = record_of(gateway, stream.response.headers["x-request-id"])
    assert rec["output_tokens"] == chunks[-1].usage.completion_tokens


def test_every_attempt_is_recorded_and_counted(start_gateway, mock_upstream):
    cfg = priced(mock_upstream.url)
    cfg["routing"] = {"retry": {"backoff_base_s": 0}}
    gw = start_gateway(cfg)
    mock_upstream.upstream.settings.fail_next = 1
    mock_upstream.upstream.settings.error_kind = "500"
    r = httpx.post(
        f"{gw.url}/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "x"}]},
        headers=AUTH,
    )
    assert r.status_code == 200
    rec = record_of(gw, r.headers["x-request-id"])
    assert [a["outcome"] for a in rec["attempts"]] == ["error", "ok"]
    assert rec["attempts"][0]["error_type"] == "upstream_error"
    assert rec["attempts"][0]["cost_usd"] is None  # a failed call is not billed
    assert rec["cost_usd"] == pytest.approx(rec["attempts"][1]["cost_usd"])


def test_a_failed_call_is_recorded_with_its_error(start_gateway, mock_upstream):
    gw = start_gateway(config_for(mock_upstream.url))
    r = httpx.post(
        f"{gw.url}/chat/completions",
        json={"model": "nope", "messages": [{"role": "user", "content": "x"}]},
        headers=AUTH,
    )
    assert r.status_code == 404
    rec = record_of(gw, r.headers["x-request-id"])
    assert rec["status"] == 404 and rec["error_code"] == "model_not_found"
    assert rec["attempts"] == []
    errors = listing(gw, status="4xx")["data"]
    assert [row["id"] for row in errors] == [rec["id"]]


def test_metadata_is_stored_and_filterable(gateway):
    sent = []
    for team in ("search", "search", "billing"):
        r = httpx.post(
            f"{gateway.url}/chat/completions",
            json={"model": "chat", "messages": [{"role": "user", "content": "x"}]},
            headers={
                **AUTH,
                "x-gatehouse-metadata": orjson.dumps({"feature": team, "n": 1}).decode(),
            },
        )
        assert r.status_code == 200
        sent.append(r.headers["x-request-id"])
    record_of(gateway, sent[-1])
    assert wait_for(lambda: len(listing(gateway)["data"]) == 3)
    found = listing(gateway, **{"metadata.feature": "search"})["data"]
    assert sorted(row["id"] for row in found) == sorted(sent[:2])
    assert record_of(gateway, sent[2])["metadata"] == {"feature": "billing", "n": "1"}


@pytest.mark.parametrize(
    "header",
    ["not json", "[1, 2]", '{"k": {"nested": 1}}', orjson.dumps({"k": "v" * 600}).decode()],
)
def test_bad_metadata_is_a_clear_400(gateway, header):
    r = httpx.post(
        f"{gateway.url}/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "x"}]},
        headers={**AUTH, "x-gatehouse-metadata": header},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_metadata"


def test_bodies_are_kept_under_the_full_policy_and_only_shown_one_by_one(
    start_gateway, mock_upstream
):
    gw = start_gateway(config_for(mock_upstream.url, recording={"bodies": "full"}))
    r = httpx.post(
        f"{gw.url}/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "my secret plan"}]},
        headers=AUTH,
    )
    rec = record_of(gw, r.headers["x-request-id"])
    assert "my secret plan" in rec["body"]["request"]
    assert r.json()["choices"][0]["message"]["content"] in rec["body"]["response"]
    rows = listing(gw)["data"]
    assert rows and all("body" not in row for row in rows)
    assert "my secret plan" not in orjson.dumps(listing(gw)).decode()


def test_the_list_pages_with_a_cursor(gateway):
    ids = []
    for _ in range(7):
        r = httpx.post(
            f"{gateway.url}/chat/completions",
            json={"model": "chat", "messages": [{"role": "user", "content": "x"}]},
            headers=AUTH,
        )
        ids.append(r.headers["x-request-id"])
    assert wait_for(lambda: len(listing(gateway, limit="100")["data"]) == 7)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        page = listing(gateway, **params)
        seen += [row["id"] for row in page["data"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == list(reversed(ids))


def test_a_trace_groups_the_calls_of_one_workflow(gateway):
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    ids = []
    for step in range(3):
        r = httpx.post(
            f"{gateway.url}/chat/completions",
            json={"model": "chat", "messages": [{"role": "user", "content": f"step {step}"}]},
            headers={**AUTH, "traceparent": f"00-{trace_id}-b7ad6b716920333{step}-01"},
        )
        ids.append(r.headers["x-request-id"])
    record_of(gateway, ids[-1])
    assert wait_for(lambda: len(listing(gateway, trace_id=trace_id)["data"]) == 3)
    r = httpx.get(f"{gateway.base}/admin/api/traces/{trace_id}", headers=ADMIN)
    assert r.status_code == 200
    trace = r.json()
    assert [req["id"] for req in trace["requests"]] == ids
    assert all(req["attempts"] for req in trace["requests"])


def test_stats_answer_the_last_hour_per_model(start_gateway, mock_upstream):
    gw = start_gateway(priced(mock_upstream.url))
    for _ in range(5):
        httpx.post(
            f"{gw.url}/chat/completions",
            json={"model": "chat", "messages": [{"role": "user", "content": "x"}]},
            headers=AUTH,
        )
    httpx.post(
        f"{gw.url}/chat/completions", json={"model": "chat", "messages": "bad"}, headers=AUTH
    )
    assert wait_for(lambda: len(listing(gw)["data"]) == 6)
    r = httpx.get(
        f"{gw.base}/admin/api/stats", params={"window": "1h", "group_by": "model"}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    groups = r.json()["groups"]
    assert len(groups) == 1, groups
    [row] = groups
    assert row["group"] == "chat"
    assert row["requests"] == 6
    assert row["client_errors"] == 1 and row["error_rate"] == 0  # a 400 is the client's
    assert row["availability"] == 1.0
    assert row["latency_ms"]["p50"] > 0 and row["latency_ms"]["p99"] >= row["latency_ms"]["p50"]
    assert row["cost_usd"] > 0


def test_the_request_log_needs_an_operator_key(gateway):
    r = httpx.get(f"{gateway.base}/admin/api/requests")
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key"
    # An app key calls models; it does not read what others sent them.
    r = httpx.get(f"{gateway.base}/admin/api/requests", headers=AUTH)
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_role"
    r = httpx.get(f"{gateway.base}/admin/api/stats", params={"window": "forever"}, headers=ADMIN)
    assert r.status_code == 400 and r.json()["error"]["param"] == "window"


def test_a_body_too_large_is_recorded_as_the_413_the_client_got(start_gateway, mock_upstream):
    cfg = config_for(mock_upstream.url)
    cfg["server"]["max_body_bytes"] = 2048
    gw = start_gateway(cfg)
    big = {"model": "chat", "messages": [{"role": "user", "content": "x" * 5000}]}
    r = httpx.post(f"{gw.url}/chat/completions", json=big, headers=AUTH)
    assert r.status_code == 413
    rec = record_of(gw, r.headers["x-request-id"])
    assert rec["status"] == 413 and rec["error_code"] == "request_too_large"


def test_nul_in_client_text_never_costs_the_record(start_gateway, mock_upstream, store_url):
    gw = start_gateway(config_for(mock_upstream.url, store={"url": store_url}))
    r = httpx.post(
        f"{gw.url}/chat/completions",
        json={
            "model": "chat",
            "messages": [{"role": "user", "content": "x"}],
            "user": "u\u00007",
            "metadata": {"k\u0000": "v\u0000"},
        },
        headers=AUTH,
    )
    assert r.status_code == 200
    rec = record_of(gw, r.headers["x-request-id"])
    assert rec["subject_id"] == "u\ufffd7"
    assert rec["metadata"] == {"k\ufffd": "v\ufffd"}
    r = httpx.post(
        f"{gw.url}/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "x"}]},
        headers={**AUTH, "x-gatehouse-metadata": '{"k": "a\\u0000b"}'},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_metadata"
