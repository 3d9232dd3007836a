"""Anthropic content blocks as OpenAI parts and messages, for ``/v1/messages`` clients.

What one user, assistant or system turn of a Messages request becomes in the gateway's
OpenAI shape; ``anthropic_inbound`` puts the turns together. The other direction (OpenAI
parts to Anthropic blocks) is ``anthropic_content``, whose shape checks both use.
"""

from __future__ import annotations

from typing import Any

from gatehouse.errors import InvalidRequest
from gatehouse.providers.anthropic_content import (
    dumps_json,
    expect_list,
    expect_object,
    expect_string,
    kind_name,
    unsupported,
    with_cache,
)


def _block(value: Any, param: str) -> tuple[dict[str, Any], Any]:
    block = expect_object(value, param)
    return block, block.get("type")


def _text(block: dict[str, Any], param: str) -> str:
    return expect_string(block.get("text"), f"{param}.text")


def _image_part(block: dict[str, Any], param: str) -> dict[str, Any]:
    source = expect_object(block.get("source"), f"{param}.source")
    kind = source.get("type")
    if kind == "base64":
        media = expect_string(source.get("media_type"), f"{param}.source.media_type", nonempty=True)
        data = expect_string(source.get("data"), f"{param}.source.data", nonempty=True)
        url = f"data:{media};base64,{data}"
    elif kind == "url":
        url = expect_string(source.get("url"), f"{param}.source.url", nonempty=True)
    else:
        raise unsupported(
            f"image source type {kind_name(kind)} is not supported through the gateway "
            "(base64 and url are)",
            f"{param}.source.type",
        )
    return with_cache({"type": "image_url", "image_url": {"url": url}}, block, param)


def _document_part(block: dict[str, Any], param: str) -> dict[str, Any]:
    source = expect_object(block.get("source"), f"{param}.source")
    kind, media = source.get("type"), source.get("media_type")
    data = source.get("data")
    if kind == "base64" and media == "application/pdf":
        data = expect_string(data, f"{param}.source.data", nonempty=True)
        file = {"file_data": f"data:application/pdf;base64,{data}", "filename": "document.pdf"}
        part: dict[str, Any] = {"type": "file", "file": file}
    elif kind == "text":
        part = {"type": "text", "text": expect_string(data, f"{param}.source.data")}
    else:
        raise unsupported(
            "only base64 PDF and plain-text documents are supported through the gateway",
            f"{param}.source",
        )
    return with_cache(part, block, param)


def _tool_message(block: dict[str, Any], param: str) -> dict[str, Any]:
    call_id = expect_string(block.get("tool_use_id"), f"{param}.tool_use_id", nonempty=True)
    content = block.get("content")
    result: str | list[dict[str, Any]]
    if content is None or isinstance(content, str):
        result = content or ""
    else:
        parts: list[dict[str, Any]] = []
        where = f"{param}.content"
        for k, item in enumerate(expect_list(content, where)):
            item, kind = _block(item, f"{where}.{k}")
            if kind == "text":
                parts.append({"type": "text", "text": _text(item, f"{where}.{k}")})
            elif kind == "image":
                parts.append(_image_part(item, f"{where}.{k}"))
            else:
                raise unsupported(
                    f"tool_result content of type {kind_name(kind)} is not supported through the "
                    "gateway (text and image are)",
                    f"{where}.{k}.type",
                )
        if any(p["type"] != "text" for p in parts):
            result = parts
        else:
            result = "\n".join(p["text"] for p in parts)
    message: dict[str, Any] = {"role": "tool", "tool_call_id": call_id, "content": result}
    if block.get("is_error") is True:
        # No OpenAI counterpart: kept for an Anthropic upstream, dropped before another.
        message["is_error"] = True
    return with_cache(message, block, param)


def _compact(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """A lone plain text part as a string: the form every OpenAI-compatible server reads."""
    if len(parts) == 1 and parts[0]["type"] == "text" and "cache_control" not in parts[0]:
        text: str = parts[0]["text"]
        return text
    return parts


def openai_user_messages(content: Any, param: str) -> list[dict[str, Any]]:
    """An Anthropic user message as OpenAI messages: its tool results, then the rest."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for k, item in enumerate(expect_list(content, param)):
        where = f"{param}.{k}"
        block, kind = _block(item, where)
        if kind == "text":
            parts.append(with_cache({"type": "text", "text": _text(block, where)}, block, where))
        elif kind == "image":
            parts.append(_image_part(block, where))
        elif kind == "document":
            parts.append(_document_part(block, where))
        elif kind == "tool_result":
            tools.append(_tool_message(block, where))
        else:
            raise unsupported(
                f"{kind_name(kind)} blocks in user messages are not supported through the gateway",
                f"{where}.type",
            )
    if parts:
        tools.append({"role": "user", "content": _compact(parts)})
    return tools


def openai_assistant_message(content: Any, param: str) -> dict[str, Any]:
    """An Anthropic assistant message as an OpenAI one (thinking kept LiteLLM's way)."""
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    thinking: list[dict[str, Any]] = []
    for k, item in enumerate(expect_list(content, param)):
        where = f"{param}.{k}"
        block, kind = _block(item, where)
        if kind == "text":
            texts.append(with_cache({"type": "text", "text": _text(block, where)}, block, where))
        elif kind == "tool_use":
            call_id = expect_string(block.get("id"), f"{where}.id", nonempty=True)
            name = expect_string(block.get("name"), f"{where}.name", nonempty=True)
            arguments = expect_object(block.get("input"), f"{where}.input")
            function = {"name": name, "arguments": dumps_json(arguments, f"{where}.input")}
            calls.append({"id": call_id, "type": "function", "function": function})
        elif kind == "thinking":
            expect_string(block.get("thinking"), f"{where}.thinking")
            thinking.append(block)
        elif kind == "redacted_thinking":
            expect_string(block.get("data"), f"{where}.data")
            thinking.append(block)
        else:
            raise unsupported(
                f"{kind_name(kind)} blocks in assistant messages are not supported through "
                "the gateway",
                f"{where}.type",
            )
    message: dict[str, Any] = {"role": "assistant"}
    if any("cache_control" in t for t in texts):
        message["content"] = texts
    elif texts:
        message["content"] = "".join(t["text"] for t in texts)
    else:
        message["content"] = None if calls else ""
    if calls:
        message["tool_calls"] = calls
    if thinking:
        message["thinking_blocks"] = thinking
        reasoning = "".join(b["thinking"] for b in thinking if b.get("type") == "thinking")
        if reasoning:
            message["reasoning_content"] = reasoning
    return message


def openai_system_message(system: Any, param: str) -> dict[str, Any] | None:
    """Anthropic's top-level ``system`` as a first OpenAI system message (None if empty)."""
    if isinstance(system, str):
        return {"role": "system", "content": system} if system else None
    parts: list[dict[str, Any]] = []
    for k, item in enumerate(expect_list(system, param)):
        where = f"{param}.{k}"
        block, kind = _block(item, where)
        if kind != "text":
            raise InvalidRequest(
                f"'{where}.type' must be 'text'", param=f"{where}.type", code="invalid_value"
            )
        parts.append(with_cache({"type": "text", "text": _text(block, where)}, block, where))
    if not parts:
        return None
    if any("cache_control" in p for p in parts):
        return {"role": "system", "content": parts}
    return {"role": "system", "content": "\n".join(p["text"] for p in parts)}
