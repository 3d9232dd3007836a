"""The router: which deployment serves a call, and what happens when one fails.

For one client request::

    for each model in [requested, *fallbacks]:        # fallbacks only for fallback_on classes
        for n in range(retry.attempts):               # no new attempt past retry.budget_s
            pick the strategy's best deployment that is untried, under its in-flight cap
                and allowed by its breaker (a tried one only when nothing else is left)
            back off (full jitter; Retry-After when the same deployment is retried)
            call it — hedged by a second deployment when the model has `hedge`
            success → done; a client error → returned as is; else record and go on
    → AllAttemptsFailed, keeping every attempt

A stream counts as answered at its first *content* event (a role-only chunk is not
content): until then a failing or silent upstream is retried invisibly; after it, a
failure reaches the client as an error event.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Container
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from gatehouse.errors import (
    AllAttemptsFailed,
    GatehouseError,
    InvalidRequest,
    Overloaded,
    RateLimited,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
)
from gatehouse.providers import Reply
from gatehouse.routing.attempt import Attempt
from gatehouse.routing.failures import RETRY_SAME_MODEL, failure_class
from gatehouse.routing.table import Deployment, ModelRoute

if TYPE_CHECKING:
    from gatehouse.pipeline.exchange import Exchange

# A usage object, not the "usage": null some upstreams put on every chunk.
_USAGE = (b'"usage":{', b'"usage": {')
#: Failure classes that count against a deployment's breaker.
_BREAKER_CLASSES = RETRY_SAME_MODEL


@dataclass(slots=True)
class _Opened:
    """A successful attempt, not yet handed to the client."""

    deployment: Deployment
    attempt: Attempt
    started: float
    reply: Reply | None = None
    prefix: list[bytes] | None = None
    events: AsyncGenerator[bytes, None] | None = None
    ttft_s: float | None = None

    async def discard(self) -> None:
        self.attempt.outcome = "cancelled"
        try:
            if self.events is not None:
                await self.events.aclose()
        finally:
            self.deployment.stats.cancel()


class _Failed(Exception):
    """Attempts that failed, with the deployment each one went to."""

    def __init__(self, errors: list[tuple[Deployment, GatehouseError]]) -> None:
        self.errors = errors


class _Plus:
    """``tried`` plus one more deployment, without copying."""

    __slots__ = ("extra", "tried")

    def __init__(self, tried: Container[Deployment], extra: Deployment) -> None:
        self.tried = tried
        self.extra = extra

    def __contains__(self, dep: object) -> bool:
        return dep is self.extra or dep in self.tried


class _NextModel(Exception):
    """This model can't serve the call; the failure class says whether a fallback may."""

    def __init__(self, failure: str | None) -> None:
        self.failure = failure


class Router:
    def __init__(self, routes: dict[str, ModelRoute], rng: random.Random | None = None) -> None:
        self.routes = routes
        self._rng = rng or random.Random()

    async def route(self, exchange: Exchange) -> None:
        """Fill the exchange with an answer from the best deployment that gives one."""
        route = exchange.route
        assert route is not None
        failures: list[tuple[str, GatehouseError]] = []
        deadline = time.monotonic() + route.retry.budget_s
        chain = [route, *(self.routes[name] for name in route.fallbacks)]
        for i, model_route in enumerate(chain):
            if i and time.monotonic() >= deadline:
                break
            try:
                await self._serve_with(exchange, model_route, deadline, failures)
                return
            except _NextModel as nxt:
                if nxt.failure is None or nxt.failure not in route.fallback_on:
                    break
        if not failures:
            raise no_deployment_error(route, exchange.tags)
        if len(failures) == 1:
            raise failures[0][1]  # one attempt: its own error says it best
        raise AllAttemptsFailed(failures)

    async def _serve_with(
        self,
        exchange: Exchange,
        route: ModelRoute,
        deadline: float,
        failures: list[tuple[str, GatehouseError]],
    ) -> None:
        tried: dict[Deployment, GatehouseError] = {}  # each tried one and its last error
        last_failure: str | None = "server_error"
        for n in range(route.retry.attempts):
            if n and time.monotonic() >= deadline:
                raise _NextModel("timeout")
            dep = self.pick(route, tried, exchange.tags)
            if dep is None:
                # Nothing callable (breakers open, limits reached, no such tags): a
                # fallback may still serve.
                raise _NextModel(last_failure)
            if dep in tried:
                try:
                    waited = await self._backoff(route, n, tried[dep], deadline)
                except BaseException:
                    _release(dep)  # pick() reserved a half-open probe for this call
                    raise
                if not waited:
                    _release(dep)
                    raise _NextModel(last_failure)
            try:
                opened = await self._call(exchange, route, dep, tried)
            except _Failed as failed:
                for where, err in failed.errors:
                    failure = failure_class(err)
                    if failure is None:
                        raise err from None  # the client's own mistake: no deployment differs
                    failures.append((f"{route.name}={where.name}", err))
                    tried[where] = err
                    last_failure = failure
                    if (
                        isinstance(err, RateLimited)
                        and err.retry_after is not None
                        and err.retry_after > route.retry.max_retry_after_s
                        and where.breaker is not None
                    ):
                        where.breaker.trip(err.retry_after, f"Retry-After {err.retry_after:g}s")
                if last_failure not in RETRY_SAME_MODEL:
                    raise _NextModel(last_failure) from None
                continue
            self._commit(exchange, route, opened)
            return
        raise _NextModel(last_failure)

    def pick(
        self,
        route: ModelRoute,
        tried: Container[Deployment] = (),
        tags: frozenset[str] = frozenset(),
    ) -> Deployment | None:
        """The best deployment to call now, or None when none may be called."""
        order = route.strategy.order(route.deployments)
        for dep in order:
            if dep not in tried and _callable(dep, tags):
                return dep
        # Every untried one is out: retry a tried one (after a backoff) rather than none.
        for dep in order:
            if dep in tried and _callable(dep, tags):
                return dep
        return None

    async def _backoff(
        self, route: ModelRoute, n: int, last: GatehouseError, deadline: float
    ) -> bool:
        """Wait before retrying a deployment; False when the wait would pass the budget."""
        retry = route.retry
        delay = self._rng.uniform(0, min(retry.backoff_max_s, retry.backoff_base_s * 2 ** (n - 1)))
        if last.retry_after is not None:
            # That deployment asked for a pause; a longer one tripped its breaker instead.
            delay = max(delay, min(last.retry_after, retry.max_retry_after_s))
        if time.monotonic() + delay >= deadline:
            return False
        if delay > 0:
            await asyncio.sleep(delay)
        return True

    async def _call(
        self,
        exchange: Exchange,
        route: ModelRoute,
        dep: Deployment,
        tried: Container[Deployment],
    ) -> _Opened:
        if route.hedge_after_s is None:
            try:
                return await self._open(exchange, route, dep)
            except GatehouseError as err:
                raise _Failed([(dep, err)]) from None
        return await self._hedged(exchange, route, dep, tried, route.hedge_after_s)

    async def _hedged(
        self,
        exchange: Exchange,
        route: ModelRoute,
        dep: Deployment,
        tried: Container[Deployment],
        after_s: float,
    ) -> _Opened:
        """Race a second deployment when the first is slow to start answering."""
        racers: dict[asyncio.Future[_Opened], Deployment] = {}
        racers[asyncio.ensure_future(self._open(exchange, route, dep))] = dep
        try:
            done, _ = await asyncio.wait(racers, timeout=after_s)
            if not done:
                other = self.pick(route, _Plus(tried, dep), exchange.tags)
                if other is dep:
                    _release(dep)  # the only one left is the one already racing
                elif other is not None:
                    hedge = self._open(exchange, route, other, hedge=True)
                    racers[asyncio.ensure_future(hedge)] = other
            errors: list[tuple[Deployment, GatehouseError]] = []
            pending = set(racers)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    exc = task.exception()
                    if exc is None:
                        winner = task.result()
                        await _settle(racers, keep=task)
                        return winner
                    if not isinstance(exc, GatehouseError):
                        raise exc
                    errors.append((racers[task], exc))
            raise _Failed(errors)
        except BaseException:
            await _settle(racers, keep=None)
            raise

    async def _open(
        self, exchange: Exchange, route: ModelRoute, dep: Deployment, hedge: bool = False
    ) -> _Opened:
        body = dict(exchange.body)
        body["model"] = dep.model
        for key, value in dep.defaults.items():
            body.setdefault(key, value)
        attempt = Attempt(route.name, dep.name, time.perf_counter(), hedge=hedge)
        exchange.attempts.append(attempt)
        started = dep.stats.begin()
        provider = dep.provider
        try:
            if exchange.stream:
                events = provider.stream(exchange.operation, body, exchange.headers, dep.timeouts)
                prefix = await _until_content(events, dep)
                opened = _Opened(dep, attempt, started, prefix=prefix, events=events)
                opened.ttft_s = time.monotonic() - started
            else:
                reply = await provider.complete(
                    exchange.operation, body, exchange.headers, dep.timeouts
                )
                _check_content_filter(reply, dep)
                opened = _Opened(dep, attempt, started, reply=reply)
        except GatehouseError as err:
            _failed(dep, attempt, started, err)
            raise
        except BaseException:
            attempt.outcome = "cancelled"
            attempt.ended = time.perf_counter()
            dep.stats.cancel()
            _release(dep)
            raise
        if dep.breaker is not None:
            dep.breaker.record_success()
        return opened

    def _commit(self, exchange: Exchange, route: ModelRoute, opened: _Opened) -> None:
        dep, attempt = opened.deployment, opened.attempt
        exchange.deployment = dep
        exchange.served_model = route.name
        now = time.perf_counter()
        if opened.reply is not None:
            usage = opened.reply.data.get("usage")
            attempt.outcome, attempt.ended, attempt.usage = "ok", now, usage
            exchange.response_body = opened.reply.body
            exchange.response_data = opened.reply.data
            exchange.usage = usage
            exchange.done = now
            dep.stats.end(opened.started, ok=True, tokens=_total_tokens(usage))
            return
        assert opened.events is not None and opened.prefix is not None
        exchange.first_token = now
        exchange.events = _relay(exchange, opened)


async def _settle(racers: dict[asyncio.Future[_Opened], Deployment], keep: Any) -> None:
    """Cancel every racer but ``keep`` and undo any that succeeded anyway.

    ``asyncio.wait`` is used to wait for them because, unlike awaiting a task, it
    does not turn a cancellation of this call into the racers' (and so lose it).
    """
    others = [t for t in racers if t is not keep]
    for task in others:
        task.cancel()
    if others:
        await asyncio.wait(others)
    for task in others:
        if not task.cancelled() and task.exception() is None:
            await task.result().discard()


async def _until_content(events: AsyncGenerator[bytes, None], dep: Deployment) -> list[bytes]:
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
                if _has_content(block):
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


def _has_content(block: bytes) -> bool:
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
                or choice.get("text")
                or choice.get("finish_reason")
            ):
                return True
        if event.get("usage"):
            return True
    return False


async def _relay(exchange: Exchange, opened: _Opened) -> AsyncGenerator[bytes, None]:
    """The client's stream: the buffered prefix, then the rest as it arrives."""
    dep, attempt, events = opened.deployment, opened.attempt, opened.events
    assert events is not None and opened.prefix is not None
    finished = False
    try:
        for block in opened.prefix:
            if _USAGE[0] in block or _USAGE[1] in block:
                exchange.usage = _find_usage(block) or exchange.usage
            yield block
        async for block in events:
            if _USAGE[0] in block or _USAGE[1] in block:
                exchange.usage = _find_usage(block) or exchange.usage
            yield block
        finished = True
    except GatehouseError as err:
        _failed(dep, attempt, opened.started, err, after_content=True)
        exchange.error = err
        raise
    finally:
        try:
            await events.aclose()
        finally:
            _settle_relay(exchange, opened, finished)


def _settle_relay(exchange: Exchange, opened: _Opened, finished: bool) -> None:
    dep, attempt = opened.deployment, opened.attempt
    now = time.perf_counter()
    exchange.done = now
    if finished:
        attempt.outcome, attempt.ended, attempt.usage = "ok", now, exchange.usage
        tokens = _total_tokens(exchange.usage)
        dep.stats.end(opened.started, ok=True, ttft_s=opened.ttft_s, tokens=tokens)
    elif attempt.outcome == "pending":
        attempt.outcome, attempt.ended = "cancelled", now
        dep.stats.cancel()


def _failed(
    dep: Deployment,
    attempt: Attempt,
    started: float,
    err: GatehouseError,
    after_content: bool = False,
) -> None:
    attempt.outcome = "error"
    attempt.ended = time.perf_counter()
    attempt.error_type = err.error_type
    attempt.error_code = err.code
    attempt.status = err.http_status
    dep.stats.end(started, ok=False)
    if dep.breaker is None:
        return
    failure = failure_class(err)
    if failure in _BREAKER_CLASSES:
        dep.breaker.record_failure(err.code or err.error_type)
    elif not after_content:
        dep.breaker.release()  # a verdict-free end (e.g. a context-window refusal)


def _check_content_filter(reply: Reply, dep: Deployment) -> None:
    """A 200 whose only choice was filtered is a failure a fallback may cure."""
    choices = reply.data.get("choices")
    if (
        isinstance(choices, list)
        and choices
        and all(isinstance(c, dict) and c.get("finish_reason") == "content_filter" for c in choices)
    ):
        raise UpstreamRejected(
            f"deployment {dep.name!r} filtered the answer",
            status=400,
            error_type="invalid_request_error",
            code="content_filter",
        )


def _release(dep: Deployment) -> None:
    if dep.breaker is not None:
        dep.breaker.release()


def _callable(dep: Deployment, tags: frozenset[str]) -> bool:
    if tags and not tags <= dep.tags:
        return False
    if dep.max_in_flight is not None and dep.stats.in_flight >= dep.max_in_flight:
        return False
    # Last, because a half-open breaker's allow() reserves its probe for this call.
    return dep.breaker is None or dep.breaker.allow()


def _any_tagged(route: ModelRoute, tags: frozenset[str]) -> bool:
    return not tags or any(tags <= d.tags for d in route.deployments)


def _total_tokens(usage: Any) -> int:
    if isinstance(usage, dict):
        total = usage.get("total_tokens")
        if isinstance(total, int):
            return total
    return 0


def _find_usage(block: bytes) -> dict[str, Any] | None:
    for line in block.split(b"\n"):
        if line.startswith(b"data: {") and (_USAGE[0] in line or _USAGE[1] in line):
            try:
                usage = orjson.loads(line[6:]).get("usage")
            except (orjson.JSONDecodeError, AttributeError):
                continue
            if isinstance(usage, dict):
                return usage
    return None


def no_deployment_error(route: ModelRoute, tags: frozenset[str]) -> GatehouseError:
    if tags and not _any_tagged(route, tags):
        wanted = ", ".join(sorted(tags))
        return InvalidRequest(
            f"no deployment of model '{route.name}' has the tags {wanted}",
            code="no_matching_deployment",
        )
    return Overloaded(
        f"no deployment of model '{route.name}' can take a call now "
        "(circuit breakers open or in-flight limits reached)",
        code="no_healthy_deployment",
        retry_after=1,
    )
