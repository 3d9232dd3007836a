"""Stream translation both ways, checked by the official SDKs reading what it writes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

import anthropic
import httpx2
import openai
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatehouse.errors import UpstreamError
from gatehouse.providers.anthropic_events import EventStream, anthropic_events
from gatehouse.providers.anthropic_stream import ChunkStream
from gatehouse.providers.anthropic_tools import RESPONSE_FORMAT_TOOL

MODEL = "claude-sonnet-4-5"
MSG_ID = "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"
USER: Any = [{"role": "user", "content": "hi"}]


# --- helpers --------------------------------------------------------------------------


def _client_http(body: bytes) -> httpx2.Client:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def openai_final(body: bytes) -> Any:
    client = openai.OpenAI(
        base_url="http://upstream/v1", api_key="x", http_client=_client_http(body)
    )
    with client.chat.completions.stream(
        model="m", messages=USER, stream_options={"include_usage": True}
    ) as stream:
        return stream.get_final_completion()


def openai_chunks(body: bytes) -> list[Any]:
    client = openai.OpenAI(
        base_url="http://upstream/v1", api_key="x", http_client=_client_http(body)
    )
    return list(client.chat.completions.create(model="m", messages=USER, stream=True))


def anthropic_final(body: bytes) -> Any:
    client = anthropic.Anthropic(
        base_url="http://upstream", api_key="x", http_client=_client_http(body)
    )
    with client.messages.stream(model="test-model", max_tokens=100, messages=USER) as stream:
        return stream.get_final_message()


def anthropic_sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(
        b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events
    )


def to_chunks(events: list[dict[str, Any]], **options: Any) -> bytes:
    stream = ChunkStream(
        include_usage=options.pop("include_usage", True), created=1700000000, **options
    )
    out = b"".join(stream.feed(e) for e in events)
    assert stream.finished
    return out


def sse_payloads(body: bytes) -> list[Any]:
    """The JSON of each data line ([DONE] kept as the string)."""
    found: list[Any] = []
    for line in body.split(b"\n"):
        if line.startswith(b"data: "):
            payload = line[6:]
            found.append("[DONE]" if payload == b"[DONE]" else orjson.loads(payload))
    return found


def to_events(chunks: list[dict[str, Any]], model: str = MODEL) -> bytes:
    stream = EventStream(model=model)
    return b"".join(stream.feed(c) for c in chunks) + stream.finish()


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    choice.update(extra)
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt",
        "choices": [choice],
    }


def usage_chunk(prompt: int, completion: int, cached: int = 0) -> dict[str, Any]:
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt",
        "choices": [],
        "usage": usage,
    }


def call(
    index: int, arguments: str, call_id: str | None = None, name: str | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        entry.update(id=call_id, type="function")
        entry["function"]["name"] = name
    return entry


# --- Anthropic event sequences, as the streaming docs show them ----------------------


def start(usage: dict[str, int] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": MSG_ID,
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": MODEL,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 25, "output_tokens": 1},
    }
    return {"type": "message_start", "message": message}


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": {"type": kind, **fields}}


def block_stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def message_end(
    reason: str, output: int, sequence: str | None = None, **usage: int
) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": sequence},
            "usage": {"output_tokens": output, **usage},
        },
        {"type": "message_stop"},
    ]


TEXT = [
    start(),
    block_start(0, {"type": "text", "text": ""}),
    {"type": "ping"},
    delta(0, "text_delta", text="Hello"),
    delta(0, "text_delta", text="!"),
    block_stop(0),
    *message_end("end_turn", 15),
]

WEATHER_FRAGMENTS = [
    "",
    '{"location":',
    ' "San',
    " Francisc",
    "o,",
    ' CA"',
    ", ",
    '"unit": "fah',
    'renheit"}',
]
TOOL = [
    start({"input_tokens": 472, "output_tokens": 2}),
    block_start(0, {"type": "text", "text": ""}),
    delta(0, "text_delta", text="Okay, let's check the weather for San Francisco, CA:"),
    block_stop(0),
    block_start(
        1,
        {
            "type": "tool_use",
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "name": "get_weather",
            "input": {},
        },
    ),
    *[delta(1, "input_json_delta", partial_json=f) for f in WEATHER_FRAGMENTS],
    block_stop(1),
    *message_end("tool_use", 89),
]

PARALLEL = [
    start(),
    block_start(0, {"type": "text", "text": ""}),
    delta(0, "text_delta", text="Checking both."),
    block_stop(0),
    block_start(1, {"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {}}),
    delta(1, "input_json_delta", partial_json='{"location": '),
    delta(1, "input_json_delta", partial_json='"Paris"}'),
    block_stop(1),
    block_start(2, {"type": "tool_use", "id": "toolu_B", "name": "get_time", "input": {}}),
    delta(2, "input_json_delta", partial_json='{"tz": "Europe/'),
    delta(2, "input_json_delta", partial_json='Paris"}'),
    block_stop(2),
    *message_end("tool_use", 60),
]

SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
THINKING = [
    start(),
    block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
    delta(
        0,
        "thinking_delta",
        thinking="I need to find the GCD of 1071 and 462.\n\n1071 = 2 x 462 + 147",
    ),
    delta(0, "thinking_delta", thinking="\n462 = 3 x 147 + 21\n147 = 7 x 21 + 0"),
    delta(0, "signature_delta", signature=SIGNATURE),
    block_stop(0),
    block_start(1, {"type": "text", "text": ""}),
    delta(1, "text_delta", text="The greatest common divisor of 1071 and 462 is **21**."),
    block_stop(1),
    *message_end("end_turn", 120),
]


# --- Anthropic events -> OpenAI chunks -----------------------------------------------


def test_text_reaches_the_openai_sdk():
    final = openai_final(to_chunks(TEXT))
    choice = final.choices[0]
    assert choice.message.content == "Hello!"
    assert choice.message.role == "assistant"
    assert choice.finish_reason == "stop"
    assert final.id == "chatcmpl-" + MSG_ID
    assert final.model == MODEL
    assert final.usage.prompt_tokens == 25
    assert final.usage.completion_tokens == 15
    assert final.usage.total_tokens == 40


def test_chunk_shape_and_done():
    payloads = sse_payloads(to_chunks(TEXT))
    assert payloads[-1] == "[DONE]"
    first = payloads[0]
    assert first == {
        "id": "chatcmpl-" + MSG_ID,
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": None,
                "finish_reason": None,
            }
        ],
    }
    last_choice = payloads[-3]["choices"][0]
    assert last_choice == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
        "stop_reason": None,
    }
    assert payloads[-2]["choices"] == [] and payloads[-2]["usage"]["total_tokens"] == 40
    # ping and block start/stop make no chunk: role, two texts, the finish, usage, [DONE]
    assert len(payloads) == 6


def test_without_include_usage_there_is_no_usage_chunk():
    stream = ChunkStream(include_usage=False)
    body = b"".join(stream.feed(e) for e in TEXT)
    assert all("usage" not in p for p in sse_payloads(body) if p != "[DONE]")
    assert body.endswith(b"data: [DONE]\n\n")
    assert stream.usage is not None and stream.usage["completion_tokens"] == 15


def test_tool_use_fragments_become_one_tool_call():
    final = openai_final(to_chunks(TOOL))
    message = final.choices[0].message
    assert message.content == "Okay, let's check the weather for San Francisco, CA:"
    (tool,) = message.tool_calls
    assert tool.id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert tool.type == "function"
    assert tool.function.name == "get_weather"
    assert json.loads(tool.function.arguments) == {
        "location": "San Francisco, CA",
        "unit": "fahrenheit",
    }
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage.prompt_tokens == 472 and final.usage.completion_tokens == 89


def test_parallel_tool_uses_count_tool_calls_not_blocks():
    payloads = sse_payloads(to_chunks(PARALLEL))
    indexes = [
        c["index"]
        for p in payloads
        if p != "[DONE]" and p["choices"]
        for c in p["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert set(indexes) == {0, 1}  # the Anthropic blocks were 1 and 2
    final = openai_final(to_chunks(PARALLEL))
    first, second = final.choices[0].message.tool_calls
    assert (first.id, first.function.name) == ("toolu_A", "get_weather")
    assert json.loads(first.function.arguments) == {"location": "Paris"}
    assert (second.id, second.function.name) == ("toolu_B", "get_time")
    assert json.loads(second.function.arguments) == {"tz": "Europe/Paris"}


def test_thinking_becomes_reasoning_content_and_a_signed_block():
    chunks = openai_chunks(to_chunks(THINKING))
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content", "")
        for c in chunks
        if c.choices
    )
    assert reasoning == THINKING[2]["delta"]["thinking"] + THINKING[3]["delta"]["thinking"]
    signed = [
        (c.choices[0].delta.model_extra or {})["thinking_blocks"]
        for c in chunks
        if c.choices and "thinking_blocks" in (c.choices[0].delta.model_extra or {})
    ]
    assert signed == [[{"type": "thinking", "thinking": "", "signature": SIGNATURE}]]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The greatest common divisor of 1071 and 462 is **21**."
    final = openai_final(to_chunks(THINKING))
    assert final.choices[0].message.content == text
    assert final.choices[0].finish_reason == "stop"


def test_redacted_thinking_travels_as_a_thinking_block():
    events = [
        start(),
        block_start(0, {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}),
        block_stop(0),
        *message_end("end_turn", 3),
    ]
    payloads = sse_payloads(to_chunks(events))
    assert payloads[1]["choices"][0]["delta"] == {
        "thinking_blocks": [{"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}]
    }


def test_cumulative_usage_in_message_delta_wins_and_keeps_cache_tokens():
    events = [
        start({"input_tokens": 0, "output_tokens": 1, "cache_read_input_tokens": 0}),
        *TEXT[1:-2],
        *message_end(
            "end_turn",
            40,
            input_tokens=10,
            cache_creation_input_tokens=20,
            cache_read_input_tokens=30,
        ),
    ]
    stream = ChunkStream(include_usage=True)
    for event in events:
        stream.feed(event)
    assert stream.usage == {
        "prompt_tokens": 60,
        "completion_tokens": 40,
        "total_tokens": 100,
        "prompt_tokens_details": {"cached_tokens": 30},
        "cache_creation_input_tokens": 20,
        "cache_read_input_tokens": 30,
    }
    final = openai_final(to_chunks(events))
    assert final.usage.prompt_tokens == 60
    assert final.usage.prompt_tokens_details.cached_tokens == 30


def test_stop_sequence_is_named_in_vllm_field():
    events = [*TEXT[:-2], *message_end("stop_sequence", 5, sequence="###")]
    last = sse_payloads(to_chunks(events))[-3]["choices"][0]
    assert last["finish_reason"] == "stop"
    assert last["stop_reason"] == "###"


def test_max_tokens_is_length():
    events = [*TEXT[:-2], *message_end("max_tokens", 5)]
    last = [c for c in openai_chunks(to_chunks(events)) if c.choices][-1]
    assert last.choices[0].finish_reason == "length"


def test_json_mode_turns_the_format_tool_into_content():
    events = [
        start(),
        block_start(
            0, {"type": "tool_use", "id": "toolu_J", "name": RESPONSE_FORMAT_TOOL, "input": {}}
        ),
        delta(0, "input_json_delta", partial_json='{"answer": '),
        delta(0, "input_json_delta", partial_json="42}"),
        block_stop(0),
        *message_end("tool_use", 9),
    ]
    final = openai_final(to_chunks(events, json_mode=True))
    message = final.choices[0].message
    assert json.loads(message.content) == {"answer": 42}
    assert not message.tool_calls
    assert final.choices[0].finish_reason == "stop"
    # Without json_mode the same tool is an ordinary tool call.
    plain = openai_final(to_chunks(events)).choices[0]
    assert plain.message.tool_calls[0].function.name == RESPONSE_FORMAT_TOOL
    assert plain.finish_reason == "tool_calls"


def test_json_mode_drops_a_preamble_but_keeps_text_when_the_tool_is_not_called():
    preamble = [
        start(),
        block_start(0, {"type": "text", "text": ""}),
        delta(0, "text_delta", text="Here is the JSON:"),
        block_stop(0),
        block_start(
            1, {"type": "tool_use", "id": "toolu_J", "name": RESPONSE_FORMAT_TOOL, "input": {}}
        ),
        delta(1, "input_json_delta", partial_json='{"answer": 42}'),
        block_stop(1),
        *message_end("tool_use", 9),
    ]
    assert openai_final(to_chunks(preamble, json_mode=True)).choices[0].message.content == (
        '{"answer": 42}'
    )
    # The model answered in text without the tool: that text is the answer.
    final = openai_final(to_chunks(TEXT, json_mode=True))
    assert final.choices[0].message.content == "Hello!"
    assert final.choices[0].finish_reason == "stop"


def test_unknown_events_and_server_tool_blocks_are_ignored():
    events = [
        start(),
        {"type": "some_future_event", "whatever": [1, 2]},
        block_start(
            0, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
        ),
        delta(0, "input_json_delta", partial_json='{"query": "x"}'),
        block_stop(0),
        block_start(1, {"type": "text", "text": ""}),
        delta(1, "citations_delta", citation={"type": "char_location", "cited_text": "x"}),
        delta(1, "text_delta", text="Found."),
        delta(1, "some_future_delta", stuff=1),
        block_stop(1),
        *message_end("end_turn", 7),
    ]
    final = openai_final(to_chunks(events))
    assert final.choices[0].message.content == "Found."
    assert not final.choices[0].message.tool_calls


@pytest.mark.parametrize("kind", ["overloaded_error", "rate_limit_error", "api_error"])
def test_error_event_raises_upstream_error(kind):
    stream = ChunkStream(include_usage=True)
    stream.feed(TEXT[0])
    stream.feed(TEXT[1])
    with pytest.raises(UpstreamError) as caught:
        stream.feed({"type": "error", "error": {"type": kind, "message": "Overloaded"}})
    assert caught.value.code == "upstream_stream_error"
    assert kind in caught.value.message and "Overloaded" in caught.value.message
    assert caught.value.retryable
    assert not stream.finished


@pytest.mark.parametrize(
    "events",
    [
        [TEXT[3]],  # a delta before message_start
        [TEXT[0], TEXT[0]],  # two message_starts
        [TEXT[0], delta(5, "text_delta", text="x")],  # a delta for no block
        [TEXT[0], TEXT[1], block_stop(0), delta(0, "text_delta", text="x")],  # after its stop
        [TEXT[0], TEXT[1], TEXT[1]],  # a block started twice
        [TEXT[0], TEXT[1], delta(0, "input_json_delta", partial_json="{")],  # wrong kind
        [TEXT[0], TEXT[1], delta(0, "text_delta", text=5)],
        [TEXT[0], block_start(0, {"type": "tool_use", "input": {}})],  # no id or name
        [TEXT[0], {"type": "message_delta", "delta": "end_turn"}],
        [*TEXT, TEXT[3]],  # after message_stop
        [{"type": "message_start", "message": {"id": 1}}],
        [{"no": "type"}],
        ["not an object"],
    ],
)
def test_malformed_or_out_of_order_events_raise_upstream_malformed(events):
    stream = ChunkStream(include_usage=True)
    with pytest.raises(UpstreamError) as caught:
        for event in events:
            stream.feed(event)
    assert caught.value.code == "upstream_malformed"


# --- OpenAI chunks -> Anthropic events -----------------------------------------------


TEXT_CHUNKS = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hello"}),
    chunk({"content": " world"}),
    chunk({}, "stop"),
    usage_chunk(30, 5),
]


def test_text_reaches_the_anthropic_sdk():
    message = anthropic_final(to_events(TEXT_CHUNKS))
    assert message.id == "msg_abc123"
    assert message.model == MODEL
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "Hello world"
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert (message.usage.input_tokens, message.usage.output_tokens) == (30, 5)


def test_event_shape_message_start_and_ping():
    body = to_events(TEXT_CHUNKS)
    names = [line[7:] for line in body.split(b"\n") if line.startswith(b"event: ")]
    assert names == [
        b"message_start",
        b"ping",
        b"content_block_start",
        b"content_block_delta",
        b"content_block_delta",
        b"content_block_stop",
        b"message_delta",
        b"message_stop",
    ]
    start_event = sse_payloads(body)[0]
    assert start_event["message"]["usage"]["input_tokens"] == 0
    assert start_event["message"]["content"] == []
    last_delta = sse_payloads(body)[-2]
    assert last_delta["usage"] == {
        "input_tokens": 30,
        "output_tokens": 5,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def test_usage_on_the_first_chunk_feeds_message_start():
    first = {**usage_chunk(12, 0), "choices": [{"index": 0, "delta": {"role": "assistant"}}]}
    start_event = sse_payloads(EventStream(model=MODEL).feed(first))[0]
    assert start_event["message"]["usage"]["input_tokens"] == 12


def test_tool_call_becomes_tool_use():
    chunks = [
        chunk({"role": "assistant", "content": "Let me look."}),
        chunk({"tool_calls": [call(0, "", "call_1", "get_weather")]}),
        chunk({"tool_calls": [call(0, '{"location":')]}),
        chunk({"tool_calls": [call(0, ' "Paris"}')]}),
        chunk({}, "tool_calls"),
        usage_chunk(50, 20),
    ]
    message = anthropic_final(to_events(chunks))
    text, tool = message.content
    assert text.text == "Let me look."
    assert (tool.type, tool.id, tool.name) == ("tool_use", "call_1", "get_weather")
    assert tool.input == {"location": "Paris"}
    assert message.stop_reason == "tool_use"


def test_two_tool_calls_in_order():
    chunks = [
        chunk({"tool_calls": [call(0, "", "call_1", "get_weather")]}),
        chunk({"tool_calls": [call(0, '{"location": "Paris"}')]}),
        chunk({"tool_calls": [call(1, "", "call_2", "get_time")]}),
        chunk({"tool_calls": [call(1, '{"tz": "CET"}')]}),
        chunk({}, "tool_calls"),
    ]
    message = anthropic_final(to_events(chunks))
    assert [(b.id, b.name, b.input) for b in message.content] == [
        ("call_1", "get_weather", {"location": "Paris"}),
        ("call_2", "get_time", {"tz": "CET"}),
    ]


def test_interleaved_tool_calls_are_held_back_not_mixed():
    chunks = [
        chunk({"tool_calls": [call(0, '{"a"', "call_1", "f"), call(1, '{"b"', "call_2", "g")]}),
        chunk({"tool_calls": [call(1, ": 2}")]}),
        chunk({"tool_calls": [call(0, ": 1}")]}),
        chunk({}, "tool_calls"),
    ]
    body = to_events(chunks)
    message = anthropic_final(body)
    assert [(b.id, b.input) for b in message.content] == [
        ("call_1", {"a": 1}),
        ("call_2", {"b": 2}),
    ]
    # Blocks never overlap: each delta goes to the one open block.
    assert_well_formed(body)


def test_tool_calls_without_index_follow_their_ids():
    chunks = [
        chunk({"tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": '{"a"'}}]}),
        chunk({"tool_calls": [{"function": {"arguments": ": 1}"}}]}),  # the last call's
        chunk({"tool_calls": [{"id": "c2", "function": {"name": "g", "arguments": '{"b"'}}]}),
        chunk({"tool_calls": [{"id": "c2", "function": {"arguments": ": 2}"}}]}),  # id repeated
        chunk({}, "tool_calls"),
    ]
    message = anthropic_final(to_events(chunks))
    assert [(b.id, b.name, b.input) for b in message.content] == [
        ("c1", "f", {"a": 1}),
        ("c2", "g", {"b": 2}),
    ]


def test_other_choices_are_ignored_and_nothing_follows_the_end():
    stream = EventStream(model=MODEL)
    other = chunk({"content": "second choice"})
    other["choices"][0]["index"] = 1
    body = stream.feed(chunk({"content": "first"})) + stream.feed(other) + stream.finish()
    assert anthropic_final(body).content[0].text == "first"
    with pytest.raises(UpstreamError) as caught:
        stream.feed(chunk({"content": "late"}))
    assert caught.value.code == "upstream_malformed"


def test_a_stop_finish_after_tool_calls_is_still_tool_use():
    chunks = [chunk({"tool_calls": [call(0, "{}", "call_1", "f")]}), chunk({}, "stop")]
    assert anthropic_final(to_events(chunks)).stop_reason == "tool_use"


def test_cached_tokens_are_split_out_of_input():
    chunks = [*TEXT_CHUNKS[:-1], usage_chunk(100, 5, cached=80)]
    usage = anthropic_final(to_events(chunks)).usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (20, 80, 5)


def test_stop_reason_string_becomes_stop_sequence():
    chunks = [chunk({"content": "a"}), chunk({}, "stop", stop_reason="END")]
    message = anthropic_final(to_events(chunks))
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "END"
    lengthy = anthropic_final(to_events([chunk({"content": "a"}), chunk({}, "length")]))
    assert lengthy.stop_reason == "max_tokens"


def test_reasoning_content_becomes_a_signed_thinking_block():
    chunks = [
        chunk({"reasoning_content": "Let me "}),
        chunk({"reasoning_content": "think."}),
        chunk({"thinking_blocks": [{"type": "thinking", "thinking": "", "signature": "sig"}]}),
        chunk({"content": "Done."}),
        chunk({}, "stop"),
    ]
    thinking, text = anthropic_final(to_events(chunks)).content
    assert (thinking.type, thinking.thinking, thinking.signature) == (
        "thinking",
        "Let me think.",
        "sig",
    )
    assert text.text == "Done."


def test_finish_alone_still_makes_a_whole_message():
    stream = EventStream(model=MODEL)
    body = stream.finish()
    message = anthropic_final(body)
    assert message.content == [] and message.stop_reason == "end_turn"
    assert message.id.startswith("msg_")
    assert stream.finish() == b""  # already sent


def test_error_chunk_raises_upstream_error():
    stream = EventStream(model=MODEL)
    stream.feed(TEXT_CHUNKS[0])
    with pytest.raises(UpstreamError) as caught:
        stream.feed({"error": {"message": "boom", "type": "server_error"}})
    assert caught.value.code == "upstream_stream_error"
    assert "boom" in caught.value.message


def test_error_event_is_what_the_anthropic_sdk_expects():
    body = EventStream(model=MODEL).feed(TEXT_CHUNKS[1]) + EventStream.error(
        "overloaded_error", "Overloaded"
    )
    assert sse_payloads(EventStream.error("overloaded_error", "Overloaded")) == [
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    ]
    with pytest.raises(anthropic.APIStatusError) as caught:
        anthropic_final(body)
    assert "overloaded_error" in str(caught.value)


@pytest.mark.parametrize(
    "bad",
    [
        "nope",
        {"choices": "x"},
        {"choices": ["x"]},
        {"choices": [{"index": 0, "delta": "x"}]},
        {"choices": [{"index": 0, "delta": {"content": 3}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": "a", "id": "c", "function": {"name": "f"}}]},
                }
            ]
        },
    ],
)
def test_malformed_chunks_raise_upstream_malformed(bad):
    with pytest.raises(UpstreamError) as caught:
        EventStream(model=MODEL).feed(bad)
    assert caught.value.code == "upstream_malformed"


# --- anthropic_events: SSE blocks in, SSE bytes out ----------------------------------


def _sse(*chunks: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks)


class _Upstream:
    def __init__(self, blocks: list[bytes]) -> None:
        self.blocks = blocks
        self.closed = False

    async def gen(self) -> AsyncGenerator[bytes, None]:
        try:
            for block in self.blocks:
                yield block
        finally:
            self.closed = True


async def _collect(upstream: _Upstream) -> bytes:
    return b"".join([b async for b in anthropic_events(upstream.gen(), model=MODEL)])


def test_anthropic_events_translates_blocks_and_finishes_at_done():
    blocks = [
        _sse(*TEXT_CHUNKS[:2]) + b": keep-alive\n\n",
        _sse(*TEXT_CHUNKS[2:]) + b"data: [DONE]\n\n",
        b"data: ignored after done\n\n",
    ]
    upstream = _Upstream(blocks)
    body = asyncio.run(_collect(upstream))
    assert upstream.closed
    message = anthropic_final(body)
    assert message.content[0].text == "Hello world"
    assert message.usage.output_tokens == 5


def test_anthropic_events_reads_the_upstream_to_its_end_after_done():
    # The router's relay settles the attempt (outcome, usage) only when its generator
    # ends, so the blocks after [DONE] are still read, and nothing more is sent.
    read: list[bytes] = []

    async def upstream() -> AsyncGenerator[bytes, None]:
        for block in (_sse(*TEXT_CHUNKS) + b"data: [DONE]\n\n", b": trailing\n\n"):
            read.append(block)
            yield block
        read.append(b"end")

    async def collect() -> bytes:
        return b"".join([b async for b in anthropic_events(upstream(), model=MODEL)])

    body = asyncio.run(collect())
    assert read[-1] == b"end"
    assert body.count(b"event: message_stop") == 1


def test_anthropic_events_without_done_finishes_only_after_a_finish_reason():
    upstream = _Upstream([_sse(*TEXT_CHUNKS)])  # finish_reason and usage, no [DONE]
    body = asyncio.run(_collect(upstream))
    assert anthropic_final(body).content[0].text == "Hello world"
    cut = _Upstream([_sse(*TEXT_CHUNKS[:3])])  # content, then nothing
    with pytest.raises(UpstreamError) as caught:
        asyncio.run(_collect(cut))
    assert caught.value.code == "upstream_stream_cut"
    assert cut.closed


def test_closing_anthropic_events_closes_the_blocks():
    upstream = _Upstream([_sse(TEXT_CHUNKS[0]), _sse(TEXT_CHUNKS[1])])

    async def first_only() -> None:
        events = anthropic_events(upstream.gen(), model=MODEL)
        await anext(events)
        await events.aclose()

    asyncio.run(first_only())
    assert upstream.closed


def test_anthropic_events_rejects_data_that_is_not_json():
    upstream = _Upstream([b"data: {not json\n\n"])
    with pytest.raises(UpstreamError) as caught:
        asyncio.run(_collect(upstream))
    assert caught.value.code == "upstream_malformed"
    assert upstream.closed


# --- round trip ----------------------------------------------------------------------


def _dump(message: Any) -> dict[str, Any]:
    """The message as data; absent cache counts as 0, which the translation always states."""
    data = message.model_dump()
    for name in ("cache_creation_input_tokens", "cache_read_input_tokens"):
        data["usage"][name] = data["usage"][name] or 0
    return data


def _round_trip(events: list[dict[str, Any]]) -> Any:
    chunks = [p for p in sse_payloads(to_chunks(events)) if p != "[DONE]"]
    return anthropic_final(to_events(chunks))


@pytest.mark.parametrize(
    "events", [TEXT, TOOL, PARALLEL, THINKING], ids=["text", "tool", "parallel", "thinking"]
)
def test_round_trip_gives_back_the_original_message(events):
    original = anthropic_final(anthropic_sse(events))
    assert _dump(_round_trip(events)) == _dump(original)


def test_round_trip_keeps_cache_tokens_and_stop_sequence():
    events = [
        start(
            {
                "input_tokens": 10,
                "output_tokens": 1,
                "cache_creation_input_tokens": 20,
                "cache_read_input_tokens": 30,
            }
        ),
        *TOOL[1:-2],
        *message_end("stop_sequence", 77, sequence="</done>"),
    ]
    original = anthropic_final(anthropic_sse(events))
    back = _round_trip(events)
    assert back.usage.cache_read_input_tokens == 30 and back.usage.cache_creation_input_tokens == 20
    assert back.stop_reason == "stop_sequence" and back.stop_sequence == "</done>"
    assert _dump(back) == _dump(original)


# --- fuzz: malformed input only ever raises UpstreamError ---------------------------


def assert_well_formed(body: bytes) -> None:
    """Anthropic's grammar: message_start first, blocks one at a time, message_stop last."""
    events = [p for p in sse_payloads(body)]
    assert events[0]["type"] == "message_start"
    opened, open_index = 0, None
    for event in events[1:]:
        kind = event["type"]
        if kind == "content_block_start":
            assert open_index is None and event["index"] == opened
            open_index, opened = opened, opened + 1
        elif kind in ("content_block_delta", "content_block_stop"):
            assert event["index"] == open_index
            if kind == "content_block_stop":
                open_index = None
        elif kind == "message_delta":
            assert open_index is None
    if events[-1]["type"] == "message_stop":
        assert events[-2]["type"] == "message_delta"


_WORDS = st.sampled_from(
    [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "error",
        "ping",
        "text",
        "tool_use",
        "thinking",
        "redacted_thinking",
        "text_delta",
        "input_json_delta",
        "thinking_delta",
        "signature_delta",
        "function",
        "stop",
        "tool_calls",
        "",
    ]
)
_KEYS = st.sampled_from(
    [
        "type",
        "index",
        "delta",
        "content_block",
        "message",
        "usage",
        "error",
        "id",
        "model",
        "text",
        "partial_json",
        "thinking",
        "signature",
        "name",
        "input",
        "stop_reason",
        "stop_sequence",
        "data",
        "output_tokens",
        "input_tokens",
        "choices",
        "content",
        "reasoning_content",
        "tool_calls",
        "function",
        "arguments",
        "finish_reason",
        "thinking_blocks",
        "refusal",
        "prompt_tokens",
    ]
)
_VALUE: st.SearchStrategy[Any] = st.deferred(
    lambda: (
        _WORDS
        | st.integers(-1, 3)
        | st.none()
        | st.booleans()
        | st.text(max_size=3)
        | st.lists(_VALUE, max_size=2)
        | _OBJECT
    )
)
_OBJECT: st.SearchStrategy[dict[str, Any]] = st.dictionaries(_KEYS, _VALUE, max_size=5)
#: Deltas near the real thing, so the fuzz reaches open blocks and held-back tool calls.
_DELTA = st.fixed_dictionaries(
    {},
    optional={
        "content": st.sampled_from(["", "x", None]),
        "reasoning_content": st.sampled_from(["", "r", None]),
        "thinking_blocks": st.lists(
            st.sampled_from(
                [
                    {"type": "thinking", "thinking": "", "signature": "s"},
                    {"type": "redacted_thinking", "data": "d"},
                ]
            ),
            max_size=1,
        ),
        "tool_calls": st.lists(
            st.builds(
                call,
                st.integers(0, 2),
                st.sampled_from(["", "{", "}"]),
                st.sampled_from([None, "c1", "c2"]),
                st.sampled_from(["f", "g"]),
            ),
            max_size=2,
        ),
    },
)


@settings(max_examples=400, deadline=None)
@given(
    started=st.booleans(),
    events=st.lists(st.sampled_from(TOOL + PARALLEL + THINKING) | _OBJECT, max_size=10),
)
def test_fuzz_chunk_stream_raises_only_upstream_error(started, events):
    stream = ChunkStream(include_usage=True, json_mode=True)
    out = stream.feed(start()) if started else b""
    try:
        for event in events:
            out += stream.feed(event)
    except UpstreamError:
        pass
    sse_payloads(out)  # whatever was sent is well-formed JSON


@settings(max_examples=400, deadline=None)
@given(chunks=st.lists(_OBJECT | st.builds(chunk, _OBJECT) | st.builds(chunk, _DELTA), max_size=10))
def test_fuzz_event_stream_raises_only_upstream_error_and_stays_well_formed(chunks):
    stream = EventStream(model=MODEL)
    out = b""
    try:
        for c in chunks:
            out += stream.feed(c)
    except UpstreamError:
        return
    out += stream.finish()
    assert_well_formed(out)
