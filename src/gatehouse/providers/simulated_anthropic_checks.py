"""What the simulated Messages API refuses, and with which of Anthropic's messages.

Headers first (``x-api-key``, ``anthropic-version``), then the body: unknown top-level
fields, required fields and their types, message roles and content blocks, system,
tools, tool_choice and thinking. Everything later code reads is checked here, so a
malformed body is a 400 and never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn


class Rejected(Exception):
    """A call the API refuses: HTTP ``status``, Anthropic error ``kind`` and the message."""

    def __init__(
        self, message: str, status: int = 400, kind: str = "invalid_request_error"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind


# The top-level fields the API takes (the SDK's MessageCreateParams, sampling and beta
# fields). Anything else is refused, as Anthropic does: it catches a translation that
# leaks an OpenAI-only field.
FIELDS = frozenset(
    {
        "model", "max_tokens", "messages", "system", "stop_sequences", "stream",
        "temperature", "top_p", "top_k", "tools", "tool_choice", "metadata", "thinking",
        "service_tier", "container", "cache_control", "output_config", "inference_geo",
        "speed", "diagnostics", "mcp_servers", "context_management",
    }
)  # fmt: skip
_TOOL_CHOICES = ("auto", "any", "tool", "none")
_THINKING = ("enabled", "disabled", "adaptive", "between_tools")


def check(headers: Mapping[str, str], body: dict[str, Any]) -> None:
    """Raise ``Rejected`` for a call Anthropic would turn down (headers, then body)."""
    # The SDK sends its key as a bearer token; other clients (and ours) send x-api-key.
    bearer = headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not headers.get("x-api-key") and not bearer:
        raise Rejected("x-api-key header is required", 401, "authentication_error")
    if not headers.get("anthropic-version"):
        _invalid("anthropic-version: header is required")
    for name in body:
        if name not in FIELDS:
            _invalid(f"{name}: Extra inputs are not permitted")
    _check_scalars(body)
    _check_messages(body.get("messages"))
    _check_system(body.get("system"))
    _check_tools(body.get("tools"), body.get("tool_choice"))


def _check_scalars(body: dict[str, Any]) -> None:
    for name in ("model", "max_tokens"):
        if name not in body:
            _invalid(f"{name}: Field required")
    if not isinstance(body["model"], str):
        _invalid("model: Input should be a valid string")
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        _invalid("max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        _invalid("max_tokens: Input should be greater than or equal to 1")
    if not isinstance(body.get("stream", False), bool):
        _invalid("stream: Input should be a valid boolean")
    stops = body.get("stop_sequences", [])
    if not isinstance(stops, list) or not all(isinstance(stop, str) for stop in stops):
        _invalid("stop_sequences: Input should be a valid list of strings")
    thinking = body.get("thinking")
    if thinking is None:
        return
    if not isinstance(thinking, dict) or thinking.get("type") not in _THINKING:
        _invalid("thinking.type: Input tag should be 'enabled', 'disabled' or 'adaptive'")
    if thinking["type"] == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool):
            _invalid("thinking.enabled.budget_tokens: Field required")
        if budget < 1024:
            _invalid(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
            )
        if budget >= max_tokens:
            _invalid("`max_tokens` must be greater than `thinking.budget_tokens`")


def _check_messages(messages: object) -> None:
    if messages is None:
        _invalid("messages: Field required")
    if not isinstance(messages, list):
        _invalid("messages: Input should be a valid list")
    if not messages:
        _invalid("messages: at least one message is required")
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict):
            _invalid(f"{where}: Input should be a valid dictionary")
        if message.get("role") not in ("user", "assistant"):
            _invalid(f"{where}.role: Input should be 'user' or 'assistant'")
        if "content" not in message:
            _invalid(f"{where}.content: Field required")
        content = message["content"]
        final_assistant = i == len(messages) - 1 and message["role"] == "assistant"
        if content in ("", []) and not final_assistant:
            _invalid(
                f"{where}: all messages must have non-empty content except for the optional"
                " final assistant message"
            )
        if not isinstance(content, str):
            _check_blocks(content, f"{where}.content")


def _check_blocks(blocks: object, where: str) -> None:
    if not isinstance(blocks, list):
        _invalid(f"{where}: Input should be a valid list")
    for j, block in enumerate(blocks):
        at = f"{where}.{j}"
        if not isinstance(block, dict):
            _invalid(f"{at}: Input should be a valid dictionary")
        kind = block.get("type")
        if not isinstance(kind, str):
            _invalid(f"{at}.type: Field required")
        if kind == "text" and not isinstance(block.get("text"), str):
            _invalid(f"{at}.text: Field required")
        if kind == "text" and not block["text"]:
            _invalid(f"{at}: text content blocks must be non-empty")
        if kind == "tool_use" and not (
            isinstance(block.get("id"), str)
            and isinstance(block.get("name"), str)
            and isinstance(block.get("input"), dict)
        ):
            _invalid(f"{at}: a tool_use block needs a string id and name and an object input")
        if kind == "tool_result":
            if not isinstance(block.get("tool_use_id"), str):
                _invalid(f"{at}.tool_use_id: Field required")
            if not isinstance(block.get("content", ""), str):
                _check_blocks(block["content"], f"{at}.content")


def _check_system(system: object) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        _invalid("system: Input should be a valid string or list of text blocks")
    for j, block in enumerate(system):
        if not (
            isinstance(block, dict)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        ):
            _invalid(f"system.{j}: Input should be a text block")


def _check_tools(tools: object, choice: object) -> None:
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            _invalid("tools: Input should be a valid list")
        for j, tool in enumerate(tools):
            if not (isinstance(tool, dict) and isinstance(tool.get("name"), str) and tool["name"]):
                _invalid(f"tools.{j}.name: Field required")
            names.append(tool["name"])
    if choice is None:
        return
    if not isinstance(choice, dict) or choice.get("type") not in _TOOL_CHOICES:
        _invalid("tool_choice.type: Input tag should be 'auto', 'any', 'tool' or 'none'")
    if choice["type"] == "tool" and choice.get("name") not in names:
        _invalid(f"tool_choice.name: no tool named {choice.get('name')!r} in tools")


def _invalid(message: str) -> NoReturn:
    raise Rejected(message)
