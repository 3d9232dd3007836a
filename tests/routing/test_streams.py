"""What counts as the first content of a stream (the point of no failover)."""

from __future__ import annotations

import pytest

from gatehouse.errors import UpstreamError
from gatehouse.routing.streams import has_content


def event(payload: str) -> bytes:
    return f"data: {payload}\n\n".encode()


@pytest.mark.parametrize(
    "payload",
    [
        '{"choices":[{"index":0,"delta":{"content":"Hi"}}]}',
        '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0}]}}]}',
        '{"choices":[{"index":0,"delta":{"refusal":"no"}}]}',
        '{"choices":[{"index":0,"delta":{"reasoning_content":"Let me think"}}]}',
        '{"choices":[{"index":0,"delta":{"reasoning":"Let me think"}}]}',
        '{"choices":[{"index":0,"delta":{"thinking_blocks":[{"type":"thinking","signature":"s"}]}}]}',
        '{"choices":[{"index":0,"text":"Hi"}]}',
        '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
        '{"choices":[],"usage":{"total_tokens":3}}',
        "[DONE]",
    ],
)
def test_content(payload):
    assert has_content(event(payload)) is True


@pytest.mark.parametrize(
    "payload",
    [
        '{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}',
        '{"choices":[{"index":0,"delta":{"role":"assistant"}}]}',
        '{"choices":[]}',
    ],
)
def test_not_content(payload):
    assert has_content(event(payload)) is False


@pytest.mark.parametrize(
    "payload",
    ["not json", '{"choices":[null]}', '{"choices":"x"}', "[1]", '{"error":{"message":"boom"}}'],
)
def test_malformed_or_error_events_fail_the_attempt(payload):
    with pytest.raises(UpstreamError):
        has_content(event(payload))


def test_comments_and_blank_lines_are_ignored():
    assert has_content(b": keep-alive\n\n") is False


def test_the_usage_chunk_is_found_in_any_event_spelling():
    from gatehouse.routing.streams import without_usage_chunk

    usage = b'{"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}'
    content = b'data: {"choices":[{"delta":{"content":"hi"}}],"usage":null}\n\n'
    for event in (b"data: " + usage, b"data:" + usage, b"event: chunk\nid: 7\ndata: " + usage):
        block = content + event + b"\n\ndata: [DONE]\n\n"
        assert without_usage_chunk(block) == content + b"data: [DONE]\n\n"
    # A chunk that also carries choices is the client's content: kept.
    mixed = b'data: {"choices":[{"delta":{}}],"usage":{"prompt_tokens":1}}\n\n'
    assert without_usage_chunk(mixed) == mixed
