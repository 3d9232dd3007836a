"""The official openai SDK against models whose deployment is Anthropic's Messages API."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from gatehouse.providers.simulated import MockSettings
from tests.conftest import AUTH, MockServer, free_port
from tests.e2e.anthropic_setup import CLAUDE, UPSTREAM_KEY, anthropic_provider, claude_config
from tests.telemetry.test_request_log import record_of

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    },
    {
        "type": "function",
        "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
    },
]


@pytest.fixture
def claude(start_gateway, mock_upstream):
    return start_gateway(claude_config(mock_upstream.url))


def test_a_chat_call_is_translated_to_messages_and_back(claude, mock_upstream):
    client = claude.client()
    reply = client.chat.completions.create(
        model="claude",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello there"},
        ],
        temperature=0.3,
        stop=["\n\n"],
        extra_headers={"x-mock-tokens": "5"},
    )
    assert reply.choices[0].message.content == "Gatehouse routes, observes and"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens == 5
    assert reply.usage.prompt_tokens >= 1
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 5
    sent = mock_upstream.stats.last_body
    assert sent["model"] == CLAUDE
    assert sent["max_tokens"] == 4096  # the provider's default: Anthropic requires one
    assert sent["temperature"] == 0.3
    assert sent["stop_sequences"] == ["\n\n"]
    assert "Be brief." in json.dumps(sent["system"])
    assert [m["role"] for m in sent["messages"]] == ["user"]
    headers = mock_upstream.stats.last_headers
    assert mock_upstream.stats.last_api_key == UPSTREAM_KEY
    assert headers["anthropic-version"] == "2023-06-01"
    assert mock_upstream.stats.last_authorization is None  # the client's key never goes on


def test_max_tokens_reaching_the_cap_is_length(claude):
    reply = claude.client().chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=3,
        extra_headers={"x-mock-tokens": "10"},
    )
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 3


def test_a_stop_sequence_is_stop_and_named(claude):
    reply = claude.client().chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "one two END three"}],
        stop=["END"],
        extra_headers={"x-mock-echo": "4"},
    )
    choice = reply.choices[0]
    assert choice.message.content == "one two "
    assert choice.finish_reason == "stop"
    assert choice.model_extra["stop_reason"] == "END"  # vLLM's field: which stop matched


def test_a_stream_arrives_exactly_with_its_usage(claude):
    text = "Streams of text, split in odd places: ünïcödé too."
    with claude.client().chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": text}],
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"x-mock-echo": "3"},
    ) as stream:
        chunks = list(stream)
    got = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert got == text
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_a_stream_without_include_usage_shows_none_but_is_recorded(claude):
    r = httpx.post(
        f"{claude.url}/chat/completions",
        headers=AUTH,
        json={"model": "claude", "messages": [{"role": "user", "content": "hi"}], "stream": True},
    )
    assert r.status_code == 200
    assert '"usage"' not in r.text
    assert r.text.rstrip().endswith("data: [DONE]")
    rec = record_of(claude, r.headers["x-request-id"])
    assert rec["output_tokens"] == 16 and rec["usage_estimated"] is False


def test_tool_calls_and_their_results_round_trip(claude, mock_upstream):
    client = claude.client()
    first = client.chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"simulated": True}
    sent = mock_upstream.stats.last_body
    assert sent["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert sent["tools"][0]["input_schema"]["properties"] == {"city": {"type": "string"}}

    second = client.chat.completions.create(
        model="claude",
        messages=[
            {"role": "user", "content": "Weather in Oslo?"},
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "12 degrees, rain"},
        ],
        tools=TOOLS,
    )
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content
    sent = mock_upstream.stats.last_body
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    tool_use = next(b for b in sent["messages"][1]["content"] if b["type"] == "tool_use")
    assert tool_use == {
        "type": "tool_use",
        "id": call.id,
        "name": "get_weather",
        "input": {"simulated": True},
    }
    result = sent["messages"][2]["content"][0]
    assert result["type"] == "tool_result" and result["tool_use_id"] == call.id
    assert "12 degrees, rain" in json.dumps(result["content"])


def test_parallel_tool_calls_stream_as_openai_deltas(claude):
    with claude.client().chat.completions.stream(
        model="claude",
        messages=[{"role": "user", "content": "Weather and time?"}],
        tools=TOOLS,
        tool_choice="required",
        extra_headers={"x-mock-tool-calls": "2"},
    ) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    names = [c.function.name for c in choice.message.tool_calls]
    assert names == ["get_weather", "get_time"]
    assert all(
        json.loads(c.function.arguments) == {"simulated": True} for c in choice.message.tool_calls
    )
    assert len({c.id for c in choice.message.tool_calls}) == 2


def test_an_image_goes_as_an_image_block(claude, mock_upstream):
    claude.client().chat.completions.create(
        model="claude",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
                    },
                ],
            }
        ],
    )
    blocks = mock_upstream.stats.last_body["messages"][0]["content"]
    assert blocks[1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }


def test_what_anthropic_cannot_do_is_a_clear_400(claude, http):
    r = http.post(
        f"{claude.url}/chat/completions",
        json={"model": "claude", "messages": [{"role": "user", "content": "hi"}], "n": 2},
    )
    assert r.status_code == 400, r.text
    assert "n" in r.json()["error"]["message"]
    r = http.post(f"{claude.url}/embeddings", json={"model": "claude", "input": "hi"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unsupported_operation"


def test_an_overloaded_529_is_retried(start_gateway, loop_thread):
    flaky = MockServer(loop_thread, MockSettings(fail_next=1, error_kind="529"))
    try:
        gw = start_gateway(claude_config(flaky.url))
        raw = gw.client().chat.completions.with_raw_response.create(
            model="claude", messages=[{"role": "user", "content": "hi"}]
        )
        assert raw.parse().choices[0].message.content
        assert "upstream_overloaded" in raw.headers["x-gatehouse-route"]
        assert flaky.stats.received == 2
    finally:
        flaky.close()


def test_a_rate_limit_keeps_its_retry_after(start_gateway, mock_upstream, http):
    cfg = claude_config(mock_upstream.url)
    cfg["models"]["claude"]["retry"] = {"attempts": 1}
    gw = start_gateway(cfg)
    r = http.post(
        f"{gw.url}/chat/completions",
        json={"model": "claude", "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-mock-fail": "429", "x-mock-retry-after": "3"},
    )
    assert r.status_code == 429
    assert r.headers["retry-after"] == "3"
    assert r.json()["error"]["code"] == "upstream_rate_limited"


def test_a_too_long_prompt_falls_back_to_an_openai_model(start_gateway, mock_upstream, loop_thread):
    small = MockServer(loop_thread, MockSettings(fail_next=1, error_kind="context"))
    try:
        cfg = claude_config(small.url, openai_url=mock_upstream.url)
        cfg["models"]["claude"]["fallbacks"] = ["chat"]
        gw = start_gateway(cfg)
        raw = gw.client().chat.completions.with_raw_response.create(
            model="claude", messages=[{"role": "user", "content": "a long story"}]
        )
        assert raw.headers["x-gatehouse-model"] == "chat"
        assert "context_length_exceeded" in raw.headers["x-gatehouse-route"]
        assert raw.parse().choices[0].message.content
    finally:
        small.close()


def test_an_invalid_request_is_the_clients_and_not_retried(claude, mock_upstream, http):
    r = http.post(
        f"{claude.url}/chat/completions",
        json={"model": "claude", "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-mock-fail": "400"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert mock_upstream.stats.received == 1


def test_an_error_event_before_any_content_is_retried(start_gateway, loop_thread):
    flaky = MockServer(
        loop_thread, MockSettings(fail_next=1, error_kind="error-event", cut_after=0)
    )
    try:
        gw = start_gateway(claude_config(flaky.url))
        with gw.client().chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "hi"}], stream=True
        ) as stream:
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text.startswith("Gatehouse routes")
        assert flaky.stats.received == 2
    finally:
        flaky.close()


def test_an_error_event_mid_stream_reaches_the_client_as_an_error(claude, http):
    with http.stream(
        "POST",
        f"{claude.url}/chat/completions",
        json={"model": "claude", "messages": [{"role": "user", "content": "hi"}], "stream": True},
        # Paced, so the first words are sent before the error event arrives (an error
        # read in the same block as the first words is retried, invisibly, instead).
        headers={
            "x-mock-fail": "error-event",
            "x-mock-cut-after": "2",
            "x-mock-tokens-per-s": "50",
        },
    ) as r:
        body = r.read().decode()
    assert "Gatehouse" in body
    assert "[DONE]" not in body
    last = json.loads(body.strip().split("\n\n")[-1][len("data: ") :])
    assert last["error"]["code"] == "upstream_stream_error"
    assert "overloaded" in last["error"]["message"].lower()


def test_a_cut_stream_is_reported_not_finished(claude):
    with (
        pytest.raises(openai.APIError),
        claude.client().chat.completions.create(
            model="claude",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            extra_headers={"x-mock-fail": "cut", "x-mock-cut-after": "2"},
        ) as stream,
    ):
        for _ in stream:
            pass


def test_cache_tokens_reach_usage_the_log_and_the_cost(start_gateway, mock_upstream):
    cfg = claude_config(mock_upstream.url)
    cfg["models"]["claude"]["deployments"][0]["price"] = {
        "input": 3.0,
        "output": 15.0,
        "cached_input": 0.3,
        "cache_write": 3.75,
    }
    gw = start_gateway(cfg)
    client = gw.client()
    system = [
        {
            "type": "text",
            "text": "A long shared preamble. " * 40,
            "cache_control": {"type": "ephemeral"},
        }
    ]
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "hi"}]
    first = client.chat.completions.with_raw_response.create(model="claude", messages=messages)
    second = client.chat.completions.with_raw_response.create(model="claude", messages=messages)
    u1, u2 = first.parse().usage.model_extra, second.parse().usage.model_extra
    assert u1["cache_creation_input_tokens"] > 0 and u1["cache_read_input_tokens"] == 0
    assert u2["cache_read_input_tokens"] == u1["cache_creation_input_tokens"]
    assert second.parse().usage.prompt_tokens_details.cached_tokens == u2["cache_read_input_tokens"]
    written = u1["cache_creation_input_tokens"]
    r1 = record_of(gw, first.headers["x-request-id"])
    r2 = record_of(gw, second.headers["x-request-id"])
    assert r1["cache_write_tokens"] == written and r1["cached_tokens"] == 0
    assert r2["cached_tokens"] == written and r2["cache_write_tokens"] == 0
    assert r1["input_tokens"] == r2["input_tokens"] == first.parse().usage.prompt_tokens
    rest = r1["input_tokens"] - written
    out1 = r1["output_tokens"]
    assert r1["cost_usd"] == pytest.approx((rest * 3.0 + written * 3.75 + out1 * 15.0) / 1e6)
    assert r2["cost_usd"] == pytest.approx((rest * 3.0 + written * 0.3 + out1 * 15.0) / 1e6)
    assert mock_upstream.stats.last_body["system"][0]["cache_control"] == {"type": "ephemeral"}


def test_the_provider_needs_no_base_url_and_takes_its_version(start_gateway, mock_upstream):
    import yaml

    from gatehouse.config import parse_config

    cfg = claude_config(mock_upstream.url)
    cfg["providers"]["claude"] = {"kind": "anthropic", "api_key": "k"}
    config = parse_config(yaml.safe_dump(cfg), "t.yaml", {})
    assert config.providers["claude"].base_url == "https://api.anthropic.com/v1"
    cfg["providers"]["claude"] = anthropic_provider(mock_upstream.url, version="2099-01-01")
    gw = start_gateway(cfg)
    gw.client().chat.completions.create(model="claude", messages=[{"role": "user", "content": "x"}])
    assert mock_upstream.stats.last_headers["anthropic-version"] == "2099-01-01"


def test_a_refusal_is_the_answer_unless_a_fallback_can_take_it(start_gateway, mock_upstream):
    refuse = {"x-mock-stop-reason": "refusal"}
    cfg = claude_config(mock_upstream.url)
    gw = start_gateway(cfg)
    reply = gw.client().chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "hi"}], extra_headers=refuse
    )
    assert reply.choices[0].finish_reason == "content_filter"
    assert reply.choices[0].message.content  # what the model said is kept

    cfg = claude_config(mock_upstream.url)
    cfg["models"]["claude"]["fallbacks"] = ["chat"]
    gw = start_gateway(cfg)
    raw = gw.client().chat.completions.with_raw_response.create(
        model="claude", messages=[{"role": "user", "content": "hi"}], extra_headers=refuse
    )
    assert raw.headers["x-gatehouse-model"] == "chat"
    assert "content_filter" in raw.headers["x-gatehouse-route"]

    # A fallback that can't answer: the refusal still stands, not an error in its place.
    cfg = claude_config(mock_upstream.url, openai_url=f"http://127.0.0.1:{free_port()}/v1")
    cfg["models"]["claude"]["fallbacks"] = ["chat"]
    gw = start_gateway(cfg)
    raw = gw.client().chat.completions.with_raw_response.create(
        model="claude", messages=[{"role": "user", "content": "hi"}], extra_headers=refuse
    )
    assert raw.parse().choices[0].finish_reason == "content_filter"
    assert raw.headers["x-gatehouse-model"] == "claude"
    assert "upstream_connect_error" in raw.headers["x-gatehouse-route"]
    record = record_of(gw, raw.headers["x-request-id"])
    assert record["status"] == 200 and record["attempts"][0]["outcome"] == "ok"


def test_a_billing_refusal_fails_over_and_keeps_the_upstreams_words():
    from gatehouse.config import ProviderConfig
    from gatehouse.errors import UpstreamError
    from gatehouse.providers.anthropic import AnthropicProvider
    from gatehouse.routing.failures import failure_class

    provider = AnthropicProvider("claude", ProviderConfig(kind="anthropic", api_key="k"))
    body = (
        b'{"type":"error","error":{"type":"billing_error",'
        b'"message":"Your credit balance is too low"}}'
    )
    with pytest.raises(UpstreamError) as caught:
        provider._raise_for_status(402, {}, body)
    assert caught.value.code == "upstream_billing"
    assert failure_class(caught.value) == "server_error"
    assert "credit balance" not in caught.value.message


def test_a_redirect_is_not_followed_with_the_providers_key(start_gateway, loop_thread, http):
    from aiohttp import web

    seen: list[dict[str, str]] = []

    async def elsewhere(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({})

    async def serve(handler):
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]

    other, other_port = loop_thread.run(serve(elsewhere))

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(f"http://127.0.0.1:{other_port}/v1/messages")

    first, first_port = loop_thread.run(serve(moved))
    try:
        gw = start_gateway(claude_config(f"http://127.0.0.1:{first_port}/v1"))
        r = http.post(
            f"{gw.url}/chat/completions",
            json={"model": "claude", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert r.status_code == 502
        assert seen == []  # the key never went to the other origin
    finally:
        loop_thread.run(first.cleanup())
        loop_thread.run(other.cleanup())


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_effort_thinks_and_the_thinking_can_be_sent_back(claude, mock_upstream, stream):
    client = claude.client()
    ask = {
        "model": "claude",
        "messages": [{"role": "user", "content": "Think first: 2+2?"}],
        "reasoning_effort": "medium",
        "max_completion_tokens": 8000,
    }
    if stream:
        chunks = list(client.chat.completions.create(**ask, stream=True))
        deltas = [c.choices[0].delta for c in chunks if c.choices]
        reasoning = "".join((d.model_extra or {}).get("reasoning_content") or "" for d in deltas)
        signed = [
            b
            for d in deltas
            for b in (d.model_extra or {}).get("thinking_blocks") or []
            if b.get("signature")
        ]
        content = "".join(d.content or "" for d in deltas)
        # What an OpenAI client keeps of a streamed answer: the text, the reasoning, the
        # signature in a block of its own.
        assistant = {
            "role": "assistant",
            "content": content,
            "reasoning_content": reasoning,
            "thinking_blocks": [
                {"type": "thinking", "thinking": "", "signature": signed[0]["signature"]}
            ],
        }
    else:
        message = client.chat.completions.create(**ask).choices[0].message
        reasoning = message.model_extra["reasoning_content"]
        signed = message.model_extra["thinking_blocks"]
        assistant = message.model_dump(exclude_none=True)
    assert reasoning and signed[0]["signature"]
    sent = mock_upstream.stats.last_body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 4000}  # half of 8,000
    client.chat.completions.create(
        model="claude",
        messages=[*ask["messages"], assistant, {"role": "user", "content": "And 3+3?"}],
        reasoning_effort="medium",
        max_completion_tokens=8000,
    )
    replayed = mock_upstream.stats.last_body["messages"][1]["content"][0]
    assert replayed["type"] == "thinking"
    assert replayed["signature"] == signed[0]["signature"]
    assert replayed["thinking"] == reasoning
