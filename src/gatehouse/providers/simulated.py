"""The simulated upstream: an OpenAI-compatible server with scriptable faults.

``gatehouse mock-upstream`` serves chat (plain and streaming), completions,
embeddings and models, and Anthropic's ``/v1/messages`` (``simulated_anthropic``),
with configurable latency, time to first token, token rate, response length and
faults. Faults are set per run (``MockSettings``) or per request by headers, so tests
can script them:

=====================  =====================================================
header                 effect
=====================  =====================================================
x-mock-fail            400 | context | 401 | 500 | 503 | 529 | 429 | hang | reset | cut |
                       malformed | error-event (529 and error-event are 503 on the OpenAI side)
x-mock-cut-after       with ``cut``/``error-event``: content tokens sent before the break
x-mock-retry-after     seconds, sent with 429 and 503
x-mock-latency-ms      delay before a non-streaming answer
x-mock-ttft-ms         delay before the first streamed token
x-mock-tokens          tokens in the answer
x-mock-tokens-per-s    pace of streamed tokens (0 = as fast as possible)
x-mock-echo            N: answer with the last message's text (prompt for completions),
                       streamed in pieces of N characters
x-mock-echo-message    with ``x-mock-echo``: echo message I (0-based) instead of the last
x-mock-tool-calls      K: /v1/messages answers with K parallel tool_use blocks
=====================  =====================================================

``GET /mock/stats`` reports counts (received, completed, cancelled, in flight) so a
test can check that the gateway cancelled an abandoned call; ``POST /mock/reset``
zeroes them. ``GET /metrics`` is a vLLM-style Prometheus page (running calls, KV-cache
use) for the gateway's deployment scraping. It is built to be cheaper per request
than the gateway in front of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from gatehouse.providers import simulated_answers as answers
from gatehouse.providers import simulated_anthropic as anthropic_api

FAULTS = (
    "400", "context", "401", "500", "503", "529", "429", "hang", "reset", "cut", "malformed",
    "error-event",
)  # fmt: skip
_REFUSALS = ("400", "context", "401", "500", "503", "429", "hang", "reset", "malformed")
# Anthropic-only faults, as the OpenAI side shows them: OpenAI's overload is a 503.
_OPENAI_FAULT = {"529": "503", "error-event": "503"}
KV_CACHE_PER_REQUEST = 0.01  # share of the simulated KV cache one running call holds


@dataclass
class MockSettings:
    latency_ms: float = 0.0
    ttft_ms: float = 0.0
    tokens_per_s: float = 0.0
    response_tokens: int = 16
    error_rate: float = 0.0
    error_kind: str = "500"
    retry_after_s: float = 1.0
    model_names: tuple[str, ...] = ("mock-model",)
    seed: int | None = None
    fail_next: int = 0  # the next N calls fail with error_kind, then calls succeed again
    cut_after: int | None = None  # with "cut": content tokens before the cut (None = half)


@dataclass
class MockStats:
    received: int = 0
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    in_flight: int = 0
    last_body: dict[str, Any] | None = None
    last_headers: dict[str, str] = field(default_factory=dict)
    last_authorization: str | None = None
    last_api_key: str | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "completed": self.completed,
            "cancelled": self.cancelled,
            "failed": self.failed,
            "in_flight": self.in_flight,
            "last_body": self.last_body,
            "last_headers": self.last_headers,
            "last_authorization": self.last_authorization,
            "last_api_key": self.last_api_key,
        }


class _Fault(Exception):
    def __init__(self, kind: str, response: web.StreamResponse | None = None) -> None:
        self.kind = kind
        self.response = response


class SimulatedUpstream:
    """The request handlers, with their settings and counters."""

    def __init__(self, settings: MockSettings | None = None) -> None:
        self.settings = settings or MockSettings()
        self.stats = MockStats()
        self._rng = random.Random(self.settings.seed)
        self._anthropic = anthropic_api.MessagesEndpoint(self.settings)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/completions", self._completions)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/mock/stats", self._stats)
        app.router.add_post("/mock/reset", self._reset)
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/metrics", self._metrics)
        return app

    # --- endpoints -------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "chat")

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "completions")

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "embeddings")

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "messages")

    async def _models(self, request: web.Request) -> web.Response:
        if "anthropic-version" in request.headers:
            return _json(anthropic_api.model_list(self.settings.model_names))
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "gatehouse-mock"}
            for m in self.settings.model_names
        ]
        return _json({"object": "list", "data": data})

    async def _stats(self, request: web.Request) -> web.Response:
        return _json(self.stats.snapshot())

    async def _reset(self, request: web.Request) -> web.Response:
        self.stats = MockStats()
        self._anthropic.cache.clear()
        return _json({"ok": True})

    async def _health(self, request: web.Request) -> web.Response:
        return _json({"status": "ok"})

    async def _metrics(self, request: web.Request) -> web.Response:
        # vLLM's load gauges, so the gateway's deployment scraper can be tested against
        # this server: running = calls in flight, nothing queues, and each running call
        # holds KV_CACHE_PER_REQUEST of the cache.
        running = self.stats.in_flight
        kv = min(1.0, running * KV_CACHE_PER_REQUEST)
        label = f'{{model_name="{self.settings.model_names[0]}"}}'
        text = (
            "# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
            "# TYPE vllm:num_requests_running gauge\n"
            f"vllm:num_requests_running{label} {float(running)}\n"
            "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
            "# TYPE vllm:num_requests_waiting gauge\n"
            f"vllm:num_requests_waiting{label} 0.0\n"
            "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n"
            "# TYPE vllm:kv_cache_usage_perc gauge\n"
            f"vllm:kv_cache_usage_perc{label} {kv}\n"
        )
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    # --- the common path -------------------------------------------------------

    async def _serve(self, request: web.Request, kind: str) -> web.StreamResponse:
        stats = self.stats
        stats.received += 1
        stats.in_flight += 1
        try:
            try:
                body = orjson.loads(await request.read())
            except orjson.JSONDecodeError:
                return _bad_body(kind, "body is not valid JSON")
            if not isinstance(body, dict):
                return _bad_body(kind, "body must be a JSON object")
            stats.last_body = body
            stats.last_headers = {
                k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"
            }
            stats.last_authorization = request.headers.get("Authorization")
            stats.last_api_key = request.headers.get("x-api-key")
            response = await self._answer(request, body, kind)
            stats.completed += 1
            return response
        except asyncio.CancelledError:
            stats.cancelled += 1
            raise
        except ConnectionError:
            # The client went away mid-stream: an abandoned call, like a cancelled one.
            stats.cancelled += 1
            return web.Response(status=499)
        except (_Fault, anthropic_api.Refusal) as fault:
            stats.failed += 1
            if fault.response is not None:
                return fault.response
            if kind == "messages":
                return await self._anthropic.fault(request, fault.kind)
            return await self._fault(request, fault.kind)
        finally:
            stats.in_flight -= 1

    def _knobs(self, request: web.Request) -> tuple[float, float, float, int, str | None]:
        s = self.settings
        h = request.headers
        fail = h.get("x-mock-fail")
        if fail is None and s.fail_next > 0:
            s.fail_next -= 1
            fail = s.error_kind
        if fail is None and s.error_rate > 0 and self._rng.random() < s.error_rate:
            fail = s.error_kind
        return (
            float(h.get("x-mock-latency-ms", s.latency_ms)),
            float(h.get("x-mock-ttft-ms", s.ttft_ms)),
            float(h.get("x-mock-tokens-per-s", s.tokens_per_s)),
            int(h.get("x-mock-tokens", s.response_tokens)),
            fail,
        )

    async def _answer(self, request: web.Request, body: dict[str, Any], kind: str) -> Any:
        if kind == "messages":
            self._anthropic.check(request.headers, body)
            return await self._anthropic.answer(request, body, self._knobs(request))
        latency_ms, ttft_ms, rate, tokens, fail = self._knobs(request)
        fail = _OPENAI_FAULT.get(fail, fail) if fail else fail
        if fail in _REFUSALS:
            raise _Fault(fail)
        if fail == "cut" and body.get("stream") is not True:
            raise _Fault("cut-body")
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(max_tokens, int) and max_tokens > 0:
            tokens = min(tokens, max_tokens)
        model = str(body.get("model", "mock-model"))
        if kind == "embeddings":
            await _sleep_ms(latency_ms)
            return _json(answers.embedding_response(body, model))
        if body.get("stream") is True:
            if fail == "cut":
                cut = request.headers.get("x-mock-cut-after", self.settings.cut_after)
                cut_at = max(1, tokens // 2) if cut is None else int(cut)
            else:
                cut_at = None
            return await self._stream(request, body, kind, model, tokens, ttft_ms, rate, cut_at)
        await _sleep_ms(latency_ms)
        echo = request.headers.get("x-mock-echo")
        if kind == "chat":
            reply = answers.chat_response(body, model, tokens)
            if echo:
                reply["choices"][0]["message"]["content"] = _echoed(request, body)
            return _json(reply)
        reply = answers.completion_response(body, model, tokens)
        if echo:
            reply["choices"][0]["text"] = answers.last_text(body)
        return _json(reply)

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        kind: str,
        model: str,
        tokens: int,
        ttft_ms: float,
        rate: float,
        cut_at: int | None,
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        created = int(time.time())
        ident = ("chatcmpl-" if kind == "chat" else "cmpl-") + answers.short_id()
        obj = "chat.completion.chunk" if kind == "chat" else "text_completion"
        head = {"id": ident, "object": obj, "created": created, "model": model}
        gap = 1.0 / rate if rate > 0 else 0.0
        tool_call = kind == "chat" and answers.wants_tool_call(body)
        await _sleep_ms(ttft_ms)
        if kind == "chat":
            role = {"role": "assistant", "content": ""}
            await resp.write(_event({**head, "choices": [_delta(role, None)]}))
        pieces = [answers.WORDS[i % len(answers.WORDS)] for i in range(tokens)]
        echo = request.headers.get("x-mock-echo")
        if echo:
            said, size = _echoed(request, body), max(1, int(echo))
            pieces = [said[i : i + size] for i in range(0, len(said), size)]
        if tool_call:
            pieces = []
            delta = {"tool_calls": [answers.tool_call(body, index=True)]}
            await resp.write(_event({**head, "choices": [_delta(delta, None)]}))
        for i in range(len(pieces) + 1):
            if cut_at is not None and i >= cut_at:
                # Drop the connection mid-stream without the terminating event.
                if request.transport is not None:
                    request.transport.close()
                raise _Fault("cut", resp)
            if i == len(pieces):
                break
            piece = pieces[i]
            if kind == "chat":
                choice = _delta({"content": piece}, None)
            else:
                choice = {"index": 0, "text": piece, "logprobs": None, "finish_reason": None}
            await resp.write(_event({**head, "choices": [choice]}))
            if gap:
                await asyncio.sleep(gap)
        finish = (
            "tool_calls" if tool_call else ("length" if answers.hit_limit(body, tokens) else "stop")
        )
        if kind == "chat":
            last = _delta({}, finish)
        else:
            last = {"index": 0, "text": "", "logprobs": None, "finish_reason": finish}
        await resp.write(_event({**head, "choices": [last]}))
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            usage = answers.usage(body, len(pieces) if not tool_call else 8)
            await resp.write(_event({**head, "choices": [], "usage": usage}))
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def _fault(self, request: web.Request, kind: str) -> web.StreamResponse:
        retry_after = request.headers.get("x-mock-retry-after", f"{self.settings.retry_after_s:g}")
        if kind == "429":
            return _error(
                429, "rate_limit_error", "simulated rate limit", {"retry-after": retry_after}
            )
        if kind == "503":
            return _error(
                503, "overloaded_error", "simulated overload", {"retry-after": retry_after}
            )
        if kind == "400":
            return _error(400, "invalid_request_error", "simulated invalid request")
        if kind == "401":
            return _error(
                401,
                "invalid_request_error",
                "Incorrect API key (simulated)",
                code="invalid_api_key",
            )
        if kind == "context":
            return _error(
                400,
                "invalid_request_error",
                "This model's maximum context length is 8192 tokens (simulated)",
                code="context_length_exceeded",
            )
        if kind == "500":
            return _error(500, "server_error", "simulated server error")
        return await transport_fault(
            request, kind, b'{"id": "chatcmpl-cut", "object": "chat.completion", '
        )


async def transport_fault(request: web.Request, kind: str, start: bytes) -> web.StreamResponse:
    """A fault of the connection rather than of the protocol, for either API:
    ``malformed`` (a body that isn't JSON), ``cut-body`` (``start`` of a body, then the
    connection closes), ``reset``, and ``hang`` (until the client gives up)."""
    if kind == "malformed":
        return web.Response(body=start + b'"content": [', content_type="application/json")
    if kind == "cut-body":
        resp = web.StreamResponse(headers={"content-type": "application/json"})
        resp.content_length = 400
        await resp.prepare(request)
        await resp.write(start)
        if request.transport is not None:
            request.transport.close()
        return resp
    if kind == "reset":
        if request.transport is not None:
            request.transport.abort()
        return web.Response()
    await asyncio.sleep(3600)
    return web.Response()


# --- response builders ----------------------------------------------------------


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


def _error(
    status: int,
    kind: str,
    message: str,
    headers: dict[str, str] | None = None,
    code: str | None = None,
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return _json(body, status, headers)


def _bad_body(kind: str, message: str) -> web.Response:
    if kind == "messages":
        return anthropic_api.error_response(400, "invalid_request_error", message)
    return _error(400, "invalid_request_error", message)


def _event(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


def _delta(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}


def _echoed(request: web.Request, body: dict[str, Any]) -> str:
    index = request.headers.get("x-mock-echo-message", "-1")
    return answers.last_text(body, int(index) if index.lstrip("-").isdigit() else -1)


async def _sleep_ms(ms: float) -> None:
    if ms > 0:
        await asyncio.sleep(ms / 1000)


async def serve_mock(
    settings: MockSettings,
    host: str,
    port: int,
    *,
    reuse_port: bool = False,
    started: asyncio.Event | None = None,
) -> None:
    """Run the simulated upstream until cancelled."""
    upstream = SimulatedUpstream(settings)
    runner = web.AppRunner(
        upstream.app(), access_log=None, handler_cancellation=True, shutdown_timeout=1.0
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_port=reuse_port)
    await site.start()
    if started is not None:
        started.set()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def run_mock_process(settings: MockSettings, host: str, port: int, reuse_port: bool) -> None:
    """Entry point of one mock-upstream process: serve until SIGTERM or SIGINT."""
    from gatehouse.supervisor import run_async

    async def main() -> None:
        task = asyncio.ensure_future(serve_mock(settings, host, port, reuse_port=reuse_port))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        run_async(main())
    except OSError as exc:
        print(f"cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        raise SystemExit(1) from None
