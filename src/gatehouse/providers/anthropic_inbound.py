"""An Anthropic Messages call from a client as the gateway's OpenAI shape, and back.

What ``POST /v1/messages`` does with a request (``from_messages_request``) and with the
gateway's answer (``to_messages_response``). The provider's direction is
``anthropic_format``; blocks and parts are translated in ``anthropic_content``.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from gatehouse.errors import InvalidRequest, UpstreamError
from gatehouse.providers.anthropic_blocks import (
    openai_assistant_message,
    openai_system_message,
    openai_user_messages,
)
from gatehouse.providers.anthropic_content import (
    Block,
    expect_list,
    expect_number,
    expect_object,
    expect_stream,
    expect_string,
)
from gatehouse.providers.anthropic_vocab import anthropic_usage, stop_reason

# --- Anthropic request -> OpenAI request (the inbound /v1/messages) ----------------------


def from_messages_request(body: dict[str, Any], origins: list[int] | None = None) -> dict[str, Any]:
    """An Anthropic Messages request (as a client sent it to our /v1/messages) as an OpenAI
    chat request. Validates what the gateway relies on; InvalidRequest otherwise.

    ``origins``, when given, is filled with the index of the client's message each OpenAI
    message came from (-1: the system prompt): one user turn may become several messages
    (its tool results, then its text), so the indexes differ.
    """
    body = expect_object(body, "body")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest(
            "'model' is required: a non-empty string", param="model", code="missing_model"
        )
    max_tokens = body.get("max_tokens")
    if type(max_tokens) is not int or max_tokens < 1:
        raise InvalidRequest(
            "'max_tokens' is required: an integer of at least 1",
            param="max_tokens",
            code="invalid_value",
        )
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest(
            "'messages' is required: a non-empty array", param="messages", code="missing_field"
        )
    messages: list[dict[str, Any]] = []
    if body.get("system") is not None:
        system = openai_system_message(body["system"], "system")
        if system is not None:
            messages.append(system)
            if origins is not None:
                origins.append(-1)
    for i, message in enumerate(raw):
        where = f"messages.{i}"
        message = expect_object(message, where)
        role, content = message.get("role"), message.get("content")
        if not isinstance(content, str | list):
            raise InvalidRequest(
                f"'{where}.content' must be a string or an array of content blocks",
                param=f"{where}.content",
                code="invalid_type",
            )
        if role == "user":
            turn = openai_user_messages(content, f"{where}.content")
        elif role == "assistant":
            turn = [openai_assistant_message(content, f"{where}.content")]
        else:
            raise InvalidRequest(
                f"'{where}.role' must be 'user' or 'assistant'",
                param=f"{where}.role",
                code="invalid_value",
            )
        messages += turn
        if origins is not None:
            origins += [i] * len(turn)
    request: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": max_tokens}
    _copy_anthropic_options(body, request)
    tools = body.get("tools")
    if tools is not None:
        request["tools"] = [
            _openai_tool(t, f"tools.{j}") for j, t in enumerate(expect_list(tools, "tools"))
        ]
    if body.get("tool_choice") is not None:
        _set_openai_tool_choice(expect_object(body["tool_choice"], "tool_choice"), request)
    return request


def _copy_anthropic_options(body: dict[str, Any], request: dict[str, Any]) -> None:
    for key, integer in (("temperature", False), ("top_p", False), ("top_k", True)):
        value = expect_number(body, key, integer=integer)
        if value is not None:
            request[key] = value
    stops = body.get("stop_sequences")
    if stops is not None:
        for k, value in enumerate(expect_list(stops, "stop_sequences")):
            expect_string(value, f"stop_sequences.{k}")
        if stops:
            request["stop"] = stops
    metadata = body.get("metadata")
    if metadata is not None:
        user = expect_object(metadata, "metadata").get("user_id")
        if user is not None and expect_string(user, "metadata.user_id"):
            request["user"] = user
    stream = expect_stream(body)
    if stream is not None:
        request["stream"] = stream
        if stream:
            # The Anthropic event stream ends with the usage, so ask every upstream for it.
            request["stream_options"] = {"include_usage": True}
    thinking = body.get("thinking")
    if thinking is not None:
        request["thinking"] = expect_object(thinking, "thinking")
    output = body.get("output_config")
    fmt = expect_object(output, "output_config").get("format") if output is not None else None
    if fmt is not None:
        # Anthropic's structured outputs are OpenAI's json_schema response format.
        fmt = expect_object(fmt, "output_config.format")
        schema = expect_object(fmt.get("schema"), "output_config.format.schema")
        spec = {"name": "output", "schema": schema}
        request["response_format"] = {"type": "json_schema", "json_schema": spec}


def _openai_tool(tool: Any, param: str) -> dict[str, Any]:
    tool = expect_object(tool, param)
    kind = tool.get("type")
    if kind not in (None, "custom"):
        raise InvalidRequest(
            f"server tools are not supported through the gateway ('{param}' is {str(kind)[:40]!r})",
            param=f"{param}.type",
            code="unsupported_parameter",
        )
    name = expect_string(tool.get("name"), f"{param}.name", nonempty=True)
    function: dict[str, Any] = {"name": name}
    description = tool.get("description")
    if description is not None:
        function["description"] = expect_string(description, f"{param}.description")
    function["parameters"] = expect_object(tool.get("input_schema"), f"{param}.input_schema")
    out: dict[str, Any] = {"type": "function", "function": function}
    control = tool.get("cache_control")
    if control is not None:
        out["cache_control"] = expect_object(control, f"{param}.cache_control")
    return out


def _set_openai_tool_choice(choice: dict[str, Any], request: dict[str, Any]) -> None:
    kind = choice.get("type")
    if kind in ("auto", "none"):
        request["tool_choice"] = kind
    elif kind == "any":
        request["tool_choice"] = "required"
    elif kind == "tool":
        name = expect_string(choice.get("name"), "tool_choice.name", nonempty=True)
        request["tool_choice"] = {"type": "function", "function": {"name": name}}
    else:
        raise InvalidRequest(
            "'tool_choice.type' must be auto, any, tool or none",
            param="tool_choice.type",
            code="invalid_value",
        )
    if kind != "none" and choice.get("disable_parallel_tool_use") is True:
        request["parallel_tool_calls"] = False


# --- OpenAI response -> Anthropic response ------------------------------------------------


def _malformed_openai(what: str) -> UpstreamError:
    return UpstreamError(
        f"the upstream's chat completion is malformed: {what}", code="upstream_malformed_response"
    )


def to_messages_response(data: dict[str, Any], *, model: str) -> dict[str, Any]:
    """An OpenAI chat.completion (what the gateway would return to an OpenAI client) as an
    Anthropic Messages response. model: the public model name the client asked for."""
    if not isinstance(data, dict):
        raise _malformed_openai("the body is not an object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _malformed_openai("'choices' has no first choice")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise _malformed_openai("choices[0].message is not an object")
    content = _thinking_content(message) + _text_content(message.get("content"))
    content += _tool_use_content(message)
    reason = stop_reason(choice.get("finish_reason"), choice.get("stop_reason")) or "end_turn"
    if reason == "end_turn" and any(b["type"] == "tool_use" for b in content):
        reason = "tool_use"  # some servers say "stop" with tool calls; clients key on tool_use
    upstream_id = data.get("id")
    if isinstance(upstream_id, str) and upstream_id:
        bare = upstream_id.removeprefix("chatcmpl-")
        message_id = bare if bare.startswith("msg_") else f"msg_{bare}"
    else:
        message_id = f"msg_{uuid.uuid4().hex}"
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": choice.get("stop_reason") if reason == "stop_sequence" else None,
        "usage": anthropic_usage(data.get("usage")),
    }


def _thinking_content(message: dict[str, Any]) -> list[Block]:
    blocks = message.get("thinking_blocks")
    if isinstance(blocks, list) and blocks:
        if not all(
            isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking")
            for b in blocks
        ):
            raise _malformed_openai("choices[0].message.thinking_blocks holds a non-thinking block")
        return list(blocks)
    # Reasoning from an OpenAI-compatible server (vLLM, DeepSeek…) has no signature; shown
    # all the same, and dropped if the client sends it back to an Anthropic model.
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        return [{"type": "thinking", "thinking": reasoning, "signature": ""}]
    return []


def _text_content(content: Any) -> list[Block]:
    if isinstance(content, list):  # some servers answer with text parts
        content = "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    if isinstance(content, str) and content:
        return [{"type": "text", "text": content}]
    if content is None or content == "":
        return []
    raise _malformed_openai("choices[0].message.content is neither text nor null")


def _tool_use_content(message: dict[str, Any]) -> list[Block]:
    calls = message.get("tool_calls")
    if calls is None:
        calls = []
    if not isinstance(calls, list):
        raise _malformed_openai("choices[0].message.tool_calls is not a list")
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        calls = [*calls, {"id": f"call_{uuid.uuid4().hex[:24]}", "function": legacy}]
    blocks: list[Block] = []
    for j, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise _malformed_openai(f"choices[0].message.tool_calls[{j}] has no function")
        name, call_id = function.get("name"), call.get("id")
        if not isinstance(name, str) or not isinstance(call_id, str):
            raise _malformed_openai(f"choices[0].message.tool_calls[{j}] has no id or name")
        arguments = _tool_input(function.get("arguments"))
        blocks.append({"type": "tool_use", "id": call_id, "name": name, "input": arguments})
    return blocks


def _tool_input(arguments: Any) -> dict[str, Any]:
    """Parsed arguments; text that is not a JSON object is kept whole under ``_raw``.

    Small models do write broken JSON. ``{}`` would let the client run the tool with
    no arguments as if that were meant; ``_raw`` fails its schema check visibly instead
    and keeps what the model wrote.
    """
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"_raw": arguments}
