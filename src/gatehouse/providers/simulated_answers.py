"""What the simulated upstream answers: OpenAI-shaped bodies built from a request."""

from __future__ import annotations

import base64
import hashlib
import random
import struct
import time
from typing import Any

import orjson

WORDS = (
    "Gatehouse",
    " routes",
    ",",
    " observes",
    " and",
    " guards",
    " every",
    " call",
    " to",
    " your",
    " models",
    ".",
    " This",
    " reply",
    " is",
    " simulated",
)


def short_id() -> str:
    return f"{random.getrandbits(64):016x}"


def prompt_tokens(body: dict[str, Any]) -> int:
    text = body.get("messages") or body.get("prompt") or body.get("input") or ""
    return max(1, len(orjson.dumps(text)) // 4)


def usage(body: dict[str, Any], completion: int) -> dict[str, int]:
    prompt = prompt_tokens(body)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def hit_limit(body: dict[str, Any], tokens: int) -> bool:
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    return isinstance(limit, int) and tokens >= limit


def text(tokens: int) -> str:
    return "".join(WORDS[i % len(WORDS)] for i in range(tokens))


def wants_tool_call(body: dict[str, Any]) -> bool:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    return bool(tools) and (choice == "required" or isinstance(choice, dict))


def tool_call(body: dict[str, Any], index: bool = False) -> dict[str, Any]:
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name", "tool")
    else:
        name = body["tools"][0].get("function", {}).get("name", "tool")
    call: dict[str, Any] = {
        "id": "call_" + short_id(),
        "type": "function",
        "function": {"name": name, "arguments": '{"simulated": true}'},
    }
    if index:
        call["index"] = 0
    return call


def last_text(body: dict[str, Any], index: int = -1) -> str:
    """The last message's text, or message ``index``'s (or the prompt): what an echo
    answer repeats."""
    messages = body.get("messages")
    if isinstance(messages, list) and -len(messages) <= index < len(messages):
        content = messages[index].get("content") if isinstance(messages[index], dict) else None
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return content if isinstance(content, str) else ""
    prompt = body.get("prompt")
    return prompt if isinstance(prompt, str) else ""


def chat_response(body: dict[str, Any], model: str, tokens: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text(tokens), "refusal": None}
    finish = "length" if hit_limit(body, tokens) else "stop"
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        message["content"] = orjson.dumps({"reply": text(tokens)}).decode()
    if wants_tool_call(body):
        message = {"role": "assistant", "content": None, "tool_calls": [tool_call(body)]}
        finish = "tool_calls"
    return {
        "id": "chatcmpl-" + short_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage(body, tokens),
    }


def completion_response(body: dict[str, Any], model: str, tokens: int) -> dict[str, Any]:
    finish = "length" if hit_limit(body, tokens) else "stop"
    return {
        "id": "cmpl-" + short_id(),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "text": text(tokens), "logprobs": None, "finish_reason": finish}],
        "usage": usage(body, tokens),
    }


def embedding_response(body: dict[str, Any], model: str) -> dict[str, Any]:
    inputs = body.get("input")
    items = (
        inputs
        if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int)
        else [inputs]
    )
    dims = body.get("dimensions")
    if not isinstance(dims, int) or dims < 1:
        dims = 8
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for i, item in enumerate(items):
        values = vector(orjson.dumps(item), dims)
        embedding: Any = (
            base64.b64encode(struct.pack(f"<{dims}f", *values)).decode() if as_base64 else values
        )
        data.append({"object": "embedding", "index": i, "embedding": embedding})
    prompt = prompt_tokens(body)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }


def vector(seed: bytes, dims: int) -> list[float]:
    """A deterministic unit vector for an input, so equal inputs embed equally."""
    out: list[float] = []
    counter = 0
    while len(out) < dims:
        digest = hashlib.sha256(seed + counter.to_bytes(4, "little")).digest()
        out.extend((b - 127.5) / 127.5 for b in digest)
        counter += 1
    out = out[:dims]
    norm = sum(v * v for v in out) ** 0.5 or 1.0
    return [round(v / norm, 6) for v in out]
