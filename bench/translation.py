"""What translating to and from Anthropic's Messages API costs a call.

    .venv/bin/python bench/translation.py                 # in process only
    .venv/bin/python bench/translation.py --http 2000     # plus the four paths over HTTP

In process: one call's translations as the provider and ``/v1/messages`` run them, on a
~2 KB four-turn chat with two tools (request out, answer back), and per stream event.

Over HTTP (c=1, the simulated upstream, which serves both APIs, non-streaming and
streaming in turn): an OpenAI client to an OpenAI-compatible deployment (the
pass-through, no translation), an OpenAI client to an Anthropic deployment, an
Anthropic client (``/v1/messages``) to each. The difference of medians to the
pass-through is what the translation adds to a whole call (the simulated upstream's own
two APIs cost about the same).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from gatehouse.providers.anthropic_events import EventStream
from gatehouse.providers.anthropic_format import from_messages_response, to_messages_request
from gatehouse.providers.anthropic_inbound import from_messages_request, to_messages_response
from gatehouse.providers.anthropic_stream import ChunkStream

PROSE = (
    "The quarterly planning meeting covered the migration of the billing service to the "
    "new cluster, the state of the on-call rotation and the budget for the next quarters. "
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": f"tool_{i}",
            "description": "Look something up",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
    for i in range(2)
]
CHAT: dict[str, Any] = {
    "model": "claude",
    "messages": [
        {"role": "system", "content": "You are a careful assistant."},
        {"role": "user", "content": (PROSE * 5)[:800]},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "tool_0", "arguments": '{"q": "billing"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": (PROSE * 5)[:800]},
    ],
    "tools": TOOLS,
    "max_tokens": 300,
}
MESSAGE = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": (PROSE * 3)[:400]}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 500, "output_tokens": 90, "cache_read_input_tokens": 0},
}


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if q < 100 else max(values)


def _time(fn: Callable[[], Any], calls: int) -> float:
    """Median microseconds of one call."""
    for _ in range(200):
        fn()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def in_process(calls: int) -> None:
    anthropic_request = orjson.loads(orjson.dumps(to_messages_request(CHAT, max_tokens=4096)))
    openai_answer = from_messages_response(MESSAGE)
    size = len(orjson.dumps(CHAT))
    print(f"request: {size} bytes, 4 messages, 2 tools")
    provider = _time(
        lambda: (
            orjson.dumps(to_messages_request(CHAT, max_tokens=4096)),
            orjson.dumps(from_messages_response(orjson.loads(orjson.dumps(MESSAGE)))),
        ),
        calls,
    )
    inbound = _time(
        lambda: (
            from_messages_request(orjson.loads(orjson.dumps(anthropic_request))),
            orjson.dumps(
                to_messages_response(orjson.loads(orjson.dumps(openai_answer)), model="c")
            ),
        ),
        calls,
    )
    print(f"provider (request out, answer back, with JSON): p50 {provider:.1f} µs")
    print(f"/v1/messages (request in, answer out, with JSON): p50 {inbound:.1f} µs")

    start = {"type": "message_start", "message": {**MESSAGE, "content": [], "stop_reason": None}}
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "word "},
    }

    def chunk_stream() -> None:
        s = ChunkStream(include_usage=True)
        s.feed(start)
        s.feed(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        )
        for _ in range(100):
            s.feed(delta)

    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "word "}, "finish_reason": None}],
    }

    def event_stream() -> None:
        s = EventStream(model="m")
        for _ in range(101):
            s.feed(chunk)

    per_event = _time(chunk_stream, calls // 10) / 102
    per_chunk = _time(event_stream, calls // 10) / 101
    print(f"stream, Anthropic event -> OpenAI chunk: {per_event:.2f} µs per event")
    print(f"stream, OpenAI chunk -> Anthropic event: {per_chunk:.2f} µs per chunk")


def over_http(calls: int) -> None:
    import sys
    from pathlib import Path

    import httpx

    from gatehouse.providers.simulated import MockSettings

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' harness
    from tests.conftest import APP_KEY, GatewayServer, LoopThread, MockServer
    from tests.e2e.anthropic_setup import claude_config

    lt = LoopThread()
    mock = MockServer(lt, MockSettings())
    gw = GatewayServer(lt, claude_config(mock.url))
    user = [{"role": "user", "content": (PROSE * 12)[:2048]}]
    paths = {
        "openai -> openai (pass-through)": (
            "/v1/chat/completions",
            {"model": "chat", "messages": user},
        ),
        "openai -> anthropic": ("/v1/chat/completions", {"model": "claude", "messages": user}),
        "anthropic -> openai": (
            "/v1/messages",
            {"model": "chat", "max_tokens": 64, "messages": user},
        ),
        "anthropic -> anthropic": (
            "/v1/messages",
            {"model": "claude", "max_tokens": 64, "messages": user},
        ),
    }
    results: dict[str, list[float]] = {f"{p}{s}": [] for p in paths for s in ("", " stream")}
    with httpx.Client(headers={"Authorization": f"Bearer {APP_KEY}"}, timeout=10) as client:
        for stream in (False, True):
            for _ in range(30):
                for path, body in paths.values():
                    client.post(gw.base + path, json={**body, "stream": stream}).read()
        for _ in range(calls // 100):
            for name, (path, body) in paths.items():
                for stream in (False, True):
                    key = name + (" stream" if stream else "")
                    for _ in range(50):
                        started = time.perf_counter()
                        r = client.post(gw.base + path, json={**body, "stream": stream})
                        r.read()
                        results[key].append((time.perf_counter() - started) * 1e3)
                        assert r.status_code == 200, r.text
    base = {s: _pct(results["openai -> openai (pass-through)" + s], 50) for s in ("", " stream")}
    for key, values in results.items():
        s = " stream" if key.endswith(" stream") else ""
        print(
            f"HTTP c=1 {key:42s} p50 {_pct(values, 50):.3f} ms  p99 {_pct(values, 99):.3f} ms  "
            f"(+{_pct(values, 50) - base[s]:.3f} ms; {len(values)} calls)"
        )
    gw.close()
    mock.close()
    lt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--http", type=int, default=0, help="calls per path over HTTP")
    args = parser.parse_args()
    in_process(args.calls)
    if args.http:
        over_http(args.http)


if __name__ == "__main__":
    main()
