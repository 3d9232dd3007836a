"""Keys and roles at the HTTP edge: every endpoint by every role, and what a refusal says."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, APP_KEY, GatewayServer, MockServer, config_for, wait_for

CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}

# (method, path, body, the least role that may call it)
ENDPOINTS: list[tuple[str, str, Any, str]] = [
    ("GET", "/v1/models", None, "app"),
    ("GET", "/v1/models/chat", None, "app"),
    ("POST", "/v1/chat/completions", CHAT, "app"),
    ("POST", "/v1/completions", {"model": "chat", "prompt": "hi"}, "app"),
    ("POST", "/v1/embeddings", {"model": "chat", "input": "hi"}, "app"),
    ("POST", "/v1/messages", {**CHAT, "max_tokens": 16}, "app"),
    ("POST", "/v1/messages/count_tokens", CHAT, "app"),
    ("GET", "/admin/api/status", None, "viewer"),
    ("GET", "/admin/api/deployments", None, "viewer"),
    ("GET", "/admin/api/route/explain?model=chat", None, "viewer"),
    ("GET", "/admin/api/stats", None, "viewer"),
    ("GET", "/admin/api/budgets", None, "viewer"),
    ("GET", "/admin/api/requests", None, "operator"),
    ("GET", "/admin/api/requests/{request_id}", None, "operator"),
    ("GET", "/admin/api/traces/{trace_id}", None, "operator"),
    ("GET", "/admin/api/keys", None, "admin"),
    ("POST", "/admin/api/keys", {"name": "made-by-test"}, "admin"),
    ("GET", "/admin/api/keys/{key_id}", None, "admin"),
    ("PATCH", "/admin/api/keys/{key_id}", {"metadata": {"a": "b"}}, "admin"),
    ("POST", "/admin/api/keys/{key_id}/rotate", None, "admin"),
    ("DELETE", "/admin/api/keys/{key_id}", None, "admin"),
]
GRANTS = {
    "app": {"admin", "app"},
    "viewer": {"admin", "operator", "viewer"},
    "operator": {"admin", "operator"},
    "admin": {"admin"},
}
ROLES = ("admin", "operator", "viewer", "app")


@pytest.fixture
def gw(start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer) -> GatewayServer:
    return start_gateway(config_for(mock_upstream.url))


def _call(
    gw: GatewayServer, method: str, path: str, body: Any, secret: str | None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
    return httpx.request(method, gw.base + path, json=body, headers=headers, timeout=10)


def test_every_endpoint_checks_every_role(gw: GatewayServer) -> None:
    secrets = {role: gw.create_key(name=f"{role}-key", roles=(role,)) for role in ROLES}
    secrets["env-admin"] = ADMIN_KEY
    # Something to read: a recorded call and a key to manage.
    made = _call(gw, "POST", "/v1/chat/completions", CHAT, APP_KEY)
    assert made.status_code == 200
    ids = {
        "request_id": made.headers["x-request-id"],
        "trace_id": made.headers["x-gatehouse-trace-id"],
    }
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert wait_for(
        lambda: (
            httpx.get(
                f"{gw.base}/admin/api/requests/{ids['request_id']}", headers=admin
            ).status_code
            == 200
        )
    )
    failures = []
    ids["key_id"] = _fresh_target(gw)
    for method, path, body, need in ENDPOINTS:
        for who, secret in secrets.items():
            role = "admin" if who == "env-admin" else who
            if "{key_id}" in path:
                ids["key_id"] = _fresh_target(gw)  # each write acts on a key of its own
            resp = _call(gw, method, path.format(**ids), body, secret)
            allowed = role in GRANTS[need]
            ok = resp.status_code < 400 if allowed else resp.status_code == 403
            if not ok:
                failures.append(f"{method} {path} as {who}: {resp.status_code} {resp.text[:120]}")
            if not allowed:
                error = resp.json()["error"]
                if path.startswith("/v1/messages"):  # Anthropic's shape: no code
                    assert error["type"] == "permission_error"
                else:
                    assert error["code"] == "insufficient_role"
        # Without a key every endpoint is a 401 in OpenAI's shape.
        resp = _call(gw, method, path.format(**ids), body, None)
        if resp.status_code != 401 or resp.json()["error"]["type"] != "authentication_error":
            failures.append(f"{method} {path} without a key: {resp.status_code}")
    assert not failures, "\n".join(failures)


def _fresh_target(gw: GatewayServer) -> str:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    made = httpx.post(f"{gw.base}/admin/api/keys", json={"name": "target"}, headers=admin)
    assert made.status_code == 201
    return str(made.json()["key"]["id"])


def test_a_wrong_key_is_refused_without_echoing_it(gw: GatewayServer) -> None:
    wrong = "gh-not-a-real-key-but-looks-like-one-0123456789abcdef"
    resp = _call(gw, "POST", "/v1/chat/completions", CHAT, wrong)
    assert resp.status_code == 401
    err = resp.json()["error"]
    assert err["code"] == "invalid_api_key" and err["type"] == "authentication_error"
    assert wrong not in resp.text and wrong[:12] not in resp.text
    assert resp.headers["x-should-retry"] == "false"
    # Nor does the secret reach the request log.
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    rid = resp.headers["x-request-id"]
    assert wait_for(
        lambda: httpx.get(f"{gw.base}/admin/api/requests/{rid}", headers=admin).status_code == 200
    )
    logged = httpx.get(f"{gw.base}/admin/api/requests/{rid}", headers=admin).text
    assert wrong not in logged and APP_KEY not in logged


def test_missing_key_and_sdk(gw: GatewayServer) -> None:
    resp = httpx.post(gw.url + "/chat/completions", json=CHAT)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "missing_api_key"
    import openai

    with pytest.raises(openai.AuthenticationError):
        gw.client(api_key="gh-wrong").chat.completions.create(**CHAT)
    answer = gw.client().chat.completions.create(**CHAT)
    assert answer.choices[0].message.content


def test_revoked_rotated_and_expired_keys_stop_working(gw: GatewayServer) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    made = httpx.post(
        f"{gw.base}/admin/api/keys", json={"name": "short-lived", "team": "t"}, headers=admin
    ).json()
    key_id, secret = made["key"]["id"], made["secret"]
    assert secret.startswith("gh-") and "hash" not in made["key"]
    assert _call(gw, "POST", "/v1/chat/completions", CHAT, secret).status_code == 200

    rotated = httpx.post(f"{gw.base}/admin/api/keys/{key_id}/rotate", headers=admin).json()
    assert _call(gw, "POST", "/v1/chat/completions", CHAT, secret).status_code == 401
    secret = rotated["secret"]
    assert _call(gw, "POST", "/v1/chat/completions", CHAT, secret).status_code == 200

    revoked = httpx.delete(f"{gw.base}/admin/api/keys/{key_id}", headers=admin).json()
    assert revoked["revoked_at"] is not None
    assert _call(gw, "POST", "/v1/chat/completions", CHAT, secret).status_code == 401

    expired = gw.create_key(name="expired", expires_at=1.0)
    assert _call(gw, "POST", "/v1/chat/completions", CHAT, expired).status_code == 401


def test_model_allow_list(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
) -> None:
    cfg = config_for(mock_upstream.url)
    dep = {"provider": "local", "model": "mock-model"}
    cfg["models"] = {"chat": {"deployments": [dep]}, "gpt-4o": {"deployments": [dep]}}
    gw = start_gateway(cfg)
    secret = gw.create_key(name="narrow", models=("gpt-*",))
    resp = _call(gw, "POST", "/v1/chat/completions", CHAT, secret)
    # Worded as for a model that doesn't exist: the key learns nothing of the others.
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "model_not_found"
    unknown = _call(gw, "POST", "/v1/chat/completions", CHAT | {"model": "nope"}, secret)
    assert unknown.json()["error"]["message"] == resp.json()["error"]["message"].replace(
        "'chat'", "'nope'"
    )
    ok = _call(gw, "POST", "/v1/chat/completions", CHAT | {"model": "gpt-4o"}, secret)
    assert ok.status_code == 200
    listed = _call(gw, "GET", "/v1/models", None, secret).json()["data"]
    assert [m["id"] for m in listed] == ["gpt-4o"]
    assert _call(gw, "GET", "/v1/models/chat", None, secret).status_code == 404


def test_team_scoped_reader_sees_only_its_team(gw: GatewayServer) -> None:
    red = gw.create_key(name="red-app", team="red")
    blue = gw.create_key(name="blue-app", team="blue")
    red_reader = gw.create_key(name="red-ops", team="red", roles=("operator",))
    sent = {}
    for team, secret in (("red", red), ("blue", blue)):
        resp = _call(gw, "POST", "/v1/chat/completions", CHAT, secret)
        assert resp.status_code == 200
        sent[team] = resp.headers["x-request-id"]
    # Both teams' clients send the same x-request-id, blue's last.
    traces = {}
    for team, secret in (("red", red), ("blue", blue)):
        resp = httpx.post(
            gw.base + "/v1/chat/completions",
            json=CHAT,
            headers={"Authorization": f"Bearer {secret}", "x-request-id": "dup-id"},
        )
        assert resp.status_code == 200
        traces[team] = resp.headers["x-gatehouse-trace-id"]
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}

    def recorded() -> bool:
        rows = httpx.get(f"{gw.base}/admin/api/requests", headers=admin).json()["data"]
        return {r["id"] for r in rows} >= set(sent.values()) and {
            r["trace_id"] for r in rows
        } >= set(traces.values())

    assert wait_for(recorded)
    mine = _call(gw, "GET", "/admin/api/requests", None, red_reader).json()["data"]
    assert {r["team_id"] for r in mine} == {"red"}
    assert (
        _call(gw, "GET", f"/admin/api/requests/{sent['blue']}", None, red_reader).status_code == 404
    )
    assert (
        _call(gw, "GET", f"/admin/api/requests/{sent['red']}", None, red_reader).status_code == 200
    )
    # A client id another team reused later still finds the team's own call.
    dup = _call(gw, "GET", "/admin/api/requests/dup-id", None, red_reader)
    assert dup.status_code == 200 and dup.json()["trace_id"] == traces["red"]
    latest = httpx.get(f"{gw.base}/admin/api/requests/dup-id", headers=admin).json()
    assert latest["trace_id"] == traces["blue"]
    stats = _call(gw, "GET", "/admin/api/stats?group_by=team", None, red_reader).json()
    assert [g["group"] for g in stats["groups"]] == ["red"]
    everyone = httpx.get(f"{gw.base}/admin/api/stats?group_by=team", headers=admin).json()
    assert {"red", "blue"} <= {g["group"] for g in everyone["groups"]}


def test_records_carry_key_team_and_user(gw: GatewayServer) -> None:
    secret = gw.create_key(name="owned", team="green", owner="alice")
    rid = _call(gw, "POST", "/v1/chat/completions", CHAT, secret).headers["x-request-id"]
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert wait_for(
        lambda: httpx.get(f"{gw.base}/admin/api/requests/{rid}", headers=admin).status_code == 200
    )
    row = httpx.get(f"{gw.base}/admin/api/requests/{rid}", headers=admin).json()
    assert row["team_id"] == "green" and row["user_id"] == "alice"
    assert row["key_id"].startswith("key_")
    shown = httpx.get(f"{gw.base}/admin/api/keys/{row['key_id']}", headers=admin).json()
    assert shown["last_used_at"] == row["received_at"]  # from the request log
    fresh = httpx.post(f"{gw.base}/admin/api/keys", json={"name": "unused"}, headers=admin)
    unused = httpx.get(f"{gw.base}/admin/api/keys/{fresh.json()['key']['id']}", headers=admin)
    assert unused.json()["last_used_at"] is None


def test_auth_off_is_only_for_loopback() -> None:
    import yaml

    from gatehouse.config import ConfigError, parse_config

    cfg = config_for("http://127.0.0.1:9/v1", auth={"required": False})
    parse_config(yaml.safe_dump(cfg), "t.yaml", {})
    cfg["server"]["host"] = "0.0.0.0"
    with pytest.raises(ConfigError, match=r"auth\.required"):
        parse_config(yaml.safe_dump(cfg), "t.yaml", {})


def test_auth_off_on_loopback_serves_without_a_key(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
) -> None:
    gw = start_gateway(config_for(mock_upstream.url, auth={"required": False}))
    assert httpx.post(gw.url + "/chat/completions", json=CHAT).status_code == 200
    # A key that is sent is still checked.
    assert _call(gw, "POST", "/v1/chat/completions", CHAT, "gh-wrong").status_code == 401


def test_an_admin_write_stuck_on_a_row_lock_never_holds_the_key_refresh_back(
    start_gateway: Callable[..., GatewayServer],
    mock_upstream: MockServer,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A PATCH waiting for a key's row (held by a stalled writer elsewhere) must not stop
    this worker from applying another key's revocation, and gives up in the end (503
    key_busy) rather than hold its thread for as long as the row is held."""
    import threading

    import psycopg

    from gatehouse.guard import keystore
    from gatehouse.guard.keystore import KeyStore
    from gatehouse.store import Database

    monkeypatch.setattr(keystore, "LOCK_WAIT_S", 2.0)
    answers: list[httpx.Response] = []

    cfg = config_for(mock_upstream.url)
    cfg["store"] = {"url": pg_url}
    gw = start_gateway(cfg)
    locked = gw.create_key(name="locked")
    victim = gw.create_key(name="victim")
    keys = {k.name: k.id for k in gw.guard.snapshot.active_keys()}
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as stalled:
        stalled.execute("SELECT id FROM api_keys WHERE id = %s FOR UPDATE", (keys["locked"],))
        patch = threading.Thread(
            target=lambda: answers.append(
                httpx.patch(
                    f"{gw.base}/admin/api/keys/{keys['locked']}",
                    json={"name": "renamed"},
                    headers=admin,
                    timeout=30,
                )
            )
        )
        patch.start()
        time.sleep(0.5)  # the PATCH now waits for the row
        elsewhere = Database(pg_url)
        try:
            KeyStore(elsewhere).revoke(keys["victim"])  # e.g. `gatehouse keys revoke`
        finally:
            elsewhere.close()
        assert wait_for(
            lambda: _call(gw, "POST", "/v1/chat/completions", CHAT, victim).status_code == 401,
            timeout=5,
        )
        assert patch.is_alive()  # still waiting: the refresh did not wait for it
        patch.join(30)  # the row is still held
        stalled.rollback()
    (busy,) = answers
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "key_busy"
    assert busy.headers["retry-after"] == "1"
    assert _call(gw, "POST", "/v1/chat/completions", CHAT, locked).status_code == 200
