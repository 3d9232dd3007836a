"""OpenAI chat completion chunks as an Anthropic Messages event stream.

:class:`EventStream` and :func:`anthropic_events` serve ``/v1/messages`` clients from the
gateway's OpenAI-shaped stream, whatever upstream produced it. The other direction is
``anthropic_stream``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from gatehouse.errors import UpstreamError
from gatehouse.providers.anthropic_stream import is_index, malformed, stream_error
from gatehouse.providers.anthropic_vocab import anthropic_usage, stop_reason


@dataclass(slots=True)
class _ToolCall:
    id: str
    name: str
    block: int | None = None  # its Anthropic block index, once opened
    pending: list[str] = field(default_factory=list)  # arguments held back until then


class EventStream:
    """OpenAI ``chat.completion.chunk`` objects → Anthropic stream SSE events.

    Anthropic's blocks follow one another, while OpenAI may interleave the argument
    fragments of parallel tool calls. So the first tool call streams live and stays
    open; a tool call that starts while another is open is held back, its fragments
    buffered, and sent whole (start, one input_json_delta, stop), in index order, when
    the open call ends: at finish(), or when text or thinking follows.
    """

    def __init__(self, *, model: str) -> None:
        self._model = model
        self._started = False
        self._done = False
        self._blocks = 0  # blocks opened so far: the next one's index
        self._open: str | None = None  # kind of the open block: text, thinking, tool
        self._live = -1  # the OpenAI index of the tool call whose block is open
        self._calls: dict[int, _ToolCall] = {}
        self._finish: str | None = None
        self._stop_sequence: str | None = None
        self._usage: dict[str, Any] | None = None

    @property
    def finish_seen(self) -> bool:
        """A finish_reason arrived: the answer is whole even if ``[DONE]`` never does."""
        return self._finish is not None

    def feed(self, chunk: dict[str, Any]) -> bytes:
        """One parsed OpenAI chat.completion.chunk in; zero or more complete Anthropic
        SSE events out."""
        if not isinstance(chunk, dict):
            raise malformed("not a JSON object")
        error = chunk.get("error")
        if error is not None:
            raise stream_error(error)
        if self._done:
            raise malformed("a chunk after the end of the stream")
        out: list[bytes] = []
        if not self._started:
            out.append(self._message_start(chunk))
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        choices = chunk.get("choices")
        if not isinstance(choices, list | None):
            raise malformed("choices is not a list")
        for choice in choices or ():
            if not isinstance(choice, dict):
                raise malformed("a choice is not an object")
            if choice.get("index", 0) != 0:
                continue  # n > 1 has no Anthropic form, and /v1/messages never asks for it
            delta = choice.get("delta")
            if not isinstance(delta, dict | None):
                raise malformed("delta is not an object")
            if delta:
                self._delta(delta, out)
            reason, sequence = choice.get("finish_reason"), choice.get("stop_reason")
            if isinstance(reason, str):
                self._finish = reason
            if isinstance(sequence, str):  # vLLM's matched stop string (else a token id)
                self._stop_sequence = sequence
        return b"".join(out)

    def finish(self) -> bytes:
        """The upstream stream ended cleanly ([DONE]): close what is open, then
        message_delta and message_stop, unless already sent."""
        if self._done:
            return b""
        out: list[bytes] = []
        if not self._started:
            out.append(self._message_start({}))
        self._close(out)
        self._done = True
        finish = self._finish
        if finish is None or (finish == "stop" and self._calls and self._stop_sequence is None):
            # Some upstreams say "stop" after tool calls; Anthropic clients look for
            # tool_use to know they have tools to run.
            finish = "tool_calls" if self._calls else "stop"
        reason = stop_reason(finish, self._stop_sequence)
        delta = {
            "stop_reason": reason,
            "stop_sequence": self._stop_sequence if reason == "stop_sequence" else None,
        }
        out.append(
            _event(
                b"message_delta",
                {"type": "message_delta", "delta": delta, "usage": anthropic_usage(self._usage)},
            )
        )
        out.append(_event(b"message_stop", {"type": "message_stop"}))
        return b"".join(out)

    @staticmethod
    def error(error_type: str, message: str) -> bytes:
        """An Anthropic ``error`` event."""
        return _event(
            b"error", {"type": "error", "error": {"type": error_type, "message": message}}
        )

    def _message_start(self, chunk: dict[str, Any]) -> bytes:
        self._started = True
        given = chunk.get("id")
        if isinstance(given, str) and given:
            given = given.removeprefix("chatcmpl-")
            # Our own anthropic provider's ids are "chatcmpl-msg_…": give back the original.
            message_id = given if given.startswith("msg_") else "msg_" + given
        else:
            message_id = "msg_" + uuid.uuid4().hex
        usage = anthropic_usage(chunk.get("usage"))
        usage["output_tokens"] = 0
        message: dict[str, Any] = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return _event(b"message_start", {"type": "message_start", "message": message}) + _PING

    def _delta(self, delta: dict[str, Any], out: list[bytes]) -> None:
        reasoning = delta.get("reasoning_content")
        if reasoning is None:
            reasoning = delta.get("reasoning")  # vLLM's newer name
        if _has_text(reasoning, "reasoning_content"):
            self._block_delta("thinking", {"type": "thinking_delta", "thinking": reasoning}, out)
        blocks = delta.get("thinking_blocks")
        if not isinstance(blocks, list | None):
            raise malformed("thinking_blocks is not a list")
        for block in blocks or ():
            self._thinking_block(block, out)
        for name in ("content", "refusal"):  # a refusal's words are the answer's text
            text = delta.get(name)
            if _has_text(text, name):
                self._block_delta("text", {"type": "text_delta", "text": text}, out)
        calls = delta.get("tool_calls")
        if not isinstance(calls, list | None):
            raise malformed("tool_calls is not a list")
        for call in calls or ():
            self._tool_call(call, out)

    def _thinking_block(self, block: Any, out: list[bytes]) -> None:
        if not isinstance(block, dict):
            raise malformed("a thinking block is not an object")
        # Only the signature: the thinking text came as reasoning_content.
        signature, data = block.get("signature"), block.get("data")
        if block.get("type") == "thinking" and isinstance(signature, str) and signature:
            self._block_delta("thinking", {"type": "signature_delta", "signature": signature}, out)
            self._close(out)  # a signature ends its thinking block
        elif block.get("type") == "redacted_thinking" and isinstance(data, str):
            self._close(out)
            self._open_block({"type": "redacted_thinking", "data": data}, out)
            self._open = "redacted_thinking"
            self._close(out)

    def _tool_call(self, entry: Any, out: list[bytes]) -> None:
        if not isinstance(entry, dict):
            raise malformed("a tool call is not an object")
        index = entry.get("index")
        if index is None:
            index = self._index_of(entry.get("id"))
        function = entry.get("function")
        if not is_index(index) or not isinstance(function, dict | None):
            raise malformed("a tool call without an index or with a function not an object")
        function = function or {}
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            arguments = orjson.dumps(arguments).decode()
        if not isinstance(arguments, str | None):
            raise malformed(f"tool call {index} has arguments that are not a string")
        call = self._calls.get(index)
        if call is None:
            name, call_id = function.get("name"), entry.get("id")
            if not isinstance(name, str) or not name:
                raise malformed(f"tool call {index} starts without a function name")
            if not isinstance(call_id, str) or not call_id:
                call_id = "toolu_" + uuid.uuid4().hex[:24]
            call = self._calls[index] = _ToolCall(call_id, name)
            if self._open != "tool":
                self._close(out)
                self._open_tool(index, call, out)
        if not arguments:
            return
        if self._open == "tool" and self._live == index:
            self._send_arguments(call, arguments, out)
        elif call.block is None:
            call.pending.append(arguments)
        else:
            raise malformed(
                f"arguments for tool call {index} after other content closed its block, "
                "which Anthropic's format cannot express"
            )

    def _index_of(self, call_id: Any) -> int:
        """The index of a tool call that came without one (some upstreams leave it out)."""
        for index, call in self._calls.items():
            if call.id == call_id:
                return index
        last = max(self._calls, default=-1)
        return last + 1 if call_id else last  # a new id starts a new call

    def _open_tool(self, index: int, call: _ToolCall, out: list[bytes]) -> None:
        call.block = self._open_block(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}, out
        )
        self._open, self._live = "tool", index
        if call.pending:
            self._send_arguments(call, "".join(call.pending), out)
            call.pending.clear()

    def _send_arguments(self, call: _ToolCall, arguments: str, out: list[bytes]) -> None:
        delta = {"type": "input_json_delta", "partial_json": arguments}
        out.append(
            _event(
                b"content_block_delta",
                {"type": "content_block_delta", "index": call.block, "delta": delta},
            )
        )

    def _block_delta(self, kind: str, delta: dict[str, Any], out: list[bytes]) -> None:
        if self._open != kind:
            self._close(out)
            empty = {"text": ""} if kind == "text" else {"thinking": "", "signature": ""}
            self._open_block({"type": kind, **empty}, out)
            self._open = kind
        payload = {"type": "content_block_delta", "index": self._blocks - 1, "delta": delta}
        out.append(_event(b"content_block_delta", payload))

    def _open_block(self, block: dict[str, Any], out: list[bytes]) -> int:
        index = self._blocks
        self._blocks += 1
        payload = {"type": "content_block_start", "index": index, "content_block": block}
        out.append(_event(b"content_block_start", payload))
        return index

    def _close(self, out: list[bytes]) -> None:
        """Stop the open block; after a tool block, send the tool calls held back."""
        if self._open is not None:
            out.append(_stop(self._blocks - 1))
        was_tool, self._open = self._open == "tool", None
        if not was_tool:
            return
        for index in sorted(self._calls):
            call = self._calls[index]
            if call.block is None:
                self._open_tool(index, call, out)
                out.append(_stop(self._blocks - 1))
        self._open = None


def _has_text(value: Any, name: str) -> bool:
    """Whether a delta field holds text to send (raising if it holds something else)."""
    if not isinstance(value, str | None):
        raise malformed(f"{name} is not a string")
    return bool(value)


def _event(name: bytes, payload: dict[str, Any]) -> bytes:
    return b"event: " + name + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def _stop(index: int) -> bytes:
    return _event(b"content_block_stop", {"type": "content_block_stop", "index": index})


_PING = _event(b"ping", {"type": "ping"})


async def anthropic_events(
    blocks: AsyncIterator[bytes], *, model: str
) -> AsyncGenerator[bytes, None]:
    """OpenAI SSE blocks (one or more complete ``data:`` events each, as the gateway
    relays them) → Anthropic SSE bytes.

    ``data: [DONE]`` calls finish(); ``blocks`` are still read to their end (nothing
    more is sent), so that the router settles the attempt as finished, with its usage.
    Blocks that end without it end with finish() when a finish_reason came (some
    OpenAI-compatible servers omit ``[DONE]``), else raise ``upstream_stream_cut``: a
    client must never take a cut stream for a whole one. Closing this generator closes
    ``blocks``.
    """
    stream = EventStream(model=model)
    done = False
    try:
        async for block in blocks:
            if done:
                continue
            out: list[bytes] = []
            for event in block.split(b"\n\n"):
                payload = _data(event)
                if payload is None:
                    continue  # a comment, or the empty tail after the last event
                if payload == b"[DONE]":
                    out.append(stream.finish())
                    done = True
                    break
                try:
                    chunk = orjson.loads(payload)
                except orjson.JSONDecodeError:
                    raise malformed("data is not JSON") from None
                out.append(stream.feed(chunk))
            sent = b"".join(out)
            if sent:
                yield sent
        if not done:
            if not stream.finish_seen:
                raise UpstreamError(
                    "the upstream ended the stream before it was complete",
                    code="upstream_stream_cut",
                )
            yield stream.finish()
    finally:
        aclose = getattr(blocks, "aclose", None)
        if aclose is not None:
            await aclose()


def _data(event: bytes) -> bytes | None:
    """The payload of one SSE event's ``data:`` lines, or None when it has none."""
    lines = [line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines) if lines else None
