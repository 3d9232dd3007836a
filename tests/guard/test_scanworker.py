"""The scan worker: the NER scanner in its own process, with a time budget."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gatehouse.guard.scanners import registry
from tests.conftest import AUTH, GatewayServer, MockServer, config_for, wait_for
from tests.telemetry.test_request_log import record_of

TEXT = "My name is Margaret Thornton and I live at 42 Baker Street, London."


def ner_config(url: str, **worker: Any) -> dict[str, Any]:
    cfg = config_for(url)
    cfg["recording"] |= {"bodies": "full"}
    cfg["guardrails"] = {
        "policies": {"names": {"input": {"pii_ner": {"action": "redact"}}}},
        "default": "names",
        "worker": worker,
    }
    return cfg


def _chat(gw: GatewayServer, text: str = TEXT) -> httpx.Response:
    return httpx.post(
        gw.url + "/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": text}]},
        headers={**AUTH, "x-mock-echo": "5"},
        timeout=10,
    )


def test_names_are_redacted_by_the_worker_and_restored(
    start_gateway: Callable[..., GatewayServer],
    mock_upstream: MockServer,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.delitem(registry._built, "pii_ner", raising=False)  # built by other tests
    gw = start_gateway(ner_config(mock_upstream.url, timeout_ms=5000))
    worker = gw.server.gateway.guardrails.worker
    assert worker is not None and worker.pid is not None and worker.pid != os.getpid()
    r = _chat(gw)
    # The gazetteer lives in the worker only, never in the gateway's own process.
    assert "pii_ner" not in registry._built
    assert r.status_code == 200, r.text
    sent = mock_upstream.stats.last_body["messages"][0]["content"]
    assert "Margaret" not in sent and "Baker Street" not in sent and "<PERSON_1>" in sent
    assert r.json()["choices"][0]["message"]["content"] == TEXT
    verdict = record_of(gw, r.headers["x-request-id"])["guard"][0]
    assert verdict["scanner"] == "pii_ner" and verdict["outcome"] == "redacted"
    assert {"PERSON", "STREET_ADDRESS"} <= {f["type"] for f in verdict["findings"]}


@pytest.mark.parametrize(("on_timeout", "status"), [("block", 503), ("allow", 200)])
def test_a_late_worker_fails_closed_or_open_by_config(
    start_gateway: Callable[..., GatewayServer],
    mock_upstream: MockServer,
    on_timeout: str,
    status: int,
):
    gw = start_gateway(ner_config(mock_upstream.url, timeout_ms=1, on_timeout=on_timeout))
    # A long text keeps the worker busy well past 1 ms.
    r = _chat(gw, TEXT * 400)
    assert r.status_code == status, r.text
    record = record_of(gw, r.headers["x-request-id"])
    assert record["guard"][0]["outcome"] == "timeout"
    if status == 503:
        assert r.json()["error"]["type"] == "guardrail_unavailable"
        assert r.headers["x-should-retry"] == "true"
        # Unscanned, so not stored: the names in it were never found.
        assert "Margaret" not in str(record["body"]["request"])


def test_a_dead_worker_is_started_again(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
):
    gw = start_gateway(ner_config(mock_upstream.url, timeout_ms=5000))
    worker = gw.server.gateway.guardrails.worker
    assert worker is not None and worker.pid is not None
    first = worker.pid
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: worker.pid is None, 5)
    # Calls meanwhile fail closed (the default), then the worker is back.
    time.sleep(1.1)  # past the restart back-off
    assert _chat(gw).status_code == 503
    assert wait_for(lambda: worker.pid is not None and worker.pid != first, 15)
    assert _chat(gw).status_code == 200


@pytest.mark.parametrize(("on_timeout", "ends_with"), [("block", "error"), ("allow", "[DONE]")])
def test_a_late_worker_at_the_end_of_a_stream_fails_it_closed_or_open(
    start_gateway: Callable[..., GatewayServer],
    mock_upstream: MockServer,
    on_timeout: str,
    ends_with: str,
):
    cfg = ner_config(mock_upstream.url, timeout_ms=1, on_timeout=on_timeout)
    cfg["guardrails"]["policies"]["names"] = {"output": {"pii_ner": {"action": "block"}}}
    gw = start_gateway(cfg)
    with httpx.stream(
        "POST",
        gw.url + "/chat/completions",
        json={
            "model": "chat",
            "stream": True,
            "messages": [{"role": "user", "content": TEXT * 400}],
        },
        headers={**AUTH, "x-mock-echo": "500"},
        timeout=10,
    ) as r:
        raw = "".join(r.iter_text())
    last = raw.strip().split("\n\n")[-1]
    if ends_with == "error":
        assert "guardrail_unavailable" in last and "[DONE]" not in raw
    else:
        assert last == "data: [DONE]"


def test_the_worker_reads_only_the_texts_its_rules_read(
    start_gateway: Callable[..., GatewayServer],
    mock_upstream: MockServer,
    monkeypatch: pytest.MonkeyPatch,
):
    cfg = ner_config(mock_upstream.url, timeout_ms=5000)
    cfg["guardrails"]["policies"]["names"] = {"untrusted": {"pii_ner": {"action": "block"}}}
    gw = start_gateway(cfg)
    worker = gw.server.gateway.guardrails.worker
    assert worker is not None
    sent: list[list[str]] = []
    scan = worker.scan

    async def recording(names: Any, texts: list[str], contexts: Any, budget_s: float) -> Any:
        sent.append(list(texts))
        return await scan(names, texts, contexts, budget_s)

    monkeypatch.setattr(worker, "scan", recording)
    assert _chat(gw).status_code == 200  # the user's own turn: not the worker's business
    assert sent == []
    turns = [
        {"role": "user", "content": "Who wrote this?"},
        {"role": "function", "name": "lookup", "content": TEXT},  # legacy results: untrusted
    ]
    r = httpx.post(
        gw.url + "/chat/completions",
        json={"model": "chat", "messages": turns},
        headers=AUTH,
        timeout=10,
    )
    assert r.status_code == 400 and "messages[1].content" in r.json()["error"]["message"]
    assert sent == [[TEXT]]
