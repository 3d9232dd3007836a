"""The simulated upstream's Anthropic side, driven by the official anthropic SDK."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import anthropic
import httpx
import httpx2  # the anthropic SDK's HTTP client
import pytest

from gatehouse.providers import simulated_answers as answers
from gatehouse.providers.simulated import FAULTS
from tests.conftest import wait_for

HI = [{"role": "user", "content": "hi"}]
TOOLS = [
    {"name": "get_weather", "input_schema": {"type": "object"}},
    {"name": "get_time", "input_schema": {"type": "object"}},
]
HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}


@pytest.fixture
def client(mock_upstream: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"http://127.0.0.1:{mock_upstream.port}",
        api_key="sk-ant-test",
        max_retries=0,
        timeout=5,
    )


def post(mock_upstream: Any, body: dict[str, Any], **headers: str) -> httpx.Response:
    """A raw call: the SDK would refuse to send some of the bodies tests need."""
    sent = {**HEADERS, **{k.replace("_", "-"): v for k, v in headers.items()}}
    sent = {k: v for k, v in sent.items() if v}
    url = f"http://127.0.0.1:{mock_upstream.port}/v1/messages"
    return httpx.post(url, json=body, headers=sent, timeout=5)


def events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for frame in response.text.strip().split("\n\n"):
        name, data = frame.split("\n")
        out.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return out


def test_a_plain_message_has_anthropics_shape(client, mock_upstream):
    raw = client.messages.with_raw_response.create(
        model="claude-x", max_tokens=100, messages=HI, extra_headers={"x-mock-tokens": "5"}
    )
    msg = raw.parse()
    assert re.fullmatch(r"msg_[A-Za-z0-9]{24}", msg.id)
    assert (msg.type, msg.role, msg.model) == ("message", "assistant", "claude-x")
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == answers.text(5)
    assert (msg.stop_reason, msg.stop_sequence) == ("end_turn", None)
    assert msg.usage.output_tokens == 5 and msg.usage.input_tokens >= 1
    assert msg.usage.cache_creation_input_tokens == msg.usage.cache_read_input_tokens == 0
    assert raw.headers["request-id"].startswith("req_")
    stats = mock_upstream.stats
    assert stats.last_body["model"] == "claude-x"
    assert "anthropic-version" in stats.last_headers
    assert (stats.completed, stats.failed) == (1, 0)


def test_x_api_key_is_recorded(mock_upstream):
    assert post(mock_upstream, {"model": "m", "max_tokens": 5, "messages": HI}).status_code == 200
    assert mock_upstream.stats.last_api_key == "sk-ant-test"
    # Kept in last_headers too: tests check that a gateway's own key never goes upstream.
    assert mock_upstream.stats.last_headers["x-api-key"] == "sk-ant-test"


def test_input_tokens_grow_with_the_prompt_and_count_the_system(client):
    short = client.messages.create(model="m", max_tokens=5, messages=HI)
    long = client.messages.create(
        model="m", max_tokens=5, system="x" * 400, messages=[{"role": "user", "content": "y" * 400}]
    )
    assert short.usage.input_tokens == 1
    assert long.usage.input_tokens == 200


def test_max_tokens_caps_the_answer(client):
    msg = client.messages.create(
        model="m", max_tokens=3, messages=HI, extra_headers={"x-mock-tokens": "10"}
    )
    assert msg.content[0].text == answers.text(3)
    assert msg.stop_reason == "max_tokens" and msg.usage.output_tokens == 3


@pytest.mark.parametrize("stream", [False, True])
def test_a_stop_sequence_cuts_the_answer_and_is_named(client, stream):
    ask: dict[str, Any] = {
        "model": "m",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "one two END three STOP"}],
        "stop_sequences": ["STOP", "END"],
        "extra_headers": {"x-mock-echo": "3"},
    }
    if stream:
        with client.messages.stream(**ask) as s:
            text = "".join(s.text_stream)
            msg = s.get_final_message()
        assert text == "one two "
    else:
        msg = client.messages.create(**ask)
    assert msg.content[0].text == "one two "
    assert (msg.stop_reason, msg.stop_sequence) == ("stop_sequence", "END")


def test_echo_picks_a_message_and_streams_in_pieces(client):
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "first"}]},
        {"role": "assistant", "content": "second"},
        {"role": "user", "content": "third one"},
    ]
    with client.messages.stream(
        model="m", max_tokens=100, messages=messages, extra_headers={"x-mock-echo": "2"}
    ) as s:
        pieces = list(s.text_stream)
    assert pieces == ["th", "ir", "d ", "on", "e"]
    picked = client.messages.create(
        model="m",
        max_tokens=100,
        messages=messages,
        extra_headers={"x-mock-echo": "5", "x-mock-echo-message": "0"},
    )
    assert picked.content[0].text == "first"


def test_a_stream_is_anthropics_event_sequence(mock_upstream):
    body = {"model": "m", "max_tokens": 100, "messages": HI, "stream": True}
    r = post(mock_upstream, body, x_mock_tokens="3")
    assert r.headers["content-type"].startswith("text/event-stream")
    got = events(r)
    assert [name for name, _ in got] == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in got)
    start = got[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["output_tokens"] == 1
    assert {"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"} <= set(
        start["usage"]
    )
    assert got[2][1]["content_block"] == {"type": "text", "text": ""}
    assert [d["delta"] for _, d in got[3:6]] == [
        {"type": "text_delta", "text": w} for w in answers.WORDS[:3]
    ]
    assert got[7][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert got[7][1]["usage"] == {"output_tokens": 3}


def test_a_streamed_tool_use_arrives_as_json_fragments(client, mock_upstream):
    with client.messages.stream(
        model="m", max_tokens=100, messages=HI, tools=TOOLS, tool_choice={"type": "any"}
    ) as s:
        msg = s.get_final_message()
    (use,) = msg.content
    assert use.type == "tool_use" and use.name == "get_weather"
    assert use.input == {"simulated": True}
    assert re.fullmatch(r"toolu_[A-Za-z0-9]{24}", use.id)
    assert msg.stop_reason == "tool_use"
    body = {"model": "m", "max_tokens": 100, "messages": HI, "stream": True}
    r = post(mock_upstream, {**body, "tools": TOOLS, "tool_choice": {"type": "any"}})
    fragments = [
        d["delta"]["partial_json"] for name, d in events(r) if name == "content_block_delta"
    ]
    assert len([f for f in fragments if f]) >= 3
    assert json.loads("".join(fragments)) == {"simulated": True}


def test_tool_choice_names_the_tool_and_auto_answers_in_text(client):
    named = client.messages.create(
        model="m",
        max_tokens=100,
        messages=HI,
        tools=TOOLS,
        tool_choice={"type": "tool", "name": "get_time"},
    )
    assert [(b.type, b.name) for b in named.content] == [("tool_use", "get_time")]
    auto = client.messages.create(model="m", max_tokens=100, messages=HI, tools=TOOLS)
    assert auto.stop_reason == "end_turn" and auto.content[0].type == "text"


@pytest.mark.parametrize("stream", [False, True])
def test_parallel_tool_calls_cycle_over_the_tools(client, stream):
    ask: dict[str, Any] = {
        "model": "m",
        "max_tokens": 100,
        "messages": HI,
        "tools": TOOLS,
        "extra_headers": {"x-mock-tool-calls": "3"},
    }
    if stream:
        with client.messages.stream(**ask) as s:
            msg = s.get_final_message()
    else:
        msg = client.messages.create(**ask)
    assert [b.name for b in msg.content] == ["get_weather", "get_time", "get_weather"]
    assert len({b.id for b in msg.content}) == 3
    assert all(b.input == {"simulated": True} for b in msg.content)
    assert msg.stop_reason == "tool_use"
    single = client.messages.create(
        **{**ask, "tool_choice": {"type": "auto", "disable_parallel_tool_use": True}}
    )
    assert len(single.content) == 1


def test_a_tool_result_ends_the_loop_in_text(client):
    first = client.messages.create(
        model="m",
        max_tokens=100,
        messages=HI,
        tools=TOOLS,
        extra_headers={"x-mock-tool-calls": "1"},
    )
    (use,) = first.content
    result = {"type": "tool_result", "tool_use_id": use.id, "content": "12 degrees, rain"}
    answer = client.messages.create(
        model="m",
        max_tokens=100,
        tools=TOOLS,
        messages=[
            *HI,
            {"role": "assistant", "content": [use.model_dump(exclude_none=True)]},
            {"role": "user", "content": [result]},
        ],
        extra_headers={"x-mock-tool-calls": "1", "x-mock-echo": "4"},
    )
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].text == "12 degrees, rain"


def test_thinking_comes_first_with_its_signature(client, mock_upstream):
    ask: dict[str, Any] = {
        "model": "m",
        "max_tokens": 2000,
        "messages": HI,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    with client.messages.stream(**ask) as s:
        msg = s.get_final_message()
    thinking, text = msg.content
    assert thinking.type == "thinking" and thinking.thinking and thinking.signature
    assert text.type == "text"
    r = post(mock_upstream, {**ask, "stream": True})
    kinds = [d["delta"]["type"] for name, d in events(r) if name == "content_block_delta"]
    assert kinds.index("signature_delta") == kinds.count("thinking_delta")
    with pytest.raises(anthropic.BadRequestError, match="budget_tokens"):
        client.messages.create(**{**ask, "max_tokens": 1024})


def test_a_cached_prefix_is_written_once_then_read(client):
    system = [
        {
            "type": "text",
            "text": "A long shared preamble. " * 40,
            "cache_control": {"type": "ephemeral"},
        }
    ]
    ask: dict[str, Any] = {"model": "m", "max_tokens": 5, "system": system, "messages": HI}
    first = client.messages.create(**ask).usage
    second = client.messages.create(**ask).usage
    assert first.cache_creation_input_tokens == 240 and first.cache_read_input_tokens == 0
    assert second.cache_read_input_tokens == 240 and second.cache_creation_input_tokens == 0
    assert first.input_tokens == second.input_tokens == 1  # the uncached rest: "hi"
    other = client.messages.create(**{**ask, "model": "other"}).usage
    assert other.cache_creation_input_tokens == 240  # caches are per model
    with client.messages.stream(**ask) as s:
        assert s.get_final_message().usage.cache_read_input_tokens == 240


def test_a_longer_prompt_reads_the_cached_part_and_writes_the_rest(client):
    turn = {"role": "user", "content": [{"type": "text", "text": "z" * 400}]}
    ask: dict[str, Any] = {"model": "m", "max_tokens": 5, "cache_control": {"type": "ephemeral"}}
    first = client.messages.create(**ask, messages=[turn]).usage
    assert first.cache_creation_input_tokens == 100
    longer = [turn, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "y" * 200}]
    second = client.messages.create(**ask, messages=longer).usage
    assert second.cache_read_input_tokens == 100
    assert second.cache_creation_input_tokens == 50


@pytest.mark.parametrize(
    ("fault", "error", "status", "kind"),
    [
        ("529", anthropic.InternalServerError, 529, "overloaded_error"),
        ("error-event", anthropic.InternalServerError, 529, "overloaded_error"),
        ("503", anthropic.InternalServerError, 503, "overloaded_error"),
        ("500", anthropic.InternalServerError, 500, "api_error"),
        ("429", anthropic.RateLimitError, 429, "rate_limit_error"),
        ("400", anthropic.BadRequestError, 400, "invalid_request_error"),
        ("context", anthropic.BadRequestError, 400, "invalid_request_error"),
        ("401", anthropic.AuthenticationError, 401, "authentication_error"),
    ],
)
def test_each_fault_is_the_sdks_error(client, mock_upstream, fault, error, status, kind):
    with pytest.raises(error) as raised:
        client.messages.create(
            model="m",
            max_tokens=5,
            messages=HI,
            extra_headers={"x-mock-fail": fault, "x-mock-retry-after": "7"},
        )
    assert raised.value.status_code == status
    assert raised.value.body["type"] == "error"
    assert raised.value.body["error"]["type"] == kind
    assert raised.value.request_id and raised.value.request_id.startswith("req_")
    assert (mock_upstream.stats.failed, mock_upstream.stats.completed) == (1, 0)
    if fault == "429":
        assert raised.value.response.headers["retry-after"] == "7"
        assert raised.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    if fault == "context":
        assert "prompt is too long: 250000 tokens > 200000 maximum" in str(raised.value)


def test_connection_faults(client):
    with pytest.raises(anthropic.APITimeoutError):
        client.with_options(timeout=0.2).messages.create(
            model="m", max_tokens=5, messages=HI, extra_headers={"x-mock-fail": "hang"}
        )
    for fault in ("reset", "cut"):
        with pytest.raises(anthropic.APIConnectionError):
            client.messages.create(
                model="m", max_tokens=5, messages=HI, extra_headers={"x-mock-fail": fault}
            )
    with pytest.raises(ValueError):
        client.messages.create(
            model="m", max_tokens=5, messages=HI, extra_headers={"x-mock-fail": "malformed"}
        )


def test_fail_next_from_the_settings_serves_this_side_too(client, mock_upstream):
    mock_upstream.upstream.settings.fail_next = 1
    mock_upstream.upstream.settings.error_kind = "529"
    with pytest.raises(anthropic.InternalServerError):
        client.messages.create(model="m", max_tokens=5, messages=HI)
    assert client.messages.create(model="m", max_tokens=5, messages=HI).content


def test_an_error_event_mid_stream_is_raised_while_iterating(client, mock_upstream):
    seen: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as raised,
        client.messages.stream(
            model="m",
            max_tokens=100,
            messages=HI,
            extra_headers={"x-mock-fail": "error-event", "x-mock-cut-after": "2"},
        ) as s,
    ):
        for text in s.text_stream:
            seen.append(text)
    assert seen == list(answers.WORDS[:2])
    assert raised.value.type == "overloaded_error"
    assert raised.value.api_message == "Overloaded"
    # Counted when the handler returns, which may be just after the client read the event.
    assert wait_for(lambda: mock_upstream.stats.failed == 1)
    body = {"model": "m", "max_tokens": 100, "messages": HI, "stream": True}
    got = events(post(mock_upstream, body, x_mock_fail="error-event"))
    assert got[-1][0] == "error"
    assert len([n for n, _ in got if n == "content_block_delta"]) == 8  # half of 16
    assert "message_stop" not in [n for n, _ in got]


def test_a_cut_stream_ends_without_message_stop(client, mock_upstream):
    seen: list[str] = []
    dropped = (anthropic.APIConnectionError, httpx2.TransportError)
    with (
        pytest.raises(dropped),
        client.messages.stream(
            model="m",
            max_tokens=100,
            messages=HI,
            extra_headers={"x-mock-fail": "cut", "x-mock-cut-after": "3"},
        ) as s,
    ):
        for text in s.text_stream:
            seen.append(text)
    assert seen == list(answers.WORDS[:3])
    assert wait_for(lambda: mock_upstream.stats.failed == 1)


def test_time_to_first_token_is_honoured(mock_upstream):
    body = {"model": "m", "max_tokens": 100, "messages": HI, "stream": True}
    began = time.monotonic()
    r = post(mock_upstream, body, x_mock_ttft_ms="150", x_mock_tokens="2")
    assert time.monotonic() - began >= 0.15
    assert events(r)[-1][0] == "message_stop"


def test_missing_credentials_or_version_are_refused(client, mock_upstream):
    keyless = client.with_options(default_headers={"Authorization": anthropic.Omit()})
    with pytest.raises(anthropic.AuthenticationError) as denied:
        keyless.messages.create(model="m", max_tokens=5, messages=HI)
    assert denied.value.api_message == "x-api-key header is required"
    body = {"model": "m", "max_tokens": 5, "messages": HI}
    r = post(mock_upstream, body, anthropic_version="")
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "anthropic-version: header is required"
    assert r.headers["request-id"] == r.json()["request_id"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "m", "messages": HI}, "max_tokens: Field required"),
        ({"max_tokens": 5, "messages": HI}, "model: Field required"),
        ({"model": "m", "max_tokens": 0, "messages": HI}, "max_tokens: Input should be greater"),
        ({"model": "m", "max_tokens": "5", "messages": HI}, "max_tokens: Input should be"),
        ({"model": "m", "max_tokens": 5}, "messages: Field required"),
        ({"model": "m", "max_tokens": 5, "messages": []}, "at least one message"),
        ({"model": "m", "max_tokens": 5, "messages": "hi"}, "messages: Input should be"),
        ({"model": "m", "max_tokens": 5, "messages": [None]}, "messages.0: Input should be"),
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]},
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user"}]}, "content: Field"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": 3}]}, "content"),
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [3]}]},
            "content.0: Input",
        ),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": ""}]}, "empty"),
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{}]}]},
            "content.0.type: Field required",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "tool_result"}]}],
            },
            "tool_use_id",
        ),
        ({"model": "m", "max_tokens": 5, "messages": HI, "n": 2}, "n: Extra inputs"),
        ({"model": "m", "max_tokens": 5, "messages": HI, "system": 3}, "system"),
        ({"model": "m", "max_tokens": 5, "messages": HI, "system": [{"text": 1}]}, "system.0"),
        ({"model": "m", "max_tokens": 5, "messages": HI, "stop_sequences": "x"}, "stop_seq"),
        ({"model": "m", "max_tokens": 5, "messages": HI, "tools": [{}]}, "tools.0.name"),
        (
            {"model": "m", "max_tokens": 5, "messages": HI, "tool_choice": {"type": "x"}},
            "tool_choice.type",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": HI,
                "tools": TOOLS,
                "tool_choice": {"type": "tool", "name": "nope"},
            },
            "no tool named 'nope'",
        ),
        ({"model": "m", "max_tokens": 5, "messages": HI, "thinking": "on"}, "thinking.type"),
        ({"model": "m", "max_tokens": 5, "messages": HI, "stream": "yes"}, "stream"),
    ],
)
def test_a_malformed_body_is_a_clear_400(mock_upstream, body, message):
    r = post(mock_upstream, body)
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert message in error["error"]["message"]
    assert mock_upstream.stats.failed == 1


def test_a_body_that_is_not_an_object_is_an_anthropic_400(mock_upstream):
    url = f"http://127.0.0.1:{mock_upstream.port}/v1/messages"
    for content in (b"{not json", b"[1]"):
        r = httpx.post(url, content=content, headers=HEADERS)
        assert r.status_code == 400
        assert r.json()["error"]["type"] == "invalid_request_error"
        assert r.headers["request-id"]


def test_models_answer_in_the_callers_dialect(client, mock_upstream):
    page = client.models.list()
    assert [m.id for m in page.data] == ["mock-model"]
    assert page.data[0].type == "model" and page.data[0].display_name == "mock-model"
    assert (page.has_more, page.first_id, page.last_id) == (False, "mock-model", "mock-model")
    plain = httpx.get(f"{mock_upstream.url}/models").json()
    assert plain["object"] == "list" and plain["data"][0]["object"] == "model"


def test_the_new_faults_are_known_and_the_openai_side_shows_them_as_503(mock_upstream):
    assert {"529", "401", "error-event"} <= set(FAULTS)
    url = f"{mock_upstream.url}/chat/completions"
    chat = {"model": "m", "messages": HI}
    for fault in ("529", "error-event"):
        assert httpx.post(url, json=chat, headers={"x-mock-fail": fault}).status_code == 503
    denied = httpx.post(url, json=chat, headers={"x-mock-fail": "401"})
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"
