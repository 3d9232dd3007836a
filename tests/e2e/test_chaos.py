"""Chaos with default routing settings: faulty deployments, no client-visible errors."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from gatehouse.providers.simulated import MockSettings
from tests.conftest import AUTH, MockServer

CHAT = {"model": "chat", "messages": [{"role": "user", "content": "chaos"}]}
REQUESTS = 2000
CONCURRENCY = 32


def test_chaos_with_default_settings(start_gateway, loop_thread):
    healthy = MockServer(loop_thread, MockSettings())
    dying = MockServer(loop_thread, MockSettings())
    slow = MockServer(loop_thread, MockSettings(latency_ms=600))
    flaky = MockServer(loop_thread, MockSettings(error_rate=0.1, error_kind="500", seed=7))
    mocks = {"healthy": healthy, "dying": dying, "slow": slow, "flaky": flaky}
    gw = start_gateway(
        {
            "server": {"port": 0},
            "providers": {name: {"kind": "openai", "base_url": m.url} for name, m in mocks.items()},
            "models": {"chat": {"deployments": [{"provider": n, "model": "m"} for n in mocks]}},
        }
    )

    stop_watching = threading.Event()

    def kill_after_150() -> None:
        while not stop_watching.is_set():
            if dying.stats.received >= 150:
                dying.close()  # the port now refuses connections
                return
            time.sleep(0.002)

    watcher = threading.Thread(target=kill_after_150)
    watcher.start()
    local = threading.local()

    def one(_: int) -> tuple[int, float]:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=30, headers=AUTH)
        started = time.monotonic()
        r = client.post(gw.url + "/chat/completions", json=CHAT)
        return r.status_code, time.monotonic() - started

    try:
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            results = list(pool.map(one, range(REQUESTS)))
    finally:
        stop_watching.set()
        watcher.join()
        for name, mock in mocks.items():
            if name != "dying" or dying.stats.received < 150:
                mock.close()

    errors = [status for status, _ in results if status != 200]
    latencies = sorted(t for _, t in results)
    p99 = statistics.quantiles(latencies, n=100)[98]
    assert errors == []
    assert p99 < 2.0, f"p99 {p99:.2f}s"
    assert dying.stats.received >= 150  # the fault was exercised
    for name, mock in mocks.items():
        assert mock.stats.received > 0, name
    assert flaky.stats.failed > 0
