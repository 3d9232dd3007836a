"""Raw HTTP at the edges: bad input, ids, admin, health, disconnects."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.conftest import ADMIN_KEY, APP_KEY, config_for, wait_for

CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}


def assert_openai_error(response: httpx.Response, status: int, kind: str) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == kind
    assert error["message"]
    assert "Traceback" not in response.text
    return error


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        (b"{not json", None, "not valid JSON"),
        (b"", None, "empty"),
        (b"[1, 2]", None, "JSON object"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model", "model"),
        (b'{"model": 3, "messages": []}', "model", "model"),
        (b'{"model": "chat"}', "messages", "messages"),
        (b'{"model": "chat", "messages": "hi"}', "messages", "messages"),
        (b'{"model": "chat", "messages": [{}], "stream": "yes"}', "stream", "stream"),
        (b'{"model": "chat", "messages": [{}], "stream_options": 1}', "stream_options", "stream"),
    ],
)
def test_invalid_bodies_are_400(gateway, http, body, param, fragment):
    response = http.post(gateway.url + "/chat/completions", content=body)
    error = assert_openai_error(response, 400, "invalid_request_error")
    assert error["param"] == param
    assert fragment in error["message"]
    assert response.headers["x-should-retry"] == "false"


def test_embeddings_and_completions_require_their_inputs(gateway, http):
    r = http.post(gateway.url + "/embeddings", json={"model": "chat"})
    assert assert_openai_error(r, 400, "invalid_request_error")["param"] == "input"
    r = http.post(gateway.url + "/completions", json={"model": "chat"})
    assert assert_openai_error(r, 400, "invalid_request_error")["param"] == "prompt"
    r = http.post(gateway.url + "/embeddings", json={"model": "chat", "input": "x", "stream": True})
    assert assert_openai_error(r, 400, "invalid_request_error")["param"] == "stream"


def test_body_too_large_is_413(start_gateway, mock_upstream, http):
    cfg = config_for(mock_upstream.url)
    cfg["server"]["max_body_bytes"] = 2048
    gw = start_gateway(cfg)
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 5000}]}
    response = http.post(gw.url + "/chat/completions", json=big)
    error = assert_openai_error(response, 413, "request_too_large")
    assert "2048" in error["message"]
    assert mock_upstream.stats.received == 0


def test_unknown_path_and_method(gateway, http):
    assert_openai_error(http.get(gateway.base + "/v1/nothing"), 404, "not_found_error")
    assert_openai_error(http.get(gateway.url + "/chat/completions"), 405, "invalid_request_error")


def test_request_id_is_echoed_or_made(gateway, http):
    mine = http.post(
        gateway.url + "/chat/completions", json=CHAT, headers={"x-request-id": "abc-1"}
    )
    assert mine.headers["x-request-id"] == "abc-1"
    made = http.post(gateway.url + "/chat/completions", json=CHAT)
    assert len(made.headers["x-request-id"]) == 32
    error = http.post(gateway.url + "/chat/completions", content=b"{")
    assert len(error.headers["x-request-id"]) == 32
    # An id that could smuggle anything into logs is replaced.
    odd = http.post(gateway.url + "/chat/completions", json=CHAT, headers={"x-request-id": "a b"})
    assert odd.headers["x-request-id"] != "a b"
    stream = http.post(
        gateway.url + "/chat/completions",
        json={**CHAT, "stream": True},
        headers={"x-request-id": "s-1"},
    )
    assert stream.headers["x-request-id"] == "s-1"


def test_health_and_readiness(gateway, http):
    assert http.get(gateway.base + "/healthz").json() == {"status": "ok"}
    ready = http.get(gateway.base + "/readyz").json()
    assert ready == {"status": "ready", "models": 1, "deployments": 1}
    gateway.server.gateway.ready = False
    assert_openai_error(http.get(gateway.base + "/readyz"), 503, "overloaded_error")
    gateway.server.gateway.ready = True


def test_admin_needs_a_key_with_an_admin_role(gateway, http):
    url = gateway.base + "/admin/api/status"
    missing = assert_openai_error(httpx.get(url, timeout=10), 401, "authentication_error")
    assert missing["code"] == "missing_api_key"
    assert "gatehouse keys create" in missing["message"]  # says how to get one
    wrong = http.get(url, headers={"Authorization": "Bearer wrong"})
    assert assert_openai_error(wrong, 401, "authentication_error")["code"] == "invalid_api_key"
    # The app key opens /v1, not the admin API.
    app_only = assert_openai_error(http.get(url), 403, "permission_error")
    assert app_only["code"] == "insufficient_role"
    assert APP_KEY not in app_only["message"]
    status = http.get(url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}).json()
    assert status["models"]["chat"][0]["name"] == "local/mock-model"
    assert "sk-upstream-secret" not in str(status)


def test_admin_without_the_env_key_takes_stored_admin_keys_only(mock_upstream, http, loop_thread):
    import yaml

    from gatehouse.api.server import Server
    from gatehouse.config import parse_config

    config = parse_config(yaml.safe_dump(config_for(mock_upstream.url)), "t.yaml", {})
    server = Server(config, admin_key="")
    loop_thread.run(server.start())
    guard = server.gateway.guard

    async def stored_admin_key() -> str:
        loop = asyncio.get_running_loop()
        _, secret = await loop.run_in_executor(
            None, lambda: guard.store.create(name="ops", roles=("admin",))
        )
        await guard.snapshot.refresh_now(guard.store)
        return secret

    url = f"http://127.0.0.1:{server.port}/admin/api/status"
    try:
        missing = assert_openai_error(httpx.get(url, timeout=10), 401, "authentication_error")
        assert missing["code"] == "missing_api_key"
        assert "gatehouse keys create" in missing["message"]
        # No bootstrap key: neither an arbitrary secret nor the tests' admin key opens it.
        for secret in ("anything", ADMIN_KEY):
            r = http.get(url, headers={"Authorization": f"Bearer {secret}"})
            assert assert_openai_error(r, 401, "authentication_error")["code"] == "invalid_api_key"
        secret = loop_thread.run(stored_admin_key())
        status = http.get(url, headers={"Authorization": f"Bearer {secret}"})
        assert status.status_code == 200, status.text
        assert status.json()["models"]["chat"][0]["name"] == "local/mock-model"
    finally:
        loop_thread.run(server.stop())


def test_v1_needs_a_known_key(gateway, http):
    url = gateway.url + "/chat/completions"
    missing = assert_openai_error(
        httpx.post(url, json=CHAT, timeout=10), 401, "authentication_error"
    )
    assert missing["code"] == "missing_api_key"
    r = http.post(url, json=CHAT, headers={"Authorization": "Bearer whatever"})
    assert assert_openai_error(r, 401, "authentication_error")["code"] == "invalid_api_key"
    assert http.post(url, json=CHAT).status_code == 200
    # Anthropic's SDK spelling of the same key.
    assert httpx.post(url, json=CHAT, headers={"x-api-key": APP_KEY}, timeout=10).status_code == 200


def test_v1_with_auth_off_on_loopback_takes_no_bearer(start_gateway, mock_upstream, http):
    gw = start_gateway(config_for(mock_upstream.url, auth={"required": False}))
    url = gw.url + "/chat/completions"
    assert httpx.post(url, json=CHAT, timeout=10).status_code == 200
    assert http.post(url, json=CHAT).status_code == 200  # a known key is welcome
    # A key that is sent is still checked: a wrong one is a mistake to report.
    r = httpx.post(url, json=CHAT, headers={"Authorization": "Bearer whatever"}, timeout=10)
    assert assert_openai_error(r, 401, "authentication_error")["code"] == "invalid_api_key"
    # The admin API still needs a key with its role.
    r = httpx.get(gw.base + "/admin/api/status", timeout=10)
    assert assert_openai_error(r, 401, "authentication_error")["code"] == "missing_api_key"


def test_client_disconnect_cancels_upstream_call(gateway, mock_upstream, http):
    with pytest.raises(httpx.ReadTimeout):
        http.post(
            gateway.url + "/chat/completions",
            json=CHAT,
            headers={"x-mock-latency-ms": "5000"},
            timeout=0.3,
        )
    assert wait_for(lambda: mock_upstream.stats.cancelled == 1, timeout=2)
    assert mock_upstream.stats.completed == 0


def test_client_disconnect_mid_stream_cancels_upstream(gateway, mock_upstream, http):
    headers = {"x-mock-tokens": "200", "x-mock-tokens-per-s": "50"}
    with http.stream(
        "POST", gateway.url + "/chat/completions", json={**CHAT, "stream": True}, headers=headers
    ) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    # The client closed after one event; the upstream stream (4 s long) stops too.
    assert wait_for(lambda: mock_upstream.stats.cancelled == 1, timeout=2)
    assert mock_upstream.stats.completed == 0


def test_upstream_auth_failure_does_not_leak_the_key(start_gateway, loop_thread, http):
    from aiohttp import web

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "error": {
                    "message": "Incorrect API key provided: sk-upstream-secret",
                    "type": "invalid_request_error",
                }
            },
            status=401,
        )

    async def start() -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", refuse)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]

    runner, port = loop_thread.run(start())
    try:
        gw = start_gateway(config_for(f"http://127.0.0.1:{port}/v1"))
        r = http.post(gw.url + "/chat/completions", json=CHAT)
        error = assert_openai_error(r, 502, "upstream_error")
        assert error["code"] == "upstream_auth_failed"
        assert "sk-upstream" not in r.text
    finally:
        loop_thread.run(runner.cleanup())


def test_unreachable_upstream_is_502(start_gateway, http):
    from tests.conftest import free_port

    gw = start_gateway(config_for(f"http://127.0.0.1:{free_port()}/v1"))
    r = http.post(gw.url + "/chat/completions", json=CHAT)
    error = assert_openai_error(r, 502, "upstream_error")
    assert error["code"] == "upstream_connect_error"


def test_upstream_client_error_passes_through(gateway, http):
    r = http.post(gateway.url + "/chat/completions", json=CHAT, headers={"x-mock-fail": "400"})
    error = assert_openai_error(r, 400, "invalid_request_error")
    assert error["message"] == "simulated invalid request"
    assert r.headers["x-should-retry"] == "false"


def test_deployment_defaults_apply_unless_client_sets_them(start_gateway, mock_upstream, http):
    cfg = config_for(mock_upstream.url)
    cfg["models"]["chat"]["deployments"][0]["defaults"] = {"temperature": 0.1, "top_p": 0.5}
    gw = start_gateway(cfg)
    http.post(gw.url + "/chat/completions", json={**CHAT, "temperature": 0.9})
    body = mock_upstream.stats.last_body
    assert body["temperature"] == 0.9
    assert body["top_p"] == 0.5


def test_upstream_failures_are_logged_with_request_id_and_no_secret(
    start_gateway, mock_upstream, http, caplog
):
    gateway = start_gateway(config_for(mock_upstream.url, routing={"breaker": {"enabled": False}}))
    caplog.set_level("INFO")
    for fault in ("500", "reset", "cut"):
        http.post(  # sends the app key
            gateway.url + "/chat/completions",
            json=CHAT,
            headers={"x-mock-fail": fault, "x-request-id": f"rid-{fault}"},
        )
    http.post(
        gateway.url + "/chat/completions",
        json={**CHAT, "stream": True},
        headers={"x-mock-fail": "cut"},
    )
    # A refused secret is not logged either.
    refused = http.post(
        gateway.url + "/chat/completions",
        json=CHAT,
        headers={"Authorization": "Bearer client-secret", "x-request-id": "rid-refused"},
    )
    assert refused.status_code == 401
    text = caplog.text
    assert "502 upstream_http_error" in text
    assert "stream failed after it started" in text
    records = [r for r in caplog.records if r.name == "gatehouse.api"]
    assert len(records) >= 4
    assert "sk-upstream-secret" not in text
    assert APP_KEY not in text
    assert "client-secret" not in text


def test_responses_do_not_advertise_the_stack(gateway, http):
    for response in (
        http.post(gateway.url + "/chat/completions", json=CHAT),
        http.post(gateway.url + "/chat/completions", json={**CHAT, "stream": True}),
        http.post(gateway.url + "/chat/completions", content=b"{"),
        http.get(gateway.base + "/healthz"),
    ):
        assert response.headers["server"] == "gatehouse"


def test_a_malformed_header_line_never_puts_its_secret_in_the_log(gateway, caplog):
    """aiohttp refuses the request before the gateway sees it, and would log and answer
    the raw line that failed: an Authorization header with a stray control character,
    say. The answer is the gateway's error, without it."""
    import socket

    secret = "gh-" + "S3cr3tValueThatMustNeverBeLogged" * 2
    caplog.set_level("INFO")
    port = int(gateway.base.rsplit(":", 1)[1])
    lines = [
        f"Authorization: Bearer {secret}\x01\r\n",  # a control character
        f"Authorization: Bearer {secret}{'A' * 9000}\r\n",  # past aiohttp's line limit
    ]
    for line in lines:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                + line.encode()
                + b"Content-Length: 2\r\n\r\n{}"
            )
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 400") and b"S3cr3tValue" not in reply
        assert b"\r\nserver: gatehouse\r\n" in head.lower()
        error = json.loads(body)["error"]
        assert error["type"] == "invalid_request_error" and error["code"] == "malformed_request"
    wait_for(lambda: len([r for r in caplog.records if r.name == "aiohttp.server"]) >= 2)
    refused = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert {r.levelname for r in refused} == {"WARNING"}
    assert "malformed HTTP request" in refused[0].getMessage()
    assert "S3cr3tValue" not in caplog.text


def test_non_http_traffic_on_the_port_is_not_a_warning(gateway, caplog):
    """A TLS client or a scanner on the plain port: refused, logged at debug only."""
    import socket

    caplog.set_level("INFO")
    port = int(gateway.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64)
        assert s.recv(4096).startswith(b"HTTP/1.0 400")
    assert not [r for r in caplog.records if r.name == "aiohttp.server"]


def test_a_body_that_cannot_be_read_is_a_400(gateway, caplog):
    """A gzip Content-Encoding over bytes that aren't gzip: the client's mistake, answered
    in OpenAI's shape, with no traceback in the log."""
    caplog.set_level("INFO")
    resp = httpx.post(
        gateway.url + "/chat/completions",
        content=b"this is not gzip at all",
        headers={"Authorization": f"Bearer {APP_KEY}", "Content-Encoding": "gzip"},
    )
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "unreadable_body"
    assert not [r for r in caplog.records if r.exc_info]
