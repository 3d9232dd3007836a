"""Rate limits, concurrency, budgets and request limits through a real gateway."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from gatehouse.config.access import BudgetConfig, KeyLimits
from tests.conftest import ADMIN_KEY, GatewayServer, MockServer, config_for, wait_for

CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _post(gw: GatewayServer, secret: str, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.post(
        gw.url + "/chat/completions",
        json=CHAT if body is None else body,
        headers={"Authorization": f"Bearer {secret}", **headers},
        timeout=10,
    )


@pytest.fixture
def gw(start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer) -> GatewayServer:
    cfg = config_for(mock_upstream.url)
    cfg["models"]["chat"]["deployments"][0]["price"] = {"input": 1000.0, "output": 2000.0}
    return start_gateway(cfg)


def test_requests_per_minute_with_openai_headers(gw: GatewayServer) -> None:
    secret = gw.create_key(name="rpm-3", limits=KeyLimits(rpm=3))
    remaining = []
    for _ in range(3):
        resp = _post(gw, secret)
        assert resp.status_code == 200
        assert resp.headers["x-ratelimit-limit-requests"] == "3"
        remaining.append(resp.headers["x-ratelimit-remaining-requests"])
        assert resp.headers["x-ratelimit-reset-requests"].endswith("s")
    assert remaining == ["2", "1", "0"]
    refused = _post(gw, secret)
    assert refused.status_code == 429
    err = refused.json()["error"]
    assert err["type"] == "rate_limit_error" and err["code"] == "rate_limit_exceeded"
    assert "key 'rpm-3' requests per minute" in err["message"]
    assert 50 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-should-retry"] == "true"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    # Another key is not affected.
    assert _post(gw, gw.create_key(name="other")).status_code == 200


def test_tokens_are_reserved_then_reconciled(gw: GatewayServer) -> None:
    secret = gw.create_key(name="tpm", limits=KeyLimits(tpm=200))
    # Reserving 500 output tokens can never fit a 200-token window: refused for good.
    big = _post(gw, secret, CHAT | {"max_tokens": 500})
    assert big.status_code == 429 and big.headers["x-should-retry"] == "false"
    assert "tokens" in big.json()["error"]["message"]
    # 150 reserved, ~25 used: the reservation is refunded when the call ends.
    first = _post(gw, secret, CHAT | {"max_tokens": 150}, **{"x-mock-tokens": "16"})
    assert first.status_code == 200
    used = first.json()["usage"]["total_tokens"]
    assert int(first.headers["x-ratelimit-remaining-tokens"]) < 200 - 150
    time.sleep(0.1)  # the record (and with it the settlement) follows the response
    second = _post(gw, secret, CHAT | {"max_tokens": 150}, **{"x-mock-tokens": "16"})
    assert second.status_code == 200, second.text
    assert int(second.headers["x-ratelimit-remaining-tokens"]) <= 200 - used - 150


def test_concurrent_calls(gw: GatewayServer) -> None:
    secret = gw.create_key(name="one-at-a-time", limits=KeyLimits(max_concurrent=1))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        slow = pool.submit(_post, gw, secret, None, **{"x-mock-latency-ms": "800"})
        time.sleep(0.3)
        busy = _post(gw, secret)
        assert busy.status_code == 429
        assert "concurrent calls" in busy.json()["error"]["message"]
        assert slow.result().status_code == 200
    assert wait_for(lambda: _post(gw, secret).status_code == 200, timeout=2)


def test_team_and_model_limits_are_shared(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
) -> None:
    cfg = config_for(
        mock_upstream.url,
        limits={"teams": {"red": {"rpm": 2}}, "models": {"chat": {"rpm": 5}}},
    )
    gw = start_gateway(cfg)
    a = gw.create_key(name="red-a", team="red")
    b = gw.create_key(name="red-b", team="red")
    assert _post(gw, a).status_code == 200
    assert _post(gw, b).status_code == 200
    refused = _post(gw, a)
    assert refused.status_code == 429 and "team 'red'" in refused.json()["error"]["message"]
    others = [gw.create_key(name=f"solo-{i}") for i in range(4)]
    codes = [_post(gw, k).status_code for k in others]
    # The model's 5 per minute count every caller: 2 were used by team red.
    assert codes == [200, 200, 200, 429]


def test_per_key_per_model_limit(gw: GatewayServer) -> None:
    limits = KeyLimits.model_validate({"models": {"ch*": {"rpm": 1}}})
    secret = gw.create_key(name="per-model", limits=limits)
    assert _post(gw, secret).status_code == 200
    refused = _post(gw, secret)
    assert refused.status_code == 429
    assert "on 'chat'" in refused.json()["error"]["message"]


def test_budget_refuses_without_sdk_retries(gw: GatewayServer, mock_upstream: MockServer) -> None:
    # $1000/$2000 per 1M tokens: a call of ~8 input and 16 output tokens costs ~$0.04.
    secret = gw.create_key(name="budgeted", budget=BudgetConfig(usd=0.1, period="day"))
    admitted = 0
    for _ in range(10):
        resp = _post(gw, secret, CHAT | {"max_tokens": 16})
        if resp.status_code != 200:
            break
        admitted += 1
        time.sleep(0.05)
    assert admitted == 2
    err = resp.json()["error"]
    assert resp.status_code == 429 and err["type"] == "budget_exceeded"
    assert resp.headers["x-should-retry"] == "false"
    assert "budget" in err["message"] and "$0.10" in err["message"]
    before = mock_upstream.stats.received
    with pytest.raises(openai.RateLimitError):
        gw.client(api_key=secret, max_retries=3).chat.completions.create(**CHAT, max_tokens=16)
    assert mock_upstream.stats.received == before  # refused at the gateway, not retried
    # The spend is visible through the admin API.
    keys = httpx.get(f"{gw.base}/admin/api/keys", headers=ADMIN).json()["data"]
    key_id = next(k["id"] for k in keys if k["name"] == "budgeted")
    shown = httpx.get(f"{gw.base}/admin/api/keys/{key_id}", headers=ADMIN).json()
    (spend,) = shown["spend"]
    assert spend["scope"] == "key" and spend["budget_usd"] == 0.1
    assert 0.05 < spend["spent_usd"] <= 0.1


def test_request_limits(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
) -> None:
    gw = start_gateway(
        config_for(mock_upstream.url, limits={"models": {"chat": {"max_tokens": 100}}})
    )
    limits = KeyLimits.model_validate(
        {
            "max_tokens": 50,
            "max_body_bytes": 2000,
            "parameters": {"n": {"max": 1}, "logprobs": {"allowed": False}},
        }
    )
    secret = gw.create_key(name="shaped", limits=limits)
    cases = [
        ({"max_tokens": 60}, "max_tokens", "this key"),
        ({"max_completion_tokens": 60}, "max_completion_tokens", "this key"),
        ({"n": 2}, "n", "at most 1"),
        ({"logprobs": True}, "logprobs", "may not set"),
    ]
    for extra, param, words in cases:
        resp = _post(gw, secret, CHAT | extra)
        assert resp.status_code == 400, extra
        err = resp.json()["error"]
        assert err["param"] == param and words in err["message"]
    assert _post(gw, secret, CHAT | {"max_tokens": 50, "n": 1}).status_code == 200
    # The model's cap holds for keys without their own.
    plain = gw.create_key(name="plain")
    assert _post(gw, plain, CHAT | {"max_tokens": 101}).status_code == 400
    big = CHAT | {"messages": [{"role": "user", "content": "x" * 3000}]}
    assert _post(gw, secret, big).status_code == 413


@pytest.mark.parametrize("on_error", ["closed", "open"])
def test_unreachable_redis_fails_as_configured(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer, on_error: str
) -> None:
    cfg = config_for(
        mock_upstream.url,
        redis={"url": "redis://127.0.0.1:1/0", "timeout_ms": 200, "on_error": on_error},
    )
    gw = start_gateway(cfg)
    secret = gw.create_key(name="limited", limits=KeyLimits(rpm=100))
    resp = _post(gw, secret)
    if on_error == "closed":
        assert resp.status_code == 503
        assert resp.json()["error"]["code"] == "limits_unavailable"
    else:
        assert resp.status_code == 200
    metrics = httpx.get(gw.base + "/metrics").text
    assert f'gatehouse_limiter_errors_total{{action="{on_error}"}} 1' in metrics


def test_limits_shared_through_redis(
    start_gateway: Callable[..., GatewayServer],
    mock_upstream: MockServer,
    redis_url: str,
    redis_prefix: str,
    tmp_path: Any,
) -> None:
    store = f"sqlite:///{tmp_path}/shared.db"
    cfg = config_for(
        mock_upstream.url, redis={"url": redis_url, "key_prefix": redis_prefix, "timeout_ms": 2000}
    )
    cfg["store"] = {"url": store}
    one, two = start_gateway(cfg), start_gateway(cfg)
    secret = one.create_key(name="shared", limits=KeyLimits(rpm=4))
    assert wait_for(lambda: _post(two, secret).status_code == 200, timeout=3)
    codes = [_post(gw, secret).status_code for gw in (one, two, one, two)]
    assert codes == [200, 200, 200, 429]


def test_budget_thresholds_raise_an_event(
    gw: GatewayServer, caplog: pytest.LogCaptureFixture
) -> None:
    budget = BudgetConfig(usd=0.1, period="month", alert_at=[0.5])
    secret = gw.create_key(name="watched", budget=budget)
    with caplog.at_level("WARNING", logger="gatehouse.events"):
        for _ in range(2):  # ~$0.04 each: the second passes half the budget
            assert _post(gw, secret, CHAT | {"max_tokens": 16}).status_code == 200
            time.sleep(0.1)

        def alerted() -> bool:
            return "budget.threshold" in caplog.text

        assert wait_for(alerted)
    event = next(r for r in caplog.records if r.name == "gatehouse.events")
    assert event.__dict__["threshold"] == 0.5 and event.__dict__["scope"] == "key"
    metrics = httpx.get(gw.base + "/metrics").text
    assert 'gatehouse_budget_alerts_total{scope="key",threshold="0.5"} 1' in metrics


def test_spend_survives_a_restart(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer, tmp_path: Any
) -> None:
    cfg = config_for(mock_upstream.url, limits={"teams": {"blue": {"budget": {"usd": 0.1}}}})
    cfg["store"] = {"url": f"sqlite:///{tmp_path}/spend.db"}
    cfg["models"]["chat"]["deployments"][0]["price"] = {"input": 1000.0, "output": 2000.0}
    first = start_gateway(cfg)
    secret = first.create_key(name="blue-app", team="blue")
    assert _post(first, secret, CHAT | {"max_tokens": 16}).status_code == 200

    def budgets(gw: GatewayServer) -> list[dict[str, Any]]:
        return list(httpx.get(f"{gw.base}/admin/api/budgets", headers=ADMIN).json()["data"])

    assert wait_for(lambda: (budgets(first)[0]["spent_usd"] or 0) > 0.03)
    spent = budgets(first)[0]["spent_usd"]
    first.close()
    # A new gateway on the same store reads the period's spend from the request log.
    second = start_gateway(cfg)
    (team,) = budgets(second)
    assert team["scope"] == "team" and team["owner"] == "blue"
    assert team["spent_usd"] == pytest.approx(spent)
    assert _post(second, secret, CHAT | {"max_tokens": 16}).status_code == 200
    assert _post(second, secret, CHAT | {"max_tokens": 16}).status_code == 429


def test_max_tokens_is_read_as_the_upstream_would(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
) -> None:
    gw = start_gateway(
        config_for(mock_upstream.url, limits={"models": {"chat": {"max_tokens": 100}}})
    )
    secret = gw.create_key(name="any")
    for extra, param in (
        ({"max_tokens": 5000.0}, "max_tokens"),  # a whole float counts as its value
        ({"max_completion_tokens": 1, "max_tokens": 5000}, "max_tokens"),  # the larger wins
    ):
        resp = _post(gw, secret, CHAT | extra)
        assert resp.status_code == 400, extra
        assert resp.json()["error"]["code"] == "max_tokens_exceeded"
        assert resp.json()["error"]["param"] == param
    for bad in (-5, 1.5, "10", True):
        resp = _post(gw, secret, CHAT | {"max_tokens": bad})
        assert resp.status_code == 400, bad
        assert resp.json()["error"] == {
            "message": "max_tokens must be a whole number of tokens, 0 or more",
            "type": "invalid_request_error",
            "param": "max_tokens",
            "code": "invalid_type",
        }
    assert _post(gw, secret, CHAT | {"max_tokens": 100.0}).status_code == 200


def test_admin_api_refuses_bad_key_fields_with_400(gw: GatewayServer) -> None:
    made = httpx.post(
        f"{gw.base}/admin/api/keys", json={"name": "narrow", "models": ["chat"]}, headers=ADMIN
    ).json()
    key_id = made["key"]["id"]
    cases = [
        ("PATCH", f"/admin/api/keys/{key_id}", {"models": None}),  # would open every model
        ("PATCH", f"/admin/api/keys/{key_id}", {"roles": "admin"}),
        ("POST", "/admin/api/keys", {"name": "x", "expires_in": [1]}),
        ("POST", "/admin/api/keys", {"name": "x", "expires_in": None}),
        ("POST", "/admin/api/keys", {"name": "x\x00y"}),
        ("POST", "/admin/api/keys", {"name": "x", "budget": {"usd": 1e303}}),
        ("POST", "/admin/api/keys", {"name": "x", "limits": {"rpm": "many"}}),
        ("POST", "/admin/api/keys", {"name": "x", "colour": "blue"}),
        ("POST", "/admin/api/keys", [1, 2]),
    ]
    for method, path, body in cases:
        resp = httpx.request(method, gw.base + path, json=body, headers=ADMIN)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["error"]["type"] == "invalid_request_error"
    still = httpx.get(f"{gw.base}/admin/api/keys/{key_id}", headers=ADMIN).json()
    assert still["models"] == ["chat"]
    for path in (
        "/admin/api/keys?team=a%00b",
        f"/admin/api/keys/{key_id}%00",
        "/admin/api/requests?user=%00",
    ):
        resp = httpx.get(gw.base + path, headers=ADMIN)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_url"


def test_the_gateway_key_never_goes_upstream(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
) -> None:
    cfg = config_for(mock_upstream.url)
    cfg["providers"]["local"]["forward_headers"] = ["x-*", "authorization"]
    gw = start_gateway(cfg)
    secret = gw.create_key(name="forwarded")
    resp = httpx.post(
        gw.url + "/chat/completions",
        json=CHAT,
        headers={"x-api-key": secret, "x-team-tag": "blue"},
        timeout=10,
    )
    assert resp.status_code == 200
    sent = {k.lower(): v for k, v in mock_upstream.stats.last_headers.items()}
    assert sent["x-team-tag"] == "blue"
    assert "x-api-key" not in sent
    assert secret not in str(sent)


class RedisSwitch:
    """A TCP relay to the test's Redis that can be switched off: open connections are cut
    and new ones refused, as when Redis restarts or the network between drops."""

    def __init__(self, loop_thread: Any, redis_url: str) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(redis_url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.db = parts.path.lstrip("/") or "0"
        self.loop_thread = loop_thread
        self.port = 0
        self.server: Any = None
        self.writers: list[Any] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{self.db}"

    async def _relay(self, reader: Any, writer: Any) -> None:
        import asyncio

        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers += [writer, up_writer]

        async def pipe(src: Any, dst: Any) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def on(self) -> None:
        import asyncio

        async def start() -> None:
            self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
            self.port = self.server.sockets[0].getsockname()[1]

        self.loop_thread.run(start())

    def off(self) -> None:
        async def stop() -> None:
            self.server.close()
            for writer in self.writers:
                writer.close()
            self.writers.clear()

        self.loop_thread.run(stop())


def test_a_settle_redis_missed_is_retried(
    start_gateway: Callable[..., GatewayServer],
    mock_upstream: MockServer,
    loop_thread: Any,
    redis_url: str,
    redis_prefix: str,
) -> None:
    """Redis away just when a call ends: its slot and its budget reservation come back
    once Redis does, not when the lease ends (minutes later), and its cost is counted
    once, though the spend sync read it from the request log before the retry landed."""
    switch = RedisSwitch(loop_thread, redis_url)
    switch.on()
    cfg = config_for(
        mock_upstream.url,
        redis={"url": switch.url, "key_prefix": redis_prefix, "timeout_ms": 500},
    )
    cfg["models"]["chat"]["deployments"][0]["price"] = {"input": 1000.0, "output": 2000.0}
    gw = start_gateway(cfg)
    secret = gw.create_key(
        name="one-slot",
        limits=KeyLimits(max_concurrent=1),
        budget=BudgetConfig(usd=100.0, period="day"),
    )
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        slow = pool.submit(_post, gw, secret, None, **{"x-mock-latency-ms": "1500"})
        time.sleep(0.5)
        switch.off()  # the call ends while Redis is away: its settle fails
        assert slow.result().status_code == 200
    key_id = next(k.id for k in gw.guard.snapshot.active_keys() if k.name == "one-slot")

    def logged() -> list[float]:
        params = {"key": key_id, "status": "ok"}  # not the 429s while the slot was taken
        rows = httpx.get(f"{gw.base}/admin/api/requests", headers=ADMIN, params=params)
        return [r["cost_usd"] for r in rows.json()["data"]]

    assert wait_for(lambda: len(logged()) == 1)
    switch.on()
    loop_thread.run(gw.guard.sync_spend())  # the periodic sync, before the retry lands
    assert wait_for(lambda: _post(gw, secret).status_code == 200, timeout=10)
    assert gw.guard.lease_s > 60  # the slot came back long before its lease would end

    def spend() -> dict[str, Any]:
        shown = httpx.get(f"{gw.base}/admin/api/keys/{key_id}", headers=ADMIN).json()
        return dict(shown["spend"][0])

    assert wait_for(lambda: len(logged()) == 2)
    assert wait_for(lambda: spend()["reserved_usd"] == 0, timeout=10)
    (first, second) = logged()
    assert spend()["spent_usd"] == pytest.approx(first + second)  # the retried call once
    loop_thread.run(gw.guard.sync_spend())
    assert spend()["spent_usd"] == pytest.approx(first + second)
    metrics = httpx.get(f"{gw.base}/metrics").text
    assert 'gatehouse_limiter_errors_total{action="settle"} 1' in metrics
