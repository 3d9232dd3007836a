"""The stages of the core pipeline: resolve the model, choose, call the upstream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import orjson

from gatehouse.errors import GatehouseError, NotFound, UpstreamError
from gatehouse.pipeline.exchange import Attempt, Exchange
from gatehouse.routing import ModelRoute

Next = Callable[[Exchange], Awaitable[None]]

_USAGE = b'"usage":'


class ResolveModel:
    """Map the public model name to its route; 404 for a name the config lacks."""

    def __init__(self, routes: dict[str, ModelRoute]) -> None:
        self.routes = routes

    async def __call__(self, exchange: Exchange, call_next: Next) -> None:
        route = self.routes.get(exchange.model)
        if route is None:
            raise NotFound(
                f"The model '{exchange.model}' does not exist on this gateway "
                "(GET /v1/models lists the models it serves)",
                param="model",
                code="model_not_found",
            )
        exchange.route = route
        await call_next(exchange)


class ChooseDeployment:
    """Pick the deployment to call (weighted random for now)."""

    async def __call__(self, exchange: Exchange, call_next: Next) -> None:
        assert exchange.route is not None
        exchange.deployment = exchange.route.choose()
        await call_next(exchange)


class CallUpstream:
    """Call the chosen deployment and put its answer on the exchange.

    For a stream, the first block is pulled here so that an upstream that fails
    before answering becomes an ordinary HTTP error, not a broken stream.
    """

    async def __call__(self, exchange: Exchange, call_next: Next) -> None:
        dep = exchange.deployment
        assert dep is not None
        body = dict(exchange.body)
        body["model"] = dep.model
        for key, value in dep.defaults.items():
            body.setdefault(key, value)
        attempt = Attempt(dep.name, time.perf_counter())
        exchange.attempts.append(attempt)
        try:
            if exchange.stream:
                events = dep.provider.stream(exchange.operation, body, exchange.headers)
                try:
                    first = await anext(events)
                except StopAsyncIteration:
                    raise UpstreamError(
                        f"deployment {dep.name!r} returned an empty stream",
                        code="upstream_stream_cut",
                    ) from None
                except BaseException:
                    await events.aclose()
                    raise
                exchange.first_token = time.perf_counter()
                exchange.events = _relay(first, events, exchange, attempt)
            else:
                reply = await dep.provider.complete(exchange.operation, body, exchange.headers)
                exchange.response_body = reply.body
                exchange.response_data = reply.data
                exchange.usage = reply.data.get("usage")
                _finish(exchange, attempt, "ok")
        except GatehouseError as exc:
            _finish(exchange, attempt, "error", exc)
            raise
        except asyncio.CancelledError:
            _finish(exchange, attempt, "cancelled")
            raise
        await call_next(exchange)


async def _relay(
    first: bytes, rest: AsyncGenerator[bytes, None], exchange: Exchange, attempt: Attempt
) -> AsyncGenerator[bytes, None]:
    """Yield the upstream's blocks, noting usage and the attempt's outcome."""
    outcome = "cancelled"
    try:
        block = first
        while True:
            if _USAGE in block:
                exchange.usage = _find_usage(block) or exchange.usage
            yield block
            try:
                block = await anext(rest)
            except StopAsyncIteration:
                break
        outcome = "ok"
    except GatehouseError as exc:
        _finish(exchange, attempt, "error", exc)
        raise
    finally:
        await rest.aclose()
        if attempt.outcome == "pending":
            _finish(exchange, attempt, outcome)


def _finish(
    exchange: Exchange, attempt: Attempt, outcome: str, error: GatehouseError | None = None
) -> None:
    now = time.perf_counter()
    attempt.ended = now
    attempt.outcome = outcome
    if error is not None:
        attempt.error_type = error.error_type
        attempt.status = error.http_status
        exchange.error = error
    exchange.done = now


def _find_usage(block: bytes) -> dict[str, Any] | None:
    for line in block.split(b"\n"):
        if line.startswith(b"data: {") and _USAGE in line:
            try:
                usage = orjson.loads(line[6:]).get("usage")
            except (orjson.JSONDecodeError, AttributeError):
                continue
            if isinstance(usage, dict):
                return usage
    return None
