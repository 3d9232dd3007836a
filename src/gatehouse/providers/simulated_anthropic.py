"""The simulated upstream's Anthropic side: ``POST /v1/messages`` as Anthropic serves it.

It plays the real Messages API, not our translation of it (so it shares no code with
the ``anthropic`` provider): Anthropic's error bodies, text, thinking (when asked for)
and ``tool_use`` answers, stop sequences, simulated prompt caching and the exact SSE
event sequence, driven by the same ``x-mock-*`` knobs and faults as the OpenAI side
(plus ``529``, ``401``, ``error-event`` and ``x-mock-tool-calls``). What it refuses is
in ``simulated_anthropic_checks``, its prompt cache in ``simulated_anthropic_cache``.
"""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from gatehouse.providers import simulated_answers as answers
from gatehouse.providers import simulated_anthropic_checks as checks
from gatehouse.providers.simulated_anthropic_cache import PromptCache

if TYPE_CHECKING:
    from gatehouse.providers.simulated import MockSettings

# The faults answered before any work: an HTTP error, or hang / reset / malformed.
REFUSALS = ("400", "context", "401", "429", "500", "503", "529", "hang", "reset", "malformed")
TOOL_INPUT: dict[str, Any] = {"simulated": True}
THINKING = ("Let", " me", " think", " this", " request", " through", ".")
_ALNUM = string.ascii_letters + string.digits

# The knobs of one call, as SimulatedUpstream._knobs reads them:
# latency ms, time to first token ms, tokens per second, answer tokens, fault.
Knobs = tuple[float, float, float, int, str | None]


class Refusal(Exception):
    """A call turned down: a ready response, or a fault ``kind`` still to act out."""

    def __init__(self, kind: str, response: web.StreamResponse | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.response = response


@dataclass
class _Block:
    """One content block: as content_block_start announces it, its deltas, and whole."""

    start: dict[str, Any]
    deltas: list[dict[str, Any]]
    whole: dict[str, Any]


@dataclass
class _Answer:
    blocks: list[_Block]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int


class MessagesEndpoint:
    """Answers and faults of ``POST /v1/messages``, with the simulated prompt cache."""

    def __init__(self, settings: MockSettings) -> None:
        self.settings = settings
        self.cache = PromptCache()

    def check(self, headers: Mapping[str, str], body: dict[str, Any]) -> None:
        """Raise ``Refusal`` with Anthropic's error for a call the API would turn down."""
        try:
            checks.check(headers, body)
        except checks.Rejected as rejected:
            response = error_response(rejected.status, rejected.kind, rejected.message)
            raise Refusal(str(rejected.status), response) from None

    async def answer(
        self, request: web.Request, body: dict[str, Any], knobs: Knobs
    ) -> web.StreamResponse:
        """Answer a request that passed ``check``."""
        latency_ms, ttft_ms, rate, tokens, fail = knobs
        stream = body.get("stream") is True
        if fail in REFUSALS:
            raise Refusal(fail)
        if fail == "error-event" and not stream:
            raise Refusal("529")  # what a non-streaming call gets when Anthropic is overloaded
        if fail == "cut" and not stream:
            raise Refusal("cut-body")
        planned = _plan(request, body, tokens)
        usage = self.cache.usage(body)
        if stream:
            break_at = self._break_at(request, fail, planned)
            return await _stream(request, body, planned, usage, ttft_ms, rate, fail, break_at)
        await _sleep_ms(latency_ms)
        content = [block.whole for block in planned.blocks]
        usage["output_tokens"] = planned.output_tokens
        reply = _message(body, content, planned.stop_reason, planned.stop_sequence, usage)
        return _json(reply)

    def _break_at(self, request: web.Request, fail: str | None, planned: _Answer) -> int | None:
        """With ``cut`` or ``error-event``: the content deltas sent before the break."""
        if fail not in ("cut", "error-event"):
            return None
        cut = request.headers.get("x-mock-cut-after", self.settings.cut_after)
        if cut is None:
            return max(1, sum(len(b.deltas) for b in planned.blocks) // 2)
        return int(cut)

    async def fault(self, request: web.Request, kind: str) -> web.StreamResponse:
        """Act out fault ``kind`` the way Anthropic's API shows it."""
        retry_after = request.headers.get("x-mock-retry-after", f"{self.settings.retry_after_s:g}")
        if kind == "429":
            limited = {"retry-after": retry_after, "anthropic-ratelimit-requests-remaining": "0"}
            message = "This request would exceed your organization's rate limit (simulated)"
            return error_response(429, "rate_limit_error", message, limited)
        if kind == "529":
            return error_response(529, "overloaded_error", "Overloaded")
        if kind == "503":
            return error_response(
                503, "overloaded_error", "Service unavailable", {"retry-after": retry_after}
            )
        if kind == "400":
            return error_response(400, "invalid_request_error", "simulated invalid request")
        if kind == "context":
            message = "prompt is too long: 250000 tokens > 200000 maximum"
            return error_response(400, "invalid_request_error", message)
        if kind == "500":
            return error_response(500, "api_error", "Internal server error")
        if kind == "401":
            return error_response(401, "authentication_error", "invalid x-api-key")
        # Imported here: the simulated upstream imports this module.
        from gatehouse.providers.simulated import transport_fault

        start = b'{"id": "msg_cut", "type": "message", "role": "assistant", '
        return await transport_fault(request, kind, start)


# --- what the answer says --------------------------------------------------------


def _plan(request: web.Request, body: dict[str, Any], tokens: int) -> _Answer:
    thinking = body.get("thinking")
    blocks: list[_Block] = []
    output = 0
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        blocks.append(_thinking_block(shown=thinking.get("display") != "omitted"))
        output += len(THINKING)
    names = _tool_calls(request, body)
    if names:
        calls = [_tool_use_block(name) for name in names]
        output += sum(max(1, len(orjson.dumps(c.whole)) // 4) for c in calls)
        return _Answer(blocks + calls, "tool_use", None, output)
    echo = request.headers.get("x-mock-echo")
    if echo:
        said = _echoed(request, body)
        size = max(1, int(echo)) if echo.isdigit() else 1
        pieces = [said[i : i + size] for i in range(0, len(said), size)]
    else:
        pieces = [answers.WORDS[i % len(answers.WORDS)] for i in range(tokens)]
    # One streamed piece counts as one token, so max_tokens caps the pieces.
    capped = len(pieces) > body["max_tokens"]
    pieces = pieces[: body["max_tokens"]]
    stop_reason, stop_sequence = ("max_tokens" if capped else "end_turn"), None
    found = _first_stop("".join(pieces), body.get("stop_sequences") or [])
    if found is not None:
        at, stop_sequence = found
        pieces, stop_reason = _clip(pieces, at), "stop_sequence"
    forced = request.headers.get("x-mock-stop-reason")
    if forced in ("refusal", "pause_turn", "end_turn"):  # what only a real model decides
        stop_reason = forced
    if pieces:
        blocks.append(_text_block(pieces))
    return _Answer(blocks, stop_reason, stop_sequence, max(1, output + len(pieces)))


def _tool_calls(request: web.Request, body: dict[str, Any]) -> list[str]:
    """The tools the answer calls: none once the last turn returns tool results."""
    tools = body.get("tools")
    if not tools or _returns_tool_results(body):
        return []
    names = [str(tool["name"]) for tool in tools]
    choice = body.get("tool_choice") or {}
    wanted = request.headers.get("x-mock-tool-calls", "")
    if wanted.isdigit() and int(wanted) > 0:
        count = 1 if choice.get("disable_parallel_tool_use") is True else int(wanted)
        return [names[i % len(names)] for i in range(count)]
    if choice.get("type") == "tool":
        return [str(choice["name"])]
    if choice.get("type") == "any":
        return names[:1]
    return []


def _returns_tool_results(body: dict[str, Any]) -> bool:
    last = body["messages"][-1]
    content = last.get("content")
    return (
        last.get("role") == "user"
        and isinstance(content, list)
        and any(block.get("type") == "tool_result" for block in content)
    )


def _echoed(request: web.Request, body: dict[str, Any]) -> str:
    """Message I's text (``x-mock-echo-message``, default the last), tool results included."""
    raw = request.headers.get("x-mock-echo-message", "-1")
    index = int(raw) if raw.lstrip("-").isdigit() else -1
    messages = body["messages"]
    if not -len(messages) <= index < len(messages):
        return ""
    content = messages[index].get("content")
    if isinstance(content, str):
        return content
    return "".join(_block_text(block) for block in content)


def _block_text(block: dict[str, Any]) -> str:
    if block.get("type") == "text":
        return str(block.get("text", ""))
    if block.get("type") == "tool_result":
        result = block.get("content")
        if isinstance(result, str):
            return result
        if isinstance(result, list):
            return "".join(_block_text(part) for part in result if isinstance(part, dict))
    return ""


def _first_stop(text: str, stops: list[str]) -> tuple[int, str] | None:
    """Where the earliest stop sequence in ``text`` starts, and which one it is."""
    hits = [(text.find(stop), stop) for stop in stops if stop and stop in text]
    return min(hits) if hits else None


def _clip(pieces: list[str], length: int) -> list[str]:
    """The pieces that make up the first ``length`` characters of their text."""
    kept: list[str] = []
    for piece in pieces:
        if length <= 0:
            break
        kept.append(piece[:length])
        length -= len(piece)
    return kept


def _text_block(pieces: list[str]) -> _Block:
    deltas = [{"type": "text_delta", "text": piece} for piece in pieces]
    whole = {"type": "text", "text": "".join(pieces)}
    return _Block({"type": "text", "text": ""}, deltas, whole)


def _thinking_block(shown: bool) -> _Block:
    signature = _alnum(88)
    pieces = list(THINKING) if shown else []
    deltas: list[dict[str, Any]] = [{"type": "thinking_delta", "thinking": p} for p in pieces]
    deltas.append({"type": "signature_delta", "signature": signature})
    whole = {"type": "thinking", "thinking": "".join(pieces), "signature": signature}
    return _Block({"type": "thinking", "thinking": "", "signature": ""}, deltas, whole)


def _tool_use_block(name: str) -> _Block:
    ident = "toolu_" + _alnum(24)
    raw = orjson.dumps(TOOL_INPUT).decode()
    third = max(1, len(raw) // 3)
    # Anthropic opens with an empty fragment; a client must join, not parse, fragments.
    fragments = ["", raw[:third], raw[third : 2 * third], raw[2 * third :]]
    deltas = [{"type": "input_json_delta", "partial_json": f} for f in fragments]
    start = {"type": "tool_use", "id": ident, "name": name, "input": {}}
    return _Block(start, deltas, {**start, "input": dict(TOOL_INPUT)})


# --- the stream ---------------------------------------------------------------------


async def _stream(
    request: web.Request,
    body: dict[str, Any],
    planned: _Answer,
    usage: dict[str, int],
    ttft_ms: float,
    rate: float,
    fail: str | None,
    break_at: int | None,
) -> web.StreamResponse:
    resp = web.StreamResponse(
        headers={
            "content-type": "text/event-stream",
            "cache-control": "no-cache",
            "request-id": _request_id(),
        }
    )
    await resp.prepare(request)
    gap = 1.0 / rate if rate > 0 else 0.0
    await _sleep_ms(ttft_ms)
    opening = _message(body, [], None, None, {**usage, "output_tokens": 1})
    await resp.write(_event("message_start", {"type": "message_start", "message": opening}))
    await resp.write(_event("ping", {"type": "ping"}))
    sent = 0
    for index, block in enumerate(planned.blocks):
        start = {"type": "content_block_start", "index": index, "content_block": block.start}
        await resp.write(_event("content_block_start", start))
        for delta in block.deltas:
            if break_at is not None and sent >= break_at:
                await _break_off(request, resp, fail)
            step = {"type": "content_block_delta", "index": index, "delta": delta}
            await resp.write(_event("content_block_delta", step))
            sent += 1
            if gap:
                await asyncio.sleep(gap)
        stop = {"type": "content_block_stop", "index": index}
        await resp.write(_event("content_block_stop", stop))
    if break_at is not None and sent >= break_at:
        await _break_off(request, resp, fail)
    delta = {"stop_reason": planned.stop_reason, "stop_sequence": planned.stop_sequence}
    ending = {"type": "message_delta", "delta": delta}
    await resp.write(
        _event("message_delta", {**ending, "usage": {"output_tokens": planned.output_tokens}})
    )
    await resp.write(_event("message_stop", {"type": "message_stop"}))
    await resp.write_eof()
    return resp


async def _break_off(request: web.Request, resp: web.StreamResponse, fail: str | None) -> None:
    """End a stream mid-way: an ``error`` event (Anthropic overloaded), or a dropped line."""
    if fail == "error-event":
        error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        await resp.write(_event("error", error))
        await resp.write_eof()
    elif request.transport is not None:
        request.transport.close()
    raise Refusal(fail or "cut", resp)


# --- wire shapes ----------------------------------------------------------------------


def error_response(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """An error in Anthropic's shape, with its ``request-id`` header."""
    request_id = _request_id()
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
    return _json(body, status, {"request-id": request_id, **(headers or {})})


def model_list(names: tuple[str, ...]) -> dict[str, Any]:
    """``GET /v1/models`` in Anthropic's shape (one page holding every model)."""
    data = [
        {"type": "model", "id": n, "display_name": n, "created_at": "2025-01-01T00:00:00Z"}
        for n in names
    ]
    first, last = (names[0], names[-1]) if names else (None, None)
    return {"data": data, "has_more": False, "first_id": first, "last_id": last}


def _message(
    body: dict[str, Any],
    content: list[dict[str, Any]],
    stop_reason: str | None,
    stop_sequence: str | None,
    usage: dict[str, int],
) -> dict[str, Any]:
    return {
        "id": "msg_" + _alnum(24),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    headers = headers or {"request-id": _request_id()}
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _alnum(n: int) -> str:
    return "".join(random.choices(_ALNUM, k=n))


def _request_id() -> str:
    return "req_" + _alnum(24)


async def _sleep_ms(ms: float) -> None:
    if ms > 0:
        await asyncio.sleep(ms / 1000)
