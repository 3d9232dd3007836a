"""The gateway's OpenAI-shaped chat call as an Anthropic Messages call, and back.

What the ``anthropic`` provider sends (``to_messages_request``) and how it reads the
answer (``from_messages_response``). The other direction, for ``/v1/messages`` clients,
is ``anthropic_inbound``. Pure functions on dicts; what one part becomes lives in
``anthropic_content``, tools in ``anthropic_tools``, the shared vocabulary (stop reasons,
usage) in ``anthropic_vocab``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from gatehouse.errors import InvalidRequest, UpstreamError
from gatehouse.providers.anthropic_content import (
    Block,
    assistant_blocks,
    drop_blank_text,
    expect_list,
    expect_number,
    expect_object,
    expect_stream,
    expect_string,
    mark_last,
    text_blocks,
    tool_result_block,
    unsupported_parameter,
    user_blocks,
)
from gatehouse.providers.anthropic_tools import RESPONSE_FORMAT_TOOL, add_tools
from gatehouse.providers.anthropic_vocab import (
    finish_reason,
    openai_usage,
)

#: OpenAI parameters Anthropic has no counterpart for, with what to tell the client.
_REFUSED = {
    "logprobs": "log probabilities",
    "top_logprobs": "log probabilities",
    "audio": "audio output",
    "prediction": "predicted outputs",
}


# --- OpenAI request -> Anthropic request --------------------------------------------------


def to_messages_request(body: dict[str, Any], *, max_tokens: int) -> dict[str, Any]:
    """An OpenAI chat request as an Anthropic Messages request (body["model"] kept as is;
    "stream" kept; stream_options dropped). max_tokens: used when the body has neither
    max_completion_tokens nor max_tokens."""
    body = expect_object(body, "body")
    _refuse_unsupported(body)
    system, messages = _anthropic_messages(body.get("messages"))
    request: dict[str, Any] = {"model": body.get("model"), "max_tokens": _max_tokens(body)}
    asked_max = request["max_tokens"] is not None
    if not asked_max:
        request["max_tokens"] = max_tokens
    if system:
        plain = len(system) == 1 and "cache_control" not in system[0]
        request["system"] = system[0]["text"] if plain else system
    request["messages"] = messages
    _copy_sampling(body, request)
    add_tools(body, request)
    stream = expect_stream(body)
    if stream is not None:
        request["stream"] = stream
    thinking = body.get("thinking")
    if thinking is not None:
        request["thinking"] = expect_object(thinking, "thinking")  # Anthropic's own shape
    else:
        _think_as_asked(body.get("reasoning_effort"), request, asked_max)
    return request


#: OpenAI's ``reasoning_effort`` as a budget of Anthropic thinking tokens (Anthropic's
#: least is 1,024).
EFFORT_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}


def _think_as_asked(effort: Any, request: dict[str, Any], asked_max: bool) -> None:
    """Turn on extended thinking for an OpenAI client's ``reasoning_effort``.

    OpenAI's ``max_completion_tokens`` bounds reasoning and answer together, as
    Anthropic's ``max_tokens`` does: a client's limit is kept, and thinking may take half
    of it. Without one, the budget is added to the default, so the answer keeps its room.
    No thinking when that leaves under 1,024 tokens to think in, when a tool call is
    forced (Anthropic refuses that while thinking), or when the last assistant turn
    called tools without a thinking block (Anthropic wants one there: an OpenAI client
    that didn't keep it can't continue the tool loop with thinking on). Thinking also
    takes no temperature or top_k, and a top_p of 0.95 or more only: those are dropped.
    """
    if not isinstance(effort, str) or effort not in EFFORT_BUDGETS:
        return
    budget = EFFORT_BUDGETS[effort]
    if asked_max:
        budget = min(budget, request["max_tokens"] // 2)
    choice = request.get("tool_choice")
    if (
        budget < 1024
        or (isinstance(choice, dict) and choice.get("type") in ("any", "tool"))
        or _tools_called_without_thinking(request["messages"])
    ):
        return
    if not asked_max:
        request["max_tokens"] += budget
    request["thinking"] = {"type": "enabled", "budget_tokens": budget}
    request.pop("temperature", None)
    request.pop("top_k", None)
    if request.get("top_p", 1) < 0.95:
        del request["top_p"]


def _tools_called_without_thinking(messages: list[dict[str, Any]]) -> bool:
    last = next((m for m in reversed(messages) if m["role"] == "assistant"), None)
    if last is None or not isinstance(last["content"], list) or not last["content"]:
        return False
    blocks = last["content"]
    called = any(b.get("type") == "tool_use" for b in blocks)
    return called and blocks[0].get("type") not in ("thinking", "redacted_thinking")


def _refuse_unsupported(body: dict[str, Any]) -> None:
    n = body.get("n")
    if n is not None and n != 1:
        if type(n) is int and n > 1:
            raise unsupported_parameter("more than one choice per request", "n")
        raise InvalidRequest("'n' must be a positive integer", param="n", code="invalid_value")
    for key, what in _REFUSED.items():
        value = body.get(key)
        # top_logprobs 0 and logprobs false ask for nothing, so they pass.
        if value is not None and value is not False and value != 0:
            raise unsupported_parameter(what, key)
    modalities = body.get("modalities")
    if isinstance(modalities, list) and "audio" in modalities:
        raise unsupported_parameter("audio output", "modalities")


def _max_tokens(body: dict[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if type(value) is not int or value < 1:
            raise InvalidRequest(
                f"'{key}' must be an integer of at least 1", param=key, code="invalid_value"
            )
        return value
    return None


def _anthropic_messages(raw: Any) -> tuple[list[Block], list[dict[str, Any]]]:
    """The system blocks and the role-alternating messages of OpenAI's message list."""
    if raw is None:
        raise InvalidRequest("'messages' is required", param="messages", code="missing_field")
    system: list[Block] = []
    turns: list[tuple[str, list[Block]]] = []
    legacy_ids: dict[str, str] = {}  # function name -> id given to its legacy function_call
    for i, message in enumerate(expect_list(raw, "messages")):
        where = f"messages[{i}]"
        message = expect_object(message, where)
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            blocks = text_blocks(content, f"{where}.content")
            system += mark_last(drop_blank_text(blocks), message, where)
            continue
        if role == "user":
            blocks = user_blocks(content, f"{where}.content")
        elif role == "assistant":
            blocks = assistant_blocks(message, where, legacy_id=f"call_{i}")
            legacy = message.get("function_call")
            if isinstance(legacy, dict):
                legacy_ids[legacy["name"]] = f"call_{i}"
        elif role == "tool":
            call_id = expect_string(
                message.get("tool_call_id"), f"{where}.tool_call_id", nonempty=True
            )
            error = message.get("is_error") is True  # a /v1/messages client's, carried
            blocks = [tool_result_block(call_id, content, f"{where}.content", error)]
        elif role == "function":
            name = expect_string(message.get("name"), f"{where}.name", nonempty=True)
            call_id = legacy_ids.pop(name, "")
            if not call_id:
                raise InvalidRequest(
                    f"'{where}' is the result of function {name!r}, but no earlier assistant "
                    "message called it",
                    param=f"{where}.name",
                    code="invalid_value",
                )
            blocks = [tool_result_block(call_id, content, f"{where}.content")]
        else:
            raise InvalidRequest(
                f"'{where}.role' must be system, developer, user, assistant, tool or function",
                param=f"{where}.role",
                code="invalid_value",
            )
        blocks = mark_last(drop_blank_text(blocks), message, where)
        side = "assistant" if role == "assistant" else "user"
        if not blocks:
            continue  # Anthropic refuses a message without content
        if turns and turns[-1][0] == side:
            turns[-1][1].extend(blocks)  # Anthropic wants the roles to alternate
        else:
            turns.append((side, blocks))
    if not turns:
        raise InvalidRequest(
            "Anthropic models need at least one user or assistant message with content",
            param="messages",
            code="invalid_value",
        )
    return system, [
        _anthropic_message(side, blocks, last=turns[-1][1] is blocks) for side, blocks in turns
    ]


def _anthropic_message(side: str, blocks: list[Block], *, last: bool) -> dict[str, Any]:
    if side == "user":
        # Anthropic wants a user turn's tool results ahead of anything else in it.
        blocks = [b for b in blocks if b["type"] == "tool_result"] + [
            b for b in blocks if b["type"] != "tool_result"
        ]
    elif last and blocks[-1]["type"] == "text":
        # A final (prefill) assistant turn may not end in whitespace; the text is non-blank.
        blocks[-1] = {**blocks[-1], "text": blocks[-1]["text"].rstrip()}
    if len(blocks) == 1 and blocks[0]["type"] == "text" and "cache_control" not in blocks[0]:
        return {"role": side, "content": blocks[0]["text"]}
    return {"role": side, "content": blocks}


def _copy_sampling(body: dict[str, Any], request: dict[str, Any]) -> None:
    temperature = expect_number(body, "temperature")
    if temperature is not None:
        # OpenAI allows up to 2, Anthropic refuses anything above 1.
        request["temperature"] = min(max(temperature, 0), 1)
    for key, integer in (("top_p", False), ("top_k", True)):
        value = expect_number(body, key, integer=integer)
        if value is not None:
            request[key] = value
    stop = body.get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else expect_list(stop, "stop")
        for k, value in enumerate(stops):
            expect_string(value, f"stop[{k}]" if isinstance(stop, list) else "stop")
        if stops:
            request["stop_sequences"] = stops
    user = body.get("user")
    if user is not None and expect_string(user, "user"):
        request["metadata"] = {"user_id": user}


# --- Anthropic response -> OpenAI response ------------------------------------------------


def _malformed(what: str) -> UpstreamError:
    return UpstreamError(
        f"the Anthropic response is malformed: {what}", code="upstream_malformed_response"
    )


def _dumps(value: Any, what: str) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        raise _malformed(f"{what} can't be written as JSON") from None


def from_messages_response(
    data: dict[str, Any], *, created: int | None = None, json_mode: bool = False
) -> dict[str, Any]:
    """An Anthropic Messages response as an OpenAI chat.completion dict.
    json_mode: the request's response_format was emulated with RESPONSE_FORMAT_TOOL."""
    if not isinstance(data, dict):
        raise _malformed("the body is not an object")
    content = data.get("content")
    if not isinstance(content, list):
        raise _malformed("'content' is not a list")
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    thinking: list[dict[str, Any]] = []
    json_text: str | None = None
    for k, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(_upstream_string(block, "text", k))
        elif kind == "tool_use":
            name = _upstream_string(block, "name", k)
            arguments = block.get("input")
            if not isinstance(arguments, dict):
                raise _malformed(f"content[{k}].input is not an object")
            if json_mode and name == RESPONSE_FORMAT_TOOL:
                json_text = _dumps(arguments, f"content[{k}].input")
                continue
            function = {"name": name, "arguments": _dumps(arguments, f"content[{k}].input")}
            call_id = _upstream_string(block, "id", k)
            calls.append({"id": call_id, "type": "function", "function": function})
        elif kind == "thinking":
            _upstream_string(block, "thinking", k)
            thinking.append(block)
        elif kind == "redacted_thinking":
            thinking.append(block)
        elif not isinstance(kind, str):
            raise _malformed(f"content[{k}] is not a typed block")
        # Other block types (server tools' results) have no OpenAI counterpart.
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if json_text is not None:
        message["content"] = json_text  # the JSON alone: a preamble would break parsing
    elif texts:
        message["content"] = "".join(texts)
    if calls:
        message["tool_calls"] = calls
    reasoning = [b["thinking"] for b in thinking if b["type"] == "thinking"]
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if thinking:
        message["thinking_blocks"] = thinking
    reason = data.get("stop_reason")
    finish = finish_reason(reason)
    if json_text is not None and not calls and finish == "tool_calls":
        finish = "stop"  # the JSON tool call is the answer, not a call for the client
    sequence = data.get("stop_sequence")
    if reason != "stop_sequence" or not isinstance(sequence, str):
        sequence = None
    upstream_id = data.get("id")
    if not isinstance(upstream_id, str):
        upstream_id = uuid.uuid4().hex
    model = data.get("model")
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": finish,
        "stop_reason": sequence,  # vLLM's field: the stop string that ended the answer
    }
    return {
        "id": f"chatcmpl-{upstream_id}",
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model if isinstance(model, str) else "",
        "choices": [choice],
        "usage": openai_usage(data.get("usage")),
    }


def _upstream_string(block: dict[str, Any], key: str, k: int) -> str:
    value = block.get(key)
    if not isinstance(value, str):
        raise _malformed(f"content[{k}].{key} is not a string")
    return value
