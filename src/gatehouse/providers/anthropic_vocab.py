"""The words the two APIs use for the same things: stop reasons, usage, error types.

Shared by the request/response translation (``anthropic_format``), the stream
translation (``anthropic_stream``) and the ``/v1/messages`` endpoint, so each mapping
exists once.
"""

from __future__ import annotations

from typing import Any

#: A key of the gateway's OpenAI-shaped body that ``/v1/messages`` sets: the body may
#: carry Anthropic's own fields (``cache_control``, ``thinking``, ``thinking_blocks``),
#: which the ``openai`` adapter then drops. A body without it passes untouched.
FROM_MESSAGES = "_gatehouse_from_messages"

#: Anthropic ``stop_reason`` → OpenAI ``finish_reason``.
FINISH_REASONS: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

#: OpenAI ``finish_reason`` → Anthropic ``stop_reason``.
STOP_REASONS: dict[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def finish_reason(stop_reason: Any) -> str | None:
    """The OpenAI finish reason of an Anthropic stop reason (None while unknown)."""
    if stop_reason is None:
        return None
    return FINISH_REASONS.get(str(stop_reason), "stop")


def stop_reason(finish: Any, stop_sequence: Any = None) -> str | None:
    """The Anthropic stop reason of an OpenAI finish reason.

    ``stop_sequence`` is the matched stop string when the upstream said which (vLLM's
    ``stop_reason`` field, which the Anthropic adapter fills in too): then the reason
    is ``stop_sequence`` rather than ``end_turn``.
    """
    if finish is None:
        return None
    if finish == "stop" and isinstance(stop_sequence, str):
        return "stop_sequence"
    return STOP_REASONS.get(str(finish), "end_turn")


def _int(value: Any) -> int:
    return value if type(value) is int and value > 0 else 0


def openai_usage(usage: Any) -> dict[str, Any]:
    """Anthropic's usage object in OpenAI's shape.

    Anthropic's ``input_tokens`` leaves out cache reads and writes; OpenAI's
    ``prompt_tokens`` counts every input token, with the cache reads in
    ``prompt_tokens_details.cached_tokens``. Anthropic's own two cache fields are kept
    beside them, so cost (cache writes are dearer) and a translation back lose nothing.
    """
    if not isinstance(usage, dict):
        usage = {}
    read = _int(usage.get("cache_read_input_tokens"))
    write = _int(usage.get("cache_creation_input_tokens"))
    prompt = _int(usage.get("input_tokens")) + read + write
    completion = _int(usage.get("output_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": read},
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
    }


def anthropic_usage(usage: Any) -> dict[str, Any]:
    """OpenAI's usage object in Anthropic's shape (the inverse of :func:`openai_usage`)."""
    if not isinstance(usage, dict):
        usage = {}
    read = _int(usage.get("cache_read_input_tokens"))
    if not read:
        details = usage.get("prompt_tokens_details")
        if isinstance(details, dict):
            read = _int(details.get("cached_tokens"))
    write = _int(usage.get("cache_creation_input_tokens"))
    prompt = _int(usage.get("prompt_tokens"))
    return {
        "input_tokens": max(0, prompt - read - write),
        "output_tokens": _int(usage.get("completion_tokens")),
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
    }


#: The gateway's error types (OpenAI's shape) → Anthropic's error types.
ERROR_TYPES: dict[str, str] = {
    "invalid_request_error": "invalid_request_error",
    "guardrail_blocked": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "request_too_large": "request_too_large",
    "rate_limit_error": "rate_limit_error",
    "budget_exceeded": "rate_limit_error",
    "overloaded_error": "overloaded_error",
    "guardrail_unavailable": "overloaded_error",
    "upstream_timeout": "timeout_error",
}


def anthropic_error_type(error_type: str, status: int) -> str:
    """The Anthropic error type a client of ``/v1/messages`` gets for one of ours."""
    found = ERROR_TYPES.get(error_type)
    if found is not None:
        return found
    if status == 529 or status == 503:
        return "overloaded_error"
    if status == 429:
        return "rate_limit_error"
    if 400 <= status < 500:
        return "invalid_request_error"
    return "api_error"
