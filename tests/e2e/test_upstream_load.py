"""A deployment's own /metrics page (vLLM-style) scraped into the admin API and /metrics."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx

from tests.conftest import ADMIN_KEY, AUTH, config_for, free_port, wait_for

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
CHAT = {"model": "chat", "messages": [{"role": "user", "content": "x"}]}
DEPLOYMENT = "local/mock-model"


def scraped_config(upstream_url: str, metrics_url: str) -> dict[str, Any]:
    cfg = config_for(upstream_url, metrics={"scrape_interval_s": 0.2})
    cfg["models"]["chat"]["deployments"][0]["metrics_url"] = metrics_url
    return cfg


def load_of(gw) -> dict[str, Any]:
    r = httpx.get(f"{gw.base}/admin/api/deployments", headers=ADMIN)
    assert r.status_code == 200, r.text
    [view] = r.json()["models"]["chat"]
    assert view["name"] == DEPLOYMENT
    return view["load"]


def gauge(gw, name: str) -> float | None:
    text = httpx.get(f"{gw.base}/metrics").text
    m = re.search(rf'^{name}{{deployment="{DEPLOYMENT}"}} (\S+)$', text, re.MULTILINE)
    return float(m.group(1)) if m else None


def test_the_deployments_load_is_scraped(start_gateway, mock_upstream):
    root = mock_upstream.url.removesuffix("/v1")
    gw = start_gateway(scraped_config(mock_upstream.url, f"{root}/metrics"))

    assert wait_for(lambda: load_of(gw)["scraped_at"] is not None, timeout=3), load_of(gw)
    idle = load_of(gw)
    assert idle["error"] is None
    assert idle["running"] == 0 and idle["queue_length"] == 0 and idle["kv_cache_usage"] == 0
    assert abs(idle["scraped_at"] - time.time()) < 5
    assert gauge(gw, "gatehouse_deployment_running_requests") == 0
    assert gauge(gw, "gatehouse_deployment_metrics_up") == 1

    # A call in flight at the upstream shows as a running request holding KV cache.
    done: list[int] = []
    slow = threading.Thread(
        target=lambda: done.append(
            httpx.post(
                f"{gw.url}/chat/completions",
                json=CHAT,
                headers={**AUTH, "x-mock-latency-ms": "1000"},
                timeout=10,
            ).status_code
        )
    )
    slow.start()
    try:
        assert wait_for(lambda: load_of(gw)["running"] == 1, timeout=3), load_of(gw)
        busy = load_of(gw)
        assert busy["queue_length"] == 0
        assert 0 < busy["kv_cache_usage"] <= 1
        assert busy["scraped_at"] >= idle["scraped_at"]
        assert wait_for(lambda: gauge(gw, "gatehouse_deployment_running_requests") == 1, 2)
        kv = gauge(gw, "gatehouse_deployment_kv_cache_usage_ratio")
        assert kv is not None and kv > 0
        assert gauge(gw, "gatehouse_deployment_queue_length") == 0
    finally:
        slow.join(10)
    assert done == [200]
    assert wait_for(lambda: load_of(gw)["running"] == 0, timeout=3)


def test_an_unreachable_metrics_page_is_an_error_not_an_outage(start_gateway, mock_upstream):
    gw = start_gateway(scraped_config(mock_upstream.url, f"http://127.0.0.1:{free_port()}/metrics"))
    assert wait_for(lambda: load_of(gw)["error"] is not None, timeout=3), load_of(gw)
    load = load_of(gw)
    assert load["scraped_at"] is None
    assert load["running"] is None and load["queue_length"] is None
    assert load["kv_cache_usage"] is None
    for _ in range(3):
        r = httpx.post(f"{gw.url}/chat/completions", json=CHAT, headers=AUTH)
        assert r.status_code == 200, r.text
    assert httpx.get(f"{gw.base}/readyz").status_code == 200
    assert gauge(gw, "gatehouse_deployment_metrics_up") == 0
    assert gauge(gw, "gatehouse_deployment_running_requests") is None  # unknown, not 0
    r = httpx.get(f"{gw.base}/admin/api/deployments", headers=ADMIN)
    [view] = r.json()["models"]["chat"]
    assert view["healthy"] is True  # a missing metrics page says nothing about serving


def test_deployments_without_a_metrics_url_show_no_load(start_gateway, mock_upstream):
    gw = start_gateway(config_for(mock_upstream.url))
    r = httpx.get(f"{gw.base}/admin/api/deployments", headers=ADMIN)
    [view] = r.json()["models"]["chat"]
    assert "load" not in view
    assert "gatehouse_deployment_running_requests{" not in httpx.get(f"{gw.base}/metrics").text
