"""The official openai SDK against the gateway, unchanged but for base_url."""

from __future__ import annotations

import base64
import struct

import openai
import pytest

MESSAGES = [{"role": "user", "content": "Say hello"}]


def test_chat_completion(gateway, mock_upstream):
    reply = gateway.client().chat.completions.create(model="chat", messages=MESSAGES)
    assert reply.choices[0].message.content.startswith("Gatehouse routes")
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens == 16
    # The upstream saw its own model name, not the public one.
    assert mock_upstream.stats.last_body["model"] == "mock-model"
    assert mock_upstream.stats.last_body["messages"] == MESSAGES


def test_unknown_fields_are_forwarded_untouched(gateway, mock_upstream):
    gateway.client().chat.completions.create(
        model="chat",
        messages=MESSAGES,
        temperature=0.3,
        extra_body={"top_k": 40, "guided_json": {"type": "object"}, "seed": 7},
    )
    body = mock_upstream.stats.last_body
    assert body["top_k"] == 40
    assert body["guided_json"] == {"type": "object"}
    assert body["temperature"] == 0.3
    assert body["seed"] == 7


def test_upstream_response_fields_are_returned_untouched(gateway):
    raw = gateway.client().chat.completions.with_raw_response.create(
        model="chat", messages=MESSAGES
    )
    data = raw.http_response.json()
    assert data["model"] == "mock-model"
    assert data["choices"][0]["message"]["refusal"] is None
    assert raw.headers["x-gatehouse-route"] == "chat=local/mock-model"


def test_streaming_with_usage(gateway):
    stream = gateway.client().chat.completions.create(
        model="chat", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Gatehouse routes")
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 16


def test_streaming_without_usage_request(gateway):
    chunks = list(
        gateway.client().chat.completions.create(model="chat", messages=MESSAGES, stream=True)
    )
    assert all(c.usage is None for c in chunks)
    assert len(chunks) == 18  # role, 16 tokens, finish


def test_tool_calls_pass_through(gateway, mock_upstream):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    reply = gateway.client().chat.completions.create(
        model="chat", messages=MESSAGES, tools=tools, tool_choice="required"
    )
    call = reply.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert reply.choices[0].finish_reason == "tool_calls"
    assert mock_upstream.stats.last_body["tools"] == tools

    chunks = list(
        gateway.client().chat.completions.create(
            model="chat", messages=MESSAGES, tools=tools, tool_choice="required", stream=True
        )
    )
    deltas = [c.choices[0].delta.tool_calls for c in chunks if c.choices]
    assert any(d and d[0].function.name == "get_weather" for d in deltas)


def test_response_format_passes_through(gateway, mock_upstream):
    reply = gateway.client().chat.completions.create(
        model="chat", messages=MESSAGES, response_format={"type": "json_object"}
    )
    assert reply.choices[0].message.content.startswith('{"reply":')
    assert mock_upstream.stats.last_body["response_format"] == {"type": "json_object"}


def test_completions(gateway):
    reply = gateway.client().completions.create(model="chat", prompt="Once upon", max_tokens=4)
    assert reply.choices[0].text == "Gatehouse routes, observes"
    assert reply.choices[0].finish_reason == "length"
    stream = gateway.client().completions.create(model="chat", prompt="x", stream=True)
    assert "".join(c.choices[0].text for c in stream).startswith("Gatehouse")


def test_embeddings_base64_and_float(gateway, mock_upstream):
    client = gateway.client()
    # The SDK asks for base64 by default and decodes it.
    default = client.embeddings.create(model="chat", input=["a", "b"], dimensions=4)
    assert len(default.data) == 2
    assert len(default.data[0].embedding) == 4
    floats = client.embeddings.create(model="chat", input="a", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(
        client.embeddings.create(model="chat", input="a").data[0].embedding[:8], abs=1e-5
    )
    assert mock_upstream.stats.last_body["model"] == "mock-model"
    raw = client.embeddings.with_raw_response.create(
        model="chat", input="a", encoding_format="base64", dimensions=3
    )
    vector = struct.unpack(
        "<3f", base64.b64decode(raw.http_response.json()["data"][0]["embedding"])
    )
    assert len(vector) == 3


def test_models_list_and_retrieve(gateway):
    client = gateway.client()
    assert [m.id for m in client.models.list()] == ["chat"]
    assert client.models.retrieve("chat").owned_by == "gatehouse"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("missing")


def test_unknown_model_is_404(gateway):
    with pytest.raises(openai.NotFoundError) as info:
        gateway.client().chat.completions.create(model="gpt-9", messages=MESSAGES)
    err = info.value
    assert err.body["type"] == "not_found_error"
    assert err.body["code"] == "model_not_found"
    assert "gpt-9" in err.body["message"]
    assert err.response.headers["x-should-retry"] == "false"


def test_missing_messages_is_400(gateway):
    with pytest.raises(openai.BadRequestError) as info:
        gateway.client().chat.completions.create(model="chat", messages=[])
    assert info.value.body["param"] == "messages"


@pytest.mark.parametrize(
    ("fault", "error", "status", "kind"),
    [
        ("429", openai.RateLimitError, 429, "rate_limit_error"),
        ("500", openai.InternalServerError, 502, "upstream_error"),
        ("503", openai.InternalServerError, 502, "upstream_error"),
        ("malformed", openai.InternalServerError, 502, "upstream_error"),
        ("reset", openai.InternalServerError, 502, "upstream_error"),
        ("cut", openai.InternalServerError, 502, "upstream_error"),
    ],
)
def test_upstream_faults_map_to_openai_errors(gateway, fault, error, status, kind):
    with pytest.raises(error) as info:
        gateway.client().chat.completions.create(
            model="chat", messages=MESSAGES, extra_headers={"x-mock-fail": fault}
        )
    assert info.value.status_code == status
    assert info.value.body["type"] == kind
    assert info.value.response.headers["x-should-retry"] == "true"
    assert "Traceback" not in info.value.response.text
    if fault == "429":
        assert info.value.response.headers["retry-after"] == "1"


def test_upstream_hang_is_504(start_gateway, mock_upstream):
    cfg = {
        "providers": {
            "local": {
                "kind": "openai",
                "base_url": mock_upstream.url,
                "forward_headers": ["x-mock-fail"],
                "timeout_s": 0.5,
            }
        },
        "models": {"chat": {"deployments": [{"provider": "local", "model": "m"}]}},
        "server": {"port": 0},
    }
    gw = start_gateway(cfg)
    with pytest.raises(openai.APIStatusError) as info:
        gw.client().chat.completions.create(
            model="chat", messages=MESSAGES, extra_headers={"x-mock-fail": "hang"}
        )
    assert info.value.status_code == 504
    assert info.value.body["type"] == "upstream_timeout"


def test_stream_cut_midway_ends_with_error_event_not_done(gateway, http):
    with http.stream(
        "POST",
        gateway.url + "/chat/completions",
        json={"model": "chat", "messages": MESSAGES, "stream": True},
        headers={"x-mock-fail": "cut", "x-mock-tokens": "10"},
    ) as response:
        assert response.status_code == 200
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert "data: [DONE]" not in events
    assert '"error"' in events[-1]
    assert "upstream_stream_cut" in events[-1] or "upstream_disconnected" in events[-1]
    assert len(events) >= 3  # some content was relayed before the cut

    with pytest.raises(openai.APIError):
        list(
            gateway.client().chat.completions.create(
                model="chat",
                messages=MESSAGES,
                stream=True,
                extra_headers={"x-mock-fail": "cut", "x-mock-tokens": "10"},
            )
        )


def test_stream_that_fails_before_starting_is_a_plain_http_error(gateway):
    with pytest.raises(openai.RateLimitError):
        gateway.client().chat.completions.create(
            model="chat", messages=MESSAGES, stream=True, extra_headers={"x-mock-fail": "429"}
        )


def test_upstream_credentials(gateway, mock_upstream):
    gateway.client().chat.completions.create(model="chat", messages=MESSAGES)
    # The gateway's upstream key is sent; the client's key is not.
    assert mock_upstream.stats.last_authorization == "Bearer sk-upstream-secret"


def test_only_configured_headers_are_forwarded(gateway, mock_upstream):
    gateway.client().chat.completions.create(
        model="chat", messages=MESSAGES, extra_headers={"x-mock-tokens": "2", "x-secret": "no"}
    )
    headers = mock_upstream.stats.last_headers
    assert headers["x-mock-tokens"] == "2"
    assert "x-secret" not in headers
