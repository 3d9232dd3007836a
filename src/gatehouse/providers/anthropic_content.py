"""Content parts (OpenAI Chat) and content blocks (Anthropic Messages), one message at a time.

``anthropic_format`` owns the request-level rules (system extraction, role merging,
tools); this module knows what each OpenAI part becomes as an Anthropic block (the other
way is ``anthropic_blocks``) and holds the shape checks both use, so malformed input is
an :class:`InvalidRequest` naming the field.
OpenAI-side paths are written ``messages[0].content[1]``, Anthropic-side paths
``messages.0.content.1``, as each API names them in its own errors.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson

from gatehouse.errors import InvalidRequest

Block = dict[str, Any]

#: The image types Anthropic accepts (anything else is refused upstream anyway).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

_TOOL_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


# --- shape checks ---------------------------------------------------------------------


def expect_object(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"'{param}' must be an object", param=param, code="invalid_type")
    return value


def expect_list(value: Any, param: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidRequest(f"'{param}' must be an array", param=param, code="invalid_type")
    return value


def expect_string(value: Any, param: str, *, nonempty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"'{param}' must be a string", param=param, code="invalid_type")
    if nonempty and not value:
        raise InvalidRequest(f"'{param}' must not be empty", param=param, code="invalid_value")
    return value


def dumps_json(value: Any, param: str) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # nested deeper than orjson writes
        raise InvalidRequest(
            f"'{param}' can't be written back as JSON", param=param, code="invalid_value"
        ) from None


def unsupported(what: str, param: str) -> InvalidRequest:
    return InvalidRequest(what, param=param, code="unsupported_content")


def unsupported_parameter(what: str, param: str) -> InvalidRequest:
    return InvalidRequest(
        f"Anthropic models don't support {what} ('{param}')",
        param=param,
        code="unsupported_parameter",
    )


def kind_name(value: Any) -> str:
    """A type field for a message: short, and safe whatever the client sent."""
    return repr(value)[:40]


# --- OpenAI parts -> Anthropic blocks -----------------------------------------------------


def tool_id(raw: str) -> str:
    """An id Anthropic accepts (``^[a-zA-Z0-9_-]+$``) for a tool call id from any upstream.

    Applied to tool_use and tool_result alike, so a pair still matches after it.
    """
    return _TOOL_ID_UNSAFE.sub("_", raw)


def with_cache(block: Block, source: dict[str, Any], param: str) -> Block:
    """``block`` with the ``cache_control`` of ``source`` (a part, block or message)."""
    control = source.get("cache_control")
    if control is not None:
        block["cache_control"] = expect_object(control, f"{param}.cache_control")
    return block


def mark_last(blocks: list[Block], message: dict[str, Any], param: str) -> list[Block]:
    """Put a message-level ``cache_control`` on its last block (LiteLLM's convention)."""
    if blocks and message.get("cache_control") is not None and "cache_control" not in blocks[-1]:
        blocks[-1] = with_cache(dict(blocks[-1]), message, param)
    return blocks


def drop_blank_text(blocks: list[Block]) -> list[Block]:
    """Without the text blocks Anthropic refuses: empty or whitespace-only ones.

    A cache breakpoint on a dropped block moves to the block before it, so the cached
    prefix stays where the client meant it.
    """
    kept: list[Block] = []
    for block in blocks:
        if block.get("type") != "text" or block["text"].strip():
            kept.append(block)
        elif "cache_control" in block and kept and "cache_control" not in kept[-1]:
            kept[-1] = {**kept[-1], "cache_control": block["cache_control"]}
    return kept


def _text_part(part: dict[str, Any], param: str) -> Block:
    text = expect_string(part.get("text"), f"{param}.text")
    return with_cache({"type": "text", "text": text}, part, param)


def text_blocks(content: Any, param: str, *, refusal: bool = False) -> list[Block]:
    """Text blocks of the content of a system, developer, tool or assistant message."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[Block] = []
    for k, part in enumerate(expect_list(content, param)):
        where = f"{param}[{k}]"
        part = expect_object(part, where)
        kind = part.get("type")
        if kind == "text":
            blocks.append(_text_part(part, where))
        elif kind == "refusal" and refusal:
            text = expect_string(part.get("refusal"), f"{where}.refusal")
            blocks.append(with_cache({"type": "text", "text": text}, part, where))
        else:
            raise unsupported(
                f"'{where}' has type {kind_name(kind)}; only text parts fit here", where
            )
    return blocks


def _data_url(url: str, param: str) -> tuple[str, str]:
    """The media type and base64 payload of a ``data:<media>;base64,<data>`` URL."""
    header, comma, data = url[5:].partition(",")
    media, *options = header.split(";")
    if not comma or not data or "base64" not in (o.strip().lower() for o in options):
        raise InvalidRequest(
            f"'{param}' must be a base64 data URL (data:<media type>;base64,<data>)",
            param=param,
            code="invalid_value",
        )
    return media.strip().lower(), data


def _image_block(part: dict[str, Any], param: str) -> Block:
    image = part.get("image_url")
    # Some clients send the URL itself rather than {"url": ...}.
    url = image.get("url") if isinstance(image, dict) else image
    where = f"{param}.image_url.url" if isinstance(image, dict) else f"{param}.image_url"
    url = expect_string(url, where, nonempty=True)
    lowered = url[:8].lower()
    if lowered.startswith("data:"):
        media, data = _data_url(url, where)
        if media not in IMAGE_TYPES:
            raise unsupported(
                f"Anthropic models accept image/jpeg, image/png, image/gif and image/webp "
                f"images, not {media!r}",
                where,
            )
        source: Block = {"type": "base64", "media_type": media, "data": data}
    elif lowered.startswith(("http://", "https://")):
        source = {"type": "url", "url": url}
    else:
        raise InvalidRequest(
            f"'{where}' must be an http(s) URL or a base64 data URL",
            param=where,
            code="invalid_value",
        )
    return with_cache({"type": "image", "source": source}, part, param)


def _document_block(part: dict[str, Any], param: str) -> Block:
    file = expect_object(part.get("file"), f"{param}.file")
    where = f"{param}.file.file_data"
    if file.get("file_data") is None and file.get("file_id") is not None:
        raise unsupported(
            "OpenAI file ids mean nothing to Anthropic; send the file inline as file_data "
            "(a base64 data URL)",
            f"{param}.file.file_id",
        )
    file_data = expect_string(file.get("file_data"), where, nonempty=True)
    if file_data.startswith("data:"):
        media, data = _data_url(file_data, where)
    else:
        # A bare base64 payload: the filename is the only hint of what it is.
        filename = file.get("filename")
        pdf = isinstance(filename, str) and filename.lower().endswith(".pdf")
        media, data = ("application/pdf" if pdf else "unknown"), file_data
    if media == "application/pdf":
        source: Block = {"type": "base64", "media_type": media, "data": data}
    elif media == "text/plain":
        try:
            text = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise InvalidRequest(
                f"'{where}' is not base64 of UTF-8 text", param=where, code="invalid_value"
            ) from None
        source = {"type": "text", "media_type": media, "data": text}
    else:
        raise unsupported(
            f"Anthropic models accept PDF (application/pdf) and text/plain files, not {media!r}",
            where,
        )
    return with_cache({"type": "document", "source": source}, part, param)


def user_blocks(content: Any, param: str) -> list[Block]:
    """The blocks of an OpenAI user message's content."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if content is None:
        raise InvalidRequest(f"'{param}' is required", param=param, code="missing_field")
    blocks: list[Block] = []
    for k, part in enumerate(expect_list(content, param)):
        where = f"{param}[{k}]"
        part = expect_object(part, where)
        kind = part.get("type")
        if kind == "text":
            blocks.append(_text_part(part, where))
        elif kind == "image_url":
            blocks.append(_image_block(part, where))
        elif kind == "file":
            blocks.append(_document_block(part, where))
        elif kind == "input_audio":
            raise unsupported("Anthropic models don't accept audio input", where)
        else:
            raise unsupported(
                f"content part type {kind_name(kind)} can't be sent to Anthropic models "
                "(text, image_url and file parts can)",
                f"{where}.type",
            )
    return blocks


def parse_arguments(value: Any, param: str) -> dict[str, Any]:
    """A tool call's JSON arguments as the object Anthropic's ``input`` must be."""
    if isinstance(value, dict):
        return value  # some clients send the object itself
    text = expect_string(value, param)
    if not text.strip():
        return {}
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidRequest(
            f"'{param}' must be a JSON object (Anthropic's tool input is an object)",
            param=param,
            code="invalid_value",
        )
    return parsed


def _tool_use(call: Any, param: str) -> Block:
    call = expect_object(call, param)
    kind = call.get("type", "function")
    if kind != "function":
        raise unsupported(
            f"tool call type {kind_name(kind)} can't be sent to Anthropic models", f"{param}.type"
        )
    call_id = expect_string(call.get("id"), f"{param}.id", nonempty=True)
    function = expect_object(call.get("function"), f"{param}.function")
    name = expect_string(function.get("name"), f"{param}.function.name", nonempty=True)
    arguments = parse_arguments(function.get("arguments"), f"{param}.function.arguments")
    return {"type": "tool_use", "id": tool_id(call_id), "name": name, "input": arguments}


def _thinking_blocks(value: Any, param: str) -> list[Block]:
    if value is None:
        return []
    blocks: list[Block] = []
    for k, block in enumerate(expect_list(value, param)):
        where = f"{param}[{k}]"
        block = expect_object(block, where)
        kind = block.get("type")
        if kind == "thinking":
            expect_string(block.get("thinking"), f"{where}.thinking")
            # Anthropic verifies each signature; an unsigned block (reasoning another
            # model produced) can't be replayed, and leaving it out is allowed.
            signature = block.get("signature")
            if isinstance(signature, str) and signature:
                blocks.append(dict(block))
        elif kind == "redacted_thinking":
            expect_string(block.get("data"), f"{where}.data", nonempty=True)
            blocks.append(dict(block))
        else:
            raise InvalidRequest(
                f"'{where}.type' must be 'thinking' or 'redacted_thinking'",
                param=f"{where}.type",
                code="invalid_value",
            )
    return blocks


def assistant_blocks(message: dict[str, Any], param: str, legacy_id: str) -> list[Block]:
    """Thinking, text, then tool_use blocks of an OpenAI assistant message.

    ``legacy_id`` is the id given to a legacy ``function_call``, which has none.
    """
    blocks = _thinking_blocks(message.get("thinking_blocks"), f"{param}.thinking_blocks")
    reasoning = message.get("reasoning_content")
    signed_blank = [b for b in blocks if b["type"] == "thinking" and not b["thinking"]]
    if len(signed_blank) == 1 and isinstance(reasoning, str) and reasoning:
        # A streamed answer, accumulated by an OpenAI client: the thinking text came as
        # reasoning_content deltas and the block only holds the signature.
        signed_blank[0]["thinking"] = reasoning
    blocks += text_blocks(message.get("content"), f"{param}.content", refusal=True)
    calls = message.get("tool_calls")
    if calls is not None:
        where = f"{param}.tool_calls"
        blocks += [_tool_use(c, f"{where}[{j}]") for j, c in enumerate(expect_list(calls, where))]
    legacy = message.get("function_call")
    if legacy is not None:
        where = f"{param}.function_call"
        legacy = expect_object(legacy, where)
        name = expect_string(legacy.get("name"), f"{where}.name", nonempty=True)
        arguments = parse_arguments(legacy.get("arguments"), f"{where}.arguments")
        blocks.append({"type": "tool_use", "id": legacy_id, "name": name, "input": arguments})
    return blocks


def tool_result_block(tool_use_id: str, content: Any, param: str, is_error: bool = False) -> Block:
    """The tool_result block of an OpenAI tool (or legacy function) message.

    Images and files are taken too: OpenAI's spec allows only text here, but Anthropic's
    tool results carry them, and ``/v1/messages`` clients send them this way.
    """
    parts = drop_blank_text(user_blocks(content, param)) if content is not None else []
    block: Block = {"type": "tool_result", "tool_use_id": tool_id(tool_use_id)}
    if any("cache_control" in p or p["type"] != "text" for p in parts):
        block["content"] = parts  # images, files and breakpoints don't fit a string
    elif parts:
        block["content"] = "\n".join(p["text"] for p in parts)
    if is_error:
        block["is_error"] = True
    return block


def expect_number(body: dict[str, Any], key: str, *, integer: bool = False) -> float | int | None:
    """A top-level number field of a request (None when absent)."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        what = "an integer" if integer else "a number"
        raise InvalidRequest(f"'{key}' must be {what}", param=key, code="invalid_type")
    return value


def expect_stream(body: dict[str, Any]) -> bool | None:
    """A request's ``stream`` flag (None when absent)."""
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be true or false", param="stream", code="invalid_type")
    return stream
