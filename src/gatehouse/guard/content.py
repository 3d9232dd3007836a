"""Where the text of a request and of a response sits, and how to write it back.

A :class:`Slot` is one string of a body plus its address (a path of keys and indexes)
and who wrote it. Scanners read slots; redaction writes new strings at the same paths
in a copy of the body, so the client's own body is never changed in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

Path = tuple[str | int, ...]

#: Names message indexes (comma-separated, 0-based) whose content the client doesn't
#: vouch for, e.g. retrieved documents pasted into a user turn.
UNTRUSTED_HEADER = "x-gatehouse-untrusted"


@dataclass(frozen=True, slots=True)
class Slot:
    path: Path
    text: str
    role: str
    trusted: bool = True

    @property
    def where(self) -> str:
        """The path as the request log shows it: ``messages[1].content``."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


def request_slots(
    operation: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> list[Slot]:
    """Every string of a request the model will read."""
    slots: list[Slot] = []
    if operation == "chat":
        untrusted = untrusted_indexes(headers)
        messages = body.get("messages")
        if isinstance(messages, list):
            for i, message in enumerate(messages):
                if isinstance(message, dict):
                    role = str(message.get("role") or "user")
                    # Tool results, and the legacy function results before them.
                    trusted = role not in ("tool", "function") and i not in untrusted
                    _message_slots(slots, ("messages", i), message, role, trusted)
        user = body.get("user")  # the end user's id: often an e-mail address
        if isinstance(user, str) and user:
            slots.append(Slot(("user",), user, "user"))
    elif operation == "completions":
        _strings(slots, ("prompt",), body.get("prompt"), "user")
    elif operation == "embeddings":
        _strings(slots, ("input",), body.get("input"), "user")
    return slots


def response_slots(operation: str, data: Mapping[str, Any]) -> list[Slot]:
    """Every string of a (non-streaming) response the model wrote."""
    slots: list[Slot] = []
    choices = data.get("choices")
    if not isinstance(choices, list):
        return slots
    for i, choice in enumerate(choices):
        if not isinstance(choice, dict):
            continue
        if operation == "completions":
            text = choice.get("text")
            if isinstance(text, str):
                slots.append(Slot(("choices", i, "text"), text, "assistant"))
        else:
            message = choice.get("message")
            if isinstance(message, dict):
                _message_slots(slots, ("choices", i, "message"), message, "assistant", True)
    return slots


def _message_slots(
    slots: list[Slot], at: Path, message: dict[str, Any], role: str, trusted: bool
) -> None:
    content = message.get("content")
    if isinstance(content, str):
        slots.append(Slot((*at, "content"), content, role, trusted))
    elif isinstance(content, list):
        for j, part in enumerate(content):
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                slots.append(Slot((*at, "content", j, "text"), part["text"], role, trusted))
    legacy = message.get("function_call")
    if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
        path = (*at, "function_call", "arguments")
        slots.append(Slot(path, legacy["arguments"], role, trusted))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for j, call in enumerate(calls):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                path = (*at, "tool_calls", j, "function", "arguments")
                slots.append(Slot(path, function["arguments"], role, trusted))


def _strings(slots: list[Slot], at: Path, value: Any, role: str) -> None:
    if isinstance(value, str):
        slots.append(Slot(at, value, role))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                slots.append(Slot((*at, i), item, role))


def untrusted_indexes(headers: Mapping[str, str] | None) -> frozenset[int]:
    """The message indexes ``x-gatehouse-untrusted`` names, in every copy of the header."""
    if headers is None:
        return frozenset()
    # Every copy of the header and every index in it counts: one dropped would make its
    # message trusted. (The server bounds a header's size.)
    getall = getattr(headers, "getall", None)
    values = getall(UNTRUSTED_HEADER, []) if getall is not None else [headers.get(UNTRUSTED_HEADER)]
    indexes = (p.strip() for value in values if value for p in value.split(","))
    return frozenset(int(p) for p in indexes if p.isascii() and p.isdigit() and len(p) < 7)


def system_text(body: Mapping[str, Any]) -> str:
    """The text of a chat request's system and developer messages, joined."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    parts: list[str] = []
    for message in messages:
        if isinstance(message, dict) and message.get("role") in ("system", "developer"):
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(
                    p["text"]
                    for p in content
                    if isinstance(p, dict) and isinstance(p.get("text"), str)
                )
    return "\n".join(parts)


def rewritten(body: Mapping[str, Any], changes: dict[Path, str]) -> dict[str, Any]:
    """A deep copy of ``body`` with the strings at ``changes``' paths replaced."""
    copy: dict[str, Any] = orjson.loads(orjson.dumps(body))
    for path, text in changes.items():
        node: Any = copy
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = text
    return copy
