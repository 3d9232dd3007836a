"""Guardrails on streams the simulated upstream doesn't make: odd SSE shapes, tool calls,
streams that end early, values split so that only their context gives them away."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web

from tests.conftest import AUTH, GatewayServer, LoopThread, MockServer, config_for
from tests.guard.test_guardrails_gateway import EMAIL, POLICIES, github_token
from tests.telemetry.test_request_log import record_of

CUT = b"<cut>"  # in a script: drop the connection here


class ScriptedUpstream:
    """Answers every call with the SSE blocks of ``script``, as given."""

    def __init__(self, loop_thread: LoopThread) -> None:
        self.script: list[bytes] = []
        self._lt = loop_thread

        async def answer(request: web.Request) -> web.StreamResponse:
            await request.read()
            response = web.StreamResponse(headers={"content-type": "text/event-stream"})
            await response.prepare(request)
            for block in self.script:
                if block == CUT:
                    assert request.transport is not None
                    request.transport.close()
                    return response
                await response.write(block)
                await asyncio.sleep(0.005)
            await response.write_eof()
            return response

        async def start() -> tuple[web.AppRunner, int]:
            app = web.Application()
            app.router.add_post("/v1/chat/completions", answer)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        self._runner, port = loop_thread.run(start())
        self.url = f"http://127.0.0.1:{port}/v1"

    def close(self) -> None:
        self._lt.run(self._runner.cleanup())


@pytest.fixture
def scripted(loop_thread: LoopThread) -> Iterator[ScriptedUpstream]:
    upstream = ScriptedUpstream(loop_thread)
    yield upstream
    upstream.close()


def event(delta: dict[str, Any] | None = None, finish: str | None = None, **fields: Any) -> bytes:
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    chunk = {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [choice]}
    return b"data: " + orjson.dumps(chunk | fields) + b"\n\n"


def words(text: str, size: int = 4) -> list[bytes]:
    return [event({"content": text[i : i + size]}) for i in range(0, len(text), size)]


DONE = [event(finish="stop"), b"data: [DONE]\n\n"]


def gateway(
    start_gateway: Callable[..., GatewayServer], url: str, policy: str, bodies: str = "full"
) -> GatewayServer:
    cfg = config_for(url)
    cfg["recording"] |= {"bodies": bodies}
    policies = copy.deepcopy(POLICIES)
    policies["mask-secrets-output"] = {"output": {"secrets": {"action": "redact"}}}
    cfg["guardrails"] = {"policies": policies, "models": {"chat": policy}}
    return start_gateway(cfg)


def stream(gw: GatewayServer, text: str = "hi", **headers: str) -> tuple[int, str, str]:
    with httpx.stream(
        "POST",
        gw.url + "/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": text}], "stream": True},
        headers={**AUTH, **headers},
        timeout=10,
    ) as r:
        return r.status_code, "".join(r.iter_text()), r.headers["x-request-id"]


def content(raw: str) -> str:
    said = []
    for line in raw.split("\n"):
        if line.startswith("data: {"):
            for choice in orjson.loads(line[6:]).get("choices") or ():
                said.append(((choice.get("delta") or {}).get("content")) or "")
    return "".join(said)


def test_a_value_keeps_the_context_that_makes_it_recognisable(
    start_gateway: Callable[..., GatewayServer], scripted: ScriptedUpstream
):
    gw = gateway(start_gateway, scripted.url, "mask-secrets-output")
    password = "Tr0ub4dor&3xyz"
    text = f"Sure. The admin password: {password} and then a few more words to move on."
    scripted.script = words(text) + DONE
    status, raw, request_id = stream(gw)
    assert status == 200
    assert password not in raw and "Tr0u" not in raw
    assert content(raw) == text.replace(password, "<PASSWORD>")
    verdict = next(v for v in record_of(gw, request_id)["guard"] if v["direction"] == "output")
    assert verdict["outcome"] == "redacted"
    assert verdict["findings"][0]["start"] == text.index(password)


def test_event_lines_and_tool_call_arguments_are_screened_too(
    start_gateway: Callable[..., GatewayServer], scripted: ScriptedUpstream
):
    gw = gateway(start_gateway, scripted.url, "block-output")
    token = github_token()
    scripted.script = [
        event({"content": "calling a tool"}),
        b"event: message\n" + event({"content": f" with {token} inline"}),
        *DONE,
    ]
    _, raw, _ = stream(gw)
    assert token not in raw and "guardrail_blocked" in raw

    call = {"index": 0, "id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}}
    arguments = orjson.dumps({"key": token}).decode()
    pieces = [arguments[i : i + 5] for i in range(0, len(arguments), 5)]
    scripted.script = [event({"content": "ok"}), event({"tool_calls": [call]})]
    scripted.script += [
        event({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in pieces
    ]
    scripted.script += [event(finish="tool_calls"), b"data: [DONE]\n\n"]
    _, raw, _ = stream(gw)
    assert token not in raw and "ghp_" not in raw and "guardrail_blocked" in raw


def test_placeholders_in_tool_call_arguments_are_restored(
    start_gateway: Callable[..., GatewayServer], scripted: ScriptedUpstream
):
    gw = gateway(start_gateway, scripted.url, "redact")
    arguments = '{"to": "<EMAIL_ADDRESS_1>"}'
    scripted.script = [
        event({"tool_calls": [{"index": 0, "function": {"name": "mail", "arguments": ""}}]}),
        *[
            event({"tool_calls": [{"index": 0, "function": {"arguments": arguments[i : i + 3]}}]})
            for i in range(0, len(arguments), 3)
        ],
        event(finish="tool_calls"),
        b"data: [DONE]\n\n",
    ]
    _, raw, _ = stream(gw, f"mail {EMAIL}")
    said = ""
    for line in raw.split("\n"):
        if line.startswith("data: {"):
            for choice in orjson.loads(line[6:])["choices"]:
                for call in (choice.get("delta") or {}).get("tool_calls") or ():
                    said += call["function"].get("arguments", "")
    assert orjson.loads(said) == {"to": EMAIL}


@pytest.mark.parametrize(
    "odd",
    [
        b"data: [1, 2]\n\n",
        b'data: {"choices": 5}\n\n',
        event({"content": "x"}, index=None).replace(b'"index":0', b'"index":[1]'),
        b'data: {"choices": [{"index": null, "delta": {"content": "<EMAIL_"}}]}\n\n',
        b"data:[DONE]\n\n",
    ],
)
def test_odd_chunks_pass_without_a_500(
    start_gateway: Callable[..., GatewayServer], scripted: ScriptedUpstream, odd: bytes
):
    gw = gateway(start_gateway, scripted.url, "redact")
    scripted.script = [event({"content": "a"}), odd, event({"content": "b"}), *DONE]
    status, raw, _ = stream(gw, f"hi {EMAIL}")
    assert status == 200
    assert "internal_error" not in raw and "HTTP/1.1" not in raw


def test_a_stream_cut_short_is_stored_masked_with_its_verdicts(
    start_gateway: Callable[..., GatewayServer], scripted: ScriptedUpstream
):
    gw = gateway(start_gateway, scripted.url, "mask-output")
    scripted.script = [*words(f"write to {EMAIL} today, or later"), CUT]
    _, raw, request_id = stream(gw)
    assert EMAIL not in raw
    record = record_of(gw, request_id)
    assert record["status"] >= 500
    assert EMAIL not in str(record["body"]["response"])
    assert [v["outcome"] for v in record["guard"] if v["direction"] == "output"] == ["redacted"]


def test_redacted_bodies_mask_values_split_across_chunks(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
):
    cfg = config_for(mock_upstream.url)
    cfg["recording"] |= {"bodies": "redacted"}
    gw = start_gateway(cfg)
    _, raw, request_id = stream(gw, f"mail {EMAIL} now", **{"x-mock-echo": "4"})
    assert content(raw) == f"mail {EMAIL} now"
    stored = record_of(gw, request_id)["body"]
    assert EMAIL not in str(stored["request"]) and EMAIL not in str(stored["response"])
    assert content(stored["response"]) == "mail <EMAIL_ADDRESS> now"


def test_a_unicode_digit_in_the_untrusted_header_is_ignored(gw_redact: GatewayServer):
    r = httpx.post(
        gw_redact.url + "/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "hi"}]},
        headers={**AUTH, "x-gatehouse-untrusted": "0,²,99999999999".encode()},
    )
    assert r.status_code == 200


@pytest.fixture
def gw_redact(start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer):
    return gateway(start_gateway, mock_upstream.url, "redact")


def test_the_end_user_field_is_redacted(gw_redact: GatewayServer, mock_upstream: MockServer):
    r = httpx.post(
        gw_redact.url + "/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "hi"}], "user": EMAIL},
        headers=AUTH,
    )
    assert r.status_code == 200
    assert mock_upstream.stats.last_body["user"] == "<EMAIL_ADDRESS_1>"


def test_legacy_function_call_arguments_are_screened(
    start_gateway: Callable[..., GatewayServer], scripted: ScriptedUpstream
):
    gw = gateway(start_gateway, scripted.url, "block-output")
    token = github_token()
    arguments = orjson.dumps({"key": token}).decode()
    scripted.script = [event({"function_call": {"name": "f", "arguments": ""}})]
    scripted.script += [
        event({"function_call": {"arguments": arguments[i : i + 6]}})
        for i in range(0, len(arguments), 6)
    ]
    scripted.script += [event(finish="function_call"), b"data: [DONE]\n\n"]
    _, raw, _ = stream(gw)
    assert token not in raw and "ghp_" not in raw
    assert "choices[0].delta.function_call.arguments" in raw  # the error names the place


@pytest.mark.parametrize(
    "last",
    [
        # no delta at all on the finishing chunk
        b'data: {"id":"c1","choices":[{"index":0,"finish_reason":"stop"}]}\n\n',
        # tool_calls: null on the finishing chunk
        event({"content": None, "tool_calls": None}, finish="stop"),
    ],
)
def test_held_text_reaches_the_client_whatever_the_last_chunk_looks_like(
    start_gateway: Callable[..., GatewayServer], scripted: ScriptedUpstream, last: bytes
):
    gw = gateway(start_gateway, scripted.url, "mask-output")
    text = f"Hello there, you can write to {EMAIL} whenever you like"
    call = {"index": 0, "id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}}
    scripted.script = [
        *words(text),
        event({"tool_calls": [call]}),
        event({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1}'}}]}),
        last,
        b"data: [DONE]\n\n",
    ]
    status, raw, _ = stream(gw)
    assert status == 200 and "internal_error" not in raw
    assert content(raw) == text.replace(EMAIL, "<EMAIL_ADDRESS>")
