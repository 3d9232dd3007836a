"""The router against real simulated upstreams over loopback: every fault takes its path."""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

import httpx
import pytest

from gatehouse.providers.simulated import MockSettings
from tests.conftest import ADMIN_KEY, AUTH, MockServer, wait_for

CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def upstreams(loop_thread):
    started: list[MockServer] = []

    def make(**settings: Any) -> MockServer:
        server = MockServer(loop_thread, MockSettings(**settings))
        started.append(server)
        return server

    yield make
    for server in started:
        server.close()


def provider(mock: MockServer, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "openai",
        "base_url": mock.url,
        "forward_headers": ["x-mock-*"],
        "timeout_s": 10,
        **extra,
    }


def two_deployments(a: MockServer, b: MockServer, **model: Any) -> dict[str, Any]:
    return {
        "server": {"port": 0},
        "providers": {"a": provider(a), "b": provider(b)},
        "models": {
            "chat": {
                "deployments": [
                    {"provider": "a", "model": "m", "weight": 1000},
                    {"provider": "b", "model": "m", "weight": 0.001},
                ],
                **model,
            }
        },
    }


def post(http: httpx.Client, gw, body=None, **headers: str) -> httpx.Response:
    return http.post(gw.url + "/chat/completions", json=body or CHAT, headers=headers)


def test_a_failed_call_is_retried_on_another_deployment(start_gateway, upstreams, http):
    bad, good = upstreams(error_rate=1.0, error_kind="500"), upstreams()
    gw = start_gateway(two_deployments(bad, good))
    r = post(http, gw)
    assert r.status_code == 200
    assert r.headers["x-gatehouse-route"] == ("chat=a/m (error: upstream_http_error), chat=b/m")
    assert bad.stats.received == 1 and good.stats.received == 1


def test_client_errors_are_never_retried(start_gateway, upstreams, http):
    a, b = upstreams(), upstreams()
    gw = start_gateway(two_deployments(a, b))
    r = post(http, gw, **{"x-mock-fail": "400"})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "simulated invalid request"
    assert a.stats.received + b.stats.received == 1


def test_retry_after_is_honoured_on_the_same_deployment(start_gateway, upstreams, http):
    only = upstreams(fail_next=1, error_kind="429", retry_after_s=1)
    gw = start_gateway(
        {
            "server": {"port": 0},
            "providers": {"a": provider(only)},
            "models": {"chat": {"deployments": [{"provider": "a", "model": "m"}]}},
        }
    )
    started = time.monotonic()
    r = post(http, gw)
    elapsed = time.monotonic() - started
    assert r.status_code == 200
    assert elapsed >= 1.0  # waited for Retry-After, not a 50 ms backoff
    assert only.stats.received == 2


def test_long_retry_after_fails_over_and_takes_the_deployment_out(start_gateway, upstreams, http):
    limited = upstreams(error_rate=1.0, error_kind="429", retry_after_s=30)
    good = upstreams()
    gw = start_gateway(two_deployments(limited, good))
    started = time.monotonic()
    assert post(http, gw).status_code == 200
    assert time.monotonic() - started < 1.0  # no 30 s sleep
    for _ in range(5):
        assert post(http, gw).status_code == 200
    assert limited.stats.received == 1  # tripped for 30 s: no more calls
    status = http.get(
        gw.base + "/admin/api/deployments", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    ).json()
    breaker = status["models"]["chat"][0]["breaker"]
    assert breaker["state"] == "open"


def test_all_attempts_rate_limited_is_a_429_with_retry_after(start_gateway, upstreams, http):
    a = upstreams(error_rate=1.0, error_kind="429", retry_after_s=20)
    b = upstreams(error_rate=1.0, error_kind="429", retry_after_s=7)
    gw = start_gateway(two_deployments(a, b))
    r = post(http, gw)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "7"
    assert r.json()["error"]["type"] == "rate_limit_error"


def test_breaker_opens_cools_down_probes_and_closes(start_gateway, upstreams, http):
    flaky, good = upstreams(error_rate=1.0, error_kind="503", retry_after_s=0), upstreams()
    cfg = two_deployments(flaky, good)
    cfg["routing"] = {"breaker": {"consecutive_failures": 3, "cooldown_s": 0.5}}
    gw = start_gateway(cfg)
    for _ in range(6):
        assert post(http, gw).status_code == 200
    assert flaky.stats.received == 3  # opened after 3 failures; no traffic since
    flaky.upstream.settings.error_rate = 0.0  # the upstream recovers
    time.sleep(0.6)
    r = post(http, gw)  # the half-open probe goes to the preferred deployment
    assert r.headers["x-gatehouse-route"] == "chat=a/m"
    assert flaky.stats.received == 4
    for _ in range(3):
        assert post(http, gw).headers["x-gatehouse-route"] == "chat=a/m"


def test_stream_failing_before_content_fails_over_invisibly(start_gateway, upstreams, http):
    cut = upstreams(error_rate=1.0, error_kind="cut", cut_after=0)  # role chunk, then gone
    good = upstreams()
    gw = start_gateway(two_deployments(cut, good))
    with http.stream("POST", gw.url + "/chat/completions", json={**CHAT, "stream": True}) as r:
        assert r.status_code == 200
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert not any('"error"' in e for e in events)
    roles = [e for e in events if '"role"' in e]
    assert len(roles) == 1  # the dead attempt's role chunk never reached the client
    route = r.headers["x-gatehouse-route"]
    assert route.startswith("chat=a/m (error: upstream_")
    assert route.endswith("), chat=b/m")


def test_stream_cut_after_content_is_an_error_event(start_gateway, upstreams, http):
    cut = upstreams(error_rate=1.0, error_kind="cut", cut_after=3)
    good = upstreams()
    gw = start_gateway(two_deployments(cut, good))
    with http.stream("POST", gw.url + "/chat/completions", json={**CHAT, "stream": True}) as r:
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert "data: [DONE]" not in events
    assert '"error"' in events[-1]
    assert good.stats.received == 0  # too late to fail over: content was already sent


def test_first_token_timeout_fails_over(start_gateway, upstreams, http):
    slow, good = upstreams(ttft_ms=3000), upstreams()
    cfg = two_deployments(slow, good)
    cfg["models"]["chat"]["deployments"][0]["timeouts"] = {"first_token_s": 0.3}
    gw = start_gateway(cfg)
    started = time.monotonic()
    with http.stream("POST", gw.url + "/chat/completions", json={**CHAT, "stream": True}) as r:
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert time.monotonic() - started < 2
    assert events[-1] == "data: [DONE]"
    assert "upstream_first_token_timeout" in r.headers["x-gatehouse-route"]
    assert wait_for(lambda: slow.stats.cancelled == 1)


def test_stall_mid_stream_is_an_error_event(start_gateway, upstreams, http):
    stalling = upstreams(tokens_per_s=1)  # a second between tokens
    cfg = two_deployments(stalling, upstreams())
    cfg["models"]["chat"]["deployments"][0]["timeouts"] = {"stall_s": 0.3}
    gw = start_gateway(cfg)
    with http.stream("POST", gw.url + "/chat/completions", json={**CHAT, "stream": True}) as r:
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert "upstream_stalled" in events[-1]
    assert "data: [DONE]" not in events


def test_hedge_returns_the_faster_answer_and_cancels_the_slower(start_gateway, upstreams, http):
    slow, fast = upstreams(latency_ms=2000), upstreams()
    gw = start_gateway(two_deployments(slow, fast, hedge={"after_ms": 100}))
    started = time.monotonic()
    r = post(http, gw)
    assert r.status_code == 200
    assert time.monotonic() - started < 1.0
    assert r.headers["x-gatehouse-route"] == "chat=a/m (cancelled), chat=b/m [hedge]"
    assert wait_for(lambda: slow.stats.cancelled == 1)
    assert slow.stats.completed == 0


def test_hedged_stream_uses_the_first_to_produce_content(start_gateway, upstreams, http):
    slow, fast = upstreams(ttft_ms=2000), upstreams()
    gw = start_gateway(two_deployments(slow, fast, hedge={"after_ms": 100}))
    with http.stream("POST", gw.url + "/chat/completions", json={**CHAT, "stream": True}) as r:
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert r.headers["x-gatehouse-route"].endswith("chat=b/m [hedge]")
    assert wait_for(lambda: slow.stats.cancelled == 1)


def fallback_config(primary: MockServer, large: MockServer, **model: Any) -> dict[str, Any]:
    return {
        "server": {"port": 0},
        "providers": {"a": provider(primary), "big": provider(large)},
        "models": {
            "chat": {
                "deployments": [{"provider": "a", "model": "small"}],
                "fallbacks": ["chat-large"],
                **model,
            },
            "chat-large": {"deployments": [{"provider": "big", "model": "large"}]},
        },
    }


def test_fallback_to_another_model_on_server_errors(start_gateway, upstreams, http):
    down, large = upstreams(error_rate=1.0, error_kind="500"), upstreams()
    gw = start_gateway(fallback_config(down, large))
    r = post(http, gw)
    assert r.status_code == 200
    assert r.headers["x-gatehouse-model"] == "chat-large"
    assert r.json()["model"] == "large"
    assert r.headers["x-gatehouse-route"].endswith("chat-large=big/large")
    assert down.stats.received == 3  # the model's own attempts came first


def test_context_window_falls_back_at_once(start_gateway, upstreams, http):
    small, large = upstreams(), upstreams()
    gw = start_gateway(fallback_config(small, large))
    r = post(http, gw, **{"x-mock-fail": "context"})
    # The header reaches the fallback too, so the fallback also refuses: both tried once.
    assert r.status_code == 400
    assert small.stats.received == 1 and large.stats.received == 1
    small.upstream.settings.fail_next, small.upstream.settings.error_kind = 1, "context"
    r = post(http, gw)
    assert r.status_code == 200
    assert r.headers["x-gatehouse-route"] == (
        "chat=a/small (error: context_length_exceeded), chat-large=big/large"
    )


def test_fallback_only_for_configured_failure_classes(start_gateway, upstreams, http):
    down, large = upstreams(error_rate=1.0, error_kind="500"), upstreams()
    gw = start_gateway(fallback_config(down, large, fallback_on=["timeout"]))
    r = post(http, gw)
    assert r.status_code == 502
    assert large.stats.received == 0


def test_tags_select_deployments(start_gateway, upstreams, http):
    eu, us = upstreams(), upstreams()
    cfg = two_deployments(eu, us)
    cfg["models"]["chat"]["deployments"][0]["tags"] = ["us"]
    cfg["models"]["chat"]["deployments"][1]["tags"] = ["eu", "gpu"]
    gw = start_gateway(cfg)
    for _ in range(5):
        r = post(http, gw, **{"x-gatehouse-tags": "eu"})
        assert r.headers["x-gatehouse-route"] == "chat=b/m"
    r = post(http, gw, **{"x-gatehouse-tags": "mars"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "no_matching_deployment"


def test_load_shedding_answers_503_with_retry_after(start_gateway, upstreams, http):
    slow = upstreams(latency_ms=600)
    gw = start_gateway(
        {
            "server": {"port": 0},
            "routing": {"max_in_flight": 2, "queue_size": 1, "queue_timeout_s": 0.2},
            "providers": {"a": provider(slow)},
            "models": {"chat": {"deployments": [{"provider": "a", "model": "m"}]}},
        }
    )
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(post, httpx.Client(timeout=10, headers=AUTH), gw) for _ in range(6)]
        responses = [f.result() for f in futures]
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 503, 503, 503, 503]
    shed = [r for r in responses if r.status_code == 503]
    assert all(r.headers["retry-after"] == "1" for r in shed)
    assert all(r.json()["error"]["type"] == "overloaded_error" for r in shed)
    assert slow.stats.received == 2


def test_per_deployment_in_flight_cap_spills_to_siblings(start_gateway, upstreams, http):
    a, b = upstreams(latency_ms=300), upstreams(latency_ms=300)
    cfg = two_deployments(a, b)
    cfg["models"]["chat"]["deployments"][0]["max_in_flight"] = 1
    gw = start_gateway(cfg)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        responses = list(
            pool.map(lambda _: post(httpx.Client(timeout=10, headers=AUTH), gw), range(3))
        )
    assert all(r.status_code == 200 for r in responses)
    assert a.stats.received == 1 and b.stats.received == 2


def test_admin_explain_and_deployments(start_gateway, upstreams, http):
    a, b = upstreams(), upstreams()
    gw = start_gateway(two_deployments(a, b, strategy="least-latency"))
    post(http, gw)
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    explain = http.get(
        gw.base + "/admin/api/route/explain", params={"model": "chat"}, headers=auth
    ).json()
    assert explain["strategy"] == "least-latency"
    assert {c["name"] for c in explain["candidates"]} == {"a/m", "b/m"}
    assert all(c["eligible"] for c in explain["candidates"])
    deployments = http.get(gw.base + "/admin/api/deployments", headers=auth).json()
    a_view = deployments["models"]["chat"][0]
    assert a_view["breaker"]["state"] == "closed"
    assert a_view["stats"]["requests_last_minute"] == 1
    missing = http.get(gw.base + "/admin/api/route/explain", params={"model": "x"}, headers=auth)
    assert missing.status_code == 404


def test_hedged_calls_leave_nothing_in_flight(start_gateway, upstreams, http):
    # Both racers finish within a few ms of each other: the loser must be undone.
    a, b = upstreams(latency_ms=105), upstreams()
    gw = start_gateway(two_deployments(a, b, hedge={"after_ms": 100}))
    for _ in range(10):
        assert post(http, gw).status_code == 200
    routes = gw.server.gateway.routes["chat"]
    assert wait_for(lambda: all(d.stats.in_flight == 0 for d in routes.deployments))
    assert all(d.breaker.state == "closed" for d in routes.deployments)


def test_one_failed_attempt_returns_its_own_error(start_gateway, upstreams, http):
    small = upstreams(error_rate=1.0, error_kind="context")
    gw = start_gateway(
        {
            "server": {"port": 0},
            "providers": {"a": provider(small)},
            "models": {"chat": {"deployments": [{"provider": "a", "model": "m"}]}},
        }
    )
    r = post(http, gw)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "context_length_exceeded"
    assert "maximum context length" in r.json()["error"]["message"]


def test_health_checks_close_half_open_breakers_only(start_gateway, upstreams, loop_thread):
    up = upstreams()
    gw = start_gateway(two_deployments(up, upstreams()))
    gateway = gw.server.gateway
    dep = gateway.routes["chat"].deployments[0]
    dep.breaker.record_failure("test")
    dep.breaker.record_failure("test")
    assert loop_thread.run(gateway.health.check(dep)) is True
    # A good probe does not forgive failed calls while the breaker is closed.
    assert dep.breaker.snapshot()["consecutive_failures"] == 2
    dep.breaker.trip(0, "test")
    assert dep.breaker.state == "half_open"
    assert loop_thread.run(gateway.health.check(dep)) is True
    assert dep.breaker.state == "closed"
    up.close()
    assert loop_thread.run(gateway.health.check(dep)) is False
    assert dep.breaker.snapshot()["consecutive_failures"] == 1


def test_error_responses_carry_the_route(start_gateway, upstreams, http):
    a, b = upstreams(error_rate=1.0, error_kind="500"), upstreams(error_rate=1.0, error_kind="500")
    gw = start_gateway(two_deployments(a, b))
    r = post(http, gw)
    assert r.status_code == 502
    route = r.headers["x-gatehouse-route"]
    assert route.startswith("chat=a/m (error: upstream_http_error), chat=b/m (error: ")


def test_round_robin_keeps_rotating_with_hedges(start_gateway, upstreams, http):
    good, slow = upstreams(), upstreams(latency_ms=2000)
    cfg = two_deployments(good, slow, strategy="round-robin", hedge={"after_ms": 150})
    gw = start_gateway(cfg)
    firsts = [post(http, gw).headers["x-gatehouse-route"].split(" ")[0] for _ in range(4)]
    assert sorted(firsts) == ["chat=a/m", "chat=a/m", "chat=b/m", "chat=b/m"]


def test_open_breakers_make_readyz_fail_and_set_retry_after(start_gateway, upstreams, http):
    down = upstreams(error_rate=1.0, error_kind="500")
    cfg = {
        "server": {"port": 0},
        "routing": {"breaker": {"consecutive_failures": 3, "cooldown_s": 30}},
        "providers": {"a": provider(down)},
        "models": {"chat": {"deployments": [{"provider": "a", "model": "m"}]}},
    }
    gw = start_gateway(cfg)
    assert http.get(gw.base + "/readyz").status_code == 200
    post(http, gw)  # three attempts, three failures: the breaker opens
    r = post(http, gw)
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "no_healthy_deployment"
    assert 25 <= int(r.headers["retry-after"]) <= 30
    assert http.get(gw.base + "/readyz").status_code == 503
