"""Guardrail policies end to end: a real gateway, the simulated upstream, the request log.

The upstream's echo mode (``x-mock-echo: N``) answers with the last message's text,
streamed N characters at a time, so a placeholder the gateway sent comes back split
across chunks exactly as a model's answer might carry it.
"""

from __future__ import annotations

import copy
import secrets
import string
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, AUTH, GatewayServer, MockServer, config_for
from tests.telemetry.test_request_log import record_of

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
EMAIL = "ann.smith@example.com"
CARD = "4111 1111 1111 1111"


def github_token() -> str:
    """A token of GitHub's shape, made up at run time."""
    alphabet = string.ascii_letters + string.digits
    return "ghp_" + "".join(secrets.choice(alphabet) for _ in range(36))


REDACT_ALL = {
    "input": {"pii": {"action": "redact"}, "secrets": {"action": "redact"}},
}
POLICIES = {
    "redact": REDACT_ALL,
    "block-secrets": {"input": {"secrets": {"action": "block"}, "pii": {"action": "redact"}}},
    "flag": {"input": {"pii": {"action": "flag"}}, "output": {"pii": {"action": "flag"}}},
    "mask-output": {"input": {"pii": {"action": "flag"}}, "output": {"pii": {"action": "redact"}}},
    "off": {"input": {"pii": {"action": "off"}}},
    "block-output": {"output": {"secrets": {"action": "block"}}},
}


def guarded(url: str, **guardrails: Any) -> dict[str, Any]:
    cfg = config_for(url)
    cfg["recording"] |= {"bodies": "full"}
    cfg["models"]["other"] = {"deployments": [{"provider": "local", "model": "mock-model"}]}
    policies = copy.deepcopy(POLICIES)
    cfg["guardrails"] = {"policies": policies, "models": {"chat": "redact"}} | guardrails
    return cfg


@pytest.fixture
def gw(start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer) -> GatewayServer:
    return start_gateway(guarded(mock_upstream.url))


def _chat(
    gw: GatewayServer, text: str, model: str = "chat", key: dict[str, str] = AUTH, **headers: str
) -> httpx.Response:
    return httpx.post(
        gw.url + "/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": text}]},
        headers={**key, **headers},
        timeout=10,
    )


def _sent_upstream(mock: MockServer) -> str:
    return str(mock.stats.last_body["messages"][-1]["content"])


def test_redaction_round_trip(gw: GatewayServer, mock_upstream: MockServer):
    token = github_token()
    text = f"I am reachable at {EMAIL}; card {CARD}; token {token}; again {EMAIL}."
    r = _chat(gw, text, **{"x-mock-echo": "1"})
    assert r.status_code == 200, r.text
    upstream = _sent_upstream(mock_upstream)
    for value in (EMAIL, CARD, token):
        assert value not in upstream
    assert upstream.count("<EMAIL_ADDRESS_1>") == 2 and "<CREDIT_CARD_1>" in upstream
    # The client gets its own values back.
    assert r.json()["choices"][0]["message"]["content"] == text

    record = record_of(gw, r.headers["x-request-id"])
    verdicts = {v["scanner"]: v for v in record["guard"]}
    assert verdicts["pii"]["outcome"] == "redacted"
    assert {f["type"] for f in verdicts["pii"]["findings"]} >= {"EMAIL_ADDRESS", "CREDIT_CARD"}
    assert verdicts["secrets"]["outcome"] == "redacted"
    assert verdicts["secrets"]["findings"][0]["at"] == "messages[0].content"
    stored = str(record["body"])
    for value in (EMAIL, CARD, token):
        assert value not in stored  # neither the request nor the response kept them
    assert "<EMAIL_ADDRESS_1>" in stored


@pytest.mark.parametrize("piece", ["1", "3", "7"])
def test_streamed_placeholders_split_across_chunks_are_restored(
    gw: GatewayServer, mock_upstream: MockServer, piece: str
):
    token = github_token()
    text = f"Mail {EMAIL} or card {CARD} with {token} <not a placeholder> 3<4 <EMAIL"
    client = gw.client(default_headers={"x-mock-echo": piece})
    stream = client.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": text}], stream=True
    )
    said = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert said == text
    assert EMAIL not in _sent_upstream(mock_upstream)


def test_a_completion_prompt_is_redacted_too(gw: GatewayServer, mock_upstream: MockServer):
    r = httpx.post(
        gw.url + "/completions",
        json={"model": "chat", "prompt": f"Write to {EMAIL}"},
        headers={**AUTH, "x-mock-echo": "2"},
    )
    assert r.status_code == 200
    assert mock_upstream.stats.last_body["prompt"] == "Write to <EMAIL_ADDRESS_1>"
    assert r.json()["choices"][0]["text"] == f"Write to {EMAIL}"


def test_a_blocked_call_never_reaches_the_upstream_and_is_logged(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
):
    gw = start_gateway(guarded(mock_upstream.url, models={"chat": "block-secrets"}))
    token = github_token()
    before = mock_upstream.stats.received
    r = _chat(gw, f"deploy with {token} please")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "guardrail_blocked"
    assert error["code"] == "secrets"
    assert "'block-secrets'" in error["message"] and "GITHUB_TOKEN" in error["message"]
    assert token not in r.text
    assert r.headers["x-should-retry"] == "false"
    assert mock_upstream.stats.received == before
    record = record_of(gw, r.headers["x-request-id"])
    assert record["status"] == 400 and record["error_type"] == "guardrail_blocked"
    blocked = [v for v in record["guard"] if v["outcome"] == "blocked"]
    assert blocked and blocked[0]["scanner"] == "secrets"
    assert token not in str(record)


def test_policy_table_key_over_team_over_model_over_default(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
):
    gw = start_gateway(
        guarded(
            mock_upstream.url,
            default="flag",
            models={"chat": "redact"},
            teams={"research": "off"},
            keys={"strict-key": "block-secrets"},
        )
    )
    token = github_token()
    text = f"{EMAIL} {token}"
    team_key = {"Authorization": f"Bearer {gw.create_key(name='r', team='research')}"}
    strict = {"Authorization": f"Bearer {gw.create_key(name='strict-key', team='research')}"}

    # model "chat" -> redact
    assert _chat(gw, text).status_code == 200
    assert EMAIL not in _sent_upstream(mock_upstream)
    # model "other" -> default (flag): passes untouched, verdict recorded
    flagged = _chat(gw, text, model="other")
    assert flagged.status_code == 200 and EMAIL in _sent_upstream(mock_upstream)
    verdict = record_of(gw, flagged.headers["x-request-id"])["guard"][0]
    assert (verdict["policy"], verdict["outcome"]) == ("flag", "flagged")
    # team research -> off: nothing runs, nothing recorded
    off = _chat(gw, text, key=team_key)
    assert off.status_code == 200 and EMAIL in _sent_upstream(mock_upstream)
    assert record_of(gw, off.headers["x-request-id"])["guard"] is None
    # the key by name -> block-secrets, over its team's policy
    assert _chat(gw, text, key=strict).status_code == 400


def test_output_redaction_masks_what_the_model_said(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
):
    gw = start_gateway(guarded(mock_upstream.url, models={"chat": "mask-output"}))
    r = _chat(gw, f"say {EMAIL}", **{"x-mock-echo": "1"})
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == "say <EMAIL_ADDRESS>"
    assert EMAIL in _sent_upstream(mock_upstream)  # input was only flagged
    record = record_of(gw, r.headers["x-request-id"])
    outcomes = {(v["direction"], v["outcome"]) for v in record["guard"]}
    assert outcomes == {("input", "flagged"), ("output", "redacted")}
    assert EMAIL not in str(record["body"]["response"])


def test_output_flags_on_a_stream_are_recorded_after_it_ends(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
):
    gw = start_gateway(guarded(mock_upstream.url, models={"chat": "flag"}))
    with httpx.stream(
        "POST",
        gw.url + "/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": EMAIL}], "stream": True},
        headers={**AUTH, "x-mock-echo": "4"},
    ) as r:
        body = "".join(r.iter_text())
        request_id = r.headers["x-request-id"]
    assert "[DONE]" in body
    record = record_of(gw, request_id)
    output = [v for v in record["guard"] if v["direction"] == "output"]
    assert output and output[0]["outcome"] == "flagged" and output[0]["note"] == "stream"
    assert output[0]["findings"][0]["type"] == "EMAIL_ADDRESS"


def test_verdicts_are_counted_in_metrics(gw: GatewayServer):
    assert _chat(gw, f"hi {EMAIL}").status_code == 200
    text = httpx.get(gw.base + "/metrics").text
    assert (
        'gatehouse_guardrail_verdicts_total{direction="input",scanner="pii",outcome="redacted"} 1'
        in text
    )
    assert (
        'gatehouse_guardrail_findings_total{direction="input",scanner="pii",type="EMAIL_ADDRESS"} 1'
        in text
    )
    assert (
        'gatehouse_guardrail_verdicts_total{direction="input",scanner="secrets",outcome="clean"} 1'
        in text
    )


def test_the_redacted_body_policy_masks_stored_bodies_without_any_guardrail(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
):
    cfg = config_for(mock_upstream.url)
    cfg["recording"] |= {"bodies": "redacted"}
    gw = start_gateway(cfg)
    token = github_token()
    r = _chat(gw, f"{EMAIL} and {token}", **{"x-mock-echo": "1"})
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == f"{EMAIL} and {token}"
    record = record_of(gw, r.headers["x-request-id"])
    stored = str(record["body"])
    assert EMAIL not in stored and token not in stored
    assert "<EMAIL_ADDRESS> and <GITHUB_TOKEN>" in stored


def test_unknown_scanner_or_policy_is_a_config_error(mock_upstream: MockServer):
    from gatehouse.config import ConfigError, parse_config

    cfg = guarded(mock_upstream.url, models={"chat": "nope"})
    import yaml

    with pytest.raises(ConfigError, match="unknown policy 'nope'"):
        parse_config(yaml.safe_dump(cfg), "t.yaml", {})
    cfg = guarded(mock_upstream.url)
    cfg["guardrails"]["policies"]["bad"] = {"input": {"pii_everything": {"action": "block"}}}
    with pytest.raises(ConfigError, match="unknown scanner 'pii_everything'"):
        parse_config(yaml.safe_dump(cfg), "t.yaml", {})


def stream_chat(
    gw: GatewayServer, body: dict[str, Any], **headers: str
) -> tuple[str, list[dict[str, Any]], str, str]:
    """(the content the client saw, every event's JSON, the raw stream, the request id)."""
    import orjson

    with httpx.stream(
        "POST",
        gw.url + "/chat/completions",
        json={"model": "chat", "stream": True, **body},
        headers={**AUTH, **headers},
        timeout=10,
    ) as r:
        raw = "".join(r.iter_text())
        request_id = r.headers["x-request-id"]
    events = [orjson.loads(line[6:]) for line in raw.split("\n") if line.startswith("data: {")]
    said = "".join(
        (c.get("delta") or {}).get("content") or "" for e in events for c in e.get("choices") or ()
    )
    return said, events, raw, request_id


def _stream_text(
    gw: GatewayServer, text: str, piece: str, **headers: str
) -> tuple[str, list[dict[str, Any]], str]:
    """(the content the client saw, every event's JSON, the request id)."""
    body = {"messages": [{"role": "user", "content": text}]}
    said, events, _, request_id = stream_chat(gw, body, **{"x-mock-echo": piece, **headers})
    return said, events, request_id


@pytest.mark.parametrize("piece", ["1", "4"])
def test_output_redaction_on_a_stream_never_sends_the_value(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer, piece: str
):
    gw = start_gateway(guarded(mock_upstream.url, models={"chat": "mask-output"}))
    text = f"Reach me at {EMAIL} or call, thanks. Bye for now."
    said, _, request_id = _stream_text(gw, text, piece)
    assert said == text.replace(EMAIL, "<EMAIL_ADDRESS>")
    record = record_of(gw, request_id)
    output = [v for v in record["guard"] if v["direction"] == "output"]
    assert output[0]["outcome"] == "redacted"
    assert output[0]["findings"][0]["start"] == text.index(EMAIL)
    assert EMAIL not in str(record["body"]["response"])


def test_an_output_block_ends_a_stream_with_the_error_event_and_no_part_of_the_secret(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
):
    gw = start_gateway(guarded(mock_upstream.url, models={"chat": "block-output"}))
    token = github_token()
    # Paced, so the stream has started (status 200 sent) before the token comes.
    text = f"Sure, here it is: {token} and more text"
    said, events, request_id = _stream_text(gw, text, "3", **{"x-mock-tokens-per-s": "200"})
    error = events[-1]["error"]
    assert error["type"] == "guardrail_blocked" and "GITHUB_TOKEN" in error["message"]
    assert "choices[0].delta.content" in error["message"]
    assert "ghp_" not in said and token not in said
    assert said.startswith("Sure, here")
    record = record_of(gw, request_id)
    assert record["error_type"] == "guardrail_blocked"
    assert token not in str(record["body"]["response"])


def test_an_output_block_refuses_a_whole_response(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
):
    gw = start_gateway(guarded(mock_upstream.url, models={"chat": "block-output"}))
    token = github_token()
    r = _chat(gw, f"the key is {token}", **{"x-mock-echo": "1"})
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "guardrail_blocked"
    assert token not in r.text
    record = record_of(gw, r.headers["x-request-id"])
    assert token not in str(record["body"]["response"])  # the request is the client's own


def test_scanners_see_role_trust_model_and_key(
    start_gateway: Callable[..., GatewayServer],
    mock_upstream: MockServer,
    monkeypatch: pytest.MonkeyPatch,
):
    from gatehouse.guard.scanners import registry
    from tests.guard.fixture_scanners import Recording

    monkeypatch.setitem(registry.SCANNERS, "recording", "tests.guard.fixture_scanners:Recording")
    monkeypatch.setattr(Recording, "seen", [])
    cfg = config_for(mock_upstream.url)
    cfg["guardrails"] = {
        "policies": {"watch": {"input": {"recording": {"action": "flag"}}}},
        "default": "watch",
    }
    gw = start_gateway(cfg)
    secret = gw.create_key(name="ctx")
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "here is a document"},
        {"role": "tool", "tool_call_id": "t1", "content": "tool output"},
        {"role": "user", "content": "and my question"},
    ]
    r = httpx.post(
        gw.url + "/chat/completions",
        json={"model": "chat", "messages": messages},
        headers={"Authorization": f"Bearer {secret}", "x-gatehouse-untrusted": "1"},
    )
    assert r.status_code == 200
    seen = {text: (c.role, c.trusted, c.model, c.direction) for text, c in Recording.seen}
    assert seen == {
        "be brief": ("system", True, "chat", "input"),
        "here is a document": ("user", False, "chat", "input"),
        "tool output": ("tool", False, "chat", "input"),
        "and my question": ("user", True, "chat", "input"),
    }
    key_ids = {c.key_id for _, c in Recording.seen}
    assert len(key_ids) == 1 and next(iter(key_ids)) is not None
