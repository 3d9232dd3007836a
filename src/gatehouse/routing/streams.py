"""Streams through the router: waiting for the first content, then relaying the rest.

A stream counts as answered at its first content event; until then it can still be
retried elsewhere, after it a failure can only be reported to the client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import orjson

from gatehouse.errors import GatehouseError, UpstreamError, UpstreamTimeout
from gatehouse.routing.attempt import Attempt
from gatehouse.routing.outcomes import Opened, record_failure
from gatehouse.routing.table import Deployment

if TYPE_CHECKING:
    from gatehouse.pipeline.exchange import Exchange

# A usage object, not the "usage": null some upstreams put on every chunk.
_USAGE = (b'"usage":{', b'"usage": {')


async def until_content(events: AsyncGenerator[bytes, None], dep: Deployment) -> list[bytes]:
    """Pull blocks until one carries content; bounded by the first-token timeout."""
    prefix: list[bytes] = []
    try:
        async with asyncio.timeout(dep.timeouts.first_token_s):
            while True:
                try:
                    block = await anext(events)
                except StopAsyncIteration:
                    raise UpstreamError(
                        f"deployment {dep.name!r} returned an empty stream",
                        code="upstream_stream_cut",
                    ) from None
                prefix.append(block)
                if has_content(block):
                    return prefix
    except TimeoutError:
        await events.aclose()
        raise UpstreamTimeout(
            f"deployment {dep.name!r} sent no token within {dep.timeouts.first_token_s:g}s",
            code="upstream_first_token_timeout",
        ) from None
    except BaseException:
        await events.aclose()
        raise


def has_content(block: bytes) -> bool:
    """Whether a block of SSE events carries anything beyond a role announcement.

    Raises UpstreamError for an event that is not a well-formed chunk, so that a
    malformed stream is retried like a malformed body while nothing has been sent.
    """
    for line in block.split(b"\n"):
        if not line.startswith(b"data:"):
            continue
        payload = line[5:].strip()
        if payload == b"[DONE]":
            return True
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            event = None
        if not isinstance(event, dict):
            raise UpstreamError("upstream sent a malformed stream event", code="upstream_malformed")
        if "error" in event:
            err = event["error"]
            message = err.get("message") if isinstance(err, dict) else str(err)
            raise UpstreamError(f"upstream stream error: {message}", code="upstream_stream_error")
        choices = event.get("choices")
        if choices is None:
            choices = []
        if not isinstance(choices, list):
            raise UpstreamError("upstream sent a malformed stream event", code="upstream_malformed")
        for choice in choices:
            if not isinstance(choice, dict):
                raise UpstreamError(
                    "upstream sent a malformed stream event", code="upstream_malformed"
                )
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                delta = {}
            if (
                delta.get("content")
                or delta.get("tool_calls")
                or delta.get("function_call")
                or delta.get("refusal")
                # A reasoning model thinks first: its thinking is its first token (or the
                # whole thinking phase would have to fit in the first-token timeout).
                or delta.get("reasoning_content")
                or delta.get("reasoning")
                or delta.get("thinking_blocks")
                or choice.get("text")
                or choice.get("finish_reason")
            ):
                return True
        if event.get("usage"):
            return True
    return False


async def relay(exchange: Exchange, opened: Opened) -> AsyncGenerator[bytes, None]:
    """The client's stream: the buffered prefix, then the rest as it arrives."""
    dep, attempt, events = opened.deployment, opened.attempt, opened.events
    assert events is not None and opened.prefix is not None
    finished = False
    try:
        for block in opened.prefix:
            block = _seen(exchange, attempt, block)
            if block:
                yield block
        async for block in events:
            block = _seen(exchange, attempt, block)
            if block:
                yield block
        finished = True
    except GatehouseError as err:
        record_failure(dep, attempt, opened.started, err, after_content=True)
        exchange.error = err
        raise
    finally:
        try:
            await events.aclose()
        finally:
            _settlerelay(exchange, opened, finished)


def _seen(exchange: Exchange, attempt: Attempt, block: bytes) -> bytes:
    """Note what a block carries (events, usage) and drop a usage chunk nobody asked for."""
    attempt.content_events += block.count(b"data:")
    if _USAGE[0] in block or _USAGE[1] in block:
        exchange.usage = find_usage(block) or exchange.usage
        if exchange.strip_usage:
            block = without_usage_chunk(block)
    if exchange.captured is not None:
        exchange.captured.append(block)
    return block


def without_usage_chunk(block: bytes) -> bytes:
    """The block minus the usage-only chunk (``choices: []``) the gateway asked for."""
    kept = []
    for event in block.split(b"\n\n"):
        if _USAGE[0] in event or _USAGE[1] in event:
            chunk = event_data(event)
            if isinstance(chunk, dict) and not chunk.get("choices") and chunk.get("usage"):
                continue
        kept.append(event)
    return b"\n\n".join(kept)


def event_data(event: bytes) -> Any:
    """The JSON of an SSE event's ``data:`` line(s), whatever other fields it has."""
    lines = [line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")]
    try:
        return orjson.loads(b"\n".join(lines)) if lines else None
    except orjson.JSONDecodeError:
        return None


def _settlerelay(exchange: Exchange, opened: Opened, finished: bool) -> None:
    dep, attempt = opened.deployment, opened.attempt
    now = time.perf_counter()
    exchange.done = now
    if finished:
        attempt.outcome, attempt.ended, attempt.usage = "ok", now, exchange.usage
        tokens = total_tokens(exchange.usage)
        dep.stats.end(opened.started, ok=True, ttft_s=opened.ttft_s, tokens=tokens)
    elif attempt.outcome == "pending":
        attempt.outcome, attempt.ended = "cancelled", now
        dep.stats.cancel()


def total_tokens(usage: Any) -> int:
    if isinstance(usage, dict):
        total = usage.get("total_tokens")
        if isinstance(total, int):
            return total
    return 0


def find_usage(block: bytes) -> dict[str, Any] | None:
    for line in block.split(b"\n"):
        if line.startswith(b"data: {") and (_USAGE[0] in line or _USAGE[1] in line):
            try:
                usage = orjson.loads(line[6:]).get("usage")
            except (orjson.JSONDecodeError, AttributeError):
                continue
            if isinstance(usage, dict):
                return usage
    return None
