"""Translation between OpenAI Chat Completions and Anthropic Messages, both directions.

Requests the translation builds are checked against the official SDKs' types, so a
shape Anthropic's (or OpenAI's) API would refuse fails here first.
"""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import orjson
import pytest
from anthropic.types import Message
from anthropic.types.message_create_params import (
    MessageCreateParamsNonStreaming,
    MessageCreateParamsStreaming,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion
from openai.types.chat.completion_create_params import (
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
)
from pydantic import TypeAdapter

from gatehouse.errors import InvalidRequest, UpstreamError
from gatehouse.providers.anthropic_format import from_messages_response, to_messages_request
from gatehouse.providers.anthropic_inbound import from_messages_request, to_messages_response
from gatehouse.providers.anthropic_tools import RESPONSE_FORMAT_TOOL, uses_json_tool

PNG = "iVBORw0KGgo="
PDF = base64.b64encode(b"%PDF-1.4 tiny").decode()
CACHE = {"type": "ephemeral"}
_ANTHROPIC_REQUEST = {
    False: TypeAdapter(MessageCreateParamsNonStreaming),
    True: TypeAdapter(MessageCreateParamsStreaming),
}
_OPENAI_REQUEST = {
    False: TypeAdapter(CompletionCreateParamsNonStreaming),
    True: TypeAdapter(CompletionCreateParamsStreaming),
}


def _materialize(value: Any) -> Any:
    """Walk pydantic's lazy Iterable validators, so every nested item is validated."""
    if isinstance(value, dict):
        return {k: _materialize(v) for k, v in value.items()}
    if isinstance(value, str | bytes | int | float | type(None)):
        return value
    return [_materialize(v) for v in value]


def to_anthropic(body: dict[str, Any], max_tokens: int = 512) -> dict[str, Any]:
    request = to_messages_request({"model": "claude-x", **body}, max_tokens=max_tokens)
    _materialize(_ANTHROPIC_REQUEST[bool(request.get("stream"))].validate_python(request))
    return request


def to_openai(body: dict[str, Any]) -> dict[str, Any]:
    request = from_messages_request({"model": "claude-x", "max_tokens": 256, **body})
    # The OpenAI types know nothing of the LiteLLM extensions the gateway carries.
    adapter = _OPENAI_REQUEST[bool(request.get("stream"))]
    _materialize(adapter.validate_python(_without_extensions(request)))
    return request


def _without_extensions(value: Any) -> Any:
    extensions = {"cache_control", "thinking_blocks", "reasoning_content", "thinking", "top_k"}
    if isinstance(value, dict):
        return {k: _without_extensions(v) for k, v in value.items() if k not in extensions}
    if isinstance(value, list):
        return [_without_extensions(v) for v in value]
    return value


def user(content: Any, **extra: Any) -> dict[str, Any]:
    return {"role": "user", "content": content, **extra}


def assistant(content: Any = None, **extra: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content, **extra}


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def fn_tool(name: str, **function: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, **function}}


def messages_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = to_anthropic(body)["messages"]
    return messages


def invalid(fn: Any, *args: Any, **kwargs: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        fn(*args, **kwargs)
    return caught.value


# --- OpenAI request -> Anthropic request: messages ----------------------------------------


def test_system_and_developer_messages_anywhere_become_the_system_blocks_in_order() -> None:
    request = to_anthropic(
        {
            "messages": [
                {"role": "system", "content": "one"},
                user("hi"),
                {"role": "developer", "content": [{"type": "text", "text": "two"}]},
            ]
        }
    )
    assert request["system"] == [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]
    assert request["messages"] == [{"role": "user", "content": "hi"}]


def test_a_single_plain_system_message_is_a_string_and_cache_control_keeps_blocks() -> None:
    assert (
        to_anthropic({"messages": [{"role": "system", "content": "s"}, user("u")]})["system"] == "s"
    )
    cached = {"role": "system", "content": "s", "cache_control": CACHE}
    request = to_anthropic({"messages": [cached, user("u")]})
    assert request["system"] == [{"type": "text", "text": "s", "cache_control": CACHE}]


@pytest.mark.parametrize(
    ("part", "block"),
    [
        ({"type": "text", "text": "hello"}, {"type": "text", "text": "hello"}),
        (
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        ),
        (
            {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg", "detail": "low"}},
            {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
        ),
        (
            {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF}"}},
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
            },
        ),
        (
            {"type": "file", "file": {"file_data": PDF, "filename": "report.PDF"}},
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
            },
        ),
        (
            {
                "type": "file",
                "file": {
                    "file_data": "data:text/plain;base64," + base64.b64encode(b"hey").decode()
                },
            },
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "hey"},
            },
        ),
        (
            {"type": "text", "text": "cached", "cache_control": CACHE},
            {"type": "text", "text": "cached", "cache_control": CACHE},
        ),
    ],
)
def test_user_content_parts_become_blocks(part: dict[str, Any], block: dict[str, Any]) -> None:
    content = messages_of({"messages": [user([part, {"type": "text", "text": "and"}])]})[0][
        "content"
    ]
    assert content == [block, {"type": "text", "text": "and"}]


@pytest.mark.parametrize(
    ("part", "param", "words"),
    [
        (
            {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}},
            "messages[0].content[0]",
            "audio",
        ),
        ({"type": "video_url", "video_url": {}}, "messages[0].content[0].type", "'video_url'"),
        (
            {"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}},
            "messages[0].content[0].image_url.url",
            "image/tiff",
        ),
        (
            {"type": "image_url", "image_url": {"url": "data:image/png,notbase64"}},
            "messages[0].content[0].image_url.url",
            "base64 data URL",
        ),
        (
            {"type": "image_url", "image_url": {"url": "ftp://x/y.png"}},
            "messages[0].content[0].image_url.url",
            "http(s)",
        ),
        (
            {"type": "file", "file": {"file_id": "file-abc"}},
            "messages[0].content[0].file.file_id",
            "file_data",
        ),
        (
            {"type": "file", "file": {"file_data": "data:application/zip;base64,AAAA"}},
            "messages[0].content[0].file.file_data",
            "application/zip",
        ),
        (
            {"type": "file", "file": {"file_data": "data:text/plain;base64,@@@"}},
            "messages[0].content[0].file.file_data",
            "base64",
        ),
        ({"type": "text", "text": 5}, "messages[0].content[0].text", "string"),
        (
            {"type": "text", "text": "x", "cache_control": "yes"},
            "messages[0].content[0].cache_control",
            "object",
        ),
    ],
)
def test_user_parts_anthropic_cannot_take_are_refused_by_name(
    part: dict[str, Any], param: str, words: str
) -> None:
    err = invalid(to_anthropic, {"messages": [user([part])]})
    assert err.param == param
    assert words in err.message


def test_assistant_content_and_tool_calls_become_text_then_tool_use() -> None:
    messages = messages_of(
        {
            "messages": [
                user("q"),
                assistant(
                    [
                        {"type": "text", "text": "Let me look."},
                        {"type": "refusal", "refusal": "no"},
                    ],
                    tool_calls=[call("call_1", "search", '{"q": "x"}'), call("call_2", "now", "")],
                ),
            ]
        }
    )
    assert messages[1]["content"] == [
        {"type": "text", "text": "Let me look."},
        {"type": "text", "text": "no"},
        {"type": "tool_use", "id": "call_1", "name": "search", "input": {"q": "x"}},
        {"type": "tool_use", "id": "call_2", "name": "now", "input": {}},
    ]


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]", '"text"', "3"])
def test_tool_call_arguments_must_be_a_json_object(arguments: str) -> None:
    body = {
        "messages": [
            user("q"),
            assistant(tool_calls=[call("c", "f", "{}"), call("d", "f", arguments)]),
        ]
    }
    err = invalid(to_anthropic, body)
    assert err.param == "messages[1].tool_calls[1].function.arguments"


def test_tool_messages_and_the_next_user_message_merge_into_one_user_turn() -> None:
    messages = messages_of(
        {
            "messages": [
                user("q"),
                assistant(tool_calls=[call("call_1", "a", "{}"), call("call_2", "b", "{}")]),
                {"role": "tool", "tool_call_id": "call_1", "content": "one"},
                {
                    "role": "tool",
                    "tool_call_id": "call_2",
                    "content": [{"type": "text", "text": "two"}],
                },
                user("thanks"),
            ]
        }
    )
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "one"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": "two"},
        {"type": "text", "text": "thanks"},
    ]


def test_tool_results_go_ahead_of_user_text_even_when_the_user_spoke_first() -> None:
    messages = messages_of(
        {
            "messages": [
                user("q"),
                assistant(tool_calls=[call("c1", "a", "{}")]),
                user("hurry"),
                {"role": "tool", "tool_call_id": "c1", "content": "done"},
            ]
        }
    )
    assert [b["type"] for b in messages[2]["content"]] == ["tool_result", "text"]


def test_legacy_function_call_and_function_message_share_one_made_up_id() -> None:
    messages = messages_of(
        {
            "messages": [
                user("q"),
                {
                    "role": "assistant",
                    "content": None,
                    "function_call": {"name": "f", "arguments": '{"x": 1}'},
                },
                {"role": "function", "name": "f", "content": "r"},
            ]
        }
    )
    use, result = messages[1]["content"][0], messages[2]["content"][0]
    assert use == {"type": "tool_use", "id": "call_1", "name": "f", "input": {"x": 1}}
    assert result == {"type": "tool_result", "tool_use_id": "call_1", "content": "r"}


def test_a_function_message_without_its_call_is_refused() -> None:
    err = invalid(
        to_anthropic, {"messages": [user("q"), {"role": "function", "name": "f", "content": "r"}]}
    )
    assert err.param == "messages[1].name"


def test_tool_ids_from_other_upstreams_are_made_safe_on_both_sides_alike() -> None:
    messages = messages_of(
        {
            "messages": [
                user("q"),
                assistant(tool_calls=[call("fc:1.a", "f", "{}")]),
                {"role": "tool", "tool_call_id": "fc:1.a", "content": "r"},
            ]
        }
    )
    assert messages[1]["content"][0]["id"] == "fc_1_a"
    assert messages[2]["content"][0]["tool_use_id"] == "fc_1_a"


def test_consecutive_same_role_messages_merge_and_a_leading_assistant_stays_first() -> None:
    messages = messages_of(
        {"messages": [assistant("Hello."), user("a"), user([{"type": "text", "text": "b"}])]}
    )
    assert messages == [
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    ]


def test_empty_assistant_messages_and_blank_text_are_dropped() -> None:
    messages = messages_of(
        {
            "messages": [
                user("a"),
                assistant(""),
                assistant([{"type": "text", "text": "  "}]),
                user("b"),
            ]
        }
    )
    assert messages == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


def test_a_breakpoint_on_a_dropped_blank_block_moves_to_the_block_before() -> None:
    parts = [{"type": "text", "text": "keep"}, {"type": "text", "text": "", "cache_control": CACHE}]
    assert messages_of({"messages": [user(parts)]})[0]["content"] == [
        {"type": "text", "text": "keep", "cache_control": CACHE}
    ]


def test_a_final_assistant_prefill_loses_its_trailing_whitespace() -> None:
    assert (
        messages_of({"messages": [user("q"), assistant("The answer is ")]})[1]["content"]
        == "The answer is"
    )


def test_no_message_with_content_left_is_refused() -> None:
    err = invalid(to_anthropic, {"messages": [{"role": "system", "content": "s"}, assistant("")]})
    assert err.param == "messages"


def test_message_level_cache_control_marks_the_last_block() -> None:
    messages = messages_of(
        {
            "messages": [
                user(
                    [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                    cache_control=CACHE,
                ),
                assistant(tool_calls=[call("c", "f", "{}")], cache_control=CACHE),
                {"role": "tool", "tool_call_id": "c", "content": "r", "cache_control": CACHE},
            ]
        }
    )
    assert messages[0]["content"][1] == {"type": "text", "text": "b", "cache_control": CACHE}
    assert "cache_control" not in messages[0]["content"][0]
    assert messages[1]["content"][0]["cache_control"] == CACHE
    assert messages[2]["content"][0]["cache_control"] == CACHE


def test_tool_results_with_cached_parts_keep_their_blocks() -> None:
    parts = [{"type": "text", "text": "big", "cache_control": CACHE}]
    messages = messages_of(
        {
            "messages": [
                user("q"),
                assistant(tool_calls=[call("c", "f", "{}")]),
                {"role": "tool", "tool_call_id": "c", "content": parts},
            ]
        }
    )
    assert messages[2]["content"][0]["content"] == [
        {"type": "text", "text": "big", "cache_control": CACHE}
    ]


def test_thinking_blocks_go_first_unchanged_and_unsigned_ones_are_dropped() -> None:
    signed = {"type": "thinking", "thinking": "hmm", "signature": "sig"}
    redacted = {"type": "redacted_thinking", "data": "opaque"}
    unsigned = {"type": "thinking", "thinking": "from vLLM", "signature": ""}
    messages = messages_of(
        {"messages": [user("q"), assistant("A.", thinking_blocks=[signed, unsigned, redacted])]}
    )
    assert messages[1]["content"] == [signed, redacted, {"type": "text", "text": "A."}]


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ({"role": "robot", "content": "x"}, "messages[0].role"),
        ({"role": "user"}, "messages[0].content"),
        ({"role": "user", "content": 3}, "messages[0].content"),
        ({"role": "tool", "content": "x"}, "messages[0].tool_call_id"),
        (
            {"role": "assistant", "tool_calls": [{"type": "custom", "id": "c"}]},
            "messages[0].tool_calls[0].type",
        ),
        (
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]},
            "messages[0].tool_calls[0].function.name",
        ),
        (
            {"role": "assistant", "thinking_blocks": [{"type": "text"}]},
            "messages[0].thinking_blocks[0].type",
        ),
        ({"role": "system", "content": [{"type": "image_url"}]}, "messages[0].content[0]"),
    ],
)
def test_malformed_messages_name_the_field(message: dict[str, Any], param: str) -> None:
    assert invalid(to_anthropic, {"messages": [message]}).param == param


# --- OpenAI request -> Anthropic request: parameters --------------------------------------


def test_tools_become_anthropic_tools() -> None:
    request = to_anthropic(
        {
            "messages": [user("q")],
            "tools": [
                fn_tool(
                    "a",
                    description="A",
                    parameters={"type": "object", "properties": {"x": {}}},
                    strict=True,
                ),
                {**fn_tool("b"), "cache_control": CACHE},
                fn_tool("c", parameters={"properties": {}}),
            ],
        }
    )
    assert request["tools"] == [
        {
            "name": "a",
            "description": "A",
            "input_schema": {"type": "object", "properties": {"x": {}}},
        },
        {"name": "b", "input_schema": {"type": "object", "properties": {}}, "cache_control": CACHE},
        {"name": "c", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert "tool_choice" not in request


def test_non_function_tools_are_refused() -> None:
    tools = [{"type": "custom", "custom": {"name": "grammar"}}]
    assert invalid(to_anthropic, {"messages": [user("q")], "tools": tools}).param == "tools[0].type"


def test_legacy_functions_become_tools_with_their_function_call_choice() -> None:
    request = to_anthropic(
        {"messages": [user("q")], "functions": [{"name": "f"}], "function_call": {"name": "f"}}
    )
    assert request["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]
    assert request["tool_choice"] == {"type": "tool", "name": "f"}


@pytest.mark.parametrize(
    ("tool_choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ("required", None, {"type": "any"}),
        ({"type": "function", "function": {"name": "f"}}, None, {"type": "tool", "name": "f"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        ("none", False, {"type": "none"}),
        (None, True, None),
    ],
)
def test_tool_choice(
    tool_choice: Any, parallel: bool | None, expected: dict[str, Any] | None
) -> None:
    body: dict[str, Any] = {"messages": [user("q")], "tools": [fn_tool("f")]}
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    if parallel is not None:
        body["parallel_tool_calls"] = parallel
    assert to_anthropic(body).get("tool_choice") == expected


def test_a_tool_choice_without_tools_is_dropped_unless_it_forces_a_call() -> None:
    assert "tool_choice" not in to_anthropic({"messages": [user("q")], "tool_choice": "auto"})
    err = invalid(to_anthropic, {"messages": [user("q")], "tool_choice": "required"})
    assert err.param == "tool_choice"
    err = invalid(
        to_anthropic, {"messages": [user("q")], "tools": [fn_tool("f")], "tool_choice": "maybe"}
    )
    assert err.param == "tool_choice"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, 512),
        ({"max_tokens": 100}, 100),
        ({"max_completion_tokens": 50, "max_tokens": 100}, 50),
    ],
)
def test_max_tokens(fields: dict[str, Any], expected: int) -> None:
    assert to_anthropic({"messages": [user("q")], **fields})["max_tokens"] == expected


@pytest.mark.parametrize(
    ("key", "value"), [("max_tokens", 0), ("max_completion_tokens", "9"), ("max_tokens", True)]
)
def test_bad_max_tokens_are_refused(key: str, value: Any) -> None:
    assert invalid(to_anthropic, {"messages": [user("q")], key: value}).param == key


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"stop": "END"}, {"stop_sequences": ["END"]}),
        ({"stop": ["a", "b"]}, {"stop_sequences": ["a", "b"]}),
        ({"temperature": 1.7}, {"temperature": 1}),
        ({"temperature": 0.3}, {"temperature": 0.3}),
        ({"temperature": -1}, {"temperature": 0}),
        ({"top_p": 0.9, "top_k": 40}, {"top_p": 0.9, "top_k": 40}),
        ({"user": "u-1"}, {"metadata": {"user_id": "u-1"}}),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2048}},
            {"thinking": {"type": "enabled", "budget_tokens": 2048}},
        ),
        ({"stream": True, "stream_options": {"include_usage": True}}, {"stream": True}),
    ],
)
def test_sampling_and_extension_parameters(
    fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    request = to_anthropic({"messages": [user("q")], **fields})
    for key, value in expected.items():
        assert request[key] == value
    assert "stream_options" not in request


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"audio": {"voice": "alloy", "format": "mp3"}}, "audio"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"prediction": {"type": "content", "content": "x"}}, "prediction"),
    ],
)
def test_parameters_anthropic_lacks_are_refused(fields: dict[str, Any], param: str) -> None:
    err = invalid(to_anthropic, {"messages": [user("q")], **fields})
    assert (err.param, err.code) == (param, "unsupported_parameter")
    assert "Anthropic models don't support" in err.message


def test_parameters_without_counterpart_are_dropped_quietly() -> None:
    dropped = {
        "frequency_penalty": 0.5,
        "presence_penalty": 0.1,
        "seed": 7,
        "logit_bias": {"1": 2},
        "store": True,
        "metadata": {"k": "v"},
        "service_tier": "auto",
        "n": 1,
        "logprobs": False,
        "modalities": ["text"],
        "brand_new_option": 1,
    }
    request = to_anthropic({"messages": [user("q")], **dropped})
    assert set(request) == {"model", "max_tokens", "messages"}


@pytest.mark.parametrize(
    ("key", "value"), [("temperature", "hot"), ("top_k", 1.5), ("stop", 5), ("user", 3)]
)
def test_parameters_of_the_wrong_type_are_refused(key: str, value: Any) -> None:
    assert invalid(to_anthropic, {"messages": [user("q")], key: value}).param == key


# --- response_format emulation -------------------------------------------------------------


def _json_tool(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": RESPONSE_FORMAT_TOOL,
        "description": "Respond with the answer as this tool's input",
        "input_schema": schema,
    }


@pytest.mark.parametrize(
    ("response_format", "schema"),
    [
        ({"type": "json_object"}, {"type": "object"}),
        (
            {
                "type": "json_schema",
                "json_schema": {"name": "p", "schema": {"type": "object", "properties": {"n": {}}}},
            },
            {"type": "object", "properties": {"n": {}}},
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "p", "schema": {"properties": {}}}},
            {"type": "object", "properties": {}},
        ),
    ],
)
def test_json_response_formats_are_emulated_with_a_forced_tool(
    response_format: dict[str, Any], schema: dict[str, Any]
) -> None:
    request = to_anthropic({"messages": [user("q")], "response_format": response_format})
    assert request["tools"] == [_json_tool(schema)]
    assert request["tool_choice"] == {
        "type": "tool",
        "name": RESPONSE_FORMAT_TOOL,
        "disable_parallel_tool_use": True,
    }
    assert uses_json_tool(request)


def test_text_response_format_adds_nothing() -> None:
    request = to_anthropic({"messages": [user("q")], "response_format": {"type": "text"}})
    assert "tools" not in request
    assert not uses_json_tool(request)


def test_json_format_beside_the_clients_own_tools_lets_the_model_pick_any() -> None:
    request = to_anthropic(
        {
            "messages": [user("q")],
            "tools": [fn_tool("f")],
            "parallel_tool_calls": False,
            "response_format": {"type": "json_object"},
        }
    )
    assert [t["name"] for t in request["tools"]] == ["f", RESPONSE_FORMAT_TOOL]
    assert request["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert uses_json_tool(request)


def test_a_clients_own_tool_named_like_the_json_tool_is_not_taken_for_it() -> None:
    request = to_anthropic({"messages": [user("q")], "tools": [fn_tool(RESPONSE_FORMAT_TOOL)]})
    assert not uses_json_tool(request)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": [fn_tool("f")], "tool_choice": "required"}, "tool_choice"),
        (
            {
                "tools": [fn_tool("f")],
                "tool_choice": {"type": "function", "function": {"name": "f"}},
            },
            "tool_choice",
        ),
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, "response_format"),
        ({"tools": [fn_tool(RESPONSE_FORMAT_TOOL)]}, "tools"),
    ],
)
def test_json_format_conflicts_are_refused(fields: dict[str, Any], param: str) -> None:
    body = {"messages": [user("q")], "response_format": {"type": "json_object"}, **fields}
    assert invalid(to_anthropic, body).param == param


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        ({"type": "xml"}, "response_format.type"),
        ({"type": "json_schema"}, "response_format.json_schema"),
        (
            {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "array"}}},
            "response_format.json_schema.schema.type",
        ),
        ("json", "response_format"),
    ],
)
def test_response_formats_that_cannot_be_emulated_are_refused(
    response_format: Any, param: str
) -> None:
    assert (
        invalid(to_anthropic, {"messages": [user("q")], "response_format": response_format}).param
        == param
    )


# --- Anthropic response -> OpenAI response -------------------------------------------------


def anthropic_message(content: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    message = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": content,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    message.update(fields)
    Message.model_validate(message)
    return message


def to_completion(data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    completion = from_messages_response(data, created=1700000000, **kwargs)
    ChatCompletion.model_validate(completion)
    return completion


def test_a_message_becomes_a_chat_completion() -> None:
    data = anthropic_message(
        [
            {"type": "text", "text": "Hello, "},
            {"type": "text", "text": "world."},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, "b"]}},
        ],
        stop_reason="tool_use",
        usage={
            "input_tokens": 10,
            "output_tokens": 5,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 20,
        },
    )
    assert to_completion(data) == {
        "id": "chatcmpl-msg_01",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "claude-x",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello, world.",
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a":[1,"b"]}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
                "stop_reason": None,
            }
        ],
        "usage": {
            "prompt_tokens": 130,
            "completion_tokens": 5,
            "total_tokens": 135,
            "prompt_tokens_details": {"cached_tokens": 100},
            "cache_creation_input_tokens": 20,
            "cache_read_input_tokens": 100,
        },
    }


@pytest.mark.parametrize(
    ("stop_reason", "stop_sequence", "finish", "vllm_stop"),
    [
        ("end_turn", None, "stop", None),
        ("max_tokens", None, "length", None),
        ("stop_sequence", "END", "stop", "END"),
        ("tool_use", None, "tool_calls", None),
        ("refusal", None, "content_filter", None),
    ],
)
def test_stop_reasons(
    stop_reason: str, stop_sequence: str | None, finish: str, vllm_stop: str | None
) -> None:
    data = anthropic_message(
        [{"type": "text", "text": "x"}], stop_reason=stop_reason, stop_sequence=stop_sequence
    )
    choice = to_completion(data)["choices"][0]
    assert (choice["finish_reason"], choice["stop_reason"]) == (finish, vllm_stop)


def test_no_text_is_null_content_and_created_defaults_to_now() -> None:
    completion = from_messages_response(anthropic_message([]))
    assert completion["choices"][0]["message"]["content"] is None
    assert isinstance(completion["created"], int) and completion["created"] > 1700000000


def test_thinking_becomes_reasoning_content_and_thinking_blocks() -> None:
    thinking = {"type": "thinking", "thinking": "Let me think.", "signature": "sig=="}
    redacted = {"type": "redacted_thinking", "data": "opaque"}
    message = to_completion(
        anthropic_message([thinking, redacted, {"type": "text", "text": "42"}])
    )["choices"][0]["message"]
    assert message["reasoning_content"] == "Let me think."
    assert message["thinking_blocks"] == [thinking, redacted]
    assert message["content"] == "42"


def test_json_mode_turns_the_json_tool_call_into_the_content() -> None:
    data = anthropic_message(
        [
            {"type": "text", "text": "Here you go:"},
            {"type": "tool_use", "id": "toolu_1", "name": RESPONSE_FORMAT_TOOL, "input": {"n": 1}},
        ],
        stop_reason="tool_use",
    )
    choice = to_completion(data, json_mode=True)["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": '{"n":1}'}
    assert choice["finish_reason"] == "stop"
    # Without json_mode the same tool is just a tool call.
    assert to_completion(data)["choices"][0]["finish_reason"] == "tool_calls"


def test_json_mode_keeps_a_call_to_the_clients_own_tool() -> None:
    data = anthropic_message(
        [{"type": "tool_use", "id": "t", "name": "f", "input": {}}], stop_reason="tool_use"
    )
    choice = to_completion(data, json_mode=True)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "f", "arguments": "{}"}


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"content": "text"},
        {"content": [5]},
        {"content": [{"type": "text"}]},
        {"content": [{"type": "tool_use", "id": "t", "name": "f", "input": "x"}]},
        {"content": [{"type": "tool_use", "name": "f", "input": {}}]},
        {"content": [{"type": "thinking"}]},
    ],
)
def test_malformed_messages_are_upstream_errors(data: Any) -> None:
    with pytest.raises(UpstreamError) as caught:
        from_messages_response(data)
    assert caught.value.code == "upstream_malformed_response"


def test_unknown_block_types_are_skipped() -> None:
    data = anthropic_message([{"type": "text", "text": "a"}])
    data["content"].append({"type": "web_search_tool_result", "content": []})
    assert to_completion(data)["choices"][0]["message"]["content"] == "a"


# --- Anthropic request -> OpenAI request (inbound /v1/messages) ---------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": ""}, "model"),
        ({"model": 5}, "model"),
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 1.5}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"messages": ["hi"]}, "messages.0"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "user"}]}, "messages.0.content"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "messages.0.content.0.text",
        ),
        ({"stream": "yes"}, "stream"),
        ({"system": [{"type": "image"}]}, "system.0.type"),
        ({"temperature": "warm"}, "temperature"),
        ({"stop_sequences": "END"}, "stop_sequences"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
        ({"tool_choice": {"type": "tool"}}, "tool_choice.name"),
        ({"tools": [{"name": "f"}]}, "tools.0.input_schema"),
        ({"metadata": {"user_id": 5}}, "metadata.user_id"),
    ],
)
def test_inbound_requests_are_validated_with_anthropics_rules(
    body: dict[str, Any], param: str
) -> None:
    full = {"model": "claude-x", "max_tokens": 10, "messages": [user("hi")], **body}
    full = {k: v for k, v in full.items() if v is not None}
    assert invalid(from_messages_request, full).param == param


def test_system_becomes_the_first_message() -> None:
    assert to_openai({"system": "s", "messages": [user("u")]})["messages"][0] == {
        "role": "system",
        "content": "s",
    }
    blocks = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert to_openai({"system": blocks, "messages": [user("u")]})["messages"][0] == {
        "role": "system",
        "content": "a\nb",
    }
    cached = [{"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": CACHE}]
    assert to_openai({"system": cached, "messages": [user("u")]})["messages"][0] == {
        "role": "system",
        "content": [
            {"type": "text", "text": "a"},
            {"type": "text", "text": "b", "cache_control": CACHE},
        ],
    }


@pytest.mark.parametrize(
    ("block", "part"),
    [
        (
            {"type": "text", "text": "t", "cache_control": CACHE},
            {"type": "text", "text": "t", "cache_control": CACHE},
        ),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        ),
        (
            {"type": "image", "source": {"type": "url", "url": "https://x.test/i.png"}},
            {"type": "image_url", "image_url": {"url": "https://x.test/i.png"}},
        ),
        (
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
            },
            {
                "type": "file",
                "file": {
                    "file_data": f"data:application/pdf;base64,{PDF}",
                    "filename": "document.pdf",
                },
            },
        ),
        (
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "plain"},
            },
            {"type": "text", "text": "plain"},
        ),
    ],
)
def test_user_blocks_become_parts(block: dict[str, Any], part: dict[str, Any]) -> None:
    messages = to_openai({"messages": [user([block, {"type": "text", "text": "x"}])]})["messages"]
    assert messages == [{"role": "user", "content": [part, {"type": "text", "text": "x"}]}]


@pytest.mark.parametrize(
    ("block", "param"),
    [
        (
            {"type": "image", "source": {"type": "file", "file_id": "f"}},
            "messages.0.content.0.source.type",
        ),
        (
            {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}},
            "messages.0.content.0.source",
        ),
        (
            {"type": "search_result", "source": "s", "title": "t", "content": []},
            "messages.0.content.0.type",
        ),
        ({"type": "tool_use", "id": "t", "name": "f", "input": {}}, "messages.0.content.0.type"),
    ],
)
def test_user_blocks_the_gateway_cannot_carry_are_refused(
    block: dict[str, Any], param: str
) -> None:
    assert (
        invalid(
            from_messages_request, {"model": "m", "max_tokens": 1, "messages": [user([block])]}
        ).param
        == param
    )


def test_tool_results_become_tool_messages_ahead_of_the_users_text() -> None:
    messages = to_openai(
        {
            "messages": [
                user("q"),
                assistant([{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}]),
                user(
                    [
                        {"type": "text", "text": "also this"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_1",
                            "content": "r1",
                            "is_error": True,
                        },
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_2",
                            "content": [
                                {"type": "text", "text": "a"},
                                {"type": "text", "text": "b"},
                            ],
                        },
                        {"type": "tool_result", "tool_use_id": "toolu_3"},
                    ]
                ),
            ]
        }
    )["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
        ],
    }
    assert messages[2:] == [
        # is_error rides along for an Anthropic upstream (the openai adapter drops it).
        {"role": "tool", "tool_call_id": "toolu_1", "content": "r1", "is_error": True},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "a\nb"},
        {"role": "tool", "tool_call_id": "toolu_3", "content": ""},
        {"role": "user", "content": "also this"},
    ]


def test_a_tool_result_with_an_image_keeps_its_parts_and_no_empty_user_message_follows() -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://x.test/i.png"}}
    content = [{"type": "text", "text": "see"}, image]
    result = {"type": "tool_result", "tool_use_id": "t", "content": content, "cache_control": CACHE}
    # Not checked against OpenAI's types: they allow only text in a tool message.
    request = from_messages_request({"model": "m", "max_tokens": 5, "messages": [user([result])]})
    assert request["messages"] == [
        {
            "role": "tool",
            "tool_call_id": "t",
            "content": [
                {"type": "text", "text": "see"},
                {"type": "image_url", "image_url": {"url": "https://x.test/i.png"}},
            ],
            "cache_control": CACHE,
        }
    ]
    # ...and the Anthropic provider takes it back to the same tool_result.
    assert to_messages_request(request, max_tokens=5)["messages"][0]["content"] == [result]


def test_assistant_blocks_become_content_tool_calls_and_thinking() -> None:
    thinking = {"type": "thinking", "thinking": "hmm", "signature": "sig"}
    redacted = {"type": "redacted_thinking", "data": "opaque"}
    message = to_openai(
        {
            "messages": [
                user("q"),
                assistant(
                    [
                        thinking,
                        redacted,
                        {"type": "text", "text": "A"},
                        {"type": "text", "text": "B"},
                        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
                    ]
                ),
            ]
        }
    )["messages"][1]
    assert message == {
        "role": "assistant",
        "content": "AB",
        "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
        "thinking_blocks": [thinking, redacted],
        "reasoning_content": "hmm",
    }


def test_inbound_tools_and_their_cache_control() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    request = to_openai(
        {
            "messages": [user("q")],
            "tools": [
                {
                    "name": "search",
                    "description": "Find",
                    "input_schema": schema,
                    "cache_control": CACHE,
                },
                {"type": "custom", "name": "g", "input_schema": {"type": "object"}},
            ],
        }
    )
    assert request["tools"] == [
        {
            "type": "function",
            "function": {"name": "search", "description": "Find", "parameters": schema},
            "cache_control": CACHE,
        },
        {"type": "function", "function": {"name": "g", "parameters": {"type": "object"}}},
    ]


@pytest.mark.parametrize("kind", ["web_search_20250305", "bash_20250124", "text_editor_20250728"])
def test_server_tools_are_refused(kind: str) -> None:
    body = {
        "model": "m",
        "max_tokens": 1,
        "messages": [user("q")],
        "tools": [{"type": kind, "name": "x"}],
    }
    err = invalid(from_messages_request, body)
    assert err.param == "tools.0.type"
    assert "server tools are not supported through the gateway" in err.message


@pytest.mark.parametrize(
    ("choice", "tool_choice", "parallel"),
    [
        ({"type": "auto"}, "auto", None),
        ({"type": "any"}, "required", None),
        ({"type": "none"}, "none", None),
        ({"type": "tool", "name": "f"}, {"type": "function", "function": {"name": "f"}}, None),
        ({"type": "auto", "disable_parallel_tool_use": True}, "auto", False),
        ({"type": "any", "disable_parallel_tool_use": False}, "required", None),
    ],
)
def test_inbound_tool_choice(
    choice: dict[str, Any], tool_choice: Any, parallel: bool | None
) -> None:
    tools = [{"name": "f", "input_schema": {"type": "object"}}]
    request = to_openai({"messages": [user("q")], "tools": tools, "tool_choice": choice})
    assert request["tool_choice"] == tool_choice
    assert request.get("parallel_tool_calls") == parallel


def test_inbound_options() -> None:
    request = to_openai(
        {
            "max_tokens": 99,
            "messages": [user("q")],
            "stop_sequences": ["END"],
            "temperature": 0.2,
            "top_p": 0.8,
            "top_k": 5,
            "metadata": {"user_id": "u-7"},
            "stream": True,
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "service_tier": "auto",
            "container": "c",
            "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
        }
    )
    assert request == {
        "model": "claude-x",
        "messages": [{"role": "user", "content": "q"}],
        "max_tokens": 99,
        "stop": ["END"],
        "temperature": 0.2,
        "top_p": 0.8,
        "top_k": 5,
        "user": "u-7",
        "stream": True,
        "stream_options": {"include_usage": True},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": {"type": "object"}},
        },
    }
    assert "stream_options" not in to_openai({"messages": [user("q")], "stream": False})


# --- OpenAI response -> Anthropic response -------------------------------------------------


def completion(
    message: dict[str, Any], finish: str | None = "stop", **choice: Any
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-x",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "finish_reason": finish,
                **choice,
            }
        ],
        "usage": {"prompt_tokens": 30, "completion_tokens": 4, "total_tokens": 34},
    }


def to_message(data: dict[str, Any]) -> dict[str, Any]:
    message = to_messages_response(data, model="public-name")
    Message.model_validate(message)
    return message


def test_a_chat_completion_becomes_a_message() -> None:
    data = completion(
        {"content": "Hi.", "tool_calls": [call("call_1", "f", '{"x": 2}')]},
        finish="tool_calls",
    )
    data["usage"]["prompt_tokens_details"] = {"cached_tokens": 10}
    assert to_message(data) == {
        "id": "msg_abc",
        "type": "message",
        "role": "assistant",
        "model": "public-name",
        "content": [
            {"type": "text", "text": "Hi."},
            {"type": "tool_use", "id": "call_1", "name": "f", "input": {"x": 2}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 4,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 10,
        },
    }


@pytest.mark.parametrize(
    ("finish", "vllm_stop", "reason", "sequence"),
    [
        ("stop", None, "end_turn", None),
        ("stop", "END", "stop_sequence", "END"),
        ("stop", 128001, "end_turn", None),
        ("length", None, "max_tokens", None),
        ("tool_calls", None, "tool_use", None),
        ("content_filter", None, "refusal", None),
        (None, None, "end_turn", None),
    ],
)
def test_finish_reasons(
    finish: str | None, vllm_stop: Any, reason: str, sequence: str | None
) -> None:
    message = to_message(completion({"content": "x"}, finish=finish, stop_reason=vllm_stop))
    assert (message["stop_reason"], message["stop_sequence"]) == (reason, sequence)


def test_tool_calls_under_a_stop_finish_still_say_tool_use() -> None:
    message = to_message(
        completion({"content": None, "tool_calls": [call("c", "f", "{}")]}, finish="stop")
    )
    assert message["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [("", {}), ("{broken", {"_raw": "{broken"}), ("[1]", {"_raw": "[1]"})],
)
def test_arguments_that_are_not_a_json_object(arguments: str, expected: dict[str, Any]) -> None:
    message = to_message(
        completion({"content": None, "tool_calls": [call("c", "f", arguments)]}, "tool_calls")
    )
    assert message["content"][0]["input"] == expected


def test_thinking_blocks_and_bare_reasoning_become_thinking_content() -> None:
    blocks = [
        {"type": "thinking", "thinking": "t", "signature": "s"},
        {"type": "redacted_thinking", "data": "d"},
    ]
    message = to_message(
        completion({"content": "A", "thinking_blocks": blocks, "reasoning_content": "t"})
    )
    assert message["content"] == [*blocks, {"type": "text", "text": "A"}]
    message = to_message(completion({"content": "A", "reasoning_content": "r"}))
    assert message["content"][0] == {"type": "thinking", "thinking": "r", "signature": ""}


def test_empty_content_and_ids() -> None:
    message = to_message(completion({"content": ""}))
    assert message["content"] == []
    data = completion({"content": "x"})
    data["id"] = "chatcmpl-msg_01"
    assert to_message(data)["id"] == "msg_01"
    del data["id"]
    assert to_message(data)["id"].startswith("msg_")


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"choices": []},
        {"choices": ["x"]},
        {"choices": [{"message": "x"}]},
        {"choices": [{"message": {"content": 5}}]},
        {"choices": [{"message": {"tool_calls": "x"}}]},
        {"choices": [{"message": {"tool_calls": [{"id": "c"}]}}]},
        {"choices": [{"message": {"thinking_blocks": [{"type": "text"}]}}]},
    ],
)
def test_malformed_completions_are_upstream_errors(data: Any) -> None:
    with pytest.raises(UpstreamError) as caught:
        to_messages_response(data, model="m")
    assert caught.value.code == "upstream_malformed_response"


# --- round trips ---------------------------------------------------------------------------


def test_openai_request_round_trip_through_anthropic() -> None:
    original = {
        "model": "claude-x",
        "messages": [
            {"role": "system", "content": "Be brief."},
            user(
                [
                    {"type": "text", "text": "What is in"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ]
            ),
            assistant(None, tool_calls=[call("call_1", "look", '{"where":"left"}')]),
            {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
            assistant("A cat."),
            user("Thanks"),
        ],
        "max_tokens": 100,
        "stop": ["END"],
        "temperature": 0.5,
        "tools": [
            fn_tool("look", description="Look", parameters={"type": "object", "properties": {}})
        ],
        "tool_choice": "auto",
    }
    back = to_openai(to_anthropic(original))
    assert back["messages"] == original["messages"]
    for key in ("max_tokens", "stop", "temperature", "tools", "tool_choice", "model"):
        assert back[key] == original[key]


def test_anthropic_request_round_trip_through_openai() -> None:
    original = {
        "model": "claude-x",
        "max_tokens": 100,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": CACHE}],
        "messages": [
            user(
                [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG},
                    },
                    {"type": "text", "text": "What?"},
                ]
            ),
            assistant(
                [
                    {"type": "thinking", "thinking": "look", "signature": "sig"},
                    {"type": "text", "text": "Looking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "look", "input": {"zoom": 2}},
                ]
            ),
            user(
                [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a cat"},
                    {"type": "text", "text": "so?"},
                ]
            ),
        ],
        "stop_sequences": ["END"],
        "temperature": 0.5,
        "top_k": 3,
        "tools": [
            {
                "name": "look",
                "description": "Look",
                "input_schema": {"type": "object", "properties": {}},
            }
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    back = to_messages_request(to_openai(original), max_tokens=1)
    assert back == original


def test_response_round_trips_keep_text_tools_stops_and_usage() -> None:
    anthropic = anthropic_message(
        [
            {"type": "text", "text": "Done"},
            {"type": "tool_use", "id": "toolu_9", "name": "f", "input": {"k": [1, 2]}},
        ],
        stop_reason="tool_use",
        usage={
            "input_tokens": 7,
            "output_tokens": 3,
            "cache_read_input_tokens": 50,
            "cache_creation_input_tokens": 11,
        },
    )
    again = to_messages_response(to_completion(anthropic), model="claude-x")
    for key in ("id", "content", "stop_reason", "stop_sequence", "usage", "model"):
        assert again[key] == anthropic[key]

    stopped = anthropic_message(
        [{"type": "text", "text": "a"}], stop_reason="stop_sequence", stop_sequence="##"
    )
    again = to_messages_response(to_completion(stopped), model="claude-x")
    assert (again["stop_reason"], again["stop_sequence"]) == ("stop_sequence", "##")

    openai = completion(
        {"content": "Hi", "tool_calls": [call("call_1", "f", '{"a":1}')]}, "tool_calls"
    )
    openai["usage"] = openai_usage_with_cache = {
        "prompt_tokens": 100,
        "completion_tokens": 4,
        "total_tokens": 104,
        "prompt_tokens_details": {"cached_tokens": 60},
        "cache_creation_input_tokens": 30,
        "cache_read_input_tokens": 60,
    }
    back = from_messages_response(to_message(openai), created=1)
    assert back["choices"][0]["message"] == openai["choices"][0]["message"]
    assert back["choices"][0]["finish_reason"] == "tool_calls"
    assert back["usage"] == openai_usage_with_cache


# --- fuzz: malformed input is a client or upstream error, never a crash -------------------

_KEYS = st.sampled_from(
    [
        "role",
        "content",
        "type",
        "text",
        "image_url",
        "url",
        "file",
        "file_data",
        "tool_calls",
        "id",
        "function",
        "name",
        "arguments",
        "tool_call_id",
        "cache_control",
        "thinking_blocks",
        "thinking",
        "signature",
        "data",
        "source",
        "media_type",
        "input",
        "tool_use_id",
        "function_call",
        "messages",
        "tools",
        "tool_choice",
        "response_format",
        "json_schema",
        "schema",
        "parameters",
        "stop",
        "temperature",
        "max_tokens",
        "system",
        "input_schema",
        "choices",
        "message",
        "finish_reason",
        "usage",
        "stop_reason",
        "model",
        "stream",
        "metadata",
        "user_id",
        "n",
        "functions",
        "output_config",
        "format",
        "reasoning_content",
    ]
)
_VALUES = st.sampled_from(
    [
        "user",
        "assistant",
        "system",
        "tool",
        "function",
        "developer",
        "text",
        "image_url",
        "image",
        "file",
        "document",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "base64",
        "url",
        "json_object",
        "json_schema",
        "auto",
        "any",
        "none",
        "required",
        "tool",
        "custom",
        "data:image/png;base64,AAAA",
        "data:application/pdf;base64,AA",
        "https://x.test/a.png",
        '{"a": 1}',
        "{",
        "",
        "stop_sequence",
        "end_turn",
        "tool_calls",
        "application/pdf",
        "image/png",
        "object",
        "json_output",
    ]
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | _VALUES
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=6),
    max_leaves=40,
)
_FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.dictionaries(_KEYS, _JSON, max_size=8))
def test_fuzzed_requests_raise_only_invalid_request(body: dict[str, Any]) -> None:
    for translate in (lambda b: to_messages_request(b, max_tokens=5), from_messages_request):
        try:
            result = translate(body)
        except InvalidRequest:
            continue
        orjson.dumps(result)  # whatever comes out is JSON again


@_FUZZ
@given(st.dictionaries(_KEYS, _JSON, max_size=8), st.booleans())
def test_fuzzed_responses_raise_only_upstream_error(data: dict[str, Any], json_mode: bool) -> None:
    for translate in (
        lambda d: from_messages_response(d, json_mode=json_mode),
        lambda d: to_messages_response(d, model="m"),
    ):
        try:
            result = translate(data)
        except UpstreamError:
            continue
        orjson.dumps(result)


@_FUZZ
@given(
    st.lists(st.dictionaries(_KEYS, _JSON, max_size=6), min_size=1, max_size=4),
    st.lists(st.dictionaries(_KEYS, _JSON, max_size=6), max_size=3),
)
def test_fuzzed_message_lists_raise_only_invalid_request(
    messages: list[Any], blocks: list[Any]
) -> None:
    # Nearer misses than a random body: a valid frame around random messages and blocks.
    for body in (
        {"model": "m", "messages": messages},
        {"model": "m", "messages": [{"role": "user", "content": blocks}, *messages]},
    ):
        for translate in (lambda b: to_messages_request(b, max_tokens=5), from_messages_request):
            with contextlib.suppress(InvalidRequest):
                orjson.dumps(translate({**body, "max_tokens": 3}))
    for data in ({"content": blocks}, {"choices": [{"message": messages[0]}]}):
        with contextlib.suppress(UpstreamError):
            orjson.dumps(from_messages_response(data, json_mode=True))
        with contextlib.suppress(UpstreamError):
            orjson.dumps(to_messages_response(data, model="m"))


def test_input_nested_deeper_than_json_can_be_written_is_a_client_error() -> None:
    deep: Any = {}
    for _ in range(300):
        deep = {"a": deep}
    tool_use = {"type": "tool_use", "id": "t", "name": "f", "input": deep}
    body = {"model": "m", "max_tokens": 5, "messages": [assistant([tool_use])]}
    assert invalid(from_messages_request, body).param == "messages.0.content.0.input"
    with pytest.raises(UpstreamError):
        from_messages_response({"content": [tool_use]})


def test_is_error_survives_a_round_trip_to_an_anthropic_upstream() -> None:
    inbound = from_messages_request(
        {
            "model": "m",
            "max_tokens": 5,
            "messages": [
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_1",
                            "content": "boom",
                            "is_error": True,
                        }
                    ],
                },
            ],
        }
    )
    out = to_messages_request(inbound, max_tokens=10)
    (result,) = out["messages"][2]["content"]
    assert result == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": "boom",
        "is_error": True,
    }


@pytest.mark.parametrize(
    ("effort", "max_tokens", "budget"),
    [("low", 8000, 1024), ("medium", 8000, 4000), ("high", 8000, 4000), ("high", 40000, 16384)],
)
def test_reasoning_effort_turns_on_thinking_within_max_tokens(
    effort: str, max_tokens: int, budget: int
) -> None:
    request = to_anthropic(
        {
            "messages": [user("q")],
            "reasoning_effort": effort,
            "max_completion_tokens": max_tokens,
            "temperature": 0.2,
            "top_k": 5,
            "top_p": 0.5,
        }
    )
    assert request["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert request["max_tokens"] == max_tokens
    # Thinking takes no temperature or top_k, and a top_p of 0.95 or more only.
    assert not {"temperature", "top_k", "top_p"} & set(request)


def test_reasoning_effort_gives_way_to_a_forced_tool_call_or_a_small_budget() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    forced = to_anthropic(
        {
            "messages": [user("q")],
            "reasoning_effort": "high",
            "max_tokens": 8000,
            "tools": [tool],
            "tool_choice": "required",
        }
    )
    assert "thinking" not in forced
    small = to_anthropic({"messages": [user("q")], "reasoning_effort": "high", "max_tokens": 2000})
    assert "thinking" not in small  # half of 2,000 is under Anthropic's least budget
    own = to_anthropic(
        {
            "messages": [user("q")],
            "reasoning_effort": "high",
            "max_tokens": 8000,
            "thinking": {"type": "enabled", "budget_tokens": 2000},
        }
    )
    assert own["thinking"] == {"type": "enabled", "budget_tokens": 2000}  # the client's own wins


def test_reasoning_effort_without_a_limit_adds_its_budget_to_the_default() -> None:
    request = to_anthropic({"messages": [user("q")], "reasoning_effort": "medium"}, max_tokens=4096)
    assert request["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert request["max_tokens"] == 4096 + 4096  # the answer keeps its room


def test_reasoning_effort_stays_off_when_a_tool_loop_lacks_its_thinking_block() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    loop = [
        user("q"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    request = to_anthropic({"messages": loop, "reasoning_effort": "high"})
    assert "thinking" not in request  # Anthropic would refuse the tool_use turn without it
    signed = {"type": "thinking", "thinking": "hm", "signature": "sig"}
    loop[1] = {**loop[1], "thinking_blocks": [signed]}
    request = to_anthropic({"messages": loop, "reasoning_effort": "high"})
    assert request["thinking"]["type"] == "enabled"
