"""An Anthropic Messages event stream as OpenAI chat completion chunks.

:class:`ChunkStream` is what the ``anthropic`` provider streams through; the other way
(OpenAI chunks to Anthropic events, for ``/v1/messages``) is ``anthropic_events``. Both
are pure: one parsed event in, complete SSE bytes out, the state carried in between.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, TypeGuard

import orjson

from gatehouse.errors import UpstreamError
from gatehouse.providers.anthropic_tools import RESPONSE_FORMAT_TOOL
from gatehouse.providers.anthropic_vocab import (
    finish_reason,
    openai_usage,
)

_DONE = b"data: [DONE]\n\n"
_TAIL = b',"logprobs":null,"finish_reason":null}]}\n\n'
_COUNTS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)
#: Anthropic delta type → (the block kinds it may address, the field carrying its text).
_DELTAS: dict[str, tuple[tuple[str, ...], str]] = {
    "text_delta": (("text",), "text"),
    "thinking_delta": (("thinking",), "thinking"),
    "signature_delta": (("thinking",), "signature"),
    "input_json_delta": (("tool", "json"), "partial_json"),
}


def malformed(what: str) -> UpstreamError:
    return UpstreamError(
        f"upstream sent a malformed stream event: {what}", code="upstream_malformed"
    )


def is_index(value: Any) -> TypeGuard[int]:
    return type(value) is int and value >= 0


@dataclass(slots=True)
class _Block:
    kind: str  # text, thinking, tool, json (the response_format tool), other
    tool: int = -1  # the OpenAI tool call index of a tool block
    open: bool = True


class ChunkStream:
    """Anthropic stream events → OpenAI ``chat.completion.chunk`` SSE events.

    In JSON mode the answer is the input of the response_format tool alone, as in a whole
    response: text is held back until message_stop and dropped if that tool was called.
    """

    def __init__(
        self, *, include_usage: bool, json_mode: bool = False, created: int | None = None
    ) -> None:
        self._include_usage = include_usage
        self._json_mode = json_mode
        self._created = int(time.time()) if created is None else created
        self._id = ""
        self._model = ""
        self._head = b""  # every chunk's bytes up to its delta, set by message_start
        self._counts: dict[str, int] = {}
        self._stop_reason: str | None = None
        self._stop_sequence: str | None = None
        self._blocks: dict[int, _Block] = {}  # by Anthropic block index
        self._tool_calls = 0
        self._held: list[str] = []  # text held back in JSON mode
        self._json_called = False
        self._finished = False

    @property
    def finished(self) -> bool:
        """message_stop was seen."""
        return self._finished

    @property
    def usage(self) -> dict[str, Any] | None:
        """The OpenAI-shaped usage so far."""
        return openai_usage(self._counts) if self._head else None

    def feed(self, event: dict[str, Any]) -> bytes:
        """One parsed Anthropic event in; zero or more complete OpenAI SSE events out.

        Raises UpstreamError for an ``error`` event (``upstream_stream_error``: every
        kind, overloaded or not, is a failure of the upstream) and for an event that is
        malformed or out of order (``upstream_malformed``).
        """
        if not isinstance(event, dict):
            raise malformed("not a JSON object")
        kind = event.get("type")
        if not isinstance(kind, str):
            raise malformed("no type")
        if kind == "error":
            raise stream_error(event.get("error"))
        if kind not in _HANDLERS:
            return b""  # ping, and event types newer than this code
        if self._finished:
            raise malformed(f"{kind} after message_stop")
        if not self._head and kind != "message_start":
            raise malformed(f"{kind} before message_start")
        return _HANDLERS[kind](self, event)

    def _chunk(self, delta: dict[str, Any]) -> bytes:
        return self._head + orjson.dumps(delta) + _TAIL

    def _text(self, text: str) -> bytes:
        if not self._json_mode:
            return self._chunk({"content": text})
        if not self._json_called:
            self._held.append(text)
        return b""

    def _message_start(self, event: dict[str, Any]) -> bytes:
        if self._head:
            raise malformed("a second message_start")
        message = event.get("message")
        if not isinstance(message, dict):
            raise malformed("message_start without a message")
        mid, model = message.get("id"), message.get("model")
        if not isinstance(mid, str) or not isinstance(model, str):
            raise malformed("message_start without a message id and model")
        self._id, self._model = "chatcmpl-" + mid, model
        self._counts = _counts(message.get("usage"))
        self._head = b"".join(
            (
                b'data: {"id":',
                orjson.dumps(self._id),
                b',"object":"chat.completion.chunk","created":',
                str(self._created).encode(),
                b',"model":',
                orjson.dumps(model),
                b',"choices":[{"index":0,"delta":',
            )
        )
        return self._chunk({"role": "assistant", "content": ""})

    def _block_start(self, event: dict[str, Any]) -> bytes:
        index, block = event.get("index"), event.get("content_block")
        if not is_index(index) or not isinstance(block, dict):
            raise malformed("content_block_start without an index and content_block")
        if index in self._blocks:
            raise malformed(f"content block {index} started twice")
        kind = block.get("type")
        if kind == "tool_use":
            return self._tool_start(index, block)
        if kind == "text":
            self._blocks[index] = _Block("text")
            text = block.get("text")
            return self._text(text) if isinstance(text, str) and text else b""
        if kind == "thinking":
            self._blocks[index] = _Block("thinking")
            thinking, signature = block.get("thinking"), block.get("signature")
            out = b""
            if isinstance(thinking, str) and thinking:
                out += self._chunk({"reasoning_content": thinking})
            if isinstance(signature, str) and signature:
                out += self._chunk(_signature(signature))
            return out
        if kind == "redacted_thinking":
            # Opaque, but the client must send it back in a later turn, so it travels
            # the way a signature does.
            self._blocks[index] = _Block("other")
            data = block.get("data")
            if not isinstance(data, str):
                raise malformed("redacted_thinking block without data")
            return self._chunk({"thinking_blocks": [{"type": "redacted_thinking", "data": data}]})
        # Server tools and their results run upstream; OpenAI's format has no place for them.
        self._blocks[index] = _Block("other")
        return b""

    def _tool_start(self, index: int, block: dict[str, Any]) -> bytes:
        call_id, name = block.get("id"), block.get("name")
        if not isinstance(call_id, str) or not isinstance(name, str):
            raise malformed("tool_use block without an id and name")
        given = block.get("input")
        # The API sends input {} and streams the arguments; a whole input is sent as is.
        arguments = orjson.dumps(given).decode() if isinstance(given, dict) and given else ""
        if self._json_mode and name == RESPONSE_FORMAT_TOOL:
            self._blocks[index] = _Block("json")
            self._json_called = True
            self._held.clear()
            return self._chunk({"content": arguments}) if arguments else b""
        k = self._tool_calls
        self._tool_calls += 1
        self._blocks[index] = _Block("tool", k)
        function = {"name": name, "arguments": arguments}
        call = {"index": k, "id": call_id, "type": "function", "function": function}
        return self._chunk({"tool_calls": [call]})

    def _block_delta(self, event: dict[str, Any]) -> bytes:
        index, delta = event.get("index"), event.get("delta")
        if not is_index(index) or not isinstance(delta, dict):
            raise malformed("content_block_delta without an index and delta")
        block = self._blocks.get(index)
        if block is None or not block.open:
            raise malformed(f"content_block_delta for block {index}, which is not open")
        kind = delta.get("type")
        if block.kind == "other" or not isinstance(kind, str) or kind not in _DELTAS:
            return b""  # citations, server tool input, and delta types newer than this code
        kinds, name = _DELTAS[kind]
        if block.kind not in kinds:
            raise malformed(f"{kind} for a {block.kind} block")
        value = delta.get(name)
        if not isinstance(value, str):
            raise malformed(f"{kind} without {name}")
        if not value:
            return b""
        if kind == "text_delta":
            return self._text(value)
        if block.kind == "json":
            return self._chunk({"content": value})
        if kind == "thinking_delta":
            return self._chunk({"reasoning_content": value})
        if kind == "signature_delta":
            return self._chunk(_signature(value))
        return self._chunk(
            {"tool_calls": [{"index": block.tool, "function": {"arguments": value}}]}
        )

    def _block_stop(self, event: dict[str, Any]) -> bytes:
        index = event.get("index")
        block = self._blocks.get(index) if is_index(index) else None
        if block is None or not block.open:
            raise malformed(f"content_block_stop for block {index!r}, which is not open")
        block.open = False
        return b""

    def _message_delta(self, event: dict[str, Any]) -> bytes:
        delta, usage = event.get("delta"), event.get("usage")
        if not isinstance(delta, dict):
            raise malformed("message_delta without a delta")
        reason, sequence = delta.get("stop_reason"), delta.get("stop_sequence")
        if not isinstance(reason, str | None) or not isinstance(sequence, str | None):
            raise malformed("message_delta with a stop_reason or stop_sequence not a string")
        self._stop_reason, self._stop_sequence = reason, sequence
        # Counts here are cumulative: they replace those of message_start.
        self._counts.update(_counts(usage))
        return b""

    def _message_stop(self, event: dict[str, Any]) -> bytes:
        self._finished = True
        held = self._chunk({"content": "".join(self._held)}) if self._held else b""
        # A stream that ended without a stop reason still ended: say so.
        finish = finish_reason(self._stop_reason) or "stop"
        if self._json_mode and finish == "tool_calls" and not self._tool_calls:
            finish = "stop"  # the only tool called was the response_format one
        last = b"".join(
            (
                held,
                self._head,
                b'{},"logprobs":null,"finish_reason":',
                orjson.dumps(finish),
                b',"stop_reason":',
                orjson.dumps(self._stop_sequence),
                b"}]}\n\n",
            )
        )
        if not self._include_usage:
            return last + _DONE
        usage = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [],
            "usage": openai_usage(self._counts),
        }
        return last + b"data: " + orjson.dumps(usage) + b"\n\n" + _DONE


_HANDLERS = {
    "message_start": ChunkStream._message_start,
    "content_block_start": ChunkStream._block_start,
    "content_block_delta": ChunkStream._block_delta,
    "content_block_stop": ChunkStream._block_stop,
    "message_delta": ChunkStream._message_delta,
    "message_stop": ChunkStream._message_stop,
}


def _counts(usage: Any) -> dict[str, int]:
    if not isinstance(usage, dict):
        return {}
    return {k: v for k in _COUNTS if type(v := usage.get(k)) is int}


def _signature(signature: str) -> dict[str, Any]:
    # LiteLLM's field: clients that keep thinking_blocks can send the signature back.
    return {"thinking_blocks": [{"type": "thinking", "thinking": "", "signature": signature}]}


def stream_error(error: Any) -> UpstreamError:
    kind: Any = None
    message: Any = None
    if isinstance(error, dict):
        kind, message = error.get("type"), error.get("message")
    kind = kind if isinstance(kind, str) else "unknown_error"
    message = message[:1000] if isinstance(message, str) else "no error message"
    return UpstreamError(f"upstream stream error ({kind}): {message}", code="upstream_stream_error")
